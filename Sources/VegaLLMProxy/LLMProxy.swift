import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import VegaStore

/// An upstream provider: where calls go and the key they carry, which is never logged or shown.
public struct LLMUpstream: Sendable, CustomStringConvertible {
    public var baseURL: String
    public var apiKey: String

    public init(baseURL: String, apiKey: String) {
        self.baseURL = baseURL
        self.apiKey = apiKey
    }

    public var description: String { baseURL }
}

public struct LLMProxyConfiguration: Sendable {
    /// Any OpenAI-compatible server, for `POST /v1/chat/completions`; nil: that API is not served.
    public var openAI: LLMUpstream?
    /// For `POST /v1/messages`; nil: that API is not served.
    public var anthropic: LLMUpstream?
    public var prices: PriceTable
    /// What an OpenAI call without `max_tokens` is capped at (the proxy sets it), so its
    /// reservation has a bound.
    public var defaultMaxTokens: Int64 = 4096
    public var maxRequestBytes = 8 << 20
    public var maxResponseBytes = 64 << 20
    public var upstreamTimeout: TimeAmount = .minutes(10)

    public init(openAI: LLMUpstream?, anthropic: LLMUpstream?, prices: PriceTable) {
        self.openAI = openAI
        self.anthropic = anthropic
        self.prices = prices
    }
}

/// The LLM proxy: authenticates a virtual key, reserves the most a call can cost, forwards
/// it, and settles to the usage the upstream reports.
///
/// The reservation is (estimated input tokens + max_tokens) priced by the model's price.
/// Input tokens are estimated as the request body's bytes / 3, rounded up: more than
/// tokenizers produce for English and code (about 4 bytes a token), and the body holds
/// more than the prompt. An upstream reporting more input than that is still charged what
/// it reports, so such a call can take a key past its budget by the difference, and the
/// next reservation is then refused.
public struct LLMProxy: Sendable {
    let store: Store
    let configuration: LLMProxyConfiguration
    let httpClient: HTTPClient
    let logger: Logger
    let limiter = KeyLimiter()

    static let remainingUSDHeader = HTTPFields.Element.Name("x-vega-budget-remaining-usd")!
    static let remainingTokensHeader = HTTPFields.Element.Name("x-vega-budget-remaining-tokens")!
    static let apiKeyHeader = HTTPFields.Element.Name("x-api-key")!

    public init(store: Store, configuration: LLMProxyConfiguration, httpClient: HTTPClient, logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.httpClient = httpClient
        self.logger = logger
    }

