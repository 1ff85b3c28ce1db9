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

/// Who is acting: a person (session) or a machine (API key), always within one tenant.
public struct Principal: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case user, apiKey = "api_key" }

    public var kind: Kind
    /// The user's or the key's id: what the audit log names as the actor.
    public var id: String
    public var tenantID: String
    public var role: Role

    public init(kind: Kind, id: String, tenantID: String, role: Role) {
        self.kind = kind
        self.id = id
        self.tenantID = tenantID
        self.role = role
    }
}
