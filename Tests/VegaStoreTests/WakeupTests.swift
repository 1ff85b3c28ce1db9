import Foundation
import Testing
import VegaModel
import VegaStoreTestSupport
import VegaStore

/// Bounds are a third of the poll interval, not the wake-up's usual latency: the suite runs
/// many tests at once on a small machine, and what must fail is a wait that only the poll ends.
/// Idle workers wait with a poll interval far longer than the test (30 s) and still take
/// a new scan at once: woken by PostgreSQL's NOTIFY through the process's listening
/// connection, or on SQLite by the submission in the same process.
@Suite struct WakeupTests {
    private static let poll = Duration.seconds(30)

    @Test(arguments: TestDatabase.all)
    func anIdleWorkerTakesANewScanAtOnce(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let site = try await Site(store)
            let worker = Task { try await Self.claimLoop(store) }
            defer { worker.cancel() }
            // Idle long enough to have made its empty claim and, on PostgreSQL, be listening.
            try await Task.sleep(for: .seconds(1.5))
            let submitted = ContinuousClock.now
            let id = try await site.submit()
            let claimed = try await worker.value
            let waited = ContinuousClock.now - submitted
            #expect(claimed.scanID == id)
            #expect(waited < Self.poll / 3, "taken \(waited) after it was queued, with a \(Self.poll) poll")
        }
    }

    /// A retry waiting out its backoff is announced with its run-at: the idle worker wakes
    /// then, not at its next poll.
    @Test(arguments: TestDatabase.all)
    func aRetryIsTakenWhenItsBackoffEnds(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let site = try await Site(store)
            let id = try await site.submit()
            let first = try #require(try await store.claimNextScan())
            let worker = Task { try await Self.claimLoop(store) }
            defer { worker.cancel() }
            try await Task.sleep(for: .seconds(1.5))
            let failed = ContinuousClock.now
            let state = try await store.failScan(
                first, error: "network", retryable: true, backoff: RetryBackoff(base: .seconds(1), cap: .seconds(1))
            )
            #expect(state == .queued)
            let retried = try await worker.value
            let waited = ContinuousClock.now - failed
            #expect(retried.scanID == id && retried.attempt == 2)
            // The backoff is 0.5–1 s; the poll would have taken 30.
            #expect(waited >= .milliseconds(450) && waited < Self.poll / 3, "retried \(waited) after the failure")
        }
    }

    /// A scan queued while no worker waits (they were all busy, or between an empty claim
    /// and their wait) is not slept through: the next wait returns at once.
    @Test(arguments: TestDatabase.all)
    func aWakeUpWithNoWorkerWaitingIsKeptForTheNext(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let site = try await Site(store)
            // On PostgreSQL the first wait starts the listener, which wakes it once connected.
            await store.waitForQueuedScans(upTo: .seconds(5))
            _ = try await site.submit()
            try await Task.sleep(for: .milliseconds(500))  // the NOTIFY's way back
            let start = ContinuousClock.now
            await store.waitForQueuedScans(upTo: Self.poll)
            #expect(ContinuousClock.now - start < Self.poll / 3)
        }
    }

    @Test(arguments: TestDatabase.all)
    func aWaitEndsWhenCancelled(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            await store.waitForQueuedScans(upTo: .seconds(5))
            let start = ContinuousClock.now
            let waiting = Task { await store.waitForQueuedScans(upTo: Self.poll) }
            try await Task.sleep(for: .milliseconds(200))
            waiting.cancel()
            await waiting.value
            #expect(ContinuousClock.now - start < Self.poll / 3)
        }
    }

    /// What an idle worker does: claim, else wait for a wake-up or the poll.
    private static func claimLoop(_ store: Store) async throws -> ClaimedScan {
        while true {
            try Task.checkCancellation()
            if let claimed = try await store.claimNextScan() { return claimed }
            await store.waitForQueuedScans(upTo: poll)
        }
    }
}

/// A tenant with one repository to submit scans of.
private struct Site {
    let store: Store
    let scope: TenantScope
    let repository: String

    init(_ store: Store) async throws {
        self.store = store
        scope = try await store.createTenant(name: "acme")
        let project = try await store.createProject(name: "p", by: .tester(in: scope))
        repository = try await store.addRepository("https://git.example.com/r.git", project: project, by: .tester(in: scope))
    }

    func submit() async throws -> String {
        try await store.createScan(repositoryID: repository, ref: "main", engines: ["secrets"], by: .tester(in: scope))
    }
}
