import Crypto
import CryptoExtras
import Foundation
import SQLKit
import VegaModel

/// An API key as listed: never its secret, which exists only in the response that created it.
public struct APIKey: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    /// The public part of the token (`vega_<prefix>_…`), for recognising a key in a list.
    public var prefix: String
    public var role: Role
    /// What the key is limited to besides its role, in order; empty when it is not limited.
    public var scopes: [Scope]
    public var createdBy: String
    public var createdAt: Date
    public var expiresAt: Date?
    public var lastUsedAt: Date?
    public var revokedAt: Date?
}

/// The one moment a key's secret is known: shown once, stored only as a hash.
public struct IssuedAPIKey: Sendable {
    public var key: APIKey
    /// `vega_<prefix>_<secret>`: a fixed prefix so secret scanners (Vega's own rule among
    /// them) recognise a leaked key.
    public var token: String
}

public struct User: Codable, Sendable, Hashable {
    public var id: String
    public var email: String
    public var name: String
    public var role: Role
}

/// Secrets: API keys are long random tokens, so one SHA-256 is enough to store them;
/// passwords are short and guessable, so they get scrypt.
enum Secrets {
    static let tokenPrefix = "vega_"
    private static let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")

    static func random(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    static func sha256(_ text: String) -> String { sha256(bytes: Data(text.utf8)) }

    static func sha256(bytes: Data) -> String {
        SHA256.hash(data: bytes).hexString
    }

    // scrypt N=2^14, r=8, p=1: about 16 MiB and tens of milliseconds per login.
    private static let cost = (rounds: 1 << 14, blockSize: 8, parallelism: 1)

    static func hashPassword(_ password: String) throws -> String {
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255) }
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32,
            rounds: cost.rounds, blockSize: cost.blockSize, parallelism: cost.parallelism
        )
        let hash = key.withUnsafeBytes { Data($0) }
        return "scrypt$\(cost.rounds)$\(cost.blockSize)$\(cost.parallelism)$\(Data(salt).base64EncodedString())$\(hash.base64EncodedString())"
    }

    static func verifyPassword(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let rounds = Int(parts[1]), let blockSize = Int(parts[2]),
              let parallelism = Int(parts[3]), let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5]),
              let key = try? KDF.Scrypt.deriveKey(
                  from: Array(password.utf8), salt: salt, outputByteCount: expected.count,
                  rounds: rounds, blockSize: blockSize, parallelism: parallelism
              )
        else { return false }
        return key.withUnsafeBytes { Data($0) }.constantTimeEquals(expected)
    }
}

