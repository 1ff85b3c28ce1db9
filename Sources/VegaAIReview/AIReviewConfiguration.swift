import Foundation

/// Where the `ai` engine sends its model calls and how far it goes. The provider is
/// any OpenAI-compatible base URL; normally the Vega LLM proxy with a scan's virtual key,
/// so the scan's budget is enforced outside the engine.
public struct AIReviewConfiguration: Sendable {
    public static let baseURLVariable = "VEGA_AI_BASE_URL"
    public static let apiKeyVariable = "VEGA_AI_API_KEY"
    public static let modelVariable = "VEGA_AI_MODEL"

    /// e.g. `http://127.0.0.1:8090/v1` (the proxy) or `https://api.openai.com/v1`; `/chat/completions` is appended.
    public var baseURL: String
    public var apiKey: String
    public var model: String
    /// Pre-selected files reviewed at most, per scan.
    public var maxFiles: Int = 20
    /// Model calls per conversation (discovery of one file, or validation of one candidate).
    public var maxTurns: Int = 12
    /// Validation confidence (0–1) a candidate needs to become a finding.
    public var threshold: Double = 0.7
    /// `max_tokens` per call: also what the proxy reserves against the budget.
    public var maxTokens: Int = 4096
    /// Attempts per call when the provider answers 5xx or is rate limiting (not budget exhaustion).
    public var attempts: Int = 4
    /// Wait before the first retry; doubled after each.
    public var initialBackoff: Duration = .seconds(1)
    public var requestTimeout: Duration = .seconds(300)

    public init(baseURL: String, apiKey: String, model: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.model = model
    }

    /// All three variables, or an error naming the missing ones: the engine is never
    /// run half-configured.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AIReviewConfiguration {
        let names = [baseURLVariable, apiKeyVariable, modelVariable]
        let values = names.map { environment[$0].flatMap { $0.isEmpty ? nil : $0 } }
        let missing = zip(names, values).filter { $0.1 == nil }.map(\.0)
        guard missing.isEmpty, let url = values[0], let key = values[1], let model = values[2] else {
            throw AIReviewError(
                "the ai engine needs a model provider: set \(names.joined(separator: ", ")) "
                    + "(missing: \(missing.joined(separator: ", "))); the base URL is OpenAI-compatible, normally the Vega LLM proxy"
            )
        }
        guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil else {
            throw AIReviewError("\(baseURLVariable) is not an http(s) URL")
        }
        return AIReviewConfiguration(baseURL: url, apiKey: key, model: model)
    }
}

public struct AIReviewError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The provider refused for lack of budget (402, or 429 with a quota code): the scan stops, partial.
struct BudgetExhausted: Error {
    var message: String
}
