import Foundation
import SQLKit
import VegaModel

/// How long a web sign-in lasts.
public enum SessionLifetime {
    /// A session ends 12 hours after sign-in however busy it is, so a stolen cookie is not
    /// good for long; a working day needs one sign-in.
    public static let absolute: TimeInterval = 12 * 3600
    /// A session unused for 2 hours ends: a browser left open is not signed in forever.
    public static let idle: TimeInterval = 2 * 3600
}

/// The one moment a session's cookie token is known: it goes into the cookie, and only its
/// SHA-256 is stored (as the session's id).
public struct IssuedSession: Sendable {
    public var user: User
    public var tenantID: String
    public var token: String
    /// Sent back by the browser as `X-CSRF-Token` on every change; a cross-site page cannot read it.
    public var csrfToken: String
    public var expiresAt: Date
}

/// A live session, as a request's cookie presents it.
public struct Session: Sendable {
    /// Whose it is, with the role the user has now (read at every request).
    public var principal: Principal
    public var csrfToken: String
    public var expiresAt: Date

    /// Whether `candidate` is this session's CSRF token, compared in constant time.
    public func acceptsCSRFToken(_ candidate: String) -> Bool {
        Data(candidate.utf8).constantTimeEquals(Data(csrfToken.utf8))
    }
}

extension Store {
    /// Wrong tenant, unknown email, wrong password: one error, so the answer says nothing of which.
    public struct InvalidCredentials: Error, CustomStringConvertible, Sendable {
        public var description: String { "the email, password or tenant is not right" }
    }

    /// Hashed against when no user matches, so an unknown email costs the same scrypt time as
    /// a wrong password and timing does not tell them apart.
    private static let decoyPasswordHash = (try? Secrets.hashPassword(Secrets.random(24))) ?? ""

