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
        try await projects(where: "1 = 1", in: scope)
    }

    public func project(id: String, in scope: TenantScope) async throws -> Project? {
        try await projects(where: "id = \(bind: id)", in: scope).first
    }

    private func projects(where condition: SQLQueryString, in scope: TenantScope) async throws -> [Project] {
        try await database.withConnection { db in
            try await ScopedSQL(db: db, scope: scope).select("id, name, created_at", from: .projects, where: condition, then: "ORDER BY name")
                .map { row in
                    Project(
                        id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
                        createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self))
                    )
                }
        }
    }

    public func repositories(projectID: String? = nil, in scope: TenantScope) async throws -> [Repository] {
        try await repositories(where: projectID.map { "project_id = \(bind: $0)" } ?? "1 = 1", in: scope)
    }

    public func repository(id: String, in scope: TenantScope) async throws -> Repository? {
        try await repositories(where: "id = \(bind: id)", in: scope).first
    }

    private func repositories(where condition: SQLQueryString, in scope: TenantScope) async throws -> [Repository] {
        try await database.withConnection { db in
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
