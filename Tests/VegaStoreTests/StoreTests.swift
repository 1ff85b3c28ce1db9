import Foundation
import SQLKit
import Testing
import VegaStoreTestSupport
import VegaLifecycle
import VegaModel
@testable import VegaStore

private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

private func finding(_ id: String, severity: Severity = .high) -> Finding {
    Finding(
        ruleId: "rule-\(id)", title: "Finding \(id)", severity: severity, cwe: "CWE-798", message: id,
        location: Location(path: "src/\(id).py", startLine: 3, startColumn: 1, endLine: 3, endColumn: 9),
        snippet: "AKIA****", engine: "secrets", fingerprint: "fp-\(id)"
    )
}

/// A tenant with one project and repository, ready for scans.
private struct Fixture {
    let store: Store
    let scope: TenantScope
    let repository: String

    init(_ database: any StoreDatabase, tenant: String = "acme") async throws {
        try await Migrator.migrate(database)
        store = Store(database: database)
        scope = try await store.createTenant(name: tenant, now: t0)
        let project = try await store.createProject(name: "payments", by: .tester(in: scope), now: t0)
        repository = try await store.addRepository(
            "https://git.example.com/\(tenant)/payments.git", project: project, by: .tester(in: scope), now: t0
        )
    }

    func scan(_ findings: [Finding], at: Date, _ completeness: ScanObservation.Completeness = .complete) async throws -> ScanObservation {
        let id = try await store.createScan(repositoryID: repository, ref: "main", engines: ["secrets"], by: .tester(in: scope), now: at)
        return ScanObservation(scanID: id, branch: "main", completeness: completeness, engines: ["secrets"], at: at, findings: findings)
    }

    func states() async throws -> [String: FindingState] {
        Dictionary(uniqueKeysWithValues: try await store.findings(repositoryID: repository, in: scope).map { ($0.fingerprint, $0.state) })
    }
}

@Suite struct StoreTests {
    @Test(arguments: TestDatabase.all)
    func migrationsRunOnceAndRefuseANewerDatabase(_ kind: TestDatabase) async throws {
        try await kind.withFresh { database in
            #expect(try await Migrator.migrate(database) == Migrator.all.map(\.version).sorted())
            #expect(try await Migrator.migrate(database).isEmpty)
            #expect(try await Migrator.version(of: database) == Migrator.latestVersion)
            try await database.withConnection { db in
                try await db.raw("INSERT INTO schema_migrations (version, summary, applied_at) VALUES (999, 'future', 0)").run()
            }
            await #expect(throws: StoreError.self) { try await Migrator.migrate(database) }
        }
    }

    @Test(arguments: TestDatabase.all)
    func findingsFollowTheLifecycleAcrossScans(_ kind: TestDatabase) async throws {
        try await kind.withFresh { database in
            let fixture = try await Fixture(database)
            let store = fixture.store
            let first = try await fixture.scan([finding("a"), finding("b", severity: .critical)], at: t0)
            try await store.record(first, repositoryID: fixture.repository, in: fixture.scope)
            #expect(try await fixture.states() == ["fp-a": .open, "fp-b": .open])
            let b = try #require(try await store.findings(repositoryID: fixture.repository, in: fixture.scope).first { $0.fingerprint == "fp-b" })
            #expect(b.slaDueAt == t0.addingTimeInterval(7 * 86_400))
            #expect(b.finding == finding("b", severity: .critical), "the finding round-trips whole")

            // The secret in b is removed: a complete scan fixes it; a partial one would not have.
            let partial = try await fixture.scan([finding("a")], at: t0 + 60, .partial)
            try await store.record(partial, repositoryID: fixture.repository, in: fixture.scope)
            #expect(try await fixture.states()["fp-b"] == .open)
            let second = try await fixture.scan([finding("a")], at: t0 + 120)
            try await store.record(second, repositoryID: fixture.repository, in: fixture.scope)
            #expect(try await fixture.states() == ["fp-a": .open, "fp-b": .fixed])

            // Re-submitting the same results changes nothing, and adds no occurrence.
            let again = try await store.record(second, repositoryID: fixture.repository, in: fixture.scope)
            #expect(again.isEmpty)
            let occurrences = try await database.withConnection { db in
                try await db.raw("SELECT COUNT(*) AS n FROM finding_occurrences WHERE scan_id = \(bind: second.scanID)").first()!
                    .decode(column: "n", as: Int.self)
            }
            #expect(occurrences == 1)

            // A dismissal survives later scans; the fixed finding coming back is reopened.
            try await store.dismiss(
                fingerprint: "fp-a", repositoryID: fixture.repository,
                with: Dismissal(reason: .usedInTests, comment: "fixture key", actor: "usr_1", at: t0 + 130), in: fixture.scope
            )
            let third = try await fixture.scan([finding("a"), finding("b", severity: .critical)], at: t0 + 180)
            try await store.record(third, repositoryID: fixture.repository, in: fixture.scope)
            #expect(try await fixture.states() == ["fp-a": .dismissed, "fp-b": .reopened])
        }
    }