    /// The proxy's routes, for an application of its own (`vega llm-proxy`).
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        register(on: router)
        return router
    }

    /// The proxy's two routes on `router`, whatever its context: its own application's, or
    /// `vega serve`'s under `/llm`. Callers authenticate with a virtual key, never the host's credentials.
    public func register<Methods: RouterMethods>(on router: Methods) {
        router.post("v1/chat/completions") { request, _ in await handle(request, api: .openAIChat) }
        router.post("v1/messages") { request, _ in await handle(request, api: .anthropicMessages) }
    }

    /// The same routes where no proxy is configured: 404 `api_not_configured` in each provider's shape.
    public static func registerUnconfigured<Methods: RouterMethods>(on router: Methods) {
        for (path, api) in [("v1/chat/completions", ProviderAPI.openAIChat), ("v1/messages", .anthropicMessages)] {
            router.post(RouterPath(path)) { _, _ in
                refuse(Refusal(status: 404, code: "api_not_configured", message: "this server runs no LLM proxy"), api: api)
            }
        }
    }

    func handle(_ request: Request, api: ProviderAPI) async -> Response {
        do {
            return try await forward(request, api: api)
        } catch let refusal as Refusal {
            return Self.refuse(refusal, api: api)
        } catch {
            logger.error("llm proxy call failed", metadata: ["api": "\(api.rawValue)", "error": "\(error)"])
            return Self.refuse(Refusal(status: 500, code: "internal_error", message: "the proxy failed to handle the call"), api: api)
        }
    }

    private func forward(_ request: Request, api: ProviderAPI) async throws -> Response {
        guard let upstream = api == .openAIChat ? configuration.openAI : configuration.anthropic else {
            throw Refusal(status: 404, code: "api_not_configured", message: "this proxy has no upstream for \(api.rawValue)")
        }
        let bearer = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        guard let token = bearer ?? request.headers[Self.apiKeyHeader], let key = try await store.authenticateLLMKey(token: token) else {
            throw Refusal(status: 401, code: "invalid_api_key", message: "a valid Vega LLM key (vega_llm_…) is required")
        }
        var request = request
        let received: ByteBuffer
        do { received = try await request.collectBody(upTo: configuration.maxRequestBytes) } catch {
            throw Refusal(status: 413, code: "request_too_large", message: "the request is larger than \(configuration.maxRequestBytes) bytes")
        }
        guard var body = try? JSONSerialization.jsonObject(with: Data(buffer: received)) as? [String: Any] else {
            throw Refusal(status: 400, code: "invalid_json", message: "the request body is not a JSON object")
        }
        guard let model = body["model"] as? String else { throw Refusal(status: 400, code: "missing_model", message: "the request names no model") }
        guard let price = configuration.prices.price(of: model) else {
            throw Refusal(
                status: 400, code: "model_not_priced",
                message: "the model \(model) has no price in the proxy's price table (version \(configuration.prices.version)), so it is refused"
            )
        }
        // The most output the call can produce, which the reservation must cover.
        let maxTokens: Int64
        switch api {
        case .openAIChat:
            let given = [int(body["max_completion_tokens"]), int(body["max_tokens"])].compactMap { $0 }.max()
            if given == nil { body["max_tokens"] = configuration.defaultMaxTokens }
            // `n` completions of up to max_tokens each.
            let choices = int(body["n"]) ?? 1
            guard choices >= 1, choices <= 128 else { throw Refusal(status: 400, code: "invalid_n", message: "n must be between 1 and 128") }
            maxTokens = (given ?? configuration.defaultMaxTokens) * choices
        case .anthropicMessages:
            guard let given = int(body["max_tokens"]) else { throw Refusal(status: 400, code: "missing_max_tokens", message: "max_tokens is required") }
            maxTokens = given
        }
        guard maxTokens >= 1, maxTokens <= 100_000_000 else {
            throw Refusal(status: 400, code: "invalid_max_tokens", message: "max_tokens must be between 1 and 100000000")
        }
        let streaming = body["stream"] as? Bool == true
        if streaming, api == .openAIChat {
            // Forced, so the stream ends with the usage to settle by.
            var options = body["stream_options"] as? [String: Any] ?? [:]
            options["include_usage"] = true
            body["stream_options"] = options
        }
        let outgoing = try JSONSerialization.data(withJSONObject: body)
        let estimatedPrompt = Int64((received.readableBytes + 2) / 3)

        if let refusal = await limiter.acquire(key) { throw refusal }
        let call = Call(
            proxy: self, key: key, api: api, model: model, price: price, estimatedPrompt: estimatedPrompt, maxTokens: maxTokens
        )
        // Released before the caller has the whole answer, so its next call is not refused as concurrent.
        do {
            let (response, streamReleases) = try await admitted(
                call, upstream: upstream, headers: request.headers, body: outgoing, streaming: streaming
            )
            if !streamReleases { await limiter.release(key.id) }
            return response
        } catch {
            await limiter.release(key.id)
            throw error
        }
    }

    /// Reserves, forwards and settles an admitted call. True with a stream, which releases
    /// the call's admission itself once it ends.
    private func admitted(
        _ call: Call, upstream: LLMUpstream, headers received: HTTPFields, body outgoing: Data, streaming: Bool
    ) async throws -> (Response, Bool) {
        let (key, api, price, estimatedPrompt, maxTokens) = (call.key, call.api, call.price, call.estimatedPrompt, call.maxTokens)
        guard let reservation = try await store.reserveLLMBudget(
            keyID: key.id, tokens: estimatedPrompt + maxTokens, microUSD: price.microUSD(input: estimatedPrompt, output: maxTokens), in: key.tenant
        ) else {
            let state = try await store.llmBudget(keyID: key.id, in: key.tenant)
            return (Self.refuse(
                Refusal(status: 402, code: "budget_exceeded", message: """
                    this key's budget cannot cover the call: it may cost up to \(estimatedPrompt + maxTokens) tokens and \
                    $\(Self.dollars(price.microUSD(input: estimatedPrompt, output: maxTokens))); \
                    \(state.budgetTokens - state.spentTokens - state.reservedTokens) tokens and \
                    $\(Self.dollars(state.budgetMicroUSD - state.spentMicroUSD - state.reservedMicroUSD)) are left
                    """),
                api: api,
                remaining: LLMBudgetRemaining(
                    tokens: state.budgetTokens - state.spentTokens - state.reservedTokens,
                    microUSD: state.budgetMicroUSD - state.spentMicroUSD - state.reservedMicroUSD
                )
            ), false)
        }

        var upstreamRequest = HTTPClientRequest(url: api.upstreamURL(base: upstream.baseURL))
        upstreamRequest.method = .POST
        upstreamRequest.headers.add(name: "content-type", value: "application/json")
        switch api {
        case .openAIChat:
            upstreamRequest.headers.add(name: "authorization", value: "Bearer \(upstream.apiKey)")
        case .anthropicMessages:
            upstreamRequest.headers.add(name: "x-api-key", value: upstream.apiKey)
            upstreamRequest.headers.add(name: "anthropic-version", value: received[HTTPFields.Element.Name("anthropic-version")!] ?? "2023-06-01")
            if let beta = received[HTTPFields.Element.Name("anthropic-beta")!] { upstreamRequest.headers.add(name: "anthropic-beta", value: beta) }
        }
        upstreamRequest.body = .bytes(ByteBuffer(bytes: outgoing))

        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(upstreamRequest, timeout: configuration.upstreamTimeout)
        } catch {
            let remaining = await call.settle(reservation, usage: nil, status: .upstreamError, httpStatus: 502)
            logger.warning("llm upstream unreachable", metadata: ["api": "\(api.rawValue)", "upstream": "\(upstream)", "error": "\(error)"])
            let refusal = Refusal(status: 502, code: "upstream_unreachable", message: "the upstream provider could not be reached")
            return (Self.refuse(refusal, api: api, remaining: remaining), false)
        }
        let status = Int(response.status.code)
        var headers = HTTPFields()
        headers[.contentType] = response.headers.first(name: "content-type") ?? "application/json"

        guard (200..<300).contains(status) else {
            // The upstream's error, passed through as it is; nothing is charged.
            let errorBody = (try? await response.body.collect(upTo: configuration.maxResponseBytes)) ?? ByteBuffer()
            let remaining = await call.settle(reservation, usage: nil, status: .upstreamError, httpStatus: status)
            Self.annotate(&headers, remaining)
            return (Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: errorBody)), false)
        }
        guard streaming else {
            let answer = try await response.body.collect(upTo: configuration.maxResponseBytes)
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: answer))) as? [String: Any] ?? [:]
            // An answer without usage is charged all it reserved.
            let usage = api.usage(ofResponse: object) ?? TokenUsage(prompt: estimatedPrompt, completion: maxTokens, cached: 0, cacheWrite: 0)
            let remaining = await call.settle(reservation, usage: usage, status: .ok, httpStatus: status)
            Self.annotate(&headers, remaining)
            return (Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: answer)), false)
        }
        // The headers go before the usage is known: they say what is left with this call's reservation held.
        Self.annotate(&headers, reservation.remaining)
        headers[.cacheControl] = "no-cache"
        let limiter = self.limiter
        return (Response(status: .init(code: status), headers: headers, body: ResponseBody { writer in
            var counter = StreamUsageCounter(api: api)
            var settled = false
            do {
                for try await chunk in response.body {
                    counter.feed(chunk)
                    try await writer.write(chunk)
                }
                // Settled before the stream's end reaches the caller, who may read the ledger next.
                await call.settle(reservation, usage: counter.usage(estimatedPrompt: estimatedPrompt), status: .ok, httpStatus: status)
                settled = true
                await limiter.release(key.id)
                try await writer.finish(nil)
            } catch {
                // The caller went away (or the upstream broke off): charged what was counted.
                if !settled {
                    await call.settle(reservation, usage: counter.usage(estimatedPrompt: estimatedPrompt), status: .aborted, httpStatus: status)
                    await limiter.release(key.id)
                }
                throw error
            }
        }), true)
    }

    static func refuse(_ refusal: Refusal, api: ProviderAPI, remaining: LLMBudgetRemaining? = nil) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if let remaining { annotate(&headers, remaining) }
        return Response(status: .init(code: refusal.status), headers: headers, body: .init(byteBuffer: api.errorBody(refusal)))
    }

    static func annotate(_ headers: inout HTTPFields, _ remaining: LLMBudgetRemaining) {
        headers[remainingUSDHeader] = dollars(max(0, remaining.microUSD))
        headers[remainingTokensHeader] = String(max(0, remaining.tokens))
    }

    /// Micro-dollars as dollars with six decimals: `1.250000`.
    static func dollars(_ microUSD: Int64) -> String {
        let sign = microUSD < 0 ? "-" : ""
        let magnitude = microUSD.magnitude
        let cents = String(magnitude % 1_000_000)
        return sign + String(magnitude / 1_000_000) + "." + String(repeating: "0", count: 6 - cents.count) + cents
    }
}

