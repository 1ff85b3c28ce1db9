import Foundation
import SQLKit
import Testing
import VegaLifecycle
import VegaModel
import VegaStoreTestSupport
@testable import VegaStore

private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

private func finding(_ id: String) -> Finding {
    Finding(
        ruleId: "rule-\(id)", title: "Finding \(id)", severity: .high, cwe: "CWE-798", message: id,
        location: Location(path: "src/\(id).py", startLine: 3, startColumn: 1, endLine: 3, endColumn: 9),
        snippet: "AKIA****", engine: "secrets", fingerprint: "fp-\(id)"
    )
}

/// A tenant with one repository and the counts a queue test asserts over.
private struct Queue {
    let store: Store
    let scope: TenantScope
    let repository: String

    init(_ store: Store) async throws {
        self.store = store
        scope = try await store.createTenant(name: "acme", now: t0)
        let project = try await store.createProject(name: "p", by: .tester(in: scope), now: t0)
        repository = try await store.addRepository("https://git.example.com/r.git", project: project, by: .tester(in: scope), now: t0)
    }

    func submit(at time: Date = t0) async throws -> String {
        try await store.createScan(repositoryID: repository, ref: "main", engines: ["secrets"], by: .tester(in: scope), now: time)
    }

    func scan(_ id: String) async throws -> ScanRecord { try #require(try await store.scan(id: id, in: scope)) }

    func observation(_ claimed: ClaimedScan, _ ids: [String], at time: Date) -> ScanObservation {
        ScanObservation(scanID: claimed.scanID, branch: "main", completeness: .complete, engines: ["secrets"], at: time,
                        findings: ids.map(finding))
    }

    func count(_ sql: SQLQueryString) async throws -> Int {
        try await store.database.withConnection { db in try await db.raw(sql).first()!.decode(column: "n", as: Int.self) }
    }

    var findingRows: Int { get async throws { try await count("SELECT COUNT(*) AS n FROM findings") } }
    var auditActions: [String] { get async throws { try await store.auditEvents(in: scope).map(\.action) } }
}

@Suite struct QueueTests {
    /// A worker that stops heartbeating loses its scan: the reaper requeues it after a
    /// backoff, a second worker finishes it, and everything the first then tries to write
    /// is refused — exactly one set of results.
    @Test(arguments: TestDatabase.all)
    func anExpiredLeaseIsRequeuedAndTheLateWorkerIsFencedOut(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let queue = try await Queue(store)
            let id = try await queue.submit()
            let first = try #require(try await store.claimNextScan(now: t0, lease: .seconds(60)))
            #expect(first.scanID == id && first.attempt == 1 && first.maxAttempts == 3)
            #expect(try await store.claimNextScan(now: t0) == nil, "a leased scan is nobody else's")

            // Heartbeats keep it: nothing expires while they come.
            #expect(try await store.reclaimExpiredLeases(now: t0 + 30).isEmpty)
            #expect(try await store.heartbeat(first, now: t0 + 30))
            #expect(try await store.reclaimExpiredLeases(now: t0 + 89).isEmpty, "the heartbeat at 30 s renewed it to 90 s")

            // Then the worker goes silent.
            let reclaimed = try await store.reclaimExpiredLeases(now: t0 + 91)
            #expect(reclaimed == [ReclaimedScan(scanID: id, scope: queue.scope, state: .queued)])
            let requeued = try await queue.scan(id)
            #expect(requeued.state == .queued && requeued.attempts == 1 && requeued.error == "worker lost (lease expired) on attempt 1")
            let runAt = try #require(requeued.runAt)
            #expect(runAt >= t0 + 91 + 2.5 && runAt <= t0 + 91 + 5, "the first retry waits 2.5–5 s (base 5 s, equal jitter)")
            #expect(try await store.claimNextScan(now: t0 + 91) == nil, "not before its run-at")

            let second = try #require(try await store.claimNextScan(now: t0 + 100, lease: .seconds(60)))
            #expect(second.scanID == id && second.attempt == 2 && second.leaseToken != first.leaseToken)

            // The first worker comes back: every write of its is refused, and nothing is stored.
            #expect(try await !store.heartbeat(first, now: t0 + 101))
            await #expect(throws: Store.LeaseLost.self) { try await store.updateScan(first, progress: ScanProgress(phase: .recording), commit: String(repeating: "a", count: 40)) }
            await #expect(throws: Store.LeaseLost.self) { try await store.record(queue.observation(first, ["a", "b"], at: t0 + 101), for: first) }
            await #expect(throws: Store.LeaseLost.self) { try await store.finishScan(first, state: .succeeded, completeness: .complete) }
            await #expect(throws: Store.LeaseLost.self) { try await store.failScan(first, error: "late", retryable: true) }
            #expect(try await store.releaseScan(first) == false)
            #expect(try await queue.findingRows == 0)
            #expect(try await queue.count("SELECT COUNT(*) AS n FROM finding_occurrences") == 0)
            let untouched = try await queue.scan(id)
            #expect(untouched.state == .running && untouched.commit == nil && untouched.progress == ScanProgress(phase: .cloning))

            // The second worker's results are the ones stored, once.
            try await store.record(queue.observation(second, ["a", "b"], at: t0 + 102), for: second, now: t0 + 102)
            try await store.finishScan(second, state: .succeeded, completeness: .complete, usage: ScanUsage(files: 2, bytes: 20, findings: 2), now: t0 + 103)
            let done = try await queue.scan(id)
            #expect(done.state == .succeeded && done.attempts == 2 && done.error == nil && done.runAt == nil)
            #expect(try await queue.findingRows == 2)
            #expect(try await queue.count("SELECT COUNT(*) AS n FROM finding_occurrences WHERE scan_id = \(bind: id)") == 2)
            #expect(try await queue.auditActions.filter { $0 == "finding.state_changed" }.count == 2)
            let usage = try await store.usage(from: CalendarDay(t0), to: CalendarDay(t0), in: queue.scope)
            #expect(usage.totals.scans == 1, "a scan counts once however many attempts it took")
            #expect(try await store.reclaimExpiredLeases(now: t0 + 10_000).isEmpty, "an ended scan holds no lease")
        }
    }

