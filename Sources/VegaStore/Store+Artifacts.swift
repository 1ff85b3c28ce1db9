import Foundation
import SQLKit

/// A file a scan produced (a report, an SBOM), kept in the artifact store.
public struct Artifact: Codable, Sendable, Hashable {
    public var id: String
    public var scanID: String
    /// "report.json", "report.sarif", "sbom.cdx.json", …
    public var kind: String
    /// The artifact store's key, `<tenant>/<scan>/<kind>` (see `key`).
    public var location: String
    public var size: Int
    public var sha256: String
    public var createdAt: Date

    /// The key to ask the artifact store for. Rows written before the artifact store existed
    /// hold a path relative to the data folder, `artifacts/<key>`: the same file, read
    /// through the folder store. (No key starts so: keys start with a tenant id.)
    public var key: String {
        location.hasPrefix("artifacts/") ? String(location.dropFirst("artifacts/".count)) : location
    }
}

extension Store {
    /// The audit action retention records on a scan whose artifacts it removed.
    static let artifactsExpiredAction = "scan.artifacts_expired"

    public func recordArtifact(
        scanID: String, kind: String, location: String, contents: Data, in scope: TenantScope, now: Date = Date()
    ) async throws -> Artifact {
        let artifact = Self.artifact(scanID: scanID, kind: kind, location: location, contents: contents, now: now)
        try await database.transaction { db in
            try await Self.insert(artifact, ScopedSQL(db: db, scope: scope))
        }
        return artifact
    }

    /// A worker's artifact for the scan it runs, recorded only while its claim holds the
    /// scan (else `LeaseLost`, nothing written): a worker that lost the scan leaves no rows.
    /// Replaces the scan's earlier artifact of the same kind, so a retry's summary and log
    /// take the place of the failed attempt's.
    @discardableResult
    public func recordArtifact(kind: String, location: String, contents: Data, for claimed: ClaimedScan, now: Date = Date()) async throws -> Artifact {
        let artifact = Self.artifact(scanID: claimed.scanID, kind: kind, location: location, contents: contents, now: now)
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: claimed.scope)
            // Locks the scan's row under the claim (PostgreSQL) until the insert commits.
            try await Self.fenced(claimed, set: "heartbeat_at = heartbeat_at", sql)
            try await sql.delete(from: .artifacts, where: "scan_id = \(bind: claimed.scanID) AND kind = \(bind: kind)")
            try await Self.insert(artifact, sql)
        }
        return artifact
    }

    static func artifact(scanID: String, kind: String, location: String, contents: Data, now: Date) -> Artifact {
        Artifact(
            id: Self.newID("art"), scanID: scanID, kind: kind, location: location, size: contents.count,
            sha256: Secrets.sha256(bytes: contents), createdAt: Date(milliseconds: now.milliseconds)
        )
    }

    static func insert(_ artifact: Artifact, _ sql: ScopedSQL) async throws {
        try await sql.insert(into: .artifacts, [
            "id": artifact.id, "scan_id": artifact.scanID, "kind": artifact.kind, "location": artifact.location, "size": artifact.size,
            "sha256": artifact.sha256, "created_at": artifact.createdAt.milliseconds,
        ])
    }

    public func artifacts(scanID: String, in scope: TenantScope) async throws -> [Artifact] {
        try await database.withConnection { db in
            try await ScopedSQL(db: db, scope: scope).select(
                Self.artifactColumns, from: .artifacts, where: "scan_id = \(bind: scanID)", then: "ORDER BY kind"
            ).map(Self.artifact)
        }
    }

    // MARK: Retention

    /// The tenant's artifacts made before `cutoff`, oldest first, at most `limit`.
    public func artifacts(createdBefore cutoff: Date, limit: Int = 1_000, in scope: TenantScope) async throws -> [Artifact] {
        try await database.withConnection { db in
            try await ScopedSQL(db: db, scope: scope).select(
                Self.artifactColumns, from: .artifacts, where: "created_at < \(bind: cutoff.milliseconds)",
                then: "ORDER BY created_at, id LIMIT \(literal: limit)"
            ).map(Self.artifact)
        }
    }

    /// Forgets artifacts whose files retention has removed: their rows go, and each scan
    /// gets a `scan.artifacts_expired` audit event (by "system", with the kinds and the
    /// retention), in one transaction. The event is what lets a download tell "expired"
    /// from "never made".
    public func removeExpiredArtifacts(_ artifacts: [Artifact], retentionDays: Int, in scope: TenantScope, now: Date = Date()) async throws {
        guard !artifacts.isEmpty else { return }
        let kind = database.kind
        let byScan = Dictionary(grouping: artifacts, by: \.scanID)
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            try await sql.delete(from: .artifacts, where: "id IN (\(binds: artifacts.map(\.id)))")
            try await AuditLog.append(byScan.keys.sorted().map { scanID in
                AuditEntry(
                    actor: "system", action: Self.artifactsExpiredAction, subject: "scan:\(scanID)",
                    after: Self.json(["kinds": byScan[scanID]!.map(\.kind).sorted(), "retention_days": retentionDays])
                )
            }, at: now, sql)
        }
    }

    /// Whether retention removed this scan's artifacts.
    public func artifactsExpired(scanID: String, in scope: TenantScope) async throws -> Bool {
        try await database.withConnection { db in
            try await AuditLog.events(ScopedSQL(db: db, scope: scope), subject: "scan:\(scanID)")
                .contains { $0.action == Self.artifactsExpiredAction }
        }
    }

    static let artifactColumns: SQLQueryString = "id, scan_id, kind, location, size, sha256, created_at"

    static func artifact(_ row: any SQLRow) throws -> Artifact {
        Artifact(
            id: try row.decode(column: "id", as: String.self), scanID: try row.decode(column: "scan_id", as: String.self),
            kind: try row.decode(column: "kind", as: String.self), location: try row.decode(column: "location", as: String.self),
            size: try row.decode(column: "size", as: Int.self), sha256: try row.decode(column: "sha256", as: String.self),
            createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self))
        )
    }
}
