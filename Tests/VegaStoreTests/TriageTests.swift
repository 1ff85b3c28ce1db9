import Foundation
import Testing
import VegaLifecycle
import VegaModel
import VegaStoreTestSupport
@testable import VegaStore

private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

/// A tenant with two repositories whose findings a scan has recorded.
private struct Triaged {
    let store: Store
    let scope: TenantScope
    let repositories: [String]

    static func make(_ database: any StoreDatabase, tenant: String = "acme") async throws -> Triaged {
        try await Migrator.migrate(database)
        let store = Store(database: database)
        let scope = try await store.createTenant(name: tenant, now: t0)
        let project = try await store.createProject(name: "payments", by: .tester(in: scope), now: t0)
        var repositories: [String] = []
        for name in ["api", "web"] {
            let repository = try await store.addRepository(
                "https://git.example.com/\(tenant)/\(name).git", project: project, by: .tester(in: scope), now: t0
            )
            let scan = try await store.createScan(repositoryID: repository, ref: "main", engines: ["secrets"], by: .tester(in: scope), now: t0)
            let findings = ["a", "b"].map { id in
                Finding(ruleId: "rule-\(id)", title: id, severity: .high, cwe: nil, message: id,
                        location: Location(path: "\(id).py", startLine: 1, startColumn: 1, endLine: 1, endColumn: 5),
                        snippet: "x", engine: "secrets", fingerprint: "fp-\(id)")
            }
            try await store.record(ScanObservation(scanID: scan, branch: "main", completeness: .complete, engines: ["secrets"],
                                                   at: t0, findings: findings), repositoryID: repository, in: scope)
            repositories.append(repository)
        }
        return Triaged(store: store, scope: scope, repositories: repositories)
    }

    func key(_ repository: Int, _ fingerprint: String) -> FindingKey {
        FindingKey(repositoryID: repositories[repository], fingerprint: fingerprint)
    }

    func states() async throws -> [FindingState] {
        var states: [FindingState] = []
        for repository in repositories {
            states += try await store.findings(repositoryID: repository, in: scope).map(\.state)
        }
        return states
    }

    func stateEvents() async throws -> [AuditEvent] {
        try await store.auditEvents(in: scope).filter { $0.action == "finding.state_changed" }
    }
}

private func after(_ event: AuditEvent) throws -> [String: String] {
    try #require(try JSONSerialization.jsonObject(with: Data((event.after ?? "").utf8)) as? [String: String])
}

@Suite struct TriageTests {
    @Test(arguments: TestDatabase.all)
    func dismissingManyIsOneChangeWithAnEventPerFindingCarryingTheComment(_ kind: TestDatabase) async throws {
        try await kind.withFresh { database in
            let world = try await Triaged.make(database)
            let before = try await world.stateEvents().count
            let keys = [world.key(0, "fp-a"), world.key(1, "fp-a"), world.key(1, "fp-b"), world.key(0, "fp-a")]
            let outcome = try await world.store.triage(keys, .dismiss(Dismissal(
                reason: .falsePositive, comment: "test keys, not real", actor: "usr_ana", at: t0 + 60
            )), in: world.scope)
            #expect(outcome.findings.count == 3, "a key listed twice is changed once")
            #expect(outcome.findings.allSatisfy { $0.tracked.state == .dismissed })
            #expect(outcome.findings.map(\.repositoryID) == [world.repositories[0], world.repositories[1], world.repositories[1]])
            #expect(try await world.states() == [.dismissed, .open, .dismissed, .dismissed])

            let events = Array(try await world.stateEvents().dropFirst(before))
            #expect(events.count == 3)
            #expect(Set(events.map(\.subject)) == Set(keys.map { "finding:\($0.repositoryID)/\($0.fingerprint)" }))
            for event in events {
                #expect(event.actor == "usr_ana")
                #expect(try after(event) == ["state": "dismissed", "cause": "dismissed", "comment": "test keys, not real"])
            }
            #expect(try await world.store.verifyAudit(in: world.scope).isIntact)
        }
    }

    @Test(arguments: TestDatabase.all)
    func oneMissingFindingChangesNone(_ kind: TestDatabase) async throws {
        try await kind.withFresh { database in
            let world = try await Triaged.make(database)
            let events = try await world.store.auditEvents(in: world.scope).count
            let keys = [world.key(0, "fp-a"), world.key(0, "fp-nope"), world.key(1, "fp-b")]
            let error = await #expect(throws: Store.NotFound.self) {
                try await world.store.triage(keys, .dismiss(Dismissal(reason: .wontFix, comment: "", actor: "u", at: t0)), in: world.scope)
            }
            #expect(error?.description.contains("fp-nope") == true)
            // The decision itself invalid (accepted risk without an owner): nothing either.
            await #expect(throws: TriageError.self) {
                try await world.store.triage([world.key(0, "fp-a")], .dismiss(Dismissal(
                    reason: .acceptedRisk, comment: "", actor: "u", at: t0, expiresAt: t0 + 86_400
                )), in: world.scope)
            }
            #expect(try await world.states().allSatisfy { $0 == .open })
            #expect(try await world.store.auditEvents(in: world.scope).count == events)

            // Another tenant's key names findings that, for it, do not exist.
            let other = try await world.store.createTenant(name: "other")
            await #expect(throws: Store.NotFound.self) {
                try await world.store.triage([world.key(0, "fp-a")], .restore(actor: "u", comment: nil, at: t0), in: other)
            }
        }
    }

    @Test(arguments: TestDatabase.all)
    func restoringKeepsItsCommentAndAFindingsHistoryTellsItAll(_ kind: TestDatabase) async throws {
        try await kind.withFresh { database in
            let world = try await Triaged.make(database)
            let key = world.key(0, "fp-b")
            try await world.store.dismiss(fingerprint: key.fingerprint, repositoryID: key.repositoryID, with: Dismissal(
                reason: .usedInTests, comment: "fixture", actor: "usr_ana", at: t0 + 60
            ), in: world.scope)
            let restored = try await world.store.triage([key, world.key(0, "fp-a")], .restore(
                actor: "usr_bo", comment: "it ships in the image", at: t0 + 120
            ), in: world.scope)
            #expect(restored.findings.map(\.tracked.state) == [.open, .open])
            #expect(restored.changes.transitions.count == 1, "fp-a was not dismissed: nothing to restore")

            let history = try await world.store.history(of: key, in: world.scope)
            #expect(try history.map { try after($0)["cause"] } == ["appeared", "dismissed", "restored"])
            #expect(try history.map { try after($0)["comment"] } == [nil, "fixture", "it ships in the image"])
            #expect(history.map(\.actor) == ["system", "usr_ana", "usr_bo"])
            #expect(try await world.store.history(of: world.key(1, "fp-b"), in: world.scope).count == 1, "another repository's finding")
        }
    }
}
