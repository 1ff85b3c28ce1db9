import Foundation
import SQLKit

/// What a virtual key of the LLM proxy may spend and how fast. Money is in micro-dollars
/// (integers, so sums are exact on both databases).
public struct LLMKeyLimits: Codable, Sendable, Hashable {
    /// Prompt plus completion tokens over the key's life.
    public var budgetTokens: Int64
    public var budgetMicroUSD: Int64
    public var requestsPerMinute: Int
    /// Calls in flight at once.
    public var maxConcurrent: Int

    public init(budgetTokens: Int64, budgetMicroUSD: Int64, requestsPerMinute: Int, maxConcurrent: Int) {
        self.budgetTokens = budgetTokens
        self.budgetMicroUSD = budgetMicroUSD
        self.requestsPerMinute = requestsPerMinute
        self.maxConcurrent = maxConcurrent
    }
}

/// A virtual key of the LLM proxy as the proxy sees it: never its secret.
public struct LLMKey: Sendable, Hashable {
    public var id: String
    public var tenant: TenantScope
    /// The scan the key was minted for, if any: its calls' ledger rows carry it.
    public var scanID: String?
    public var name: String
    public var prefix: String
    public var limits: LLMKeyLimits
}

/// The one moment a virtual key's secret is known: shown once, stored only as a hash.
public struct IssuedLLMKey: Sendable {
    public var key: LLMKey
    /// `vega_llm_<prefix>_<secret>`.
    public var token: String
}

/// What a key has left: its budget less what was spent and what calls in flight reserved.
public struct LLMBudgetRemaining: Sendable, Hashable {
    public var tokens: Int64
    public var microUSD: Int64

    public init(tokens: Int64, microUSD: Int64) {
        self.tokens = tokens
        self.microUSD = microUSD
    }
}

/// A key's budget and its use so far.
public struct LLMBudgetState: Sendable, Hashable {
    public var budgetTokens: Int64
    public var budgetMicroUSD: Int64
    public var spentTokens: Int64
    public var spentMicroUSD: Int64
    public var reservedTokens: Int64
    public var reservedMicroUSD: Int64
}

/// What one call reserved before it was forwarded, released when it settles.
public struct LLMReservation: Sendable, Hashable {
    public var keyID: String
    public var tokens: Int64
    public var microUSD: Int64
    /// What the key had left once this was reserved.
    public var remaining: LLMBudgetRemaining
}

/// One model call as the ledger keeps it.
public struct LLMCall: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        /// Answered by the upstream, charged its reported usage.
        case ok
        /// The upstream answered with an error: charged nothing.
        case upstreamError = "upstream_error"
        /// The caller went away mid-stream: charged what was counted until then.
        case aborted
    }

    public var id: String
    public var keyID: String
    public var scanID: String?
    /// `openai.chat` or `anthropic.messages`.
    public var api: String
    public var model: String
    /// Every input token, cached ones included.
    public var promptTokens: Int64
    public var completionTokens: Int64
    /// The part of `promptTokens` read from the provider's prompt cache.
    public var cachedTokens: Int64
    /// The part of `promptTokens` written to the provider's prompt cache (Anthropic's, billed apart).
    public var cacheWriteTokens: Int64
    public var priceVersion: String
    public var costMicroUSD: Int64
    public var latencyMilliseconds: Int64
    public var status: Status
    public var httpStatus: Int
    public var createdAt: Date

    public init(
        id: String = "llc_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased(), keyID: String, scanID: String?,
        api: String, model: String, promptTokens: Int64, completionTokens: Int64, cachedTokens: Int64, cacheWriteTokens: Int64 = 0, priceVersion: String,
        costMicroUSD: Int64, latencyMilliseconds: Int64, status: Status, httpStatus: Int, createdAt: Date = Date()
    ) {
        self.id = id
        self.keyID = keyID
        self.scanID = scanID
        self.api = api
        self.model = model
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.priceVersion = priceVersion
        self.costMicroUSD = costMicroUSD
        self.latencyMilliseconds = latencyMilliseconds
        self.status = status
        self.httpStatus = httpStatus
        self.createdAt = Date(milliseconds: createdAt.milliseconds)
    }
}

extension Store {
    static let llmTokenPrefix = Secrets.tokenPrefix + "llm_"

    // MARK: Virtual keys

