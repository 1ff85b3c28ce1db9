import Foundation
import SQLKit
import Testing
import VegaStoreTestSupport
import VegaModel
@testable import VegaStore

@Suite struct AccessTests {
    @Test(arguments: TestDatabase.all)
    func passwordsAreCheckedWithinOneTenant(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await store.createTenant(name: "acme")
            let other = try await store.createTenant(name: "other")
            let user = try await store.createUser(email: "Ana@Example.com", name: "Ana", role: .owner, password: "correct horse", in: acme)
            let login = try await store.verifyLogin(email: "ana@example.com", password: "correct horse", in: acme)
            #expect(login == Principal(kind: .user, id: user.id, tenantID: acme.tenantID, role: .owner))
            #expect(try await store.verifyLogin(email: "ana@example.com", password: "correct horsE", in: acme) == nil)
            #expect(try await store.verifyLogin(email: "ana@example.com", password: "correct horse", in: other) == nil)
            let stored = try await store.database.withConnection { db in
                try await db.raw("SELECT password_hash FROM users").first()!.decode(column: "password_hash", as: String.self)
            }
            #expect(stored.hasPrefix("scrypt$") && !stored.contains("correct horse"))
        }
    }

    @Test(arguments: TestDatabase.all)
    func apiKeysAreShownOnceStoredHashedAndStopWhenRevokedOrExpired(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await store.createTenant(name: "acme")
            let owner = try await store.createUser(email: "o@acme.test", name: "O", role: .owner, password: "pw-pw-pw-pw", in: acme)
            let ownerPrincipal = Principal(kind: .user, id: owner.id, tenantID: acme.tenantID, role: .owner)
            let t0 = Date(timeIntervalSince1970: 1_800_000_000)

            let issued = try await store.createAPIKey(name: "ci", role: .member, by: ownerPrincipal, now: t0)
            #expect(issued.token.range(of: #"^vega_[a-km-zA-HJ-NP-Z2-9]{10}_[a-km-zA-HJ-NP-Z2-9]{40}$"#, options: .regularExpression) != nil)
            let principal = try #require(try await store.authenticate(token: issued.token, now: t0 + 1))
            #expect(principal == Principal(kind: .apiKey, id: issued.key.id, tenantID: acme.tenantID, role: .member))

            // Only a hash is kept: the token is in no column of any row.
            let rows = try await store.database.withConnection { db in try await db.raw("SELECT * FROM api_keys").all() }
            for row in rows {
                for column in row.allColumns {
                    if let text = try? row.decode(column: column, as: String?.self) { #expect(!text.contains(issued.token)) }
                }
            }
            let used = try await store.database.withConnection { db in
                try await db.raw("SELECT last_used_at FROM api_keys").first()!.decode(column: "last_used_at", as: Int64?.self)
            }
            #expect(used == (t0 + 1).milliseconds)

            // Wrong secret with a real prefix, malformed tokens: nobody.
            let forged = String(issued.token.dropLast(4)) + "aaaa"
            #expect(try await store.authenticate(token: forged) == nil)
            #expect(try await store.authenticate(token: "vega_short_x") == nil)
            #expect(try await store.authenticate(token: "") == nil)

            // A key cannot outrank its creator.
            let member = Principal(kind: .user, id: "usr_m", tenantID: acme.tenantID, role: .member)
            await #expect(throws: StoreError.self) { try await store.createAPIKey(name: "x", role: .admin, by: member) }

            let expiring = try await store.createAPIKey(name: "tmp", role: .viewer, expiresAt: t0 + 3600, by: ownerPrincipal, now: t0)
            #expect(try await store.authenticate(token: expiring.token, now: t0 + 3599) != nil)
            #expect(try await store.authenticate(token: expiring.token, now: t0 + 3600) == nil)

            try await store.revokeAPIKey(id: issued.key.id, by: ownerPrincipal, now: t0 + 5)
            #expect(try await store.authenticate(token: issued.token, now: t0 + 6) == nil)
            await #expect(throws: Store.NotFound.self) { try await store.revokeAPIKey(id: issued.key.id, by: ownerPrincipal) }

            let actions = try await store.auditEvents(in: acme).map(\.action)
            #expect(actions == ["api_key.created", "api_key.created", "api_key.revoked"])
            #expect(try await store.verifyAudit(in: acme).isIntact)
        }
    }
}
