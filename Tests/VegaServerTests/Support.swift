import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VegaModel
import VegaStore
import VegaHTTPTestSupport
import VegaStoreTestSupport

/// A tenant with an owner user "owner@<name>.test" (password `TestTenant.password`) and the owner's API key.
struct TestTenant: Sendable {
    /// The owner's password, for tests that sign in.
    static let password = "owner password 1"

    let store: Store
    let name: String
    let scope: TenantScope
    let owner: Principal
    let ownerToken: String
    let ownerKeyID: String

    /// Creates tenant `name` in `store`, with its owner and an owner key.
    static func make(_ name: String = "acme", in store: Store) async throws -> TestTenant {
        let scope = try await store.createTenant(name: name)
        let user = try await store.createUser(email: "owner@\(name).test", name: "Owner", role: .owner, password: password, in: scope)
        let owner = Principal(kind: .user, id: user.id, tenantID: scope.tenantID, role: .owner)
        let key = try await store.createAPIKey(name: "owner", role: .owner, by: owner)
        return TestTenant(store: store, name: name, scope: scope, owner: owner, ownerToken: key.token, ownerKeyID: key.key.id)
    }

    /// Another API key, of `role`, made by the owner.
    func key(_ role: Role, name: String? = nil) async throws -> IssuedAPIKey {
        try await store.createAPIKey(name: name ?? role.rawValue, role: role, by: owner)
    }

    /// Project "app" with one repository, https://git.example.com/<name>/app.git on main; the repository's id.
    func addRepository() async throws -> String {
        let project = try await store.createProject(name: "app", by: owner)
        return try await store.addRepository("https://git.example.com/\(name)/app.git", project: project, by: owner)
    }
}
