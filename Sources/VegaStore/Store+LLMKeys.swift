import Foundation
import SQLKit

/// A virtual key as `GET /v1/llm/keys` lists it: its limits, what it has used, never its secret.
public struct LLMKeyRecord: Sendable, Hashable {
    public var key: LLMKey
    public var budget: LLMBudgetState
    public var createdBy: String
    public var createdAt: Date
    public var revokedAt: Date?
}

extension Store {
    static let llmKeyColumns: SQLQueryString = """
        id, tenant_id, scan_id, name, prefix, budget_tokens, budget_micro_usd, requests_per_minute, max_concurrent
        """

    /// The tenant's virtual keys, newest first, revoked ones included.
    public func llmKeys(in scope: TenantScope) async throws -> [LLMKeyRecord] {
        try await database.withConnection { db in
            try await ScopedSQL(db: db, scope: scope).select("""
                \(Self.llmKeyColumns), spent_tokens, spent_micro_usd, reserved_tokens, reserved_micro_usd,
                created_by, created_at, revoked_at
                """, from: .llmKeys, then: "ORDER BY created_at DESC, id").map { row in
                let key = try Self.llmKey(row)
                return LLMKeyRecord(
                    key: key,
                    budget: LLMBudgetState(
                        budgetTokens: key.limits.budgetTokens, budgetMicroUSD: key.limits.budgetMicroUSD,
                        spentTokens: try row.decode(column: "spent_tokens", as: Int64.self),
                        spentMicroUSD: try row.decode(column: "spent_micro_usd", as: Int64.self),
                        reservedTokens: try row.decode(column: "reserved_tokens", as: Int64.self),
                        reservedMicroUSD: try row.decode(column: "reserved_micro_usd", as: Int64.self)
                    ),
                    createdBy: try row.decode(column: "created_by", as: String.self),
                    createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
                    revokedAt: try row.decode(column: "revoked_at", as: Int64?.self).map(Date.init(milliseconds:))
                )
            }
        }
    }

    /// Revokes a virtual key: the proxy refuses it from the next call on (401). Calls in
    /// flight still settle. Audited; NotFound when there is no such live key.
    public func revokeLLMKey(id: String, in scope: TenantScope, by actor: String, now: Date = Date()) async throws {
        let kind = database.kind
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            guard try await sql.exists(in: .llmKeys, where: "id = \(bind: id) AND revoked_at IS NULL") else {
                throw NotFound(description: "LLM key \(id) not found")
            }
            try await sql.update(.llmKeys, set: "revoked_at = \(bind: now.milliseconds)", where: "id = \(bind: id)")
            try await AuditLog.append([AuditEntry(actor: actor, action: "llm_key.revoked", subject: "llm_key:\(id)")], at: now, sql)
        }
    }

    /// A key from a row holding `llmKeyColumns`.
    static func llmKey(_ row: any SQLRow) throws -> LLMKey {
        LLMKey(
            id: try row.decode(column: "id", as: String.self),
            tenant: TenantScope(tenantID: try row.decode(column: "tenant_id", as: String.self)),
            scanID: try row.decode(column: "scan_id", as: String?.self), name: try row.decode(column: "name", as: String.self),
            prefix: try row.decode(column: "prefix", as: String.self),
            limits: LLMKeyLimits(
                budgetTokens: try row.decode(column: "budget_tokens", as: Int64.self),
                budgetMicroUSD: try row.decode(column: "budget_micro_usd", as: Int64.self),
                requestsPerMinute: try row.decode(column: "requests_per_minute", as: Int.self),
                maxConcurrent: try row.decode(column: "max_concurrent", as: Int.self)
            )
        )
    }
}