    /// Retryable failures go back to the queue with a growing, capped backoff until the
    /// last attempt, then the scan is dead with the last error; a permanent failure fails
    /// at once. Dead and failed scans are listed by state and re-driven by retryScan.
    @Test(arguments: TestDatabase.all)
    func retriesBackOffThenDeadLetterAndARetryReDrives(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let queue = try await Queue(store)
            let id = try await queue.submit()
            var now = t0
            var waits: [Double] = []
            for attempt in 1...3 {
                let claimed = try #require(try await store.claimNextScan(now: now))
                #expect(claimed.scanID == id && claimed.attempt == attempt)
                let state = try await store.failScan(
                    claimed, error: "cloning x timed out after 300s (\(attempt))", retryable: true, progress: ScanProgress(phase: .cloning),
                    usage: ScanUsage(files: 0, bytes: 0, findings: 0), now: now
                )
                let scan = try await queue.scan(id)
                if attempt < 3 {
                    #expect(state == .queued && scan.state == .queued && scan.error == "cloning x timed out after 300s (\(attempt))")
                    let wait = try #require(scan.runAt).timeIntervalSince(now)
                    waits.append(wait)
                    #expect(try await store.claimNextScan(now: now + wait - 0.5) == nil, "not during the backoff")
                    now = now + wait
                } else {
                    #expect(state == .dead && scan.state == .dead && scan.attempts == 3 && scan.completeness == .failed)
                    #expect(scan.error == "cloning x timed out after 300s (3) (gave up after 3 attempts)")
                    #expect(scan.finishedAt == now && scan.runAt == nil)
                }
            }
            #expect(waits.count == 2 && (2.5...5).contains(waits[0]) && (5...10).contains(waits[1]), "\(waits)")
            #expect(try await store.claimNextScan(now: now + 3_600) == nil, "a dead scan is not taken")
            let usage = try await store.usage(from: CalendarDay(t0), to: CalendarDay(t0), in: queue.scope)
            #expect(usage.totals.scans == 1, "three attempts, one scan")

            // The backoff grows to its cap, jitter within the upper half.
            let backoff = RetryBackoff()
            #expect(backoff.delay(afterAttempt: 1, random: 1) == .seconds(5) && backoff.delay(afterAttempt: 1, random: 0) == .milliseconds(2_500))
            #expect(backoff.delay(afterAttempt: 4, random: 1) == .seconds(40))
            #expect(backoff.delay(afterAttempt: 20, random: 1) == .seconds(300) && backoff.delay(afterAttempt: 20, random: 0) == .seconds(150))

            // A permanent failure: failed at once, on the first attempt.
            let bad = try await queue.submit(at: now)
            let claimed = try #require(try await store.claimNextScan(now: now + 3_600))
            #expect(claimed.scanID == bad)
            #expect(try await store.failScan(claimed, error: "ref nope not found in the repository", retryable: false, now: now + 3_600) == .failed)
            let failed = try await queue.scan(bad)
            #expect(failed.state == .failed && failed.attempts == 1)

            // Both are listed by state, and re-driven.
            let dead = try await store.scans(matching: ScanFilter(states: [.dead]), in: queue.scope)
            #expect(dead.items.map(\.id) == [id])
            let member = Principal(kind: .user, id: "usr_m", tenantID: queue.scope.tenantID, role: .member)
            let retried = try await store.retryScan(id: id, by: member, now: now + 4_000)
            #expect(retried.state == .queued && retried.attempts == 0 && retried.error == nil && retried.finishedAt == nil)
            #expect(retried.runAt == now + 4_000)
            _ = try await store.retryScan(id: bad, by: member, now: now + 4_000)
            await #expect(throws: Store.ScanNotRetryable.self) { try await store.retryScan(id: id, by: member) }
            let again = [try await store.claimNextScan(now: now + 4_000), try await store.claimNextScan(now: now + 4_000)].compactMap { $0 }
            #expect(Set(again.map(\.scanID)) == [id, bad] && again.allSatisfy { $0.attempt == 1 }, "both run again, attempts start over")
            let other = try await store.createTenant(name: "other")
            await #expect(throws: Store.NotFound.self) {
                try await store.retryScan(id: bad, by: Principal(kind: .user, id: "usr_x", tenantID: other.tenantID, role: .owner))
            }
            let events = try await store.auditEvents(in: queue.scope).filter { $0.action == "scan.retried" }
            #expect(events.map(\.subject) == ["scan:\(id)", "scan:\(bad)"] && events.allSatisfy { $0.actor == "usr_m" })
        }
    }

    /// A worker lost on every attempt: the reaper dead-letters the scan after the last.
    @Test(arguments: TestDatabase.all)
    func aScanWhoseWorkersKeepDyingIsDeadLettered(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let queue = try await Queue(store)
            let id = try await queue.submit()
            var now = t0
            for attempt in 1...3 {
                let claimed = try #require(try await store.claimNextScan(now: now, lease: .seconds(10)))
                #expect(claimed.attempt == attempt)
                now = now + 11
                let reclaimed = try await store.reclaimExpiredLeases(now: now)
                #expect(reclaimed.map(\.state) == [attempt < 3 ? .queued : .dead])
                now = now + 600
            }
            let dead = try await queue.scan(id)
            #expect(dead.state == .dead && dead.error == "worker lost (lease expired) after 3 attempts" && dead.attempts == 3)
            let usage = try await store.usage(from: CalendarDay(t0), to: CalendarDay(now), in: queue.scope)
            #expect(usage.totals.scans == 1)
        }
    }

    /// Priority first, then run-at, then id; a released scan runs again at once, its attempt not counted.
    @Test(arguments: TestDatabase.all)
    func claimsFollowPriorityThenRunAtAndAReleaseDoesNotCount(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let queue = try await Queue(store)
            let older = try await queue.submit(at: t0)
            let newer = try await queue.submit(at: t0 + 1)
            let urgent = try await queue.submit(at: t0 + 2)
            try await store.database.transaction { db in try await db.raw("UPDATE scans SET priority = 5 WHERE id = \(bind: urgent)").run() }
            let first = try #require(try await store.claimNextScan(now: t0 + 10))
            #expect(first.scanID == urgent)
            #expect(try await store.releaseScan(first, now: t0 + 11))
            let released = try await queue.scan(urgent)
            #expect(released.state == .queued && released.attempts == 0 && released.progress == nil)
            #expect(try await store.claimNextScan(now: t0 + 11)?.scanID == urgent)
            #expect(try await store.claimNextScan(now: t0 + 11)?.scanID == older)
            #expect(try await store.claimNextScan(now: t0 + 11)?.scanID == newer)
            #expect(try await store.queueDepth() == (queued: 0, running: 3))
        }
    }

    /// Many workers at once, each claiming until the queue is empty: every scan is taken once.
    @Test(arguments: TestDatabase.all)
    func concurrentWorkersTakeEveryScanOnce(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let queue = try await Queue(store)
            var ids: [String] = []
            for i in 0..<200 { ids.append(try await queue.submit(at: t0 + Double(i) / 1000)) }
            let taken = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        var mine: [String] = []
                        while let claimed = try await store.claimNextScan(now: t0 + 60) {
                            #expect(try await store.heartbeat(claimed, now: t0 + 60))
                            try await store.finishScan(claimed, state: .succeeded, now: t0 + 61)
                            mine.append(claimed.scanID)
                        }
                        return mine
                    }
                }
                return try await group.reduce([], +)
            }
            #expect(taken.count == 200 && Set(taken) == Set(ids))
            #expect(try await queue.count("SELECT COUNT(*) AS n FROM scans WHERE state = 'succeeded' AND attempts = 1") == 200)
        }
    }
}
