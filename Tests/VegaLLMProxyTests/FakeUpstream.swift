import Foundation
import Hummingbird
import NIOCore

/// A stand-in for OpenAI and Anthropic on loopback, speaking their wire formats: JSON
/// answers with usage blocks, server-sent event streams, and their error bodies. What it
/// answers depends on the model asked for:
/// - `*-fail`: a 500 in the provider's error shape;
/// - `*-endless`: a stream of text that never ends (for callers that go away);
/// - anything else: an answer after `delay`, with fixed usage (below).
struct FakeUpstream {
    /// Every request received, in order.
    actor Log {
        struct Entry: Sendable {
            var path: String
            var authorization: String?
            var apiKey: String?
            var body: [String: any Sendable]
        }
        private(set) var entries: [Entry] = []
        private(set) var endlessStopped = false
        func append(_ entry: Entry) { entries.append(entry) }
        func stopped() { endlessStopped = true }
    }

    static let upstreamKey = "sk-upstream-secret"
    /// OpenAI usage: 12 prompt tokens (4 of them cached), 5 completion tokens.
    static let openAIUsage = (prompt: 12, cached: 4, completion: 5)
    /// Anthropic usage: 10 input + 2 written to the cache + 3 read from it, 7 output.
    static let anthropicUsage = (input: 10, cacheWrite: 2, cacheRead: 3, output: 7)

    let log = Log()
    var delay: Duration = .zero

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let (log, delay) = (log, delay)
        router.post("/v1/chat/completions") { request, _ in
            let body = try await Self.record(request, in: log)
            let model = body["model"] as? String ?? ""
            if model.hasSuffix("-fail") {
                return Self.response(500, json: #"{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}"#)
            }
            if model.hasSuffix("-endless") { return Self.endless(log: log, anthropic: false) }
            try await Task.sleep(for: delay)
            let usage = Self.openAIUsage
            let usageJSON = #"{"prompt_tokens":\#(usage.prompt),"completion_tokens":\#(usage.completion),"total_tokens":\#(usage.prompt + usage.completion),"prompt_tokens_details":{"cached_tokens":\#(usage.cached)}}"#
            guard body["stream"] as? Bool == true else {
                return Self.response(200, json: """
                    {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"\(model)",\
                    "choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],\
                    "usage":\(usageJSON)}
                    """)
            }
            var events = ["Hel", "lo ", "there"].map { text in
                #"{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"\#(model)","choices":[{"index":0,"delta":{"content":"\#(text)"},"finish_reason":null}]}"#
            }
            // As OpenAI does: the usage only when asked for, in a last chunk with no choices.
            if (body["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true {
                events.append(#"{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"\#(model)","choices":[],"usage":\#(usageJSON)}"#)
            }
            return Self.stream(events.map { "data: \($0)\n\n" } + ["data: [DONE]\n\n"])
        }
        router.post("/v1/messages") { request, _ in
            let body = try await Self.record(request, in: log)
            let model = body["model"] as? String ?? ""
            if model.hasSuffix("-fail") {
                return Self.response(500, json: #"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#)
            }
            if model.hasSuffix("-endless") { return Self.endless(log: log, anthropic: true) }
            try await Task.sleep(for: delay)
            let usage = Self.anthropicUsage
            guard body["stream"] as? Bool == true else {
                return Self.response(200, json: """
                    {"id":"msg_1","type":"message","role":"assistant","model":"\(model)",\
                    "content":[{"type":"text","text":"Hello there"}],"stop_reason":"end_turn","stop_sequence":null,\
                    "usage":{"input_tokens":\(usage.input),"cache_creation_input_tokens":\(usage.cacheWrite),\
                    "cache_read_input_tokens":\(usage.cacheRead),"output_tokens":\(usage.output)}}
                    """)
            }
            return Self.stream(Self.anthropicStart(model: model) + [
                Self.anthropicEvent("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#),
                Self.anthropicEvent("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there"}}"#),
                Self.anthropicEvent("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
                Self.anthropicEvent("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":\#(usage.output)}}"#),
                Self.anthropicEvent("message_stop", #"{"type":"message_stop"}"#),
            ])
        }
        return router
    }

    static func anthropicStart(model: String) -> [String] {
        let usage = anthropicUsage
        return [
            anthropicEvent("message_start", """
                {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"\(model)","content":[],\
                "stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":\(usage.input),"cache_creation_input_tokens":\(usage.cacheWrite),\
                "cache_read_input_tokens":\(usage.cacheRead),"output_tokens":1}}}
                """),
            anthropicEvent("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
        ]
    }

    static func anthropicEvent(_ name: String, _ data: String) -> String { "event: \(name)\ndata: \(data)\n\n" }

    static func record(_ request: Request, in log: Log) async throws -> [String: Any] {
        var request = request
        let bytes = try await request.collectBody(upTo: 1 << 20)
        let body = try JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any] ?? [:]
        let sendable = try JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: any Sendable] ?? [:]
        await log.append(.init(
            path: request.uri.path, authorization: request.headers[.authorization],
            apiKey: request.headers[HTTPFields.Element.Name("x-api-key")!], body: sendable
        ))
        return body
    }

    static func response(_ status: Int, json: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    static func stream(_ events: [String]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            for event in events {
                try await writer.write(ByteBuffer(string: event))
            }
            try await writer.finish(nil)
        })
    }

    /// Sends a 30-byte piece of text every 20 ms until the reader goes away (then notes it).
    static func endless(log: Log, anthropic: Bool) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        let text = String(repeating: "abcde", count: 6)
        let piece = anthropic
            ? anthropicEvent("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\#(text)"}}"#)
            : "data: " + #"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"\#(text)"},"finish_reason":null}]}"# + "\n\n"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            do {
                if anthropic {
                    for event in anthropicStart(model: "claude-endless") { try await writer.write(ByteBuffer(string: event)) }
                }
                while true {
                    try await writer.write(ByteBuffer(string: piece))
                    try await Task.sleep(for: .milliseconds(20))
                }
            } catch {
                await log.stopped()
                throw error
            }
        })
    }
}
