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
                let port = Int.random(in: 20_000...60_000)
                let process = Process()
                process.executableURL = URL(fileURLWithPath: try vegaPath())
                process.arguments = [
                    "llm-proxy", "--database-url", url, "--port", String(port), "--prices", data.root.appendingPathComponent("prices.json").path,
                    "--log-format", "json",
                ]
                process.environment = ProcessInfo.processInfo.environment.merging([
                    "VEGA_LLM_OPENAI_API_KEY": FakeUpstream.upstreamKey, "VEGA_LLM_OPENAI_BASE_URL": "http://127.0.0.1:\(upstreamPort)/v1",
                ]) { $1 }
                let log = data.root.appendingPathComponent("proxy.log")
                #expect(FileManager.default.createFile(atPath: log.path, contents: nil))
                process.standardError = try FileHandle(forWritingTo: log)
                process.standardOutput = FileHandle.nullDevice
                try process.run()
                defer { if process.isRunning { process.terminate() } }

                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                request.method = .POST
                request.headers.add(name: "authorization", value: "Bearer \(token)")
                request.body = .bytes(ByteBuffer(string: #"{"model":"gpt-test","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}"#))
                var answered: HTTPClientResponse?
                for _ in 0..<150 where answered == nil && process.isRunning {  // until it listens
                    if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(10)) {
                        answered = response
                    } else {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                let response = try #require(answered)
                #expect(response.status == .ok)
                // 60 µ$ of $1.50, as in the library's tests.
                #expect(response.headers.first(name: "x-vega-budget-remaining-usd") == "1.499940")

                process.terminate()
                process.waitUntilExit()
                #expect(process.terminationStatus == 0, "SIGTERM is a clean shutdown")
                let logged = try String(contentsOf: log, encoding: .utf8)
                #expect(!logged.contains(FakeUpstream.upstreamKey) && !logged.contains(String(token)))
            }
            let key = try #require(try await store.authenticateLLMKey(token: String(token)))
            let ledger = try await store.llmCalls(keyID: key.id, in: key.tenant)
            #expect(ledger.count == 1 && ledger.first?.scanID == "scn_cli" && ledger.first?.priceVersion == "cli-test")
        }
    }
}
