import Foundation
import SQLKit

/// The tenant a request or job acts for. Every statement on a tenant's table is built here,
/// with the tenant's id in its WHERE clause or its row, so no call site can forget it: a
/// row of another tenant is simply not there.
public struct TenantScope: Sendable, Hashable {
    public let tenantID: String

    public init(tenantID: String) {
        self.tenantID = tenantID
    }
}

/// The tables whose rows belong to one tenant (all but `tenants` and `schema_migrations`).
enum TenantTable: String, Sendable {
    case users, apiKeys = "api_keys", projects, repositories, scans, findings
    case findingOccurrences = "finding_occurrences", events, artifacts, usageDays = "usage_days"
    case sbomComponents = "sbom_components"
    case sessions
    case idempotencyKeys = "idempotency_keys", tenantQuotas = "tenant_quotas"
    case llmKeys = "llm_keys", llmCalls = "llm_calls"
}

/// A connection seen through a tenant scope.
struct ScopedSQL {
    let db: any SQLDatabase
    let scope: TenantScope

    func select(
        _ columns: SQLQueryString, from table: TenantTable, where condition: SQLQueryString = "1 = 1",
        then suffix: SQLQueryString = ""
    ) async throws -> [any SQLRow] {
        try await db.raw(subquery(columns, from: table, where: condition, then: suffix)).all()
    }

    /// A SELECT of the tenant's rows to nest in another statement (`IN (…)`), held to the
    /// scope like every statement here.
    func subquery(
        _ columns: SQLQueryString, from table: TenantTable, where condition: SQLQueryString, then suffix: SQLQueryString = ""
    ) -> SQLQueryString {
        "SELECT \(columns) FROM \(ident: table.rawValue) WHERE tenant_id = \(bind: scope.tenantID) AND (\(condition)) \(suffix)"
    }

    /// Whether the tenant has a row matching `condition`.
    func exists(in table: TenantTable, where condition: SQLQueryString) async throws -> Bool {
        try await !select("1 AS found", from: table, where: condition, then: "LIMIT 1").isEmpty
    }

    /// A join of two tenant tables, both held to the scope's tenant.
    func select(
        _ columns: SQLQueryString, from table: TenantTable, as alias: String, join other: TenantTable, as otherAlias: String,
        on link: SQLQueryString, where condition: SQLQueryString = "1 = 1", then suffix: SQLQueryString = ""
    ) async throws -> [any SQLRow] {
        try await db.raw("""
            SELECT \(columns) FROM \(ident: table.rawValue) \(ident: alias)
            JOIN \(ident: other.rawValue) \(ident: otherAlias) ON (\(link))
                AND \(ident: otherAlias).tenant_id = \(bind: scope.tenantID)
            WHERE \(ident: alias).tenant_id = \(bind: scope.tenantID) AND (\(condition)) \(suffix)
            """).all()
    }

    /// Inserts one row, with the scope's tenant id; `conflict` is an optional
    /// `ON CONFLICT …` clause (both SQLite and PostgreSQL speak it).
    func insert(
        into table: TenantTable, _ values: KeyValuePairs<String, any Encodable & Sendable>, conflict: SQLQueryString = ""
    ) async throws {
        let columns = ["tenant_id"] + values.map(\.key)
        let binds: [any Encodable & Sendable] = [scope.tenantID] + values.map(\.value)
        try await db.raw("""
            INSERT INTO \(ident: table.rawValue) (\(idents: columns, joinedBy: ", "))
            VALUES (\(binds: binds)) \(conflict)
            """).run()
    }

    /// Inserts many rows of the same columns, in statements of at most `batch` rows (one
    /// round trip each, within both databases' limits on bound values).
    func insertMany(
        into table: TenantTable, columns: [String], rows: [[any Encodable & Sendable]], batch: Int = 500
    ) async throws {
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + batch, rows.count)]
            let tuples = chunk.map { row -> SQLQueryString in "(\(bind: scope.tenantID), \(binds: row))" }
            try await db.raw("""
                INSERT INTO \(ident: table.rawValue) (\(idents: ["tenant_id"] + columns, joinedBy: ", "))
                VALUES \(tuples.joined(separator: ", "))
                """).run()
            start += batch
        }
    }

    func delete(from table: TenantTable, where condition: SQLQueryString) async throws {
        try await db.raw("DELETE FROM \(ident: table.rawValue) WHERE tenant_id = \(bind: scope.tenantID) AND (\(condition))").run()
    }

    func update(_ table: TenantTable, set assignments: SQLQueryString, where condition: SQLQueryString) async throws {
        try await db.raw("""
            UPDATE \(ident: table.rawValue) SET \(assignments)
            WHERE tenant_id = \(bind: scope.tenantID) AND (\(condition))
            """).run()
    }
}
