import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import VegaLLMProxy
import VegaStore

/// `vega llm-proxy`: the LLM proxy on a port of its own, and minting its virtual keys.
struct LLMProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm-proxy",
        abstract: "Serve the LLM proxy: OpenAI and Anthropic APIs behind virtual keys with hard budgets.",
        subcommands: [Serve.self, MintKey.self],
        defaultSubcommand: Serve.self
    )

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Run the proxy (the default).",
            discussion: """
                POST /v1/chat/completions (OpenAI) and POST /v1/messages (Anthropic), authenticated with a virtual key \
                (vega llm-proxy mint-key). Upstream keys come from the environment only, never a flag: \
                VEGA_LLM_OPENAI_API_KEY (else OPENAI_API_KEY) and VEGA_LLM_ANTHROPIC_API_KEY (else ANTHROPIC_API_KEY); \
                an API whose key is unset is not served. A model missing from --prices is refused. See docs/llm-proxy.md.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: "Address to listen on.")
        var host = "127.0.0.1"

        @Option(help: "Port to listen on.")
        var port = 8090

        @Option(help: "The price table, JSON (default: $VEGA_LLM_PRICES); every model not in it is refused.")
        var prices: String?

        @Option(name: .customLong("openai-base-url"), help: "An OpenAI-compatible server's base URL, /v1 included.")
        var openAIBaseURL = ProcessInfo.processInfo.environment["VEGA_LLM_OPENAI_BASE_URL"] ?? "https://api.openai.com/v1"

        @Option(name: .customLong("anthropic-base-url"), help: "Anthropic's base URL, without /v1.")
        var anthropicBaseURL = ProcessInfo.processInfo.environment["VEGA_LLM_ANTHROPIC_BASE_URL"] ?? "https://api.anthropic.com"

        @Option(name: .customLong("default-max-tokens"), help: "The cap the proxy sets on an OpenAI call that gives none (its reservation needs one).")
        var defaultMaxTokens: Int64 = 4096

        @Option(name: .customLong("log-format"), help: "json (one object per line) or text (default: text when stderr is a terminal, else json).")
        var logFormat: ServeCommand.LogFormat?

        @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
        var logLevel: Logger.Level = .info

        func validate() throws {
            guard (1...65_535).contains(port) else { throw ValidationError("--port must be between 1 and 65535") }
            guard defaultMaxTokens > 0 else { throw ValidationError("--default-max-tokens must be more than 0") }
        }

        func run() async throws {
            guard let pricesPath = prices ?? ProcessInfo.processInfo.environment["VEGA_LLM_PRICES"].flatMap({ $0.isEmpty ? nil : $0 }) else {
                throw ValidationError("--prices (or VEGA_LLM_PRICES) is required: the proxy refuses every model it cannot price")
            }
            let configuration = try LLMProxyCommand.configuration(
                prices: pricesPath, openAIBaseURL: openAIBaseURL, anthropicBaseURL: anthropicBaseURL, defaultMaxTokens: defaultMaxTokens
            )
            let table = configuration.prices

            ServeCommand.bootstrapLogging(format: logFormat, level: logLevel)
            let logger = Logger(label: "vega.llm-proxy")
            let db = try await database.open(logger: logger)
            let client = LLMProxyCommand.makeHTTPClient()
            do {
                try await Migrator.migrate(db)
                logger.info("llm proxy", metadata: [
                    "database": "\(database.displayURL)", "prices": "\(table.version)", "models": "\(table.models.count)",
                    "openai": "\(configuration.openAI?.description ?? "off")", "anthropic": "\(configuration.anthropic?.description ?? "off")",
                ])
                let proxy = LLMProxy(store: Store(database: db), configuration: configuration, httpClient: client, logger: logger)
                let app = Application(router: proxy.router(), configuration: .init(address: .hostname(host, port: port)), logger: logger)
                try await app.runService()
            } catch {
                try? await client.shutdown()
                try? await db.shutdown()
                throw error
            }
            try await client.shutdown()
            try await db.shutdown()
        }
    }

    /// The proxy's configuration, as `vega llm-proxy` and `vega serve --llm-prices` take it:
    /// upstream keys from the environment only (a flag would show in `ps`), at least one of them.
    static func configuration(
        prices pricesPath: String, openAIBaseURL: String, anthropicBaseURL: String, defaultMaxTokens: Int64
    ) throws -> LLMProxyConfiguration {
        let environment = ProcessInfo.processInfo.environment
        func secret(_ names: String...) -> String? { names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty } }
        var configuration = LLMProxyConfiguration(
            openAI: secret("VEGA_LLM_OPENAI_API_KEY", "OPENAI_API_KEY").map { LLMUpstream(baseURL: openAIBaseURL, apiKey: $0) },
            anthropic: secret("VEGA_LLM_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY").map { LLMUpstream(baseURL: anthropicBaseURL, apiKey: $0) },
            prices: try PriceTable.load(contentsOf: URL(fileURLWithPath: pricesPath))
        )
        guard configuration.openAI != nil || configuration.anthropic != nil else {
            throw ValidationError("no upstream key: set VEGA_LLM_OPENAI_API_KEY or VEGA_LLM_ANTHROPIC_API_KEY")
        }
        configuration.defaultMaxTokens = defaultMaxTokens
        return configuration
    }

    /// Many calls to one upstream at once: the default pool (8 connections a host) would queue them.
    static func makeHTTPClient() -> HTTPClient {
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
    }

    struct MintKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mint-key",
            abstract: "Mint a virtual key with its budgets and limits; its token is printed once."
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: "The tenant's name.")
        var tenant = "default"

        @Option(help: "A name to recognise the key by.")
        var name = "llm"

        @Option(help: "The scan the key is for; its calls' ledger rows carry it.")
        var scan: String?

        @Option(name: .customLong("budget-usd"), help: "What the key may spend, in US dollars (six decimals at most).")
        var budgetUSD: String

        @Option(name: .customLong("budget-tokens"), help: "How many tokens (prompt and completion) the key may use.")
        var budgetTokens: Int64

        @Option(name: .customLong("requests-per-minute"), help: "Calls the key may start per minute.")
        var requestsPerMinute = 60

        @Option(help: "Calls the key may have in flight at once.")
        var concurrency = 4

        /// Dollars as micro-dollars, exactly: `1.5` is 1_500_000.
        var budgetMicroUSD: Int64? {
            guard let dollars = Decimal(string: budgetUSD, locale: Locale(identifier: "en_US_POSIX")), dollars >= 0 else { return nil }
            let micro = dollars * 1_000_000
            guard micro == micro.rounded(), micro < Decimal(Int64.max) else { return nil }
            return NSDecimalNumber(decimal: micro).int64Value
        }

        func validate() throws {
            guard budgetMicroUSD != nil else { throw ValidationError("--budget-usd must be dollars, e.g. 2.50, with at most six decimals") }
            guard budgetTokens >= 0 else { throw ValidationError("--budget-tokens cannot be negative") }
            guard requestsPerMinute > 0, concurrency > 0 else { throw ValidationError("--requests-per-minute and --concurrency must be at least 1") }
        }

        func run() async throws {
            let limits = LLMKeyLimits(
                budgetTokens: budgetTokens, budgetMicroUSD: budgetMicroUSD!, requestsPerMinute: requestsPerMinute, maxConcurrent: concurrency
            )
            let (tenantName, name, scan) = (tenant, name, scan)
            let issued = try await AdminCommand.withStore(database) { store in
                guard let scope = try await store.tenant(named: tenantName) else { throw ValidationError("no tenant named \(tenantName)") }
                return try await store.createLLMKey(name: name, scanID: scan, limits: limits, in: scope, by: "operator", now: Date())
            }
            print("minted LLM key \(issued.key.id) in tenant \(tenantName): \(budgetTokens) tokens, $\(budgetUSD)")
            print("token: \(issued.token)  (shown once)")
        }
    }
}

extension Decimal {
    fileprivate func rounded() -> Decimal {
        var value = self
        var result = Decimal()
        NSDecimalRound(&result, &value, 0, .plain)
        return result
    }
}

/// `vega serve`'s options for the LLM proxy it mounts at `/llm` when `--llm-prices` is given.
struct MountedLLMProxyOptions: ParsableArguments {
    @Option(name: .customLong("llm-prices"), help: "Serve the LLM proxy at /llm with this price table (JSON); upstream keys as for `vega llm-proxy`. Unset: /llm answers 404.")
    var prices: String?

    @Option(name: .customLong("llm-openai-base-url"), help: "The proxy's OpenAI-compatible upstream, /v1 included.")
    var openAIBaseURL = ProcessInfo.processInfo.environment["VEGA_LLM_OPENAI_BASE_URL"] ?? "https://api.openai.com/v1"

    @Option(name: .customLong("llm-anthropic-base-url"), help: "The proxy's Anthropic upstream, without /v1.")
    var anthropicBaseURL = ProcessInfo.processInfo.environment["VEGA_LLM_ANTHROPIC_BASE_URL"] ?? "https://api.anthropic.com"

    @Option(name: .customLong("llm-default-max-tokens"), help: "The cap the proxy sets on an OpenAI call that gives none.")
    var defaultMaxTokens: Int64 = 4096

    func validate() throws {
        guard defaultMaxTokens > 0 else { throw ValidationError("--llm-default-max-tokens must be more than 0") }
    }

    /// The proxy's configuration, nil when `--llm-prices` is not given.
    func configuration() throws -> LLMProxyConfiguration? {
        guard let prices else { return nil }
        return try LLMProxyCommand.configuration(
            prices: prices, openAIBaseURL: openAIBaseURL, anthropicBaseURL: anthropicBaseURL, defaultMaxTokens: defaultMaxTokens
        )
    }
}
