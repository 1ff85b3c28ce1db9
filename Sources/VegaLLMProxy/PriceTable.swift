import Foundation

/// What one model costs, in US dollars per million tokens.
public struct ModelPrice: Codable, Sendable, Hashable {
    public var inputPerMillion: Decimal
    public var outputPerMillion: Decimal
    /// Input tokens read from the provider's prompt cache; the input price when not given.
    public var cachedInputPerMillion: Decimal?
    /// Input tokens written to the prompt cache (Anthropic bills them apart); the input price when not given.
    public var cacheWriteInputPerMillion: Decimal?

    public init(
        inputPerMillion: Decimal, outputPerMillion: Decimal, cachedInputPerMillion: Decimal? = nil, cacheWriteInputPerMillion: Decimal? = nil
    ) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
        self.cachedInputPerMillion = cachedInputPerMillion
        self.cacheWriteInputPerMillion = cacheWriteInputPerMillion
    }
}

/// The prices the proxy charges by, under a version every ledger row records, so a cost can
/// be explained after the prices change. A model missing from it is refused: the proxy
/// never forwards a call it cannot price.
///
/// The file (`vega llm-proxy --prices FILE`) is JSON:
/// `{"version": "2026-12-01", "models": {"gpt-4o-mini": {"inputPerMillion": 0.15, "outputPerMillion": 0.6, "cachedInputPerMillion": 0.075}}}`
public struct PriceTable: Codable, Sendable, Hashable {
    public var version: String
    public var models: [String: ModelPrice]

    public init(version: String, models: [String: ModelPrice]) {
        self.version = version
        self.models = models
    }

    public static func load(contentsOf url: URL) throws -> PriceTable {
        let table = try JSONDecoder().decode(PriceTable.self, from: Data(contentsOf: url))
        guard !table.version.isEmpty else { throw LLMProxyError("the price table \(url.path) has no version") }
        for (model, price) in table.models {
            let prices = [price.inputPerMillion, price.outputPerMillion, price.cachedInputPerMillion ?? 0, price.cacheWriteInputPerMillion ?? 0]
            guard prices.allSatisfy({ $0 >= 0 }) else { throw LLMProxyError("the price of \(model) in \(url.path) is negative") }
        }
        return table
    }

    public func price(of model: String) -> ModelPrice? { models[model] }
}

extension ModelPrice {
    /// The cost in micro-dollars, rounded up: a fraction of a micro-dollar is charged whole.
    /// `input` counts every input token; `cachedInput` and `cacheWrite` are parts of it.
    func microUSD(input: Int64, cachedInput: Int64 = 0, cacheWrite: Int64 = 0, output: Int64) -> Int64 {
        // USD per million tokens is exactly micro-dollars per token.
        let uncached = Decimal(max(0, input - cachedInput - cacheWrite)) * inputPerMillion
        let cached = Decimal(cachedInput) * (cachedInputPerMillion ?? inputPerMillion)
        let written = Decimal(cacheWrite) * (cacheWriteInputPerMillion ?? inputPerMillion)
        var total = uncached + cached + written + Decimal(output) * outputPerMillion
        var rounded = Decimal()
        NSDecimalRound(&rounded, &total, 0, .up)
        return NSDecimalNumber(decimal: rounded).int64Value
    }
}

/// A failure of the proxy's setup: a message safe to show (never a key).
public struct LLMProxyError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
