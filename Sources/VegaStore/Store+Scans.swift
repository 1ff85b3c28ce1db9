import Foundation
import SQLKit
import VegaModel

/// A scan as the platform tracks it.
public struct ScanRecord: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable, CaseIterable {
        case queued, running, succeeded, failed, cancelled
    }

    public var id: String
    public var repositoryID: String
    public var ref: String
    public var state: State
    public var engines: [String]
    public var error: String?
    public var queuedAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
}

/// A queued scan a worker has taken, with what it needs to run it.
public struct ClaimedScan: Sendable, Hashable {
    public var scope: TenantScope
    public var scanID: String
    public var repositoryID: String
    public var repositoryURL: String
    public var ref: String
    public var engines: [String]
}

extension Store {
    static let scanColumns: SQLQueryString = "id, repository_id, ref, state, engines, error, queued_at, started_at, finished_at"

    static func scanRecord(_ row: any SQLRow) throws -> ScanRecord {
        ScanRecord(
            id: try row.decode(column: "id", as: String.self),
            repositoryID: try row.decode(column: "repository_id", as: String.self),
            ref: try row.decode(column: "ref", as: String.self),
            state: ScanRecord.State(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed,
            engines: try row.decode(column: "engines", as: String.self).split(separator: ",").map(String.init),
            error: try row.decode(column: "error", as: String?.self),
            queuedAt: Date(milliseconds: try row.decode(column: "queued_at", as: Int64.self)),
            startedAt: try row.decode(column: "started_at", as: Int64?.self).map(Date.init(milliseconds:)),
            finishedAt: try row.decode(column: "finished_at", as: Int64?.self).map(Date.init(milliseconds:))
        )
    }

    public func scan(id: String, in scope: TenantScope) async throws -> ScanRecord? {
        try await database.withConnection { db in
            try await ScopedSQL(db: db, scope: scope).select(Self.scanColumns, from: .scans, where: "id = \(bind: id)")
                .first.map(Self.scanRecord)
        }
    }

    /// Takes the oldest queued scan of any tenant and marks it running; nil when none waits.
    /// Workers are shared by all tenants, so this is a system query, not a tenant's. Two
    /// workers never take the same scan: PostgreSQL skips rows another claim has locked,
    /// and SQLite's single writer runs one claim at a time.
    public func claimNextScan(now: Date = Date()) async throws -> ClaimedScan? {
        let kind = database.kind
        return try await database.transaction { db in
            let lock: SQLQueryString = kind == .postgres ? "FOR UPDATE SKIP LOCKED" : ""
            guard let row = try await db.raw("""
                SELECT id, tenant_id, repository_id, ref, engines FROM scans WHERE state = 'queued'
                ORDER BY queued_at, id LIMIT 1 \(lock)
                """).first() else { return nil }
            let scanID = try row.decode(column: "id", as: String.self)
            let scope = TenantScope(tenantID: try row.decode(column: "tenant_id", as: String.self))
            let repositoryID = try row.decode(column: "repository_id", as: String.self)
            let sql = ScopedSQL(db: db, scope: scope)
            try await sql.update(.scans, set: "state = 'running', started_at = \(bind: now.milliseconds)", where: "id = \(bind: scanID)")
            guard let repository = try await sql.select("url", from: .repositories, where: "id = \(bind: repositoryID)").first else {
                throw NotFound(description: "repository \(repositoryID) not found")
            }
            return ClaimedScan(
                scope: scope, scanID: scanID, repositoryID: repositoryID, repositoryURL: try repository.decode(column: "url", as: String.self),
                ref: try row.decode(column: "ref", as: String.self),
                engines: try row.decode(column: "engines", as: String.self).split(separator: ",").map(String.init)
            )
        }
    }

    /// Marks a running scan finished. `error` is shown to users: keep secrets out of it.
    public func finishScan(
        id: String, state: ScanRecord.State, error: String? = nil, now: Date = Date(), in scope: TenantScope
    ) async throws {
        try await database.transaction { db in
            try await ScopedSQL(db: db, scope: scope).update(
                .scans, set: "state = \(bind: state.rawValue), error = \(bind: error), finished_at = \(bind: now.milliseconds)",
                where: "id = \(bind: id) AND state = 'running'"
            )
        }
    }
}

extension Store {
    /// Cancels a queued scan at once. A running scan cannot be stopped yet (the worker does
    /// not poll for it), so it is refused rather than left half-cancelled.
    public func cancelScan(id: String, by actor: Principal, now: Date = Date()) async throws -> ScanRecord {
        let scope = TenantScope(tenantID: actor.tenantID)
        let kind = database.kind
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            guard let row = try await sql.select("state", from: .scans, where: "id = \(bind: id)").first else {
                throw NotFound(description: "scan \(id) not found")
            }
            let state = try row.decode(column: "state", as: String.self)
            guard state == ScanRecord.State.queued.rawValue else { throw ScanNotCancellable(state: state) }
            try await sql.update(.scans, set: "state = 'cancelled', finished_at = \(bind: now.milliseconds)", where: "id = \(bind: id)")
            try await AuditLog.append([AuditEntry(
                actor: actor.id, action: "scan.cancelled", subject: "scan:\(id)",
                before: Self.json(["state": state]), after: Self.json(["state": "cancelled"])
            )], at: now, sql)
        }
        guard let scan = try await self.scan(id: id, in: scope) else { throw NotFound(description: "scan \(id) not found") }
        return scan
    }

    public struct ScanNotCancellable: Error, CustomStringConvertible, Sendable {
        public var state: String
        public var description: String { "the scan is \(state); only a queued scan can be cancelled" }
    }
}
