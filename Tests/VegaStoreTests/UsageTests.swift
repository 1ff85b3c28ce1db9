import Foundation
import Testing
import VegaLifecycle
import VegaModel
import VegaStoreTestSupport
@testable import VegaStore

/// 2023-11-14T22:13:20Z: late in a UTC day, so two hours later is the next day.
private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

@Suite struct UsageTests {
    @Test(arguments: TestDatabase.all)
    func finishedScansAddUpPerTenantAndDay(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await store.createTenant(name: "acme")
            let other = try await store.createTenant(name: "other")
            let project = try await store.createProject(name: "p", by: .tester(in: acme))
            let repository = try await store.addRepository("https://git.example.com/r.git", project: project, by: .tester(in: acme))
            _ = try await store.addRepository("https://git.example.com/s.git", project: project, by: .tester(in: acme))

            /// Queues, claims and finishes one scan at `at`.
            func run(_ state: ScanRecord.State, files: Int, bytes: Int, findings: Int, at: Date) async throws -> String {
                let id = try await store.createScan(repositoryID: repository, ref: "main", engines: [], by: .tester(in: acme), now: at)
                let claimed = try #require(try await store.claimNextScan(now: at))
                #expect(claimed.scanID == id)
                try await store.finishScan(claimed, state: state, usage: ScanUsage(files: files, bytes: bytes, findings: findings), now: at)
                return id
            }
            let first = try await run(.succeeded, files: 10, bytes: 1_000, findings: 2, at: t0)
            _ = try await run(.failed, files: 3, bytes: 300, findings: 0, at: t0.addingTimeInterval(60))
            _ = try await run(.succeeded, files: 7, bytes: 700, findings: 1, at: t0.addingTimeInterval(7_200))

            // Two findings recorded: one stays open, one is dismissed (not counted as open).
            let findings = ["a", "b"].map { id in
                Finding(ruleId: "rule", title: id, severity: .high, cwe: nil, message: "",
                        location: Location(path: "\(id).py", startLine: 1, startColumn: 1, endLine: 1, endColumn: 2),
                        snippet: "", engine: "secrets", fingerprint: "fp-\(id)")
            }
            try await store.record(ScanObservation(scanID: first, branch: "main", completeness: .complete, engines: ["secrets"], at: t0, findings: findings),
                                   repositoryID: repository, in: acme)
            try await store.dismiss(fingerprint: "fp-b", repositoryID: repository,
                                    with: Dismissal(reason: .falsePositive, comment: "", actor: "usr_1", at: t0), in: acme)

            let day = CalendarDay(t0)
            #expect(day.description == "2023-11-14")
            let usage = try await store.usage(from: day.adding(days: -1), to: day.adding(days: 1), in: acme)
            #expect(usage.days.map(\.day.description) == ["2023-11-13", "2023-11-14", "2023-11-15"], "every day, zeros included")
            #expect(usage.days.map(\.scans) == [0, 2, 1])
            #expect(usage.days.map(\.files) == [0, 13, 7] && usage.days.map(\.bytes) == [0, 1_300, 700] && usage.days.map(\.findings) == [0, 2, 1])
            #expect(usage.totals.scans == 3 && usage.totals.files == 20 && usage.totals.bytes == 2_000 && usage.totals.findings == 3)
            #expect(usage.current.repositories == 2 && usage.current.openFindings == 1)

            // Another range, another tenant.
            let later = try await store.usage(from: day.adding(days: 1), to: day.adding(days: 1), in: acme)
            #expect(later.totals.scans == 1 && later.days.count == 1)
            let theirs = try await store.usage(from: day.adding(days: -1), to: day.adding(days: 1), in: other)
            #expect(theirs.totals == UsageCounts() && theirs.current.repositories == 0 && theirs.current.openFindings == 0)
        }
    }

    @Test func calendarDaysParseStrictly() throws {
        #expect(CalendarDay("2024-02-29")?.description == "2024-02-29")
        #expect(CalendarDay("2024-12-31")?.adding(days: 1).description == "2025-01-01")
        for bad in ["2025-02-29", "2025-13-01", "2025-1-01", "2025-01-1", "20250101", "2025/01/01", "2025-01-01T00:00:00Z",
                    " 2025-01-01", "+025-01-01", "", "yesterday"] {
            #expect(CalendarDay(bad) == nil, "\(bad)")
        }
        let day = try #require(CalendarDay("2025-03-01"))
        #expect(day.days(to: try #require(CalendarDay("2026-03-01"))) == 365)
        #expect(CalendarDay(Date(timeIntervalSince1970: 86_400 * 2 - 1)).description == "1970-01-02")
    }
}
