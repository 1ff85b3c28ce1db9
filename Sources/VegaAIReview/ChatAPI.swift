/// The OpenAI chat-completions wire format, the subset the engine sends and reads
/// (non-streaming, function tools). Field names are the API's own.
struct ChatMessage: Codable, Sendable, Equatable {
    var role: String
    var content: String?
    var toolCalls: [ToolCall]?
    var toolCallID: String?

    enum CodingKeys: String, CodingKey {
        case role, content
        case toolCalls = "tool_calls"
        case toolCallID = "tool_call_id"
    }

    static func system(_ text: String) -> ChatMessage { ChatMessage(role: "system", content: text) }
    static func user(_ text: String) -> ChatMessage { ChatMessage(role: "user", content: text) }
    static func tool(_ id: String, _ text: String) -> ChatMessage { ChatMessage(role: "tool", content: text, toolCallID: id) }
}

struct ToolCall: Codable, Sendable, Equatable {
    struct Function: Codable, Sendable, Equatable {
        var name: String
        /// A JSON object, as a string (the model writes it; it may be malformed).
        var arguments: String
    }
    var id: String
    var type: String
    var function: Function
}

struct ToolDefinition: Encodable, Sendable {
    struct Function: Encodable, Sendable {
        var name: String
        var description: String
        var parameters: Parameters
    }
    struct Parameters: Encodable, Sendable {
        var type = "object"
        var properties: [String: Property]
        var required: [String]
    }
    struct Property: Encodable, Sendable {
        var type: String
        var description: String
    }
    var type = "function"
    var function: Function
}

struct ChatRequest: Encodable, Sendable {
    var model: String
    var messages: [ChatMessage]
    var tools: [ToolDefinition]?
    var maxTokens: Int
    var temperature: Double = 0

    enum CodingKeys: String, CodingKey {
        case model, messages, tools, temperature
        case maxTokens = "max_tokens"
    }
}

struct ChatResponse: Decodable, Sendable {
    struct Choice: Decodable, Sendable {
        var message: ChatMessage
        var finishReason: String?
        enum CodingKeys: String, CodingKey {
            case message
            case finishReason = "finish_reason"
        }
    }
    struct Usage: Decodable, Sendable {
        var promptTokens: Int
        var completionTokens: Int
        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
        }
    }
    var choices: [Choice]
    var usage: Usage?
}

/// OpenAI's error body, which the LLM proxy also uses: `{"error":{"message","type","code"}}`.
struct ChatErrorBody: Decodable, Sendable {
    struct Detail: Decodable, Sendable {
        var message: String?
        var type: String?
        var code: String?
    }
    var error: Detail
}
