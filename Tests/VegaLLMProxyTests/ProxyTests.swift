import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import VegaLLMProxy
import VegaStore
import VegaStoreTestSupport

/// The proxy over real HTTP on loopback, between a caller (AsyncHTTPClient) and the fake
/// upstream, on both databases.
@Suite struct LLMProxyTests {
    static let prices = PriceTable(version: "test-2026-12", models: [
        "gpt-test": ModelPrice(inputPerMillion: 2, outputPerMillion: 8, cachedInputPerMillion: 1),
        "gpt-fail": ModelPrice(inputPerMillion: 2, outputPerMillion: 8),
        "gpt-endless": ModelPrice(inputPerMillion: 2, outputPerMillion: 8),
        "claude-test": ModelPrice(
            inputPerMillion: 3, outputPerMillion: 15, cachedInputPerMillion: Decimal(string: "0.3")!, cacheWriteInputPerMillion: Decimal(string: "3.75")!
        ),
        "claude-endless": ModelPrice(inputPerMillion: 3, outputPerMillion: 15),
    ])
    static let roomy = LLMKeyLimits(budgetTokens: 1_000_000, budgetMicroUSD: 10_000_000, requestsPerMinute: 1_000, maxConcurrent: 64)
    static let chat = #"{"model":"gpt-test","messages":[{"role":"user","content":"Say hello"}],"max_tokens":50}"#
    static let messages = #"{"model":"claude-test","max_tokens":50,"messages":[{"role":"user","content":"Say hello"}]}"#

    struct Answer {
        var status: Int
        /// By lowercased name.
        var headers: [String: String]
        var body: String
    }

    struct Harness {
        var store: Store
        var tenant: TenantScope
        var upstream: FakeUpstream
        var port: Int

        func key(_ limits: LLMKeyLimits = LLMProxyTests.roomy) async throws -> IssuedLLMKey {
            try await store.createLLMKey(name: "scan key", scanID: "scn_test", limits: limits, in: tenant, by: "usr_tester")
        }

        func post(_ path: String, _ body: String, headers: [(String, String)]) async throws -> Answer {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(string: body))
            // Generous: 64 callers queue on the client's few connections, on a machine the suite shares.
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return Answer(
                status: Int(response.status.code), headers: Dictionary(response.headers.map { ($0.name.lowercased(), $0.value) }) { $1 },
                body: String(buffer: bytes)
            )
        }

        func openAI(_ body: String = LLMProxyTests.chat, token: String) async throws -> Answer {
            try await post("/v1/chat/completions", body, headers: [("authorization", "Bearer \(token)")])
        }

