import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VegaStore
import VegaStoreTestSupport
import VegaTestSupport

/// `vega llm-proxy mint-key` and `vega llm-proxy` as an operator runs them: the real
/// executable on a real database, in front of the fake upstream.
@Suite struct LLMProxyCommandTests {
    @Test(arguments: TestDatabase.all)
    func mintedKeyCallsThroughTheServedProxy(_ kind: TestDatabase) async throws {
        let data = try TestRepo(git: false)
        defer { data.remove() }
        try await kind.withFresh { url, database in
            try await Migrator.migrate(database)
            let store = Store(database: database)
            _ = try await store.createTenant(name: "default")
            try data.write("prices.json", #"{"version":"cli-test","models":{"gpt-test":{"inputPerMillion":2,"outputPerMillion":8,"cachedInputPerMillion":1}}}"#)

            let badBudget = try Run.command(try vegaPath(), ["llm-proxy", "mint-key", "--database-url", url, "--budget-usd", "1.0000001", "--budget-tokens", "10"])
            #expect(badBudget.status == 2 && badBudget.stderr.contains("--budget-usd"))
            let minted = try Run.command(try vegaPath(), [
                "llm-proxy", "mint-key", "--database-url", url, "--scan", "scn_cli", "--budget-usd", "1.5", "--budget-tokens", "100000",
            ])
            #expect(minted.status == 0, "\(minted.stderr)")
            let token = try #require(minted.stdout.split(separator: "\n").first { $0.hasPrefix("token: ") }?.split(separator: " ")[1])
            #expect(token.hasPrefix("vega_llm_"))

            let fake = FakeUpstream()
            let upstream = Application(router: fake.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await upstream.test(.live) { client in
                let upstreamPort = try #require(client.port)
                let served = try await Self.callServed(
                    ["llm-proxy", "--database-url", url, "--prices", data.root.appendingPathComponent("prices.json").path],
                    environment: ProcessInfo.processInfo.environment, upstreamPort: upstreamPort, path: "/v1/chat/completions",
                    token: String(token), log: data.root.appendingPathComponent("proxy.log")
                )
                #expect(served.response.status == .ok)
                // 60 µ$ of $1.50, as in the library's tests.
                #expect(served.response.headers.first(name: "x-vega-budget-remaining-usd") == "1.499940")
                #expect(served.exitStatus == 0, "SIGTERM is a clean shutdown")
                #expect(!served.log.contains(FakeUpstream.upstreamKey) && !served.log.contains(String(token)))
            }
            let key = try #require(try await store.authenticateLLMKey(token: String(token)))
            let ledger = try await store.llmCalls(keyID: key.id, in: key.tenant)
            #expect(ledger.count == 1 && ledger.first?.scanID == "scn_cli" && ledger.first?.priceVersion == "cli-test")
        }
    }

    /// `vega serve --llm-prices` mounts the proxy at /llm: a call through it is settled, in the
    /// ledger and in the tenant's usage; without an upstream key the server refuses to start.
    @Test(arguments: TestDatabase.all)
    func servedPlatformMountsTheProxy(_ kind: TestDatabase) async throws {
        let data = try TestRepo(git: false)
        defer { data.remove() }
        try await kind.withFresh { url, database in
            try await Migrator.migrate(database)
            let store = Store(database: database)
            let tenant = try await store.createTenant(name: "default")
            let issued = try await store.createLLMKey(
                name: "serve", limits: LLMKeyLimits(budgetTokens: 100_000, budgetMicroUSD: 1_500_000, requestsPerMinute: 60, maxConcurrent: 4),
                in: tenant, by: "usr_tester"
            )
            try data.write("prices.json", #"{"version":"serve-test","models":{"gpt-test":{"inputPerMillion":2,"outputPerMillion":8,"cachedInputPerMillion":1}}}"#)
            let prices = data.root.appendingPathComponent("prices.json").path
            let serve = ["serve", "--database-url", url, "--data-dir", data.root.appendingPathComponent("vega-data").path, "--no-worker", "--llm-prices", prices]
            let keyless = ProcessInfo.processInfo.environment.filter { !["VEGA_LLM_OPENAI_API_KEY", "OPENAI_API_KEY", "VEGA_LLM_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"].contains($0.key) }

            let refused = try Run.command(try vegaPath(), serve + ["--port", "1"], environment: keyless)
            #expect(refused.status != 0 && refused.stderr.contains("VEGA_LLM_OPENAI_API_KEY"), "\(refused.stderr)")

            let fake = FakeUpstream()
            let upstream = Application(router: fake.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await upstream.test(.live) { client in
                let upstreamPort = try #require(client.port)
                let served = try await Self.callServed(
                    serve, environment: keyless, upstreamPort: upstreamPort, path: "/llm/v1/chat/completions", token: issued.token,
                    log: data.root.appendingPathComponent("serve.log")
                )
                #expect(served.response.status == .ok)
                #expect(served.response.headers.first(name: "x-vega-budget-remaining-usd") == "1.499940")
                #expect(served.log.contains("llm proxy at /llm") && !served.log.contains(FakeUpstream.upstreamKey) && !served.log.contains(issued.token))
            }
            let ledger = try await store.llmCalls(keyID: issued.key.id, in: tenant)
            #expect(ledger.count == 1 && ledger.first?.priceVersion == "serve-test" && ledger.first?.costMicroUSD == 60)
            let today = CalendarDay(Date())
            let usage = try await store.usage(from: today, to: today, in: tenant)
            #expect(usage.totals.llmCalls == 1 && usage.totals.llmTokens == 17 && usage.totals.llmCostMicroUSD == 60)
        }
    }

    /// Starts `vega ARGUMENTS` on a free-looking port with the fake upstream's key and URL
    /// added to `environment`, sends one chat call with `token` to `path` once it listens,
    /// stops it with SIGTERM, and answers the response, its exit status and its log.
    static func callServed(
        _ arguments: [String], environment: [String: String], upstreamPort: Int, path: String, token: String, log: URL
    ) async throws -> (response: HTTPClientResponse, exitStatus: Int32, log: String) {
        let port = Int.random(in: 20_000...60_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try vegaPath())
        process.arguments = arguments + ["--port", String(port), "--log-format", "json"]
        process.environment = environment.merging([
            "VEGA_LLM_OPENAI_API_KEY": FakeUpstream.upstreamKey, "VEGA_LLM_OPENAI_BASE_URL": "http://127.0.0.1:\(upstreamPort)/v1",
        ]) { $1 }
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else { throw RunError(description: "cannot create \(log.path)") }
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "authorization", value: "Bearer \(token)")
        request.body = .bytes(ByteBuffer(string: #"{"model":"gpt-test","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}"#))
        var answered: HTTPClientResponse?
        for _ in 0..<600 where answered == nil && process.isRunning {  // until it listens (a loaded machine may take a while)
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(10)) {
                answered = response
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let response = try #require(answered)
        process.terminate()
        process.waitUntilExit()
        return (response, process.terminationStatus, try String(contentsOf: log, encoding: .utf8))
    }
}
