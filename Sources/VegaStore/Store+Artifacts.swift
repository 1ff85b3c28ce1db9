import Foundation
import SQLKit

/// A file a scan produced (a report, an SBOM), kept in the artifact store.
public struct Artifact: Codable, Sendable, Hashable {
    public var id: String
    public var scanID: String
    /// "report.json", "report.sarif", "sbom.cdx.json", …
    public var kind: String
    /// Where the artifact store keeps it (a path relative to the data folder).
    public var location: String
    public var size: Int
    public var sha256: String
    public var createdAt: Date
}

extension Store {
    public func recordArtifact(
        scanID: String, kind: String, location: String, contents: Data, in scope: TenantScope, now: Date = Date()
    ) async throws -> Artifact {
        let artifact = Artifact(
            id: Self.newID("art"), scanID: scanID, kind: kind, location: location, size: contents.count,
            sha256: Secrets.sha256(bytes: contents), createdAt: Date(milliseconds: now.milliseconds)
        )
        try await database.transaction { db in
            try await ScopedSQL(db: db, scope: scope).insert(into: .artifacts, [
                "id": artifact.id, "scan_id": scanID, "kind": kind, "location": location, "size": artifact.size,
                "sha256": artifact.sha256, "created_at": now.milliseconds,
            ])
        }
        return artifact
    }

    public func artifacts(scanID: String, in scope: TenantScope) async throws -> [Artifact] {
        try await database.withConnection { db in
            try await ScopedSQL(db: db, scope: scope).select(
                "id, scan_id, kind, location, size, sha256, created_at", from: .artifacts, where: "scan_id = \(bind: scanID)",
                then: "ORDER BY kind"
            ).map { row in
                Artifact(
                    id: try row.decode(column: "id", as: String.self), scanID: try row.decode(column: "scan_id", as: String.self),
                    kind: try row.decode(column: "kind", as: String.self), location: try row.decode(column: "location", as: String.self),
                    size: try row.decode(column: "size", as: Int.self), sha256: try row.decode(column: "sha256", as: String.self),
                    createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self))
                )
            }
        }
    }
}
