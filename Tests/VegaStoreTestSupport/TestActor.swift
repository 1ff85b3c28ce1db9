import VegaModel
import VegaStore

extension Principal {
    /// An owner of `scope`'s tenant, for tests that create projects, repositories and scans:
    /// the store audits who did it, and any id will do as the actor.
    public static func tester(in scope: TenantScope) -> Principal {
        Principal(kind: .user, id: "usr_tester", tenantID: scope.tenantID, role: .owner)
    }
}
