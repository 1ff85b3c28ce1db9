import ArgumentParser
import Foundation
import Logging
import VegaLLMProxy
import VegaScanner
import VegaServer
import VegaStore
import VegaWorker

/// Where the platform keeps its records: `--database-url`, else the SQLite file in the data folder.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Vega's data folder (default: $VEGA_DATA_DIR, else ./vega-data).")
    var dataDirectory: String?

    @Option(name: .customLong("database-url"), help: "postgres://user:password@host:port/database (default: SQLite in the data folder; $VEGA_DATABASE_URL).")
    var databaseURL: String?

    var resolvedURL: String {
        if let databaseURL { return databaseURL }
        if let fromEnvironment = ProcessInfo.processInfo.environment["VEGA_DATABASE_URL"], !fromEnvironment.isEmpty { return fromEnvironment }
        return (DataDirectory.resolve(dataDirectory) as NSString).appendingPathComponent("vega.sqlite")
    }

    /// The URL as logs may show it.
    var displayURL: String {
        guard var components = URLComponents(string: resolvedURL), components.password != nil else { return resolvedURL }
        components.password = "****"
        return components.string ?? "postgres://…"
    }

    func open(logger: Logger) async throws -> any StoreDatabase {
        try await DatabaseConnector.open(url: resolvedURL, logger: logger)
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the platform: the HTTP API on the embedded SQLite database, or on PostgreSQL.",
        discussion: """
            Migrations run on start. On the first start of an empty database, the first tenant, its owner and an owner API key are created and printed once.

            Operations: GET /healthz (up), GET /readyz (database and artifact store usable), GET /metrics (Prometheus text; \
            behind --metrics-token when set). Logs go to stderr, one JSON object per line (--log-format json) or text, each \
            request's line with its request_id (X-Request-Id) and, once authenticated, tenant_id.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @OptionGroup var artifacts: ArtifactOptions

    @OptionGroup(title: "Scan runners (the in-process worker's)") var runner: RunnerOptions

    @OptionGroup(title: "The LLM proxy (at /llm; docs/llm-proxy.md)") var llm: MountedLLMProxyOptions

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 8080

    @Flag(name: .customLong("allow-file-repositories"), help: "Let admins register file:// repositories, which read this machine's disk.")
    var allowFileRepositories = false

    @Flag(name: .customLong("insecure-cookies"), help: "Send the sign-in cookie without Secure, for browsers reaching this server over plain HTTP on another host (never across an untrusted network).")
    var insecureCookies = false

    @Option(name: .customLong("metrics-token"), help: "Serve /metrics (every tenant's counts) only with `Authorization: Bearer <token>` (default: $VEGA_METRICS_TOKEN; unset: no token, restrict by network).")
    var metricsToken: String?

    @Option(name: .customLong("log-format"), help: "json (one object per line) or text (default: text when stderr is a terminal, else json).")
    var logFormat: LogFormat?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .customLong("max-active-scans"), help: "Each tenant's limit on scans queued or running at once; 0: unlimited (a tenant's own: vega admin set-quota).")
    var maxActiveScans = ScanQuota().maxActiveScans

    @Option(name: .customLong("max-scans-per-day"), help: "Each tenant's limit on scans submitted per UTC day; 0: unlimited (a tenant's own: vega admin set-quota).")
    var maxScansPerDay = ScanQuota().maxScansPerDay

    @Option(name: .customLong("max-upload-bytes"), help: "The largest archive a scan may be uploaded as (POST /v1/repositories/{id}/scans/archive), in bytes; larger is refused with 413.")
    var maxUploadBytes: Int64 = 1 << 30

    @Flag(name: .customLong("no-worker"), help: "Serve the API only and run no scans here: an API node beside `vega worker` processes on the same database.")
    var noWorker = false

    enum LogFormat: String, ExpressibleByArgument, CaseIterable {
        case json, text
    }

    func validate() throws {
        guard (1...65_535).contains(port) else { throw ValidationError("--port must be between 1 and 65535") }
        guard maxUploadBytes > 0 else { throw ValidationError("--max-upload-bytes must be more than 0") }
        guard maxActiveScans >= 0, maxScansPerDay >= 0 else { throw ValidationError("--max-active-scans and --max-scans-per-day must be 0 (unlimited) or more") }
    }

    /// Once per process, before the first logger is made: every later `Logger` writes this way.
    func bootstrapLogging() {
        Self.bootstrapLogging(format: logFormat, level: logLevel)
    }

    /// As `vega serve` logs, for every command that runs as a service (`vega worker` too).
    static func bootstrapLogging(format: LogFormat?, level: Logger.Level) {
        let format = format ?? (Terminal.stderrIsTTY ? .text : .json)
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = switch format {
            case .json: JSONLogHandler(label: label)
            case .text: StreamLogHandler.standardError(label: label)
            }
            handler.logLevel = level
            return handler
        }
    }

    func run() async throws {
        bootstrapLogging()
        let logger = Logger(label: "vega")
        // Read before the database opens: a wrong price file or a missing upstream key stops the start.
        let llmConfiguration = try llm.configuration()
        let db = try await database.open(logger: logger)
        let llmClient = llmConfiguration.map { _ in LLMProxyCommand.makeHTTPClient() }
        do {
            let applied = try await Migrator.migrate(db)
            logger.info("database ready", metadata: ["database": "\(database.displayURL)", "migrations_applied": "\(applied)"])
            let store = Store(database: db)
            if let first = try await store.bootstrapIfEmpty() {
                // Printed once, to the terminal that started the server: never logged. Written
                // straight to the file descriptor, since a pipe's buffer would hold it until exit.
                FileHandle.standardOutput.write(Data("""
                First start: created tenant "default" and its owner.
                  login:    \(first.ownerEmail)
                  password: \(first.ownerPassword)
                  API key:  \(first.ownerToken)
                Keep these now; they are not shown again.

                """.utf8))
            }
            // Scans submitted over the API run in this process, unless --no-worker leaves them to `vega worker`s.
            let dataDirectory = DataDirectory.resolve(database.dataDirectory)
            let artifactStore = try artifacts.makeStore(dataDirectory: dataDirectory)
            logger.info("artifact store", metadata: ["artifacts": "\(artifactStore)"])
            let worker = ScanWorker(
                store: store, dataDirectory: dataDirectory, artifacts: artifactStore, runner: runner.configuration(dataDirectory: dataDirectory),
                logger: logger
            )
            if let llmConfiguration {
                logger.info("llm proxy at /llm", metadata: [
                    "prices": "\(llmConfiguration.prices.version)", "openai": "\(llmConfiguration.openAI?.description ?? "off")",
                    "anthropic": "\(llmConfiguration.anthropic?.description ?? "off")",
                ])
            }
            let app = VegaServer.buildApplication(
                store: store,
                configuration: .init(
                    host: host, port: port, dataDirectory: dataDirectory, artifacts: artifactStore, allowFileRepositories: allowFileRepositories,
                    metricsToken: metricsToken ?? ProcessInfo.processInfo.environment["VEGA_METRICS_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
                    secureCookies: !insecureCookies, scanQuota: ScanQuota(maxActiveScans: maxActiveScans, maxScansPerDay: maxScansPerDay),
                    maxUploadBytes: maxUploadBytes,
                    llmProxy: llmConfiguration.flatMap { proxy in
                        llmClient.map { LLMProxy(store: store, configuration: proxy, httpClient: $0, logger: logger) }
                    }
                ),
                services: noWorker ? [] : [worker], logger: logger
            )
            try await app.runService()
        } catch {
            try? await llmClient?.shutdown()
            try? await db.shutdown()
            throw error
        }
        try await llmClient?.shutdown()
        try await db.shutdown()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Bring the platform database's schema up to date (vega serve also does on start)."
    )

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let db = try await database.open(logger: Logger(label: "vega"))
        do {
            let applied = try await Migrator.migrate(db)
            let version = try await Migrator.version(of: db)
            print(applied.isEmpty
                  ? "\(database.displayURL): schema version \(version), up to date"
                  : "\(database.displayURL): applied \(applied.map(String.init).joined(separator: ", ")); schema version \(version)")
        } catch {
            try? await db.shutdown()
            throw error
        }
        try await db.shutdown()
    }
}