    /// Signs a user in with a password. `tenant` is the tenant's name; without it, the tenant
    /// is the one whose members include this email, if exactly one does. A failure is
    /// audited (`user.login_failed`, never the password or the email typed) when the
    /// tenant is known, and always throws `InvalidCredentials`.
    public func login(tenant name: String?, email: String, password: String, now: Date = Date()) async throws -> IssuedSession {
        let email = email.lowercased()
        // Sign-in comes before any tenant is known: these two lookups are the only queries
        // here that are not tenant-scoped, and they yield the tenant.
        let tenantID: String? = try await database.withConnection { db in
            if let name {
                return try await db.raw("SELECT id FROM tenants WHERE name = \(bind: name)").first()?.decode(column: "id", as: String.self)
            }
            let rows = try await db.raw("SELECT tenant_id FROM users WHERE email = \(bind: email) LIMIT 2").all()
            return rows.count == 1 ? try rows[0].decode(column: "tenant_id", as: String.self) : nil
        }
        let scope = tenantID.map(TenantScope.init(tenantID:))
        var row: (any SQLRow)?
        if let scope {
            row = try await database.withConnection { db in
                try await ScopedSQL(db: db, scope: scope)
                    .select("id, email, name, role, password_hash", from: .users, where: "email = \(bind: email)").first
            }
        }
        let stored = try row?.decode(column: "password_hash", as: String.self) ?? Self.decoyPasswordHash
        let passwordMatches = Secrets.verifyPassword(password, against: stored)
        guard let scope else { throw InvalidCredentials() }
        guard let row, passwordMatches, let user = try? Self.user(row) else {
            let userID = try row?.decode(column: "id", as: String.self)
            try await auditFailedLogin(userID: userID, in: scope, now: now)
            throw InvalidCredentials()
        }

        let token = Secrets.random(43)
        let id = Secrets.sha256(token)
        let session = IssuedSession(
            user: user, tenantID: scope.tenantID, token: token, csrfToken: Secrets.random(32),
            expiresAt: Date(milliseconds: (now + SessionLifetime.absolute).milliseconds)
        )
        let kind = database.kind
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            // Sessions that can no longer sign anyone in go at the next sign-in: the table
            // holds live sessions only.
            try await sql.delete(from: .sessions, where: """
                revoked_at IS NOT NULL OR expires_at <= \(bind: now.milliseconds)
                OR last_seen_at <= \(bind: (now - SessionLifetime.idle).milliseconds)
                """)
            try await sql.insert(into: .sessions, [
                "id": id, "user_id": user.id, "csrf_token": session.csrfToken, "created_at": now.milliseconds,
                "expires_at": session.expiresAt.milliseconds, "last_seen_at": now.milliseconds,
            ])
            try await AuditLog.append([AuditEntry(
                actor: user.id, action: "user.login", subject: "user:\(user.id)", after: Self.json(["session": Self.sessionReference(id)])
            )], at: now, sql)
        }
        return session
    }

    /// The session a cookie token stands for; nil when it is unknown, signed out, past its
    /// 12 hours, idle for 2, or its user is no longer a member. The role is the user's
    /// current one, so a demotion applies at the next request. Records when the session was
    /// last seen to the minute (as API keys do: a write per request would queue every
    /// request behind SQLite's one writer).
    public func authenticate(sessionToken token: String, now: Date = Date()) async throws -> Session? {
        guard (1...200).contains(token.utf8.count) else { return nil }
        let id = Secrets.sha256(token)
        // Looked up by the token's hash before any tenant is known: not tenant-scoped, and it
        // yields the tenant. The user is joined within the session's own tenant.
        let row = try await database.withConnection { db in
            try await db.raw("""
                SELECT s.tenant_id, s.user_id, s.csrf_token, s.expires_at, s.last_seen_at, s.revoked_at, u.role
                FROM sessions s JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id
                WHERE s.id = \(bind: id)
                """).first()
        }
        guard let row, try row.decode(column: "revoked_at", as: Int64?.self) == nil,
              let role = Role(rawValue: try row.decode(column: "role", as: String.self)) else { return nil }
        let expires = try row.decode(column: "expires_at", as: Int64.self)
        let lastSeen = try row.decode(column: "last_seen_at", as: Int64.self)
        let idle = Int64(SessionLifetime.idle * 1000)
        guard now.milliseconds < expires, now.milliseconds - lastSeen < idle else { return nil }
        let session = Session(
            principal: Principal(
                kind: .user, id: try row.decode(column: "user_id", as: String.self),
                tenantID: try row.decode(column: "tenant_id", as: String.self), role: role
            ),
            csrfToken: try row.decode(column: "csrf_token", as: String.self), expiresAt: Date(milliseconds: expires)
        )
        guard now.milliseconds - lastSeen >= 60_000 else { return session }
        try await database.transaction { db in
            try await ScopedSQL(db: db, scope: TenantScope(tenantID: session.principal.tenantID))
                .update(.sessions, set: "last_seen_at = \(bind: now.milliseconds)", where: "id = \(bind: id)")
        }
        return session
    }

    /// Ends the actor's session that `token` stands for (audited `user.logout`); a session
    /// already ended, or another user's, is left alone.
    public func logout(sessionToken token: String, by actor: Principal, now: Date = Date()) async throws {
        let id = Secrets.sha256(token)
        let kind = database.kind
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: TenantScope(tenantID: actor.tenantID))
            try await AuditLog.lockTenant(sql, kind: kind)
            let live: SQLQueryString = "id = \(bind: id) AND user_id = \(bind: actor.id) AND revoked_at IS NULL"
            guard try await sql.exists(in: .sessions, where: live) else { return }
            try await sql.update(.sessions, set: "revoked_at = \(bind: now.milliseconds)", where: live)
            try await AuditLog.append([AuditEntry(
                actor: actor.id, action: "user.logout", subject: "user:\(actor.id)", after: Self.json(["session": Self.sessionReference(id)])
            )], at: now, sql)
        }
    }

    /// A failed sign-in in a known tenant. The actor is "anonymous": whoever typed the
    /// password has not proved who they are. The email typed is not kept when it matches
    /// nobody (people type passwords into the wrong field).
    private func auditFailedLogin(userID: String?, in scope: TenantScope, now: Date) async throws {
        let kind = database.kind
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            try await AuditLog.append([AuditEntry(
                actor: "anonymous", action: "user.login_failed", subject: userID.map { "user:\($0)" } ?? "user:unknown",
                after: Self.json(["reason": userID == nil ? "unknown_email" : "wrong_password"])
            )], at: now, sql)
        }
    }

    /// How the audit log names a session: the start of its id (itself a hash of the token),
    /// enough to pair a sign-in with its sign-out.
    private static func sessionReference(_ id: String) -> String { String(id.prefix(16)) }
}
