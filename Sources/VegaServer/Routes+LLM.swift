import Foundation
import Hummingbird
import VegaLLMProxy
import VegaStore

/// The LLM proxy inside `vega serve`: its routes at `/llm`, its virtual keys and its ledger under `/v1/llm`.
extension APIRoutes {
    /// The proxy's own routes (`/llm/v1/chat/completions`, `/llm/v1/messages`), outside the
    /// API's authentication: callers hold a virtual key, which the proxy checks itself. With
    /// no proxy configured the same routes answer 404 in the provider's error shape.
    static func mountLLMProxy(_ proxy: LLMProxy?, on group: RouterGroup<VegaRequestContext>) {
        if let proxy { proxy.register(on: group) } else { LLMProxy.registerUnconfigured(on: group) }
    }

    func registerLLM(on router: RouterGroup<VegaRequestContext>) {
        router.post("llm/keys", use: createLLMKey)
        router.get("llm/keys", use: listLLMKeys)
        router.delete("llm/keys/:id", use: revokeLLMKey)
        router.get("llm/calls", use: listLLMCalls)
    }

    struct NewLLMKey: Decodable {
        var name: String?
        var scanId: String?
        var budgetTokens: Int64
        var budgetMicroUSD: Int64
        var requestsPerMinute: Int?
        var concurrency: Int?

        enum CodingKeys: String, CodingKey {
            case name, scanId = "scan_id", budgetTokens = "budget_tokens", budgetMicroUSD = "budget_micro_usd"
            case requestsPerMinute = "requests_per_minute", concurrency
        }
    }

    /// A virtual key as responses show it; the token only in the answer that minted it.
    struct LLMKeyView: Encodable {
        var id: String
        var name: String
        var scanId: String?
        var prefix: String
        var budgetTokens: Int64
        var budgetMicroUSD: Int64
        var requestsPerMinute: Int
        var concurrency: Int
        var spentTokens: Int64
        var spentMicroUSD: Int64
        var reservedTokens: Int64
        var reservedMicroUSD: Int64
        var remainingTokens: Int64
        var remainingMicroUSD: Int64
        var createdBy: String?
        var createdAt: Date?
        var revokedAt: Date?
        var token: String?

        /// `budget` nil: a key just minted, nothing spent or reserved.
        init(_ key: LLMKey, budget: LLMBudgetState?) {
            id = key.id
            name = key.name
            scanId = key.scanID
            prefix = key.prefix
            budgetTokens = key.limits.budgetTokens
            budgetMicroUSD = key.limits.budgetMicroUSD
            requestsPerMinute = key.limits.requestsPerMinute
            concurrency = key.limits.maxConcurrent
            spentTokens = budget?.spentTokens ?? 0
            spentMicroUSD = budget?.spentMicroUSD ?? 0
            reservedTokens = budget?.reservedTokens ?? 0
            reservedMicroUSD = budget?.reservedMicroUSD ?? 0
            remainingTokens = budgetTokens - spentTokens - reservedTokens
            remainingMicroUSD = budgetMicroUSD - spentMicroUSD - reservedMicroUSD
        }
    }

    /// `POST /v1/llm/keys`: a virtual key for the proxy, optionally for one of the tenant's scans.
    @Sendable func createLLMKey(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.admin, .admin)
        let input = try await JSONBody.decode(
            NewLLMKey.self,
            allowing: ["name", "scan_id", "budget_tokens", "budget_micro_usd", "requests_per_minute", "concurrency"],
            from: request, context: context
        )
        let scope = TenantScope(tenantID: principal.tenantID)
        let name = (input.name ?? "llm").trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count) else { throw APIError(.unprocessableContent, "invalid_name", "name must be 1 to 200 characters") }
        guard input.budgetTokens >= 0, input.budgetMicroUSD >= 0 else {
            throw APIError(.unprocessableContent, "invalid_budget", "budget_tokens and budget_micro_usd cannot be negative")
        }
        let limits = LLMKeyLimits(
            budgetTokens: input.budgetTokens, budgetMicroUSD: input.budgetMicroUSD,
            requestsPerMinute: input.requestsPerMinute ?? 60, maxConcurrent: input.concurrency ?? 4
        )
        guard limits.requestsPerMinute >= 1, limits.maxConcurrent >= 1 else {
            throw APIError(.unprocessableContent, "invalid_limit", "requests_per_minute and concurrency must be at least 1")
        }
        if let scan = input.scanId, try await store.scan(id: scan, in: scope) == nil {
            throw APIError(.unprocessableContent, "unknown_scan", "no scan \(scan) in this tenant")
        }
        let issued = try await store.createLLMKey(name: name, scanID: input.scanId, limits: limits, in: scope, by: principal.id)
        var view = LLMKeyView(issued.key, budget: nil)
        view.token = issued.token
        return try JSONBody.response(view, status: .created)
    }

    /// `GET /v1/llm/keys`: every key with what it has spent, has reserved and has left; never a token.
    @Sendable func listLLMKeys(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.admin, .admin)
        let records = try await store.llmKeys(in: TenantScope(tenantID: principal.tenantID))
        return try JSONBody.response(["items": records.map { record in
            var view = LLMKeyView(record.key, budget: record.budget)
            view.createdBy = record.createdBy
            view.createdAt = record.createdAt
            view.revokedAt = record.revokedAt
            return view
        }])
    }

    /// `DELETE /v1/llm/keys/{id}`: the proxy refuses the key from its next call on.
    @Sendable func revokeLLMKey(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.admin, .admin)
        try await store.revokeLLMKey(id: try context.parameters.require("id"), in: TenantScope(tenantID: principal.tenantID), by: principal.id)
        return Response(status: .noContent)
    }

    struct LLMCallView: Encodable {
        var id: String
        var keyId: String
        var scanId: String?
        var api: String
        var model: String
        var promptTokens: Int64
        var completionTokens: Int64
        var cachedTokens: Int64
        var cacheWriteTokens: Int64
        var priceVersion: String
        var costMicroUSD: Int64
        var latencyMs: Int64
        var status: String
        var httpStatus: Int
        var createdAt: Date
    }

    /// `GET /v1/llm/calls?key_id=…&scan_id=…`: the ledger, oldest first.
    @Sendable func listLLMCalls(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let calls = try await store.llmCalls(
            keyID: query["key_id"].map(String.init), scanID: query["scan_id"].map(String.init), in: try context.scope
        )
        return try JSONBody.response(["items": calls.map { call in
            LLMCallView(
                id: call.id, keyId: call.keyID, scanId: call.scanID, api: call.api, model: call.model, promptTokens: call.promptTokens,
                completionTokens: call.completionTokens, cachedTokens: call.cachedTokens, cacheWriteTokens: call.cacheWriteTokens,
                priceVersion: call.priceVersion, costMicroUSD: call.costMicroUSD, latencyMs: call.latencyMilliseconds,
                status: call.status.rawValue, httpStatus: call.httpStatus, createdAt: call.createdAt
            )
        }])
    }
}