    @Test(arguments: TestDatabase.all)
    func anotherTenantSeesAndChangesNothing(_ kind: TestDatabase) async throws {
        try await kind.withFresh { database in
            let alice = try await Fixture(database, tenant: "alice")
            let scan = try await alice.scan([finding("a")], at: t0)
            try await alice.store.record(scan, repositoryID: alice.repository, in: alice.scope)
            let bob = try await Fixture(database, tenant: "bob")
            let store = bob.store

            #expect(try await store.findings(repositoryID: alice.repository, in: bob.scope).isEmpty)
            await #expect(throws: Store.NotFound.self) {
                try await store.createScan(repositoryID: alice.repository, ref: "main", engines: ["secrets"], by: .tester(in: bob.scope))
            }
            await #expect(throws: Store.NotFound.self) {
                try await store.record(scan, repositoryID: alice.repository, in: bob.scope)
            }
            await #expect(throws: Store.NotFound.self) {
                try await store.dismiss(
                    fingerprint: "fp-a", repositoryID: alice.repository,
                    with: Dismissal(reason: .falsePositive, comment: "", actor: "usr_bob", at: t0), in: bob.scope
                )
            }
            #expect(try await alice.states() == ["fp-a": .open], "alice's finding is untouched")
        }
    }

    @Test(arguments: TestDatabase.all)
    func concurrentScansOfManyRepositoriesAllLand(_ kind: TestDatabase) async throws {
        try await kind.withFresh { database in
            let fixture = try await Fixture(database)
            let project = try await fixture.store.createProject(name: "many", by: .tester(in: fixture.scope))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        let repository = try await fixture.store.addRepository(
                            "https://git.example.com/r\(index).git", project: project, by: .tester(in: fixture.scope)
                        )
                        let id = try await fixture.store.createScan(
                            repositoryID: repository, ref: "main", engines: ["secrets"], by: .tester(in: fixture.scope)
                        )
                        let observation = ScanObservation(scanID: id, branch: "main", completeness: .complete, engines: ["secrets"], at: t0,
                                                          findings: [finding("x\(index)"), finding("y\(index)")])
                        try await fixture.store.record(observation, repositoryID: repository, in: fixture.scope)
                    }
                }
                try await group.waitForAll()
            }
            let total = try await database.withConnection { db in
                try await db.raw("SELECT COUNT(*) AS n FROM findings").first()!.decode(column: "n", as: Int.self)
            }
            #expect(total == 24)
            // Every writer appended to one tenant's chain: no gap, no fork.
            let audit = try await fixture.store.verifyAudit(in: fixture.scope)
            let events = try await fixture.store.auditEvents(in: fixture.scope)
            #expect(audit.isIntact && audit.events == events.count)
            #expect(events.filter { $0.action == "finding.state_changed" }.count == 24)
            #expect(events.filter { $0.action == "scan.submitted" }.count == 12)
        }
    }

    @Test(arguments: TestDatabase.all)
    func stateChangesAreAuditedInAChainThatShowsTampering(_ kind: TestDatabase) async throws {
        try await kind.withFresh { database in
            let fixture = try await Fixture(database)
            let store = fixture.store
            try await store.record(try await fixture.scan([finding("a"), finding("b")], at: t0), repositoryID: fixture.repository, in: fixture.scope)
            try await store.dismiss(
                fingerprint: "fp-a", repositoryID: fixture.repository,
                with: Dismissal(reason: .falsePositive, comment: "test key", actor: "usr_7", at: t0 + 10), in: fixture.scope
            )
            try await store.record(try await fixture.scan([finding("a")], at: t0 + 20), repositoryID: fixture.repository, in: fixture.scope)

            let events = try await store.auditEvents(in: fixture.scope)
            #expect(events.map(\.sequence) == Array(1...8))
            // The fixture's project and repository, then each scan's submission before its changes.
            #expect(events.map(\.action) == ["project.created", "repository.created", "scan.submitted"]
                + Array(repeating: "finding.state_changed", count: 3) + ["scan.submitted", "finding.state_changed"])
            let changes = events.filter { $0.action == "finding.state_changed" }
            #expect(changes.map(\.actor) == ["system", "system", "usr_7", "system"])
            #expect(changes[2].subject == "finding:\(fixture.repository)/fp-a")
            #expect(changes[2].before == #"{"state":"open"}"#)
            #expect(changes[3].after?.contains(#""state":"fixed""#) == true)
            #expect(try await store.verifyAudit(in: fixture.scope) == AuditVerification(events: 8, firstBroken: nil))

            // Someone with database access rewrites who did it (the dismissal, 6th): the chain breaks there.
            try await database.withConnection { db in
                try await db.raw("UPDATE events SET actor = 'usr_mallory' WHERE sequence = 6").run()
            }
            #expect(try await store.verifyAudit(in: fixture.scope).firstBroken == 6)
            try await database.withConnection { db in
                try await db.raw("UPDATE events SET actor = 'usr_7' WHERE sequence = 6").run()
                try await db.raw("DELETE FROM events WHERE sequence = 2").run()
            }
            #expect(try await store.verifyAudit(in: fixture.scope).firstBroken == 2, "a removed event shows too")
        }
    }
}