        func anthropic(_ body: String = LLMProxyTests.messages, token: String) async throws -> Answer {
            try await post("/v1/messages", body, headers: [("x-api-key", token), ("anthropic-version", "2023-06-01")])
        }
    }

    static func withProxy(_ kind: TestDatabase, upstreamDelay: Duration = .zero, _ body: @escaping @Sendable (Harness) async throws -> Void) async throws {
        try await kind.withStore { store in
            let tenant = try await store.createTenant(name: "acme")
            let fake = FakeUpstream(delay: upstreamDelay)
            let upstreamApp = Application(router: fake.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await upstreamApp.test(.live) { upstreamClient in
                let upstreamPort = try #require(upstreamClient.port)
                let configuration = LLMProxyConfiguration(
                    openAI: LLMUpstream(baseURL: "http://127.0.0.1:\(upstreamPort)/v1", apiKey: FakeUpstream.upstreamKey),
                    anthropic: LLMUpstream(baseURL: "http://127.0.0.1:\(upstreamPort)", apiKey: FakeUpstream.upstreamKey),
                    prices: prices
                )
                let proxy = LLMProxy(store: store, configuration: configuration, httpClient: .shared, logger: Logger(label: "test"))
                let proxyApp = Application(router: proxy.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
                try await proxyApp.test(.live) { client in
                    try await body(Harness(store: store, tenant: tenant, upstream: fake, port: try #require(client.port)))
                }
            }
        }
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    @Test(arguments: TestDatabase.all)
    func openAICallIsForwardedAndSettled(_ kind: TestDatabase) async throws {
        try await Self.withProxy(kind) { harness in
            let issued = try await harness.key()
            let answer = try await harness.openAI(token: issued.token)
            #expect(answer.status == 200)
            #expect(try Self.object(answer.body)["id"] as? String == "chatcmpl-1")
            // 12 prompt tokens of which 4 cached, 5 completion: 8 × $2 + 4 × $1 + 5 × $8 per million = 60 µ$.
            #expect(answer.headers["x-vega-budget-remaining-usd"] == "9.999940")
            #expect(answer.headers["x-vega-budget-remaining-tokens"] == "999983")
            let ledger = try await harness.store.llmCalls(keyID: issued.key.id, in: harness.tenant)
            let call = try #require(ledger.first)
            #expect(ledger.count == 1)
            #expect(call.api == "openai.chat" && call.model == "gpt-test" && call.scanID == "scn_test" && call.status == .ok)
            #expect(call.promptTokens == 12 && call.cachedTokens == 4 && call.completionTokens == 5 && call.costMicroUSD == 60)
            #expect(call.priceVersion == "test-2026-12" && call.httpStatus == 200)
            let state = try await harness.store.llmBudget(keyID: issued.key.id, in: harness.tenant)
            #expect(state.spentTokens == 17 && state.spentMicroUSD == 60 && state.reservedTokens == 0 && state.reservedMicroUSD == 0)
            // The upstream got the proxy's key, not the caller's.
            let sent = try #require(await harness.upstream.log.entries.first)
            #expect(sent.path == "/v1/chat/completions" && sent.authorization == "Bearer \(FakeUpstream.upstreamKey)")
        }
    }

    @Test(arguments: TestDatabase.all)
    func anthropicCallCountsCacheTokens(_ kind: TestDatabase) async throws {
        try await Self.withProxy(kind) { harness in
            let issued = try await harness.key()
            let answer = try await harness.anthropic(token: issued.token)
            #expect(answer.status == 200)
            #expect(try Self.object(answer.body)["type"] as? String == "message")
            let call = try #require(try await harness.store.llmCalls(keyID: issued.key.id, in: harness.tenant).first)
            // 10 input + 2 cache writes + 3 cache reads: 10 × $3 + 2 × $3.75 + 3 × $0.3 + 7 × $15 per million = 143.4 µ$, rounded up.
            #expect(call.api == "anthropic.messages" && call.promptTokens == 15 && call.cachedTokens == 3 && call.cacheWriteTokens == 2)
            #expect(call.completionTokens == 7 && call.costMicroUSD == 144)
            let sent = try #require(await harness.upstream.log.entries.first)
            #expect(sent.path == "/v1/messages" && sent.apiKey == FakeUpstream.upstreamKey && sent.authorization == nil)
        }
    }

    @Test(arguments: TestDatabase.all)
    func unpricedModelsAndUnknownKeysAreRefused(_ kind: TestDatabase) async throws {
        try await Self.withProxy(kind) { harness in
            let issued = try await harness.key()
            let unpriced = try await harness.openAI(#"{"model":"gpt-unpriced","messages":[{"role":"user","content":"hi"}]}"#, token: issued.token)
            #expect(unpriced.status == 400)
            #expect((try Self.object(unpriced.body)["error"] as? [String: Any])?["code"] as? String == "model_not_priced")
            let stranger = try await harness.anthropic(token: "vega_llm_abcdefghij_" + String(repeating: "x", count: 40))
            #expect(stranger.status == 401)
            #expect((try Self.object(stranger.body)["error"] as? [String: Any])?["type"] as? String == "authentication_error")
            #expect(await harness.upstream.log.entries.isEmpty)
            #expect(try await harness.store.llmCalls(keyID: issued.key.id, in: harness.tenant).isEmpty)
        }
    }

    @Test(arguments: TestDatabase.all)
    func exhaustedBudgetIs402AndNothingIsForwarded(_ kind: TestDatabase) async throws {
        try await Self.withProxy(kind) { harness in
            // 50 max tokens at $8 per million alone is 400 µ$: more than the key has.
            let issued = try await harness.key(LLMKeyLimits(budgetTokens: 1_000_000, budgetMicroUSD: 300, requestsPerMinute: 100, maxConcurrent: 4))
            let openAI = try await harness.openAI(token: issued.token)
            #expect(openAI.status == 402)
            let error = try #require(try Self.object(openAI.body)["error"] as? [String: Any])
            #expect(error["code"] as? String == "budget_exceeded" && error["type"] as? String == "insufficient_quota")
            #expect(openAI.headers["x-vega-budget-remaining-usd"] == "0.000300")
            let anthropic = try await harness.anthropic(token: issued.token)
            #expect(anthropic.status == 402)
            #expect(try Self.object(anthropic.body)["type"] as? String == "error")
            #expect((try Self.object(anthropic.body)["error"] as? [String: Any])?["type"] as? String == "billing_error")
            #expect(await harness.upstream.log.entries.isEmpty)
            let state = try await harness.store.llmBudget(keyID: issued.key.id, in: harness.tenant)
            #expect(state.spentMicroUSD == 0 && state.reservedMicroUSD == 0)
        }
    }

    /// `n` choices of up to max_tokens each are reserved as such; nonsense limits are refused.
    @Test(arguments: TestDatabase.all)
    func reservationCoversEveryChoice(_ kind: TestDatabase) async throws {
        try await Self.withProxy(kind) { harness in
            let issued = try await harness.key(LLMKeyLimits(budgetTokens: 250, budgetMicroUSD: 10_000_000, requestsPerMinute: 100, maxConcurrent: 4))
            let three = try await harness.openAI(
                #"{"model":"gpt-test","n":3,"max_tokens":80,"messages":[{"role":"user","content":"hi"}]}"#, token: issued.token
            )
            #expect(three.status == 402)
            let one = try await harness.openAI(
                #"{"model":"gpt-test","n":1,"max_tokens":80,"messages":[{"role":"user","content":"hi"}]}"#, token: issued.token
            )
            #expect(one.status == 200)
            let negative = try await harness.openAI(
                #"{"model":"gpt-test","max_tokens":-5,"messages":[{"role":"user","content":"hi"}]}"#, token: issued.token
            )
            #expect(negative.status == 400)
            #expect((try Self.object(negative.body)["error"] as? [String: Any])?["code"] as? String == "invalid_max_tokens")
            #expect(await harness.upstream.log.entries.count == 1)
        }
    }

    /// 64 callers at once through the HTTP proxy, with a token budget that 64 calls' real
    /// use (17 tokens each) would exceed: the budget is never overshot, every reservation
    /// is released, and what was forwarded is exactly what the ledger holds.
    @Test(arguments: TestDatabase.all)
    func concurrentCallersNeverOvershoot(_ kind: TestDatabase) async throws {
        try await Self.withProxy(kind, upstreamDelay: .milliseconds(10)) { harness in
            let limits = LLMKeyLimits(budgetTokens: 1_000, budgetMicroUSD: 10_000_000, requestsPerMinute: 1_000, maxConcurrent: 64)
            let issued = try await harness.key(limits)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<64 { group.addTask { try await harness.openAI(token: issued.token).status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            let answered = statuses.filter { $0 == 200 }.count
            #expect(answered >= 1 && statuses.contains(402))
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 402 })
            let state = try await harness.store.llmBudget(keyID: issued.key.id, in: harness.tenant)
            #expect(state.spentTokens <= limits.budgetTokens)
            #expect(state.reservedTokens == 0 && state.reservedMicroUSD == 0)
            let ledger = try await harness.store.llmCalls(keyID: issued.key.id, in: harness.tenant)
            #expect(ledger.count == answered && state.spentTokens == Int64(answered) * 17)
            #expect(await harness.upstream.log.entries.count == answered)
        }
    }

    @Test(arguments: TestDatabase.all)
    func upstreamErrorsPassThroughUncharged(_ kind: TestDatabase) async throws {
        try await Self.withProxy(kind) { harness in
            let issued = try await harness.key()
            let failed = try await harness.openAI(#"{"model":"gpt-fail","messages":[{"role":"user","content":"hi"}]}"#, token: issued.token)
            #expect(failed.status == 500)
            #expect((try Self.object(failed.body)["error"] as? [String: Any])?["type"] as? String == "server_error")
            #expect(failed.headers["x-vega-budget-remaining-usd"] == "10.000000")
            let call = try #require(try await harness.store.llmCalls(keyID: issued.key.id, in: harness.tenant).first)
            #expect(call.status == .upstreamError && call.httpStatus == 500 && call.costMicroUSD == 0)
            let state = try await harness.store.llmBudget(keyID: issued.key.id, in: harness.tenant)
            #expect(state.spentTokens == 0 && state.spentMicroUSD == 0 && state.reservedTokens == 0 && state.reservedMicroUSD == 0)
            // An OpenAI call without max_tokens was capped by the proxy, so its reservation had a bound.
            #expect(await harness.upstream.log.entries.first?.body["max_tokens"] as? Int == 4096)
        }
    }

    @Test(arguments: TestDatabase.all)
    func streamsPassThroughAndSettleByTheirUsage(_ kind: TestDatabase) async throws {
        try await Self.withProxy(kind) { harness in
            let issued = try await harness.key()
            let openAI = try await harness.openAI(
                #"{"model":"gpt-test","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"#, token: issued.token
            )
            #expect(openAI.status == 200 && openAI.body.contains(#""content":"lo ""#) && openAI.body.hasSuffix("data: [DONE]\n\n"))
            #expect(openAI.headers["content-type"] == "text/event-stream")
            // The proxy asked for the usage the caller did not.
            let sent = try #require(await harness.upstream.log.entries.first)
            #expect((sent.body["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)

            let anthropic = try await harness.anthropic(
                #"{"model":"claude-test","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"#, token: issued.token
            )
            #expect(anthropic.status == 200 && anthropic.body.contains("event: message_stop"))

            let ledger = try await harness.store.llmCalls(keyID: issued.key.id, in: harness.tenant)
            #expect(ledger.count == 2)
            #expect(ledger.contains { $0.api == "openai.chat" && $0.promptTokens == 12 && $0.completionTokens == 5 && $0.costMicroUSD == 60 })
            #expect(ledger.contains { $0.api == "anthropic.messages" && $0.promptTokens == 15 && $0.completionTokens == 7 && $0.costMicroUSD == 144 })
            let state = try await harness.store.llmBudget(keyID: issued.key.id, in: harness.tenant)
            #expect(state.reservedTokens == 0 && state.spentMicroUSD == 204)
        }
    }

    /// A caller that goes away mid-stream is charged what was counted: the input the stream
    /// reported and a third of the bytes generated; its reservation is released.
    @Test(arguments: TestDatabase.all)
    func abortedStreamIsChargedWhatWasCounted(_ kind: TestDatabase) async throws {
        try await Self.withProxy(kind) { harness in
            let issued = try await harness.key()
            let reader = Task {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(harness.port)/v1/messages")
                request.method = .POST
                request.headers.add(name: "x-api-key", value: issued.token)
                request.body = .bytes(ByteBuffer(string: #"{"model":"claude-endless","stream":true,"max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}"#))
                // Generous: 64 callers queue on the client's few connections, on a machine the suite shares.
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
                var received = 0
                for try await chunk in response.body {
                    received += chunk.readableBytes
                    if received > 2_000 { break }
                }
                return received
            }
            #expect(try await reader.value > 2_000)
            var ledger: [LLMCall] = []
            for _ in 0..<200 where ledger.isEmpty {
                try await Task.sleep(for: .milliseconds(25))
                ledger = try await harness.store.llmCalls(keyID: issued.key.id, in: harness.tenant)
            }
            let call = try #require(ledger.first)
            #expect(call.status == .aborted && call.promptTokens == 15 && call.cachedTokens == 3)
            // At least the pieces the caller read, 30 bytes (10 tokens) each.
            #expect(call.completionTokens >= 10 && call.completionTokens % 10 == 0)
            // claude-endless has no cache prices: all 15 input tokens at $3.
            #expect(call.cacheWriteTokens == 2 && call.costMicroUSD == 15 * 3 + call.completionTokens * 15)
            let state = try await harness.store.llmBudget(keyID: issued.key.id, in: harness.tenant)
            #expect(state.reservedTokens == 0 && state.spentTokens == 15 + call.completionTokens)
            // The upstream stream was ended too.
            var stopped = false
            for _ in 0..<200 where !stopped {
                try await Task.sleep(for: .milliseconds(25))
                stopped = await harness.upstream.log.endlessStopped
            }
            #expect(stopped)
        }
    }

    @Test(arguments: TestDatabase.all)
    func requestsPerMinuteAndConcurrencyAreCapped(_ kind: TestDatabase) async throws {
        try await Self.withProxy(kind) { harness in
            let issued = try await harness.key(LLMKeyLimits(budgetTokens: 1_000_000, budgetMicroUSD: 10_000_000, requestsPerMinute: 2, maxConcurrent: 1))
            #expect(try await harness.openAI(token: issued.token).status == 200)
            #expect(try await harness.openAI(token: issued.token).status == 200)
            let third = try await harness.openAI(token: issued.token)
            #expect(third.status == 429)
            #expect((try Self.object(third.body)["error"] as? [String: Any])?["code"] as? String == "rate_limited")

            // One call in flight at a time: a second caller while a stream is open is refused.
            let other = try await harness.key(LLMKeyLimits(budgetTokens: 1_000_000, budgetMicroUSD: 10_000_000, requestsPerMinute: 100, maxConcurrent: 1))
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(harness.port)/v1/chat/completions")
            request.method = .POST
            request.headers.add(name: "authorization", value: "Bearer \(other.token)")
            request.body = .bytes(ByteBuffer(string: #"{"model":"gpt-endless","stream":true,"max_tokens":100,"messages":[{"role":"user","content":"hi"}]}"#))
            let open = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(open.status == .ok)
            let refused = try await harness.anthropic(#"{"model":"claude-test","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#, token: other.token)
            #expect(refused.status == 429)
            #expect((try Self.object(refused.body)["error"] as? [String: Any])?["type"] as? String == "rate_limit_error")
            _ = open
        }
    }
}
