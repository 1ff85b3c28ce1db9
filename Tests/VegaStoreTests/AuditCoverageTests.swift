import Foundation
import SQLKit
import Testing
import VegaModel
import VegaStoreTestSupport
@testable import VegaStore

/// Creating a project, a repository or a scan is a change like any other: one event, with
/// its actor and what was created, in the same transaction, and never a credential.
@Suite struct AuditCoverageTests {
    private static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// An event's after-state, decoded.
    private func after(_ event: AuditEvent) throws -> [String: Any] {
        let text = try #require(event.after)
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test(arguments: TestDatabase.all)
    func projectRepositoryAndScanCreationAreAuditedWithTheirActor(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await store.createTenant(name: "acme")
            let key = Principal(kind: .apiKey, id: "key_ci", tenantID: acme.tenantID, role: .admin, scopes: [.admin, .scans])

            let project = try await store.createProject(name: "payments", by: key, now: Self.t0)
            let repository = try await store.createRepository(
                projectID: project, url: "https://ci:s3cr3t-t0ken@git.example.com/acme/api.git",
                maskedURL: "https://git.example.com/acme/api.git", defaultBranch: "trunk", by: key, now: Self.t0 + 1
            )
            let scan = try await store.createScan(repositoryID: repository, ref: "v1.2", engines: ["secrets", "deps"], by: key, now: Self.t0 + 2)

            let events = try await store.auditEvents(in: acme)
            try #require(events.count == 3)
            #expect(events.map(\.action) == ["project.created", "repository.created", "scan.submitted"])
            #expect(events.map(\.subject) == ["project:\(project)", "repository:\(repository)", "scan:\(scan)"])
            #expect(events.allSatisfy { $0.actor == "key_ci" && $0.before == nil })
            #expect(events.map(\.at) == [Self.t0, Self.t0 + 1, Self.t0 + 2])

            #expect(try after(events[0]) as? [String: String] == ["name": "payments"])
            #expect(try after(events[1]) as? [String: String] == [
                "project": project, "url": "https://git.example.com/acme/api.git", "default_branch": "trunk",
            ])
            let submitted = try after(events[2])
            #expect(submitted["repository"] as? String == repository && submitted["ref"] as? String == "v1.2")
            #expect(submitted["engines"] as? [String] == ["secrets", "deps"] && submitted["state"] as? String == "queued")

            let verification = try await store.verifyAudit(in: acme)
            #expect(verification.isIntact && verification.events == 3)

            // The clone needs the credential, so the repository keeps it; the log never does.
            #expect(try await store.repository(id: repository, in: acme)?.url == "https://ci:s3cr3t-t0ken@git.example.com/acme/api.git")
            let rows = try await store.database.withConnection { db in try await db.raw("SELECT * FROM events").all() }
            #expect(rows.count == 3)
            for row in rows {
                for column in row.allColumns {
                    if let text = try? row.decode(column: column, as: String?.self) { #expect(!text.contains("s3cr3t"), "\(column)") }
                }
            }
        }
    }

    /// The event commits with the change or not at all: a refused creation leaves none, and
    /// one tenant's creations are not in another's chain.
    @Test(arguments: TestDatabase.all)
    func aRefusedCreationLeavesNoEventAndChainsStayPerTenant(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await store.createTenant(name: "acme")
            let rival = try await store.createTenant(name: "rival")
            let project = try await store.createProject(name: "payments", by: .tester(in: acme))
            let url = "https://git.example.com/acme/pay.git"
            let repository = try await store.addRepository(url, project: project, by: .tester(in: acme))

            await #expect(throws: Store.AlreadyExists.self) { try await store.createProject(name: "payments", by: .tester(in: acme)) }
            await #expect(throws: Store.NotFound.self) {
                try await store.createRepository(projectID: "prj_missing", url: url, maskedURL: url, defaultBranch: "main", by: .tester(in: acme))
            }
            // Another tenant's repository is not there for rival's actor.
            await #expect(throws: Store.NotFound.self) {
                try await store.createScan(repositoryID: repository, ref: "main", engines: [], by: .tester(in: rival))
            }
            #expect(try await store.auditEvents(in: acme).map(\.action) == ["project.created", "repository.created"])
            #expect(try await store.auditEvents(in: rival).isEmpty)
            #expect(try await store.scans(matching: ScanFilter(), in: acme).items.isEmpty)

            _ = try await store.createScan(repositoryID: repository, ref: "main", engines: [], by: .tester(in: acme))
            let events = try await store.auditEvents(in: acme)
            #expect(events.map(\.sequence) == [1, 2, 3] && events.last?.action == "scan.submitted")
            #expect(try after(try #require(events.last))["engines"] as? [String] == [])
            #expect(try await store.verifyAudit(in: acme).isIntact)
        }
    }

    /// Concurrent creations in one tenant each get their own place in the chain (the tenant
    /// lock serialises them on PostgreSQL), and the chain still verifies.
    @Test(arguments: TestDatabase.all)
    func concurrentCreationsKeepTheChainWhole(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await store.createTenant(name: "acme")
            let project = try await store.createProject(name: "p", by: .tester(in: acme))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        let url = "https://git.example.com/r\(index).git"
                        let repository = try await store.addRepository(url, project: project, by: .tester(in: acme))
                        _ = try await store.createScan(repositoryID: repository, ref: "main", engines: ["secrets"], by: .tester(in: acme))
                    }
                }
                try await group.waitForAll()
            }
            let events = try await store.auditEvents(in: acme)
            #expect(events.map(\.sequence) == Array(1...17))
            #expect(events.filter { $0.action == "scan.submitted" }.count == 8)
            let verification = try await store.verifyAudit(in: acme)
            #expect(verification.isIntact && verification.events == 17)
        }
    }
}
