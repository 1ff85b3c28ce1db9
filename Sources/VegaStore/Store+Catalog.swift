import Foundation
import SQLKit

public struct Project: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var createdAt: Date
}

public struct Repository: Codable, Sendable, Hashable {
    public var id: String
    public var projectID: String
    public var url: String
    public var defaultBranch: String
    public var createdAt: Date
}

extension Store {
    public func projects(in scope: TenantScope) async throws -> [Project] {
        try await database.withConnection { db in
            try await ScopedSQL(db: db, scope: scope).select("id, name, created_at", from: .projects, then: "ORDER BY name").map { row in
                Project(
                    id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
                    createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self))
                )
            }
        }
    }

    public func repositories(projectID: String? = nil, in scope: TenantScope) async throws -> [Repository] {
        let condition: SQLQueryString = projectID.map { "project_id = \(bind: $0)" } ?? "1 = 1"
        return try await database.withConnection { db in
            try await ScopedSQL(db: db, scope: scope).select(
                "id, project_id, url, default_branch, created_at", from: .repositories, where: condition, then: "ORDER BY url"
            ).map { row in
                Repository(
                    id: try row.decode(column: "id", as: String.self), projectID: try row.decode(column: "project_id", as: String.self),
                    url: try row.decode(column: "url", as: String.self),
                    defaultBranch: try row.decode(column: "default_branch", as: String.self),
                    createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self))
                )
            }
        }
    }
}
