import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore

/// An OpenAI-compatible provider on loopback that replays a scripted conversation: each
/// `POST /v1/chat/completions` gets the next scripted answer, in the real wire format
/// (chat completions with tool calls and usage blocks, OpenAI/proxy error bodies).
/// Every request body is kept, so tests can read what the engine sent.
actor FakeProvider {
    struct Reply: Sendable {
        var status: Int
        var body: String
    }

    struct Received: @unchecked Sendable {
        var authorization: String?
        var body: [String: Any]
        var messages: [[String: Any]] { body["messages"] as? [[String: Any]] ?? [] }
    }

    private var script: [Reply]
    private(set) var received: [Received] = []

    init(_ script: [Reply]) { self.script = script }

    func next(_ request: Received) -> Reply {
        received.append(request)
        guard !script.isEmpty else { return Self.error(500, type: "server_error", code: nil, "script exhausted") }
        return script.removeFirst()
    }

    var remaining: Int { script.count }

    /// Runs `body` with the provider's base URL (`http://127.0.0.1:PORT/v1`).
    nonisolated func serve(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        router.post("/v1/chat/completions") { request, _ in
            var request = request
            let bytes = try await request.collectBody(upTo: 4 << 20)
            let json = try JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any] ?? [:]
            let reply = await self.next(Received(authorization: request.headers[.authorization], body: json))
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(
                status: .init(code: reply.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: reply.body))
            )
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            guard let port = client.port else { throw CancellationError() }
            try await body("http://127.0.0.1:\(port)/v1")
        }
    }

    // MARK: scripted answers

    static let usage = #""usage":{"prompt_tokens":812,"completion_tokens":64,"total_tokens":876,"prompt_tokens_details":{"cached_tokens":0}}"#

    /// The assistant calls tools: `[(name, arguments as a JSON object)]`.
    static func toolCalls(_ calls: [(String, [String: any Sendable])]) -> Reply {
        let encoded = calls.enumerated().map { index, call in
            let arguments = String(decoding: try! JSONSerialization.data(withJSONObject: call.1, options: [.sortedKeys]), as: UTF8.self)
            return #"{"id":"call_\#(index)","type":"function","function":{"name":"\#(call.0)","arguments":\#(quoted(arguments))}}"#
        }
        return Reply(status: 200, body: """
            {"id":"chatcmpl-fake","object":"chat.completion","created":1764790000,"model":"fake-model",\
            "choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[\(encoded.joined(separator: ","))]},\
            "finish_reason":"tool_calls"}],\(usage)}
            """)
    }

    /// The assistant answers in text (the engine wants a JSON object in it).
    static func answer(_ text: String) -> Reply {
        Reply(status: 200, body: """
            {"id":"chatcmpl-fake","object":"chat.completion","created":1764790000,"model":"fake-model",\
            "choices":[{"index":0,"message":{"role":"assistant","content":\(quoted(text))},"finish_reason":"stop"}],\(usage)}
            """)
    }

    static func error(_ status: Int, type: String, code: String?, _ message: String) -> Reply {
        Reply(status: status, body: #"{"error":{"message":\#(quoted(message)),"type":"\#(type)","param":null,"code":\#(code.map { "\"\($0)\"" } ?? "null")}}"#)
    }

    /// The LLM proxy's answer once a scan's key has no budget left.
    static let budgetExceeded = error(402, type: "insufficient_quota", code: "budget_exceeded", "The key's budget is exhausted (USD).")

    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text]), as: UTF8.self).dropFirst().dropLast().description
    }
}
