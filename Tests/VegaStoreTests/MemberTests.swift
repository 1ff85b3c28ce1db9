import Foundation
import SQLKit
import Testing
import VegaModel
import VegaStoreTestSupport
@testable import VegaStore

@Suite struct MemberTests {
    @Test(arguments: TestDatabase.all)
    func membersAreAddedWithinTheActorsRoleAndAudited(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await store.createTenant(name: "acme", now: Date(timeIntervalSince1970: 1_800_000_000))
            let owner = try await store.createUser(email: "o@acme.test", name: "O", role: .owner, password: "owner password 1", in: acme)
            let ownerPrincipal = Principal(kind: .user, id: owner.id, tenantID: acme.tenantID, role: .owner)

            let tenant = try await store.tenant(acme)
            #expect(tenant == Tenant(id: acme.tenantID, name: "acme", createdAt: Date(timeIntervalSince1970: 1_800_000_000)))

            // Given a password: none comes back. Without one: a generated one, once, that signs in.
            let admin = try await store.addMember(email: "Ada@Acme.test", name: "Ada", role: .admin, password: "ada's password!", by: ownerPrincipal)
            #expect(admin.generatedPassword == nil && admin.user.email == "ada@acme.test" && admin.user.role == .admin)
            let adminPrincipal = Principal(kind: .user, id: admin.user.id, tenantID: acme.tenantID, role: .admin)
            let viewer = try await store.addMember(email: "v@acme.test", name: "Vic", role: .viewer, by: adminPrincipal)
            let generated = try #require(viewer.generatedPassword)
            #expect(generated.count >= 20)
            #expect(try await store.login(tenant: "acme", email: "v@acme.test", password: generated).user == viewer.user)
            let hashes = try await store.database.withConnection { db in
                try await db.raw("SELECT password_hash FROM users").all().map { try $0.decode(column: "password_hash", as: String.self) }
            }
            #expect(hashes.allSatisfy { $0.hasPrefix("scrypt$") && !$0.contains(generated) && !$0.contains("ada's password!") })

            // Nobody gives a role above their own; members and viewers add nobody; short
            // passwords and an email already in the tenant are refused.
            await #expect(throws: Store.RoleNotAllowed.self) {
                try await store.addMember(email: "x@acme.test", name: "X", role: .owner, password: "long enough pw", by: adminPrincipal)
            }
            for role in [Role.member, .viewer] {
                let weak = Principal(kind: .user, id: "usr_weak", tenantID: acme.tenantID, role: role)
                await #expect(throws: Store.RoleNotAllowed.self) {
                    try await store.addMember(email: "y@acme.test", name: "Y", role: .viewer, password: "long enough pw", by: weak)
                }
            }
            await #expect(throws: Store.InvalidPassword.self) {
                try await store.addMember(email: "z@acme.test", name: "Z", role: .member, password: "elevenchars", by: adminPrincipal)
            }
            await #expect(throws: Store.AlreadyExists.self) {
                try await store.addMember(email: "ADA@acme.test", name: "Ada 2", role: .member, password: "long enough pw", by: ownerPrincipal)
            }

            #expect(try await store.members(in: acme).map(\.email) == ["ada@acme.test", "o@acme.test", "v@acme.test"])
            let events = try await store.auditEvents(in: acme)
            #expect(events.map(\.action) == ["member.added", "member.added", "user.login"])
            #expect(events[0].actor == owner.id && events[0].subject == "user:\(admin.user.id)")
            #expect(events[0].after == #"{"email":"ada@acme.test","name":"Ada","role":"admin"}"#)
            #expect(events[1].actor == admin.user.id && !(events[1].after ?? "").contains(generated))
            #expect(try await store.verifyAudit(in: acme).isIntact)
        }
    }

    @Test(arguments: TestDatabase.all)
    func rolesChangeWithinTheActorsRoleAndTheLastOwnerStays(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await store.createTenant(name: "acme")
            let other = try await store.createTenant(name: "other")
            let owner = try await store.createUser(email: "o@acme.test", name: "O", role: .owner, password: "owner password 1", in: acme)
            let ownerPrincipal = Principal(kind: .user, id: owner.id, tenantID: acme.tenantID, role: .owner)
            let admin = try await store.addMember(email: "a@acme.test", name: "A", role: .admin, password: "admin password 1", by: ownerPrincipal).user
            let adminPrincipal = Principal(kind: .user, id: admin.id, tenantID: acme.tenantID, role: .admin)
            let member = try await store.addMember(email: "m@acme.test", name: "M", role: .member, password: "member password", by: adminPrincipal).user
            let otherAdmin = Principal(kind: .user, id: "usr_elsewhere", tenantID: other.tenantID, role: .owner)

            // The last owner can be neither demoted nor removed, not even by themselves.
            await #expect(throws: Store.LastOwner.self) { try await store.changeRole(memberID: owner.id, to: .admin, by: ownerPrincipal) }
            await #expect(throws: Store.LastOwner.self) { try await store.removeMember(id: owner.id, by: ownerPrincipal) }
            // An admin cannot touch an owner, nor make an owner.
            await #expect(throws: Store.RoleNotAllowed.self) { try await store.changeRole(memberID: owner.id, to: .viewer, by: adminPrincipal) }
            await #expect(throws: Store.RoleNotAllowed.self) { try await store.removeMember(id: owner.id, by: adminPrincipal) }
            await #expect(throws: Store.RoleNotAllowed.self) { try await store.changeRole(memberID: member.id, to: .owner, by: adminPrincipal) }
            // Another tenant's members do not exist for this one.
            await #expect(throws: Store.NotFound.self) { try await store.changeRole(memberID: member.id, to: .viewer, by: otherAdmin) }
            await #expect(throws: Store.NotFound.self) { try await store.removeMember(id: member.id, by: otherAdmin) }

            #expect(try await store.changeRole(memberID: member.id, to: .viewer, by: adminPrincipal).role == .viewer)
            // Unchanged: no event.
            #expect(try await store.changeRole(memberID: member.id, to: .viewer, by: adminPrincipal).role == .viewer)
            // With a second owner, the first may step down.
            _ = try await store.changeRole(memberID: admin.id, to: .owner, by: ownerPrincipal)
            #expect(try await store.changeRole(memberID: owner.id, to: .admin, by: ownerPrincipal).role == .admin)
            await #expect(throws: Store.LastOwner.self) {
                try await store.changeRole(memberID: admin.id, to: .member, by: Principal(kind: .user, id: admin.id, tenantID: acme.tenantID, role: .owner))
            }
            try await store.removeMember(id: member.id, by: adminPrincipal)
            await #expect(throws: Store.NotFound.self) { try await store.removeMember(id: member.id, by: adminPrincipal) }
            #expect(try await store.members(in: acme).map { "\($0.email) \($0.role.rawValue)" } == ["a@acme.test owner", "o@acme.test admin"])

            let events = try await store.auditEvents(in: acme)
            #expect(events.map(\.action) == [
                "member.added", "member.added", "member.role_changed", "member.role_changed", "member.role_changed", "member.removed",
            ])
            let demoted = events[2]
            #expect(demoted.actor == admin.id && demoted.subject == "user:\(member.id)")
            #expect(demoted.before == #"{"role":"member"}"# && demoted.after == #"{"role":"viewer"}"#)
            let removed = events[5]
            #expect(removed.actor == admin.id && removed.after == nil)
            #expect(removed.before == #"{"email":"m@acme.test","name":"M","role":"viewer"}"#)
            #expect(try await store.auditEvents(in: other).isEmpty)
            #expect(try await store.verifyAudit(in: acme).isIntact)
        }
    }
}
