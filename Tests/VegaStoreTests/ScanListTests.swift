import Foundation
import SQLKit
import Testing
import VegaLifecycle
import VegaModel
import VegaStoreTestSupport
@testable import VegaStore

private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

@Suite struct ScanListTests {
    @Test(arguments: TestDatabase.all)
    func listsFilterAndPageNewestFirstWithoutRepeatsOrGaps(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let scope = try await store.createTenant(name: "acme")
            let project = try await store.createProject(name: "p", by: .tester(in: scope))
            var repositories: [String] = []
            for r in 0..<2 {
                repositories.append(try await store.addRepository("https://git.example.com/r\(r).git", project: project, by: .tester(in: scope)))
            }
            // 24 scans; every other pair shares a queue time, so the id must break ties.
            var ids: [String] = []
            for i in 0..<24 {
                ids.append(try await store.createScan(
                    repositoryID: repositories[i % 2], ref: i % 3 == 0 ? "feature" : "main", engines: ["secrets"], by: .tester(in: scope),
                    now: t0.addingTimeInterval(Double(i / 2))
                ))
            }

            var seen: [ScanRecord] = []
            var cursor: String?
            var inserted = 0
            repeat {
                let page = try await store.scans(matching: ScanFilter(), after: cursor, limit: 5, in: scope)
                #expect(page.items.count <= 5)
                seen += page.items
                cursor = page.nextCursor
                // Scans queued between pages, newer than every listed one, do not shift later pages.
                _ = try await store.createScan(repositoryID: repositories[0], ref: "main", engines: [], by: .tester(in: scope),
                                               now: t0.addingTimeInterval(1_000 + Double(inserted)))
                inserted += 1
            } while cursor != nil
            #expect(seen.map(\.id).count == 24 && Set(seen.map(\.id)) == Set(ids), "every scan once")
            let keys = seen.map { ($0.queuedAt.milliseconds, $0.id) }
            #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 > $1 }, "newest first, ties by id descending")

            let oneRepository = try await store.scans(matching: ScanFilter(repositoryID: repositories[1]), limit: 1_000, in: scope)
            #expect(oneRepository.items.count == 12 && oneRepository.items.allSatisfy { $0.repositoryID == repositories[1] })
            let feature = try await store.scans(matching: ScanFilter(ref: "feature"), in: scope)
            #expect(feature.items.count == 8 && feature.items.allSatisfy { $0.ref == "feature" })

            // States: one running, one succeeded, one cancelled, the rest queued.
            let claimed = try #require(try await store.claimNextScan())
            let other = try #require(try await store.claimNextScan())
            try await store.finishScan(other, state: .succeeded, completeness: .complete)
            let owner = Principal(kind: .user, id: "usr_1", tenantID: scope.tenantID, role: .owner)
            let cancelled = try await store.cancelScan(id: ids[23], by: owner)
            let active = try await store.scans(matching: ScanFilter(states: [.running, .succeeded]), in: scope)
            #expect(Set(active.items.map(\.id)) == [claimed.scanID, other.scanID])
            let done = try await store.scans(matching: ScanFilter(repositoryID: cancelled.repositoryID, states: [.cancelled]), in: scope)
            #expect(done.items.map(\.id) == [cancelled.id])
            #expect(try await store.scans(matching: ScanFilter(states: []), in: scope).items.isEmpty)

            await #expect(throws: Store.InvalidCursor.self) {
                try await store.scans(matching: ScanFilter(), after: "not-a-cursor!", in: scope)
            }
            // A findings cursor is not a scans cursor.
            await #expect(throws: Store.InvalidCursor.self) {
                try await store.scans(matching: ScanFilter(), after: Cursor(rank: 4, repository: "r", fingerprint: "f").encoded, in: scope)
            }
            let otherTenant = try await store.createTenant(name: "other")
            #expect(try await store.scans(matching: ScanFilter(), in: otherTenant).items.isEmpty)
            #expect(try await store.scan(id: ids[0], in: otherTenant) == nil)
        }
    }

    @Test(arguments: TestDatabase.all)
    func aScanShowsItsCommitProgressCompletenessAndDurations(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let scope = try await store.createTenant(name: "acme")
            let project = try await store.createProject(name: "p", by: .tester(in: scope))
            let repository = try await store.addRepository("https://git.example.com/r.git", project: project, by: .tester(in: scope))
            let id = try await store.createScan(repositoryID: repository, ref: "v1.0", engines: ["secrets"], by: .tester(in: scope), now: t0)
            let queued = try #require(try await store.scan(id: id, in: scope))
            #expect(queued.state == .queued && queued.progress == nil && queued.commit == nil && queued.queueSeconds == nil)

            let claimed = try #require(try await store.claimNextScan(now: t0.addingTimeInterval(2)))
            #expect(claimed.ref == "v1.0")
            let cloning = try #require(try await store.scan(id: id, in: scope))
            #expect(cloning.state == .running && cloning.progress == ScanProgress(phase: .cloning) && cloning.queueSeconds == 2)

            let commit = String(repeating: "c", count: 40)
            try await store.updateScan(claimed, progress: ScanProgress(phase: .scanning, filesScanned: 10, bytesScanned: 2_048))
            try await store.updateScan(
                claimed, progress: ScanProgress(phase: .recording, filesScanned: 12, bytesScanned: 4_096, findings: 3), commit: commit
            )
            let recording = try #require(try await store.scan(id: id, in: scope))
            #expect(recording.commit == commit && recording.progress?.filesScanned == 12 && recording.progress?.findings == 3)

            let done = ScanProgress(phase: .done, filesScanned: 12, bytesScanned: 4_096, findings: 3)
            try await store.finishScan(claimed, state: .succeeded, completeness: .complete, progress: done,
                                       usage: ScanUsage(files: 12, bytes: 4_096, findings: 3), now: t0.addingTimeInterval(7.5))
            let finished = try #require(try await store.scan(id: id, in: scope))
            #expect(finished.state == .succeeded && finished.completeness == .complete && finished.progress == done)
            #expect(finished.queueSeconds == 2 && finished.runSeconds == 5.5 && finished.commit == commit)

            // An ended scan refuses late writes: no progress change, no second finish, no usage counted twice.
            await #expect(throws: Store.LeaseLost.self) { try await store.updateScan(claimed, progress: ScanProgress(phase: .scanning)) }
            await #expect(throws: Store.LeaseLost.self) {
                try await store.finishScan(claimed, state: .failed, error: "late", completeness: .failed,
                                           usage: ScanUsage(files: 1, bytes: 1, findings: 1), now: t0.addingTimeInterval(9))
            }
            #expect(try await store.scan(id: id, in: scope) == finished)
            let usage = try await store.usage(from: CalendarDay(t0), to: CalendarDay(t0), in: scope)
            #expect(usage.totals.scans == 1 && usage.totals.files == 12)

            // The API's JSON shape: snake_case, as every other resource.
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            let object = try #require(try JSONSerialization.jsonObject(with: encoder.encode(finished)) as? [String: Any])
            #expect(Set(object.keys).isSuperset(of: ["repository_id", "commit", "completeness", "progress", "queue_seconds", "run_seconds"]))
            let progress = try #require(object["progress"] as? [String: Any])
            #expect(progress["files_scanned"] as? Int == 12 && progress["bytes_scanned"] as? Int == 4_096 && progress["phase"] as? String == "done")
        }
    }

    /// The list's query shape (the tenant, maybe a repository, the keyset, newest first)
    /// reads an index in order: neither database sorts the tenant's scans per page.
    @Test(arguments: TestDatabase.all)
    func theListReadsAnIndexInOrder(_ kind: TestDatabase) async throws {
        try await kind.withFresh { database in
            try await Migrator.migrate(database)
            for repository in [false, true] {
                let condition: SQLQueryString = repository
                    ? "tenant_id = 't' AND repository_id = 'r' AND (queued_at, id) < (5, 'x')"
                    : "tenant_id = 't' AND (queued_at, id) < (5, 'x')"
                let query: SQLQueryString = "SELECT id FROM scans WHERE \(condition) ORDER BY queued_at DESC, id DESC LIMIT 101"
                let plan: String = try await database.withConnection { db in
                    switch kind {
                    case .sqlite:
                        return try await db.raw("EXPLAIN QUERY PLAN \(query)").all()
                            .map { try $0.decode(column: "detail", as: String.self) }.joined(separator: "\n")
                    case .postgres:
                        // Sorting priced out: the plan still sorts if no index gives the order.
                        try await db.raw("SET enable_sort = off").run()
                        let plan = try await db.raw("EXPLAIN \(query)").all()
                            .map { try $0.decode(column: "QUERY PLAN", as: String.self) }.joined(separator: "\n")
                        try await db.raw("RESET enable_sort").run()
                        return plan
                    }
                }
                #expect(plan.contains(repository ? "scans_by_repository" : "scans_list"), "\(plan)")
                #expect(!plan.contains("TEMP B-TREE") && !plan.contains("Sort"), "\(plan)")
            }
        }
    }
}
