import Foundation
import SQLKit
import Testing
import VegaModel
import VegaStoreTestSupport
@testable import VegaStore

@Suite struct SessionTests {
    private static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: TestDatabase.all)
    func aSessionSignsInUntilItsAbsoluteOrIdleLimit(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await store.createTenant(name: "acme")
            let ana = try await store.createUser(email: "ana@acme.test", name: "Ana", role: .admin, password: "correct horse battery", in: acme)
            let t0 = Self.t0

            // The tenant named, or found from the email (case-insensitive) when only one tenant has it.
            let session = try await store.login(tenant: "acme", email: "ana@acme.test", password: "correct horse battery", now: t0)
            #expect(session.user == ana && session.tenantID == acme.tenantID)
            #expect(session.expiresAt == t0 + SessionLifetime.absolute)
            #expect(session.token.count >= 40 && session.csrfToken.count >= 32 && session.token != session.csrfToken)
            let found = try await store.login(tenant: nil, email: "ANA@acme.test", password: "correct horse battery", now: t0)
            #expect(found.tenantID == acme.tenantID && found.token != session.token)

            // Only the token's SHA-256 is kept: the token is in no column of any session row.
            let rows = try await store.database.withConnection { db in try await db.raw("SELECT * FROM sessions").all() }
            #expect(rows.count == 2)
            for row in rows {
                for column in row.allColumns {
                    if let text = try? row.decode(column: column, as: String?.self) {
                        #expect(!text.contains(session.token) && !text.contains(found.token))
                    }
                }
            }

            let principal = Principal(kind: .user, id: ana.id, tenantID: acme.tenantID, role: .admin)
            let live = try #require(try await store.authenticate(sessionToken: session.token, now: t0 + 60))
            #expect(live.principal == principal)
            #expect(live.acceptsCSRFToken(session.csrfToken) && !live.acceptsCSRFToken(session.csrfToken + "x")
                    && !live.acceptsCSRFToken(""))
            #expect(try await store.authenticate(sessionToken: session.token + "x", now: t0 + 60) == nil)
            #expect(try await store.authenticate(sessionToken: "", now: t0 + 60) == nil)

            // Kept alive by use (every 1 h 50 min) it lasts 12 hours from sign-in, not a moment more.
            var at = t0
            while at + 110 * 60 < t0 + SessionLifetime.absolute {
                at += 110 * 60
                #expect(try await store.authenticate(sessionToken: session.token, now: at) != nil, "\(at.timeIntervalSince(t0))")
            }
            #expect(try await store.authenticate(sessionToken: session.token, now: t0 + SessionLifetime.absolute - 1) != nil)
            #expect(try await store.authenticate(sessionToken: session.token, now: t0 + SessionLifetime.absolute) == nil)

            // Unused for 2 hours, the other one has ended.
            #expect(try await store.authenticate(sessionToken: found.token, now: t0 + SessionLifetime.idle - 1) != nil)
            let idleStart = t0 + SessionLifetime.idle - 1
            #expect(try await store.authenticate(sessionToken: found.token, now: idleStart + SessionLifetime.idle) == nil)

            #expect(try await store.auditEvents(in: acme).map(\.action) == ["user.login", "user.login"])
            #expect(try await store.verifyAudit(in: acme).isIntact)
        }
    }

    @Test(arguments: TestDatabase.all)
    func everyWrongCredentialIsTheSameErrorAndFailuresAreAudited(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await store.createTenant(name: "acme")
            let other = try await store.createTenant(name: "other")
            let ana = try await store.createUser(email: "ana@acme.test", name: "Ana", role: .member, password: "correct horse battery", in: acme)
            _ = try await store.createUser(email: "both@acme.test", name: "B", role: .member, password: "correct horse battery", in: acme)
            _ = try await store.createUser(email: "both@acme.test", name: "B", role: .member, password: "correct horse battery", in: other)

            let attempts: [(tenant: String?, email: String, password: String)] = [
                ("acme", "ana@acme.test", "correct horse batterY"),     // wrong password
                ("acme", "nobody-typed-this@acme.test", "x"),            // unknown email in a known tenant
                (nil, "ana@acme.test", "wrong password, tenant found"),  // tenant found from the email
                ("nope", "ana@acme.test", "correct horse battery"),      // unknown tenant
                ("other", "ana@acme.test", "correct horse battery"),     // right password, other tenant
                (nil, "both@acme.test", "correct horse battery"),        // email in two tenants: name one
                (nil, "nobody@nowhere.test", "x"),                       // no tenant known at all
            ]
            for attempt in attempts {
                await #expect(throws: Store.InvalidCredentials.self, "\(attempt)") {
                    try await store.login(tenant: attempt.tenant, email: attempt.email, password: attempt.password, now: Self.t0)
                }
            }
            #expect(try await store.login(tenant: "other", email: "both@acme.test", password: "correct horse battery").tenantID
                    == other.tenantID)

            // Failures in a known tenant are in its log; never the password, nor an email that matched nobody.
            let events = try await store.auditEvents(in: acme)
            #expect(events.map(\.action) == ["user.login_failed", "user.login_failed", "user.login_failed"])
            #expect(events.map(\.subject) == ["user:\(ana.id)", "user:unknown", "user:\(ana.id)"])
            #expect(events.allSatisfy { $0.actor == "anonymous" })
            for event in events {
                let text = [event.subject, event.before ?? "", event.after ?? ""].joined()
                #expect(!text.contains("battery") && !text.contains("nobody-typed-this") && !text.contains("wrong password"))
            }
            #expect(try await store.auditEvents(in: other).map(\.action) == ["user.login_failed", "user.login"])
            #expect(try await store.verifyAudit(in: acme).isIntact)
            #expect(try await store.verifyAudit(in: other).isIntact)
        }
    }

    @Test(arguments: TestDatabase.all)
    func logoutEndsTheSessionAndRoleChangesApplyAtOnce(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await store.createTenant(name: "acme")
            let owner = try await store.createUser(email: "o@acme.test", name: "O", role: .owner, password: "owner password 1", in: acme)
            let ownerPrincipal = Principal(kind: .user, id: owner.id, tenantID: acme.tenantID, role: .owner)
            let added = try await store.addMember(email: "m@acme.test", name: "M", role: .admin, password: "member password 1", by: ownerPrincipal)
            let t0 = Self.t0

            let first = try await store.login(tenant: "acme", email: "m@acme.test", password: "member password 1", now: t0)
            let second = try await store.login(tenant: "acme", email: "m@acme.test", password: "member password 1", now: t0)
            let member = try #require(try await store.authenticate(sessionToken: first.token, now: t0 + 1)).principal
            #expect(member.role == .admin)

            // Logging out ends that session only; doing it again changes nothing. Another
            // user cannot end it.
            try await store.logout(sessionToken: second.token, by: ownerPrincipal, now: t0 + 2)
            #expect(try await store.authenticate(sessionToken: second.token, now: t0 + 3) != nil)
            try await store.logout(sessionToken: second.token, by: member, now: t0 + 4)
            try await store.logout(sessionToken: second.token, by: member, now: t0 + 5)
            #expect(try await store.authenticate(sessionToken: second.token, now: t0 + 6) == nil)
            #expect(try await store.authenticate(sessionToken: first.token, now: t0 + 6) != nil)

            // Demoted: the very next request has the new role. Removed: the session is gone.
            _ = try await store.changeRole(memberID: added.user.id, to: .viewer, by: ownerPrincipal, now: t0 + 7)
            #expect(try await store.authenticate(sessionToken: first.token, now: t0 + 8)?.principal.role == .viewer)
            try await store.removeMember(id: added.user.id, by: ownerPrincipal, now: t0 + 9)
            #expect(try await store.authenticate(sessionToken: first.token, now: t0 + 10) == nil)
            let left = try await store.database.withConnection { db in try await db.raw("SELECT COUNT(*) AS n FROM sessions").first() }
            #expect(try left?.decode(column: "n", as: Int.self) == 0)

            let events = try await store.auditEvents(in: acme)
            #expect(events.map(\.action) == [
                "member.added", "user.login", "user.login", "user.logout", "member.role_changed", "member.removed",
            ])
            let logout = try #require(events.first { $0.action == "user.logout" })
            let logins = events.filter { $0.action == "user.login" }
            #expect(logout.actor == added.user.id && logout.after == logins[1].after && logout.after != logins[0].after)
            #expect(try await store.verifyAudit(in: acme).isIntact)
        }
    }
}
