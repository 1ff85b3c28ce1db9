import Foundation
import SQLKit
import VegaModel

/// A tenant as its members see it.
public struct Tenant: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var createdAt: Date
}

/// A member just added: the one moment a generated password is known.
public struct AddedMember: Sendable {
    public var user: User
    /// Set when the password was generated rather than given; never stored in the clear.
    public var generatedPassword: String?
}

extension Store {
    /// Passwords chosen for new members have at least this many characters (and at most
    /// 1024, so a request cannot make the server hash megabytes).
    public static let minimumPasswordLength = 12

    /// Giving or changing a role the actor does not hold, or acting on a member who outranks
    /// the actor: nobody raises anyone, themselves included, above their own role.
    public struct RoleNotAllowed: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The change would leave the tenant without an owner.
    public struct LastOwner: Error, CustomStringConvertible, Sendable {
        public var description: String { "the tenant's last owner cannot be demoted or removed; make someone else owner first" }
    }

    public struct InvalidPassword: Error, CustomStringConvertible, Sendable {
        public var description: String { "a password needs \(Store.minimumPasswordLength) to 1024 characters" }
    }

    public func tenant(_ scope: TenantScope) async throws -> Tenant {
        let row = try await database.withConnection { db in
            try await db.raw("SELECT id, name, created_at FROM tenants WHERE id = \(bind: scope.tenantID)").first()
        }
        guard let row else { throw NotFound(description: "tenant \(scope.tenantID) not found") }
        return Tenant(
            id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
            createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self))
        )
    }

    /// The tenant's people, by email.
    public func members(in scope: TenantScope) async throws -> [User] {
        try await database.withConnection { db in
            try await ScopedSQL(db: db, scope: scope).select("id, email, name, role", from: .users, then: "ORDER BY email").map(Self.user)
        }
    }

    /// Adds a person to the actor's tenant with a role no higher than the actor's. Without a
    /// `password`, one is generated and returned once.
    public func addMember(
        email: String, name: String, role: Role, password: String? = nil, by actor: Principal, now: Date = Date()
    ) async throws -> AddedMember {
        try Self.mayManage(role, actor: actor)
        let generated = password == nil ? Secrets.random(24) : nil
        let password = password ?? generated ?? ""
        guard (Self.minimumPasswordLength...1024).contains(password.count) else { throw InvalidPassword() }
        let user = User(id: Self.newID("usr"), email: email.lowercased(), name: name, role: role)
        let hash = try Secrets.hashPassword(password)
        let kind = database.kind
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: TenantScope(tenantID: actor.tenantID))
            try await AuditLog.lockTenant(sql, kind: kind)
            guard try await !sql.exists(in: .users, where: "email = \(bind: user.email)") else {
                throw AlreadyExists(description: "\(user.email) is a member already")
            }
            try await sql.insert(into: .users, [
                "id": user.id, "email": user.email, "name": name, "role": role.rawValue, "password_hash": hash,
                "created_at": now.milliseconds,
            ])
            try await AuditLog.append([AuditEntry(
                actor: actor.id, action: "member.added", subject: "user:\(user.id)", after: Self.describe(user)
            )], at: now, sql)
        }
        return AddedMember(user: user, generatedPassword: generated)
    }

    /// Gives a member another role. The actor must hold both the member's current role and
    /// the new one, and the last owner stays an owner. The change applies to the member's
    /// sessions at their next request.
    public func changeRole(memberID: String, to role: Role, by actor: Principal, now: Date = Date()) async throws -> User {
        try Self.mayManage(role, actor: actor)
        let kind = database.kind
        return try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: TenantScope(tenantID: actor.tenantID))
            try await AuditLog.lockTenant(sql, kind: kind)
            let member = try await Self.manageableMember(memberID, actor: actor, sql)
            guard member.role != role else { return member }
            if member.role == .owner { try await Self.requireAnotherOwner(sql) }
            try await sql.update(.users, set: "role = \(bind: role.rawValue)", where: "id = \(bind: member.id)")
            try await AuditLog.append([AuditEntry(
                actor: actor.id, action: "member.role_changed", subject: "user:\(member.id)",
                before: Self.json(["role": member.role.rawValue]), after: Self.json(["role": role.rawValue])
            )], at: now, sql)
            var changed = member
            changed.role = role
            return changed
        }
    }

    /// Removes a member the actor outranks or equals, and with them every session they have.
    /// API keys they created stay: they belong to the tenant (an admin revokes them).
    public func removeMember(id memberID: String, by actor: Principal, now: Date = Date()) async throws {
        try Self.requireAdmin(actor)
        let kind = database.kind
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: TenantScope(tenantID: actor.tenantID))
            try await AuditLog.lockTenant(sql, kind: kind)
            let member = try await Self.manageableMember(memberID, actor: actor, sql)
            if member.role == .owner { try await Self.requireAnotherOwner(sql) }
            try await sql.delete(from: .sessions, where: "user_id = \(bind: member.id)")
            try await sql.delete(from: .users, where: "id = \(bind: member.id)")
            try await AuditLog.append([AuditEntry(
                actor: actor.id, action: "member.removed", subject: "user:\(member.id)", before: Self.describe(member)
            )], at: now, sql)
        }
    }

    static func user(_ row: any SQLRow) throws -> User {
        let role = try row.decode(column: "role", as: String.self)
        guard let parsed = Role(rawValue: role) else { throw StoreError("unknown role \(role) in users") }
        return User(
            id: try row.decode(column: "id", as: String.self), email: try row.decode(column: "email", as: String.self),
            name: try row.decode(column: "name", as: String.self), role: parsed
        )
    }

    private static func describe(_ user: User) -> String {
        json(["email": user.email, "name": user.name, "role": user.role.rawValue])
    }

    /// Managing people is an admin's job, and a role can only be handed out by someone who holds it.
    private static func mayManage(_ role: Role, actor: Principal) throws {
        try requireAdmin(actor)
        guard role <= actor.role else {
            throw RoleNotAllowed(description: "the \(actor.role.rawValue) role cannot give the \(role.rawValue) role")
        }
    }

    private static func requireAdmin(_ actor: Principal) throws {
        guard actor.role >= .admin else { throw RoleNotAllowed(description: "managing members needs the admin role or higher") }
    }

    /// The member, when the actor may manage them: an admin cannot demote or remove an owner.
    private static func manageableMember(_ id: String, actor: Principal, _ sql: ScopedSQL) async throws -> User {
        guard let row = try await sql.select("id, email, name, role", from: .users, where: "id = \(bind: id)").first else {
            throw NotFound(description: "member \(id) not found")
        }
        let member = try user(row)
        guard member.role <= actor.role else {
            throw RoleNotAllowed(description: "the \(actor.role.rawValue) role cannot manage a member with the \(member.role.rawValue) role")
        }
        return member
    }

    /// Inside the caller's transaction, after `AuditLog.lockTenant`: every member change takes
    /// that lock, so two owners cannot demote each other at once and leave none.
    private static func requireAnotherOwner(_ sql: ScopedSQL) async throws {
        let owners = try await sql.select("COUNT(*) AS n", from: .users, where: "role = \(bind: Role.owner.rawValue)")
            .first?.decode(column: "n", as: Int.self) ?? 0
        guard owners > 1 else { throw LastOwner() }
    }
}
