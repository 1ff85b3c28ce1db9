import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import Testing
import VegaLLMProxy
import VegaModel
import VegaServer
import VegaStore
import VegaStoreTestSupport

/// The proxy mounted inside `vega serve` at /llm, its keys and ledger over /v1/llm, and its
/// calls in the tenant's usage: real HTTP on loopback against the fake upstream, on both databases.
@Suite struct MountedProxyTests {
    struct Harness {
        var store: Store
        var tenant: TenantScope
        var upstream: FakeUpstream
        var port: Int
        var ownerToken: String
        var viewerToken: String

        func send(
            _ method: HTTPMethod, _ path: String, _ body: String? = nil, headers: [(String, String)]
        ) async throws -> LLMProxyTests.Answer {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            request.method = method
            request.headers.add(name: "content-type", value: "application/json")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(string: body)) }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return LLMProxyTests.Answer(
                status: Int(response.status.code), headers: Dictionary(response.headers.map { ($0.name.lowercased(), $0.value) }) { $1 },
                body: String(buffer: bytes)
            )
        }

        /// The platform's API with an API key.
        func api(_ method: HTTPMethod, _ path: String, _ body: String? = nil, token: String? = nil) async throws -> LLMProxyTests.Answer {
            try await send(method, path, body, headers: [("authorization", "Bearer \(token ?? ownerToken)")])
        }

        /// Mints a key over the API; its token and id.
        func mint(_ body: String = #"{"name":"scan key","budget_tokens":100000,"budget_micro_usd":5000000,"requests_per_minute":100,"concurrency":4}"#)
            async throws -> (token: String, id: String) {
            let answer = try await api(.POST, "/v1/llm/keys", body)
            #expect(answer.status == 201, "\(answer.body)")
            let object = try LLMProxyTests.object(answer.body)
            return (try #require(object["token"] as? String), try #require(object["id"] as? String))
        }
    }

    /// `vega serve`'s application, with the proxy mounted when `proxied`.
    static func withServer(_ kind: TestDatabase, proxied: Bool = true, _ body: @escaping @Sendable (Harness) async throws -> Void) async throws {
        try await kind.withStore { store in
            let tenant = try await store.createTenant(name: "acme")
            let user = try await store.createUser(email: "owner@acme.test", name: "Owner", role: .owner, password: "owner password 1", in: tenant)
            let owner = Principal(kind: .user, id: user.id, tenantID: tenant.tenantID, role: .owner)
            let ownerKey = try await store.createAPIKey(name: "owner", role: .owner, by: owner)
            let viewerKey = try await store.createAPIKey(name: "viewer", role: .viewer, by: owner)
            let fake = FakeUpstream()
            let upstreamApp = Application(router: fake.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await upstreamApp.test(.live) { upstreamClient in
                let upstreamPort = try #require(upstreamClient.port)
                let proxy = LLMProxy(
                    store: store,
                    configuration: LLMProxyConfiguration(
                        openAI: LLMUpstream(baseURL: "http://127.0.0.1:\(upstreamPort)/v1", apiKey: FakeUpstream.upstreamKey),
                        anthropic: LLMUpstream(baseURL: "http://127.0.0.1:\(upstreamPort)", apiKey: FakeUpstream.upstreamKey),
                        prices: LLMProxyTests.prices
                    ),
                    httpClient: .shared, logger: Logger(label: "test")
                )
                let data = FileManager.default.temporaryDirectory.appendingPathComponent("vega-llm-\(UUID().uuidString)").path
                defer { try? FileManager.default.removeItem(atPath: data) }
                let app = VegaServer.buildApplication(
                    store: store,
                    configuration: .init(host: "127.0.0.1", port: 0, dataDirectory: data, llmProxy: proxied ? proxy : nil),
                    logger: Logger(label: "test")
                )
                try await app.test(.live) { client in
                    try await body(Harness(
                        store: store, tenant: tenant, upstream: fake, port: try #require(client.port), ownerToken: ownerKey.token,
                        viewerToken: viewerKey.token
                    ))
                }
            }
        }
    }

    @Test(arguments: TestDatabase.all)
    func mintCallLedgerUsageRevoke(_ kind: TestDatabase) async throws {
        try await Self.withServer(kind) { harness in
            let key = try await harness.mint()
            #expect(key.token.hasPrefix("vega_llm_"))

            let chat = try await harness.send(.POST, "/llm/v1/chat/completions", LLMProxyTests.chat, headers: [("authorization", "Bearer \(key.token)")])
            #expect(chat.status == 200, "\(chat.body)")
            #expect(try LLMProxyTests.object(chat.body)["id"] as? String == "chatcmpl-1")
            // 8 × $2 + 4 cached × $1 + 5 × $8 per million = 60 µ$ of $5.
            #expect(chat.headers["x-vega-budget-remaining-usd"] == "4.999940")
            let messages = try await harness.send(
                .POST, "/llm/v1/messages", LLMProxyTests.messages, headers: [("x-api-key", key.token), ("anthropic-version", "2023-06-01")]
            )
            #expect(messages.status == 200, "\(messages.body)")
            let sent = await harness.upstream.log.entries.map(\.path)
            #expect(sent == ["/v1/chat/completions", "/v1/messages"])

            // The ledger over the API: 17 tokens and 60 µ$, then 22 tokens and 144 µ$ (see LLMProxyTests).
            let ledger = try await harness.api(.GET, "/v1/llm/calls?key_id=\(key.id)", token: harness.viewerToken)
            #expect(ledger.status == 200)
            let calls = try #require(try LLMProxyTests.object(ledger.body)["items"] as? [[String: Any]])
            #expect(calls.map { $0["api"] as? String } == ["openai.chat", "anthropic.messages"])
            #expect(calls.map { $0["cost_micro_usd"] as? Int } == [60, 144])
            #expect(calls.first?["prompt_tokens"] as? Int == 12 && calls.first?["cached_tokens"] as? Int == 4)

            // The key's use, never its token.
            let listed = try await harness.api(.GET, "/v1/llm/keys")
            #expect(listed.status == 200 && !listed.body.contains(key.token))
            let item = try #require((try LLMProxyTests.object(listed.body)["items"] as? [[String: Any]])?.first)
            #expect(item["id"] as? String == key.id && item["spent_tokens"] as? Int == 39 && item["spent_micro_usd"] as? Int == 204)
            #expect(item["reserved_micro_usd"] as? Int == 0 && item["remaining_micro_usd"] as? Int == 5_000_000 - 204)
            #expect(item["remaining_tokens"] as? Int == 100_000 - 39 && item["token"] == nil)

            // The tenant's usage of today (UTC) counts both calls.
            let usage = try await harness.api(.GET, "/v1/usage", token: harness.viewerToken)
            #expect(usage.status == 200)
            let usageObject = try LLMProxyTests.object(usage.body)
            let totals = try #require(usageObject["totals"] as? [String: Any])
            #expect(totals["llm_calls"] as? Int == 2 && totals["llm_tokens"] as? Int == 39 && totals["llm_cost_micro_usd"] as? Int == 204)
            let today = try #require((usageObject["days"] as? [[String: Any]])?.last)
            #expect(today["day"] as? String == CalendarDay(Date()).description && today["llm_calls"] as? Int == 2)

            // Revoked: the next call is refused in the provider's shape and forwarded nowhere; audited.
            #expect(try await harness.api(.DELETE, "/v1/llm/keys/\(key.id)").status == 204)
            let refused = try await harness.send(.POST, "/llm/v1/chat/completions", LLMProxyTests.chat, headers: [("authorization", "Bearer \(key.token)")])
            #expect(refused.status == 401)
            #expect((try LLMProxyTests.object(refused.body)["error"] as? [String: Any])?["code"] as? String == "invalid_api_key")
            #expect(await harness.upstream.log.entries.count == 2)
            #expect(try await harness.api(.DELETE, "/v1/llm/keys/\(key.id)").status == 404)
            let events = try await harness.api(.GET, "/v1/events")
            #expect(events.body.contains("llm_key.created") && events.body.contains("llm_key.revoked"))
        }
    }

    @Test(arguments: TestDatabase.all)
    func onlyAdminsMintAndPlatformKeysAreNotVirtualKeys(_ kind: TestDatabase) async throws {
        try await Self.withServer(kind) { harness in
            let body = #"{"budget_tokens":1000,"budget_micro_usd":1000}"#
            #expect(try await harness.api(.POST, "/v1/llm/keys", body, token: harness.viewerToken).status == 403)
            #expect(try await harness.api(.GET, "/v1/llm/keys", token: harness.viewerToken).status == 403)
            #expect(try await harness.send(.POST, "/v1/llm/keys", body, headers: []).status == 401)
            let unknownScan = try await harness.api(.POST, "/v1/llm/keys", #"{"scan_id":"scn_nope","budget_tokens":1,"budget_micro_usd":1}"#)
            #expect(unknownScan.status == 422)
            let negative = try await harness.api(.POST, "/v1/llm/keys", #"{"budget_tokens":-1,"budget_micro_usd":1}"#)
            #expect(negative.status == 422)
            #expect(try await harness.store.llmKeys(in: harness.tenant).isEmpty)
            // The platform's API key is not a virtual key: the proxy authenticates its own.
            let withAPIKey = try await harness.send(
                .POST, "/llm/v1/chat/completions", LLMProxyTests.chat, headers: [("authorization", "Bearer \(harness.ownerToken)")]
            )
            #expect(withAPIKey.status == 401)
            #expect(await harness.upstream.log.entries.isEmpty)
        }
    }

    @Test(arguments: TestDatabase.all)
    func withoutPricesTheMountAnswers404(_ kind: TestDatabase) async throws {
        try await Self.withServer(kind, proxied: false) { harness in
            let key = try await harness.mint()
            let openAI = try await harness.send(.POST, "/llm/v1/chat/completions", LLMProxyTests.chat, headers: [("authorization", "Bearer \(key.token)")])
            #expect(openAI.status == 404)
            #expect((try LLMProxyTests.object(openAI.body)["error"] as? [String: Any])?["code"] as? String == "api_not_configured")
            let anthropic = try await harness.send(.POST, "/llm/v1/messages", LLMProxyTests.messages, headers: [("x-api-key", key.token)])
            #expect(anthropic.status == 404)
            #expect((try LLMProxyTests.object(anthropic.body)["error"] as? [String: Any])?["type"] as? String == "not_found_error")
            #expect(await harness.upstream.log.entries.isEmpty)
        }
    }
}
