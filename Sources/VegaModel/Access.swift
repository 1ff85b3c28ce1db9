/// What a member of a tenant may do. Ordered: each role can do all the roles below it can.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    /// Reads everything of the tenant, changes nothing.
    case viewer
    /// Submits scans and triages findings.
    case member
    /// Manages projects, repositories, members and API keys.
    case admin
    /// Everything, including the tenant itself.
    case owner

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .member: 1
        case .admin: 2
        case .owner: 3
        }
    }

    public static func < (a: Role, b: Role) -> Bool { a.rank < b.rank }
}

/// What an API key may be limited to, on top of its role: a key can do what its role allows
/// and its scopes allow. Each scope is a kind of work, not a level: `admin` does not imply
/// `read`, so a key that manages projects and also lists them needs both.
public enum Scope: String, Codable, Sendable, CaseIterable, Comparable {
    /// Every GET of the tenant's data.
    case read
    /// Submitting and cancelling scans, uploading results.
    case scans
    /// Changing findings' states.
    case triage
    /// Projects, repositories, members and API keys.
    case admin

    public static func < (a: Scope, b: Scope) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Who is acting: a person (session) or a machine (API key), always within one tenant.
public struct Principal: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case user, apiKey = "api_key" }

    public var kind: Kind
    /// The user's or the key's id: what the audit log names as the actor.
    public var id: String
    public var tenantID: String
    public var role: Role
    /// An API key's scopes; nil when unrestricted (people, and keys issued without scopes),
    /// so the role alone decides.
    public var scopes: Set<Scope>?

    public init(kind: Kind, id: String, tenantID: String, role: Role, scopes: Set<Scope>? = nil) {
        self.kind = kind
        self.id = id
        self.tenantID = tenantID
        self.role = role
        self.scopes = scopes
    }

    /// Whether the scopes (not the role) let this principal do `scope`'s work.
    public func allows(_ scope: Scope) -> Bool { scopes?.contains(scope) ?? true }
}