/// One call between its reservation and its settlement.
struct Call: Sendable {
    let proxy: LLMProxy
    let key: LLMKey
    let api: ProviderAPI
    let model: String
    let price: ModelPrice
    let estimatedPrompt: Int64
    let maxTokens: Int64
    let started = ContinuousClock.now

    /// Settles the reservation to `usage` (nil: nothing is charged) and writes the ledger
    /// row, in a task of its own so a cancelled caller still settles. Returns what the key
    /// has left; the reservation's view of it if settling failed (which is logged).
    @discardableResult
    func settle(_ reservation: LLMReservation, usage: TokenUsage?, status: LLMCall.Status, httpStatus: Int) async -> LLMBudgetRemaining {
        let usage = usage ?? TokenUsage(prompt: 0, completion: 0, cached: 0, cacheWrite: 0)
        let elapsed = ContinuousClock.now - started
        let record = LLMCall(
            keyID: key.id, scanID: key.scanID, api: api.rawValue, model: model, promptTokens: usage.prompt,
            completionTokens: usage.completion, cachedTokens: usage.cached, cacheWriteTokens: usage.cacheWrite,
            priceVersion: proxy.configuration.prices.version,
            costMicroUSD: price.microUSD(input: usage.prompt, cachedInput: usage.cached, cacheWrite: usage.cacheWrite, output: usage.completion),
            latencyMilliseconds: elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000,
            status: status, httpStatus: httpStatus
        )
        let (store, tenant, logger) = (proxy.store, key.tenant, proxy.logger)
        return await Task {
            do {
                return try await store.settleLLMCall(record, releasing: reservation, in: tenant)
            } catch {
                logger.error("llm call not settled", metadata: ["key": "\(record.keyID)", "call": "\(record.id)", "error": "\(error)"])
                return reservation.remaining
            }
        }.value
    }
}