extension Data {
    /// Compares without stopping at the first difference, so timing says nothing of where.
    func constantTimeEquals(_ other: Data) -> Bool {
        guard count == other.count else { return false }
        return zip(self, other).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

extension Store {
    // MARK: Users

    public func createUser(
        email: String, name: String, role: Role, password: String, in scope: TenantScope, now: Date = Date()
    ) async throws -> User {
        let user = User(id: Self.newID("usr"), email: email.lowercased(), name: name, role: role)
        let hash = try Secrets.hashPassword(password)
        try await database.transaction { db in
            try await ScopedSQL(db: db, scope: scope).insert(into: .users, [
                "id": user.id, "email": user.email, "name": name, "role": role.rawValue, "password_hash": hash,
                "created_at": now.milliseconds,
            ])
        }
        return user
    }

    /// The user whose email and password these are, in this tenant; nil for any mismatch
    /// (which one is not said).
    public func verifyLogin(email: String, password: String, in scope: TenantScope) async throws -> Principal? {
        let row = try await database.withConnection { db in
            try await ScopedSQL(db: db, scope: scope)
                .select("id, role, password_hash", from: .users, where: "email = \(bind: email.lowercased())").first
        }
        guard let row, Secrets.verifyPassword(password, against: try row.decode(column: "password_hash", as: String.self)),
              let role = Role(rawValue: try row.decode(column: "role", as: String.self)) else { return nil }
        return Principal(kind: .user, id: try row.decode(column: "id", as: String.self), tenantID: scope.tenantID, role: role)
    }

    // MARK: API keys

    /// The creator may not hand out scopes it lacks: a key limited to some scopes can only
    /// issue keys limited to some of those.
    public struct ScopeNotAllowed: Error, CustomStringConvertible, Sendable {
        /// The first scope asked for that the creator does not have.
        public var scope: Scope
        public var description: String { "a key's scopes cannot exceed its creator's: it lacks the \(scope.rawValue) scope" }
    }

    /// Issues a key. Its role can be at most the creator's and, when the creator is a
    /// scoped key, its scopes at most the creator's, so a key never escalates. `scopes`:
    /// nil for a key limited by its role alone; otherwise at least one.
    public func createAPIKey(
        name: String, role: Role, scopes: Set<Scope>? = nil, expiresAt: Date? = nil, by creator: Principal, now: Date = Date()
    ) async throws -> IssuedAPIKey {
        guard role <= creator.role else { throw StoreError("a key's role cannot exceed its creator's (\(creator.role.rawValue))") }
        if scopes?.isEmpty == true { throw StoreError("a key's scopes, when given, must name at least one (none would read as unrestricted)") }
        if let held = creator.scopes {
            // An unrestricted key asked of a scoped creator would hold every scope.
            if let missing = (scopes ?? Set(Scope.allCases)).subtracting(held).min() { throw ScopeNotAllowed(scope: missing) }
        }
        let listed = (scopes ?? []).sorted()
        let prefix = Secrets.random(10)
        let token = Secrets.tokenPrefix + prefix + "_" + Secrets.random(40)
        let key = APIKey(
            id: Self.newID("key"), name: name, prefix: prefix, role: role, scopes: listed, createdBy: creator.id,
            createdAt: Date(milliseconds: now.milliseconds), expiresAt: expiresAt.map { Date(milliseconds: $0.milliseconds) },
            lastUsedAt: nil, revokedAt: nil
        )
        let scope = TenantScope(tenantID: creator.tenantID)
        let kind = database.kind
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            try await sql.insert(into: .apiKeys, [
                "id": key.id, "name": name, "prefix": prefix, "secret_hash": Secrets.sha256(token), "role": role.rawValue,
                "scopes": listed.map(\.rawValue).joined(separator: " "), "created_by": creator.id, "created_at": now.milliseconds,
                "expires_at": expiresAt?.milliseconds,
            ])
            try await AuditLog.append([AuditEntry(
                actor: creator.id, action: "api_key.created", subject: "api_key:\(key.id)",
                after: Self.json(["name": name, "role": role.rawValue, "prefix": prefix, "scopes": listed.map(\.rawValue)])
            )], at: now, sql)
        }
        return IssuedAPIKey(key: key, token: token)
    }

    /// The principal a bearer token stands for; nil when it is malformed, unknown, revoked
    /// or expired. Records when the key was last used, to the minute: writing on every
    /// request would queue all requests behind SQLite's one writer.
    public func authenticate(token: String, now: Date = Date()) async throws -> Principal? {
        let parts = token.split(separator: "_", omittingEmptySubsequences: false)
        guard token.hasPrefix(Secrets.tokenPrefix), parts.count == 3, parts[1].count == 10 else { return nil }
        let prefix = String(parts[1])
        // Looked up by its public prefix before any tenant is known: the one query that is
        // not tenant-scoped, and it yields the tenant.
        let row = try await database.withConnection { db in
            try await db.raw("""
                SELECT id, tenant_id, role, scopes, secret_hash, expires_at, revoked_at, last_used_at FROM api_keys WHERE prefix = \(bind: prefix)
                """).first()
        }
        guard let row,
              Data(Secrets.sha256(token).utf8).constantTimeEquals(Data(try row.decode(column: "secret_hash", as: String.self).utf8)),
              try row.decode(column: "revoked_at", as: Int64?.self) == nil,
              let role = Role(rawValue: try row.decode(column: "role", as: String.self))
        else { return nil }
        if let expires = try row.decode(column: "expires_at", as: Int64?.self), expires <= now.milliseconds { return nil }
        // Space-separated; none is unrestricted. A name this version does not know grants nothing.
        let scopes = try row.decode(column: "scopes", as: String.self).split(separator: " ")
        let principal = Principal(
            kind: .apiKey, id: try row.decode(column: "id", as: String.self),
            tenantID: try row.decode(column: "tenant_id", as: String.self), role: role,
            scopes: scopes.isEmpty ? nil : Set(scopes.compactMap { Scope(rawValue: String($0)) })
        )
        let lastUsed = try row.decode(column: "last_used_at", as: Int64?.self) ?? 0
        guard now.milliseconds - lastUsed >= 60_000 else { return principal }
        let id = principal.id
        try await database.transaction { db in
            try await ScopedSQL(db: db, scope: TenantScope(tenantID: principal.tenantID))
                .update(.apiKeys, set: "last_used_at = \(bind: now.milliseconds)", where: "id = \(bind: id)")
        }
        return principal
    }

    public func revokeAPIKey(id: String, by actor: Principal, now: Date = Date()) async throws {
        let scope = TenantScope(tenantID: actor.tenantID)
        let kind = database.kind
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            guard try await sql.exists(in: .apiKeys, where: "id = \(bind: id) AND revoked_at IS NULL") else {
                throw NotFound(description: "API key \(id) not found")
            }
            try await sql.update(.apiKeys, set: "revoked_at = \(bind: now.milliseconds)", where: "id = \(bind: id)")
            try await AuditLog.append([AuditEntry(actor: actor.id, action: "api_key.revoked", subject: "api_key:\(id)")], at: now, sql)
        }
    }
}

/// What the first start of an empty platform creates, shown once.
public struct Bootstrap: Sendable {
    public var tenant: TenantScope
    public var ownerEmail: String
    public var ownerPassword: String
    public var ownerToken: String
}

extension Store {
    /// On a database with no tenant yet: creates the first tenant, its owner (with a random
    /// password) and an owner API key. Returns nil when a tenant exists already.
    public func bootstrapIfEmpty(tenantName: String = "default", ownerEmail: String = "owner@localhost") async throws -> Bootstrap? {
        let count = try await database.withConnection { db in
            try await db.raw("SELECT COUNT(*) AS n FROM tenants").first()?.decode(column: "n", as: Int.self) ?? 0
        }
        guard count == 0 else { return nil }
        let tenant = try await createTenant(name: tenantName)
        let password = Secrets.random(24)
        let user = try await createUser(email: ownerEmail, name: "Owner", role: .owner, password: password, in: tenant)
        let owner = Principal(kind: .user, id: user.id, tenantID: tenant.tenantID, role: .owner)
        let key = try await createAPIKey(name: "bootstrap", role: .owner, by: owner)
        return Bootstrap(tenant: tenant, ownerEmail: user.email, ownerPassword: password, ownerToken: key.token)
    }
}
