import Foundation
import SQLKit
import VegaModel

/// Where a package is used: one repository, one lockfile, one version.
public struct PackageUsage: Codable, Sendable, Hashable {
    public var repositoryID: String
    public var repositoryURL: String
    public var lockfile: String
    public var ecosystem: String
    public var name: String
    public var version: String
    public var purl: String
    /// From the scan that last inventoried the repository.
    public var scanID: String
}

extension Store {
    /// Replaces a repository's components with those a scan read from its lockfiles: the
    /// inventory always reflects the latest scan that read it.
    public func replaceComponents(
        _ graphs: [DependencyGraph], scanID: String, repositoryID: String, in scope: TenantScope
    ) async throws {
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            guard try await sql.exists(in: .scans, where: "id = \(bind: scanID) AND repository_id = \(bind: repositoryID)") else {
                throw NotFound(description: "scan \(scanID) of repository \(repositoryID) not found")
            }
            try await sql.delete(from: .sbomComponents, where: "repository_id = \(bind: repositoryID)")
            var seen = Set<String>()
            var rows: [[any Encodable & Sendable]] = []
            for graph in graphs {
                for package in graph.packages where seen.insert("\(graph.source)\u{0}\(package.key)").inserted {
                    rows.append([
                        repositoryID, scanID, graph.source, package.ecosystem.rawValue, package.name, package.version,
                        package.purl, package.direct.map { $0 ? 1 : 0 },
                    ])
                }
            }
            try await sql.insertMany(
                into: .sbomComponents,
                columns: ["repository_id", "scan_id", "lockfile", "ecosystem", "name", "version", "purl", "direct"], rows: rows
            )
        }
    }

    /// Which of the tenant's repositories use a package, at any version or at one of
    /// `versions`. Names match exactly as the lockfiles spell them.
    public func repositories(
        using name: String, ecosystem: String, versions: [String]? = nil, in scope: TenantScope
    ) async throws -> [PackageUsage] {
        try await database.withConnection { db in
            var condition: SQLQueryString = "c.ecosystem = \(bind: ecosystem) AND c.name = \(bind: name)"
            if let versions {
                guard !versions.isEmpty else { return [] }
                condition += " AND c.version IN (\(binds: versions))"
            }
            return try await ScopedSQL(db: db, scope: scope).select(
                "c.repository_id, r.url, c.lockfile, c.ecosystem, c.name, c.version, c.purl, c.scan_id",
                from: .sbomComponents, as: "c", join: .repositories, as: "r", on: "r.id = c.repository_id",
                where: condition, then: "ORDER BY r.url, c.lockfile, c.version"
            ).map { row in
                PackageUsage(
                    repositoryID: try row.decode(column: "repository_id", as: String.self),
                    repositoryURL: try row.decode(column: "url", as: String.self),
                    lockfile: try row.decode(column: "lockfile", as: String.self),
                    ecosystem: try row.decode(column: "ecosystem", as: String.self),
                    name: try row.decode(column: "name", as: String.self),
                    version: try row.decode(column: "version", as: String.self),
                    purl: try row.decode(column: "purl", as: String.self),
                    scanID: try row.decode(column: "scan_id", as: String.self)
                )
            }
        }
    }
}