    /// Mints a virtual key for the LLM proxy, optionally tied to a scan. Audited.
    public func createLLMKey(
        name: String, scanID: String? = nil, limits: LLMKeyLimits, in scope: TenantScope, by actor: String, now: Date = Date()
    ) async throws -> IssuedLLMKey {
        guard limits.budgetTokens >= 0, limits.budgetMicroUSD >= 0 else { throw StoreError("an LLM key's budgets cannot be negative") }
        guard limits.requestsPerMinute > 0, limits.maxConcurrent > 0 else {
            throw StoreError("an LLM key's requests per minute and concurrency cap must be at least 1")
        }
        let prefix = Secrets.random(10)
        let token = Self.llmTokenPrefix + prefix + "_" + Secrets.random(40)
        let key = LLMKey(id: Self.newID("llk"), tenant: scope, scanID: scanID, name: name, prefix: prefix, limits: limits)
        let kind = database.kind
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            try await sql.insert(into: .llmKeys, [
                "id": key.id, "scan_id": scanID, "name": name, "prefix": prefix, "secret_hash": Secrets.sha256(token),
                "budget_tokens": limits.budgetTokens, "budget_micro_usd": limits.budgetMicroUSD,
                "requests_per_minute": Int64(limits.requestsPerMinute), "max_concurrent": Int64(limits.maxConcurrent),
                "created_by": actor, "created_at": now.milliseconds,
            ])
            try await AuditLog.append([AuditEntry(
                actor: actor, action: "llm_key.created", subject: "llm_key:\(key.id)",
                after: Self.json([
                    "name": name, "prefix": prefix, "scan": scanID ?? "", "budget_tokens": String(limits.budgetTokens),
                    "budget_micro_usd": String(limits.budgetMicroUSD),
                ])
            )], at: now, sql)
        }
        return IssuedLLMKey(key: key, token: token)
    }

    /// The virtual key a `vega_llm_…` token stands for; nil when it is malformed, unknown or revoked.
    public func authenticateLLMKey(token: String) async throws -> LLMKey? {
        guard token.hasPrefix(Self.llmTokenPrefix) else { return nil }
        let parts = token.dropFirst(Self.llmTokenPrefix.count).split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 10 else { return nil }
        let prefix = String(parts[0])
        // By its public prefix before any tenant is known, as API keys are: the row yields the tenant.
        let row = try await database.withConnection { db in
            try await db.raw("""
                SELECT \(Self.llmKeyColumns), secret_hash, revoked_at FROM llm_keys WHERE prefix = \(bind: prefix)
                """).first()
        }
        guard let row,
              Data(Secrets.sha256(token).utf8).constantTimeEquals(Data(try row.decode(column: "secret_hash", as: String.self).utf8)),
              try row.decode(column: "revoked_at", as: Int64?.self) == nil
        else { return nil }
        return try Self.llmKey(row)
    }

    // MARK: Budgets

    /// Reserves what a call may cost at most, or refuses (nil) when the key's budget, less
    /// what was spent and what other calls in flight reserved, cannot cover it. One
    /// conditional UPDATE: the check and the charge cannot be separated by another caller
    /// (PostgreSQL re-checks the condition on the locked row; SQLite has one writer).
    public func reserveLLMBudget(keyID: String, tokens: Int64, microUSD: Int64, in scope: TenantScope) async throws -> LLMReservation? {
        guard tokens >= 0, microUSD >= 0 else { throw StoreError("a reservation cannot be negative") }
        let row = try await database.transaction { db in
            try await db.raw("""
                UPDATE llm_keys SET reserved_tokens = reserved_tokens + \(bind: tokens),
                    reserved_micro_usd = reserved_micro_usd + \(bind: microUSD)
                WHERE tenant_id = \(bind: scope.tenantID) AND id = \(bind: keyID) AND revoked_at IS NULL
                    AND spent_tokens + reserved_tokens + \(bind: tokens) <= budget_tokens
                    AND spent_micro_usd + reserved_micro_usd + \(bind: microUSD) <= budget_micro_usd
                RETURNING budget_tokens - spent_tokens - reserved_tokens AS tokens_left,
                    budget_micro_usd - spent_micro_usd - reserved_micro_usd AS usd_left
                """).first()
        }
        guard let row else { return nil }
        return LLMReservation(keyID: keyID, tokens: tokens, microUSD: microUSD, remaining: try Self.remaining(row))
    }

    /// Settles a call: releases its reservation, charges what it really cost and writes its
    /// ledger row, in one transaction. Returns what the key has left.
    @discardableResult
    public func settleLLMCall(_ call: LLMCall, releasing reservation: LLMReservation, in scope: TenantScope) async throws -> LLMBudgetRemaining {
        let tokens = call.promptTokens + call.completionTokens
        return try await database.transaction { db in
            guard let row = try await db.raw("""
                UPDATE llm_keys SET reserved_tokens = reserved_tokens - \(bind: reservation.tokens),
                    reserved_micro_usd = reserved_micro_usd - \(bind: reservation.microUSD),
                    spent_tokens = spent_tokens + \(bind: tokens), spent_micro_usd = spent_micro_usd + \(bind: call.costMicroUSD)
                WHERE tenant_id = \(bind: scope.tenantID) AND id = \(bind: reservation.keyID)
                RETURNING budget_tokens - spent_tokens - reserved_tokens AS tokens_left,
                    budget_micro_usd - spent_micro_usd - reserved_micro_usd AS usd_left
                """).first() else { throw NotFound(description: "LLM key \(reservation.keyID) not found") }
            let sql = ScopedSQL(db: db, scope: scope)
            try await sql.insert(into: .llmCalls, [
                "id": call.id, "key_id": call.keyID, "scan_id": call.scanID, "api": call.api, "model": call.model,
                "prompt_tokens": call.promptTokens, "completion_tokens": call.completionTokens, "cached_tokens": call.cachedTokens,
                "cache_write_tokens": call.cacheWriteTokens,
                "price_version": call.priceVersion, "cost_micro_usd": call.costMicroUSD, "latency_ms": call.latencyMilliseconds,
                "status": call.status.rawValue, "http_status": Int64(call.httpStatus), "created_at": call.createdAt.milliseconds,
            ])
            // The tenant's usage of the call's UTC day, in the same transaction: it never disagrees with the ledger.
            try await sql.insert(into: .usageDays, [
                "day": CalendarDay(call.createdAt).description, "scans": 0, "files": 0, "bytes": 0,
                "llm_calls": 1, "llm_tokens": tokens, "llm_cost_micro_usd": call.costMicroUSD,
            ], conflict: """
                ON CONFLICT (tenant_id, day) DO UPDATE SET
                    llm_calls = usage_days.llm_calls + excluded.llm_calls, llm_tokens = usage_days.llm_tokens + excluded.llm_tokens,
                    llm_cost_micro_usd = usage_days.llm_cost_micro_usd + excluded.llm_cost_micro_usd
                """)
            return try Self.remaining(row)
        }
    }

    public func llmBudget(keyID: String, in scope: TenantScope) async throws -> LLMBudgetState {
        let row = try await database.withConnection { db in
            try await ScopedSQL(db: db, scope: scope).select("""
                budget_tokens, budget_micro_usd, spent_tokens, spent_micro_usd, reserved_tokens, reserved_micro_usd
                """, from: .llmKeys, where: "id = \(bind: keyID)").first
        }
        guard let row else { throw NotFound(description: "LLM key \(keyID) not found") }
        return LLMBudgetState(
            budgetTokens: try row.decode(column: "budget_tokens", as: Int64.self),
            budgetMicroUSD: try row.decode(column: "budget_micro_usd", as: Int64.self),
            spentTokens: try row.decode(column: "spent_tokens", as: Int64.self),
            spentMicroUSD: try row.decode(column: "spent_micro_usd", as: Int64.self),
            reservedTokens: try row.decode(column: "reserved_tokens", as: Int64.self),
            reservedMicroUSD: try row.decode(column: "reserved_micro_usd", as: Int64.self)
        )
    }

    /// The ledger, oldest first: a key's calls, a scan's, or (neither given) the tenant's.
    public func llmCalls(keyID: String? = nil, scanID: String? = nil, in scope: TenantScope) async throws -> [LLMCall] {
        var condition: SQLQueryString = "1 = 1"
        if let keyID { condition += " AND key_id = \(bind: keyID)" }
        if let scanID { condition += " AND scan_id = \(bind: scanID)" }
        return try await database.withConnection { [condition] db in
            try await ScopedSQL(db: db, scope: scope).select("*", from: .llmCalls, where: condition, then: "ORDER BY created_at, id")
                .map { row in
                    LLMCall(
                        id: try row.decode(column: "id", as: String.self), keyID: try row.decode(column: "key_id", as: String.self),
                        scanID: try row.decode(column: "scan_id", as: String?.self), api: try row.decode(column: "api", as: String.self),
                        model: try row.decode(column: "model", as: String.self),
                        promptTokens: try row.decode(column: "prompt_tokens", as: Int64.self),
                        completionTokens: try row.decode(column: "completion_tokens", as: Int64.self),
                        cachedTokens: try row.decode(column: "cached_tokens", as: Int64.self),
                        cacheWriteTokens: try row.decode(column: "cache_write_tokens", as: Int64.self),
                        priceVersion: try row.decode(column: "price_version", as: String.self),
                        costMicroUSD: try row.decode(column: "cost_micro_usd", as: Int64.self),
                        latencyMilliseconds: try row.decode(column: "latency_ms", as: Int64.self),
                        status: try LLMCall.Status(rawValue: try row.decode(column: "status", as: String.self))
                            ?? { throw StoreError("an LLM call's status this version does not know") }(),
                        httpStatus: try row.decode(column: "http_status", as: Int.self),
                        createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self))
                    )
                }
        }
    }

    private static func remaining(_ row: any SQLRow) throws -> LLMBudgetRemaining {
        LLMBudgetRemaining(tokens: try row.decode(column: "tokens_left", as: Int64.self), microUSD: try row.decode(column: "usd_left", as: Int64.self))
    }
}
