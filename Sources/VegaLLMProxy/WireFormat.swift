import Foundation
import NIOCore

/// The provider APIs the proxy speaks, each in its own wire format.
public enum ProviderAPI: String, Sendable {
    /// OpenAI's `POST /v1/chat/completions` (and every OpenAI-compatible server).
    case openAIChat = "openai.chat"
    /// Anthropic's `POST /v1/messages`.
    case anthropicMessages = "anthropic.messages"

    /// The upstream URL for a base URL as each provider's SDKs take it: OpenAI's includes
    /// `/v1` (`https://api.openai.com/v1`), Anthropic's does not (`https://api.anthropic.com`).
    func upstreamURL(base: String) -> String {
        let base = base.hasSuffix("/") ? String(base.dropLast()) : base
        return switch self {
        case .openAIChat: base + "/chat/completions"
        case .anthropicMessages: base + "/v1/messages"
        }
    }

    /// An error body in the provider's own shape, so its SDKs and the engine read it as theirs.
    func errorBody(_ refusal: Refusal) -> ByteBuffer {
        let object: [String: Any] = switch self {
        case .openAIChat:
            ["error": ["message": refusal.message, "type": refusal.openAIType, "param": NSNull(), "code": refusal.code]]
        case .anthropicMessages:
            ["type": "error", "error": ["type": refusal.anthropicType, "message": refusal.message]]
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return ByteBuffer(bytes: data)
    }

    /// The usage block of a complete (non-streamed) response; nil when it has none.
    func usage(ofResponse object: [String: Any]) -> TokenUsage? {
        guard let usage = object["usage"] as? [String: Any] else { return nil }
        return tokenUsage(usage)
    }

    /// Normalised so `prompt` counts every input token and `cached` the part read from the cache.
    func tokenUsage(_ usage: [String: Any]) -> TokenUsage? {
        switch self {
        case .openAIChat:
            guard let prompt = int(usage["prompt_tokens"]), let completion = int(usage["completion_tokens"]) else { return nil }
            let cached = int((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"]) ?? 0
            return TokenUsage(prompt: prompt, completion: completion, cached: cached, cacheWrite: 0)
        case .anthropicMessages:
            // Anthropic's input_tokens leaves out the tokens written to and read from the cache.
            guard let input = int(usage["input_tokens"]), let output = int(usage["output_tokens"]) else { return nil }
            let read = int(usage["cache_read_input_tokens"]) ?? 0
            let written = int(usage["cache_creation_input_tokens"]) ?? 0
            return TokenUsage(prompt: input + read + written, completion: output, cached: read, cacheWrite: written)
        }
    }
}

/// Tokens one call used, as the upstream reported them (or as counted, when it did not).
public struct TokenUsage: Sendable, Hashable {
    public var prompt: Int64
    public var completion: Int64
    public var cached: Int64
    public var cacheWrite: Int64
}

/// Why the proxy answers a call itself instead of forwarding it.
struct Refusal: Error {
    var status: Int
    /// Machine-readable, the same in both shapes: `budget_exceeded`, `model_not_priced`, …
    var code: String
    var message: String

    var openAIType: String {
        switch status {
        case 401: "invalid_request_error"
        case 402: "insufficient_quota"
        case 429: "rate_limit_error"
        case 400, 404, 413: "invalid_request_error"
        default: "api_error"
        }
    }

    var anthropicType: String {
        switch status {
        case 401: "authentication_error"
        case 402: "billing_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 400: "invalid_request_error"
        default: "api_error"
        }
    }
}

func int(_ value: Any?) -> Int64? {
    switch value {
    case let number as Int: Int64(number)
    case let number as Int64: number
    case let number as Double where number.isFinite && number >= 0: Int64(number)
    case let number as NSNumber: number.int64Value
    default: nil
    }
}

/// Reads a server-sent event stream as it passes through, for the usage it reports and,
/// until it does, the text it carries (what a stream cut short is charged by).
struct StreamUsageCounter {
    let api: ProviderAPI
    private var partialLine: [UInt8] = []
    private var reported = TokenUsage(prompt: 0, completion: 0, cached: 0, cacheWrite: 0)
    private var promptReported = false
    private var completionReported = false
    /// Bytes of generated text and tool arguments seen.
    private var generatedBytes: Int64 = 0
    /// The stream reported its final usage.
    private(set) var complete = false

    init(api: ProviderAPI) { self.api = api }

    mutating func feed(_ buffer: ByteBuffer) {
        for byte in buffer.readableBytesView {
            if byte == UInt8(ascii: "\n") {
                line(partialLine)
                partialLine.removeAll(keepingCapacity: true)
            } else {
                partialLine.append(byte)
            }
        }
    }

    /// The usage to charge: what the stream reported; what it did not, estimated —
    /// the prompt as reserved, the completion as a third of the bytes generated.
    func usage(estimatedPrompt: Int64) -> TokenUsage {
        TokenUsage(
            prompt: promptReported ? reported.prompt : estimatedPrompt,
            completion: completionReported ? reported.completion : (generatedBytes + 2) / 3,
            cached: reported.cached, cacheWrite: reported.cacheWrite
        )
    }

    private mutating func line(_ bytes: [UInt8]) {
        var text = Substring(String(decoding: bytes, as: UTF8.self))
        if text.hasSuffix("\r") { text = text.dropLast() }
        guard text.hasPrefix("data:") else { return }
        let payload = text.dropFirst(5).drop { $0 == " " }
        guard payload != "[DONE]", let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { return }
        switch api {
        case .openAIChat:
            for choice in object["choices"] as? [[String: Any]] ?? [] {
                let delta = choice["delta"] as? [String: Any]
                generatedBytes += Int64((delta?["content"] as? String)?.utf8.count ?? 0)
                for call in delta?["tool_calls"] as? [[String: Any]] ?? [] {
                    generatedBytes += Int64(((call["function"] as? [String: Any])?["arguments"] as? String)?.utf8.count ?? 0)
                }
            }
            if let usage = object["usage"] as? [String: Any], let counted = api.tokenUsage(usage) {
                reported = counted
                promptReported = true
                completionReported = true
                complete = true
            }
        case .anthropicMessages:
            switch object["type"] as? String {
            case "message_start":
                if let usage = (object["message"] as? [String: Any])?["usage"] as? [String: Any], let counted = api.tokenUsage(usage) {
                    reported.prompt = counted.prompt
                    reported.cached = counted.cached
                    reported.cacheWrite = counted.cacheWrite
                    promptReported = true
                }
            case "content_block_delta":
                let delta = object["delta"] as? [String: Any]
                for field in ["text", "partial_json", "thinking"] {
                    generatedBytes += Int64((delta?[field] as? String)?.utf8.count ?? 0)
                }
            case "message_delta":
                // Cumulative output tokens; newer servers repeat the input counts here too.
                if let usage = object["usage"] as? [String: Any], let output = int(usage["output_tokens"]) {
                    reported.completion = output
                    completionReported = true
                    complete = true
                    if let counted = api.tokenUsage(usage) {
                        reported.prompt = counted.prompt
                        reported.cached = counted.cached
                        reported.cacheWrite = counted.cacheWrite
                        promptReported = true
                    }
                }
            default:
                break
            }
        }
    }
}
