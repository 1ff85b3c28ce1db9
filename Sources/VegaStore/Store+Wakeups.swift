import Foundation
import SQLKit
import Synchronization

/// Wakes idle workers when a scan is queued, so they need not poll often: polling stays,
/// as the fallback when a wake-up is missed. On PostgreSQL every path that queues a scan
/// sends a NOTIFY on `Store.scanChannel` (delivered when its transaction commits), and
/// each process's `PostgresBackend` LISTENs on one connection of its own; workers in the
/// process that queued the scan are also woken directly, which is all SQLite has.
public final class ScanWakeups: Sendable {
    /// What ends a waiter's suspension.
    private enum Wake: Sendable {
        /// A scan may be there: look now.
        case look
        /// A scan was announced for later: wait again, until then at most.
        case rescheduled
    }

    private struct State {
        /// Idle workers; nil until the waiting task is suspended.
        var waiters: [UInt64: CheckedContinuation<Wake, Never>?] = [:]
        var nextID: UInt64 = 0
        /// A wake-up came while no worker waited: the next wait returns at once, so a worker
        /// between an empty claim and its wait does not sleep through a scan queued meanwhile.
        var pending = false
        /// The earliest run-at announced for later (a retry's backoff); only the earliest is
        /// kept, the polling finds any other.
        var due: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    public init() {}

    /// The wake-ups of the databases without a listener of their own (SQLite): one for the
    /// process. A scan queued on one database also wakes the idle workers of another
    /// (only tests open several): that costs them one empty claim.
    static let inProcess = ScanWakeups()

    /// A scan may be claimed from `runAt` (milliseconds since 1970): the idle workers wake
    /// now, or then.
    func scanQueued(runAt: Int64) {
        let wait = Duration.milliseconds(runAt - Date().milliseconds)
        guard wait > .milliseconds(5) else { return wakeAll() }
        let at = ContinuousClock.now + wait
        let rescheduled = state.withLock { state -> [CheckedContinuation<Wake, Never>] in
            if let due = state.due, due <= at { return [] }
            state.due = at
            // The waiters sleep to a later deadline: each waits again, to this one.
            defer { state.waiters = [:] }
            return state.waiters.values.compactMap { $0 }
        }
        for waiter in rescheduled { waiter.resume(returning: .rescheduled) }
    }

    /// Every idle worker looks for a scan now (or the next to wait does, when none waits).
    func wakeAll() {
        let woken = state.withLock { state in
            if state.waiters.isEmpty { state.pending = true }
            defer { state.waiters = [:] }
            return state.waiters.values.compactMap { $0 }
        }
        for waiter in woken { waiter.resume(returning: .look) }
    }

    /// Returns at the first of: a wake-up, `limit`, the run-at of a scan announced for
    /// later, or the task's cancellation.
    public func wait(upTo limit: Duration) async {
        let end = ContinuousClock.now + limit
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let registered: (id: UInt64, deadline: ContinuousClock.Instant)? = state.withLock { state in
                if state.pending {
                    state.pending = false
                    return nil
                }
                if let due = state.due, due <= now {
                    state.due = nil
                    return nil
                }
                state.nextID += 1
                state.waiters[state.nextID] = .some(nil)
                return (state.nextID, min(end, state.due ?? end))
            }
            guard let (id, deadline) = registered, deadline > now else { return }
            let wake = await withTaskGroup(of: Wake?.self) { group in
                group.addTask {
                    try? await Task.sleep(until: deadline)
                    return nil
                }
                group.addTask { await self.suspend(id) }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
            state.withLock { state in
                state.waiters[id] = nil
                if let due = state.due, due <= ContinuousClock.now { state.due = nil }
            }
            // Timed out, woken, or cancelled: done. Rescheduled: again, to the new run-at.
            guard case .rescheduled? = wake else { return }
        }
    }

    /// Suspends until `wakeAll`, `scanQueued` or cancellation removes waiter `id`.
    private func suspend(_ id: UInt64) async -> Wake {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Already removed before suspending (woken, or cancelled): go on at once.
                let suspended = state.withLock { state in
                    guard state.waiters[id] != nil else { return false }
                    state.waiters[id] = continuation
                    return true
                }
                if !suspended { continuation.resume(returning: .look) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            if let waiter, let waiter { waiter.resume(returning: .look) }
        }
    }
}

extension Store {
    /// The PostgreSQL channel that announces queued scans; the payload is the scan's run-at
    /// (milliseconds since 1970).
    public static let scanChannel = "vega_scans"

    /// Returns when a scan may be waiting: at once if one was queued since the last wait,
    /// else at a wake-up or after `limit` (the poll interval), whichever comes first. On
    /// PostgreSQL the first call starts the process's listening connection.
    public func waitForQueuedScans(upTo limit: Duration) async {
        if let postgres = database as? PostgresBackend { postgres.listenForQueuedScans() }
        await wakeups.wait(upTo: limit)
    }

    var wakeups: ScanWakeups { (database as? PostgresBackend)?.wakeups ?? ScanWakeups.inProcess }

    /// Inside the transaction (or right after the statement) that queued a scan to run from
    /// `runAt`: PostgreSQL's NOTIFY, which reaches every listening process when the
    /// transaction commits, and never if it rolls back.
    static func announceQueued(runAt: Int64, kind: DatabaseKind, _ db: any SQLDatabase) async throws {
        guard kind == .postgres else { return }
        try await db.raw("SELECT pg_notify(\(bind: scanChannel), \(bind: String(runAt)))").run()
    }

    /// After the transaction that queued a scan committed: on SQLite, this process's idle
    /// workers look for it now. (On PostgreSQL the NOTIFY reaches this process's listener
    /// too; waking here as well would cost each idle worker a second, empty claim.)
    func wakeLocalWorkers(runAt: Int64) {
        guard database.kind != .postgres else { return }
        wakeups.scanQueued(runAt: runAt)
    }
}