@Suite struct ScanQueueTests {
    @Test(arguments: TestDatabase.all)
    func claimsOldestFirstOnceAndCancelsQueuedAndRunningScans(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let scope = try await store.createTenant(name: "acme")
            let project = try await store.createProject(name: "p", by: .tester(in: scope))
            let repository = try await store.addRepository("https://git.example.com/r.git", project: project, by: .tester(in: scope))
            let t0 = Date(timeIntervalSince1970: 1_800_000_000)
            let first = try await store.createScan(repositoryID: repository, ref: "main", engines: [], by: .tester(in: scope), now: t0)
            let second = try await store.createScan(repositoryID: repository, ref: "main", engines: ["secrets"], by: .tester(in: scope), now: t0 + 1)
            let third = try await store.createScan(repositoryID: repository, ref: "main", engines: [], by: .tester(in: scope), now: t0 + 2)
            let actor = Principal(kind: .user, id: "usr_1", tenantID: scope.tenantID, role: .member)

            let cancelled = try await store.cancelScan(id: third, by: actor)
            #expect(cancelled.state == .cancelled)
            // Two claims at once never get the same scan.
            async let a = store.claimNextScan(now: t0 + 3)
            async let b = store.claimNextScan(now: t0 + 3)
            let claimed = [try await a, try await b].compactMap { $0 }
            #expect(Set(claimed.map(\.scanID)) == [first, second])
            #expect(claimed.first { $0.scanID == second }?.engines == ["secrets"])
            #expect(try await store.claimNextScan(now: t0 + 3) == nil, "the cancelled scan is not run")
            try await store.finishScan(try #require(claimed.first { $0.scanID == first }), state: .succeeded)
            #expect(try await store.scan(id: first, in: scope)?.state == .succeeded)
            await #expect(throws: Store.ScanNotCancellable.self) { try await store.cancelScan(id: first, by: actor) }
            // A running scan is cancelled at once, and its worker's claim is void: nothing it writes is kept.
            let running = try #require(claimed.first { $0.scanID == second })
            #expect(try await store.cancelScan(id: second, by: actor).state == .cancelled)
            await #expect(throws: Store.LeaseLost.self) { try await store.checkLease(running) }
            await #expect(throws: Store.LeaseLost.self) { try await store.updateScan(running, progress: ScanProgress(phase: .scanning)) }
            await #expect(throws: Store.LeaseLost.self) {
                try await store.recordArtifact(kind: "debug.log", location: "k", contents: Data(), for: running)
            }
            #expect(try await store.artifacts(scanID: second, in: scope).isEmpty)
            #expect(try await store.scan(id: second, in: scope)?.state == .cancelled)
            // Three submissions and the two cancellations that happened; the refused one left none.
            #expect(try await store.auditEvents(in: scope).map(\.action).filter { $0.hasPrefix("scan.") }
                == ["scan.submitted", "scan.submitted", "scan.submitted", "scan.cancelled", "scan.cancelled"])
        }
    }
}
