import Foundation
import PostgresKit
import SQLKit
import SQLiteKit
import VegaLifecycle
import VegaModel

/// How long a failed attempt waits before the next: `base` doubled per attempt, at most
/// `cap`, with "equal jitter" (a random point in the upper half) so workers that failed
/// together do not all come back at the same moment.
public struct RetryBackoff: Sendable, Hashable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .seconds(5), cap: Duration = .seconds(300)) {
        self.base = base
        self.cap = cap
    }

    /// The wait after attempt `attempt` (1-based) failed; `random` in 0...1 picks the jitter.
    public func delay(afterAttempt attempt: Int, random: Double = .random(in: 0...1)) -> Duration {
        let doubled = base.seconds * pow(2, Double(min(max(0, attempt - 1), 30)))
        let ceiling = min(cap.seconds, doubled)
        return .milliseconds(Int64((ceiling * (0.5 + random / 2) * 1000).rounded()))
    }
}

/// A scan whose worker was lost (its lease expired), as the reaper left it.
public struct ReclaimedScan: Sendable, Hashable {
    public var scanID: String
    public var scope: TenantScope
    /// `queued` to run again, or `dead` when it had no attempt left.
    public var state: ScanRecord.State
}

extension Store {
    /// A write for a claimed scan was refused: its lease is no longer this claim's (it
    /// expired and the scan was requeued, another worker holds it, or it ended). Nothing
    /// was written: a late worker's results are never stored.
    public struct LeaseLost: Error, CustomStringConvertible, Sendable {
        public var scanID: String
        public var description: String { "this worker no longer holds scan \(scanID) (its lease expired or it ended); its results were not stored" }
    }

    /// Only a dead or failed scan can be sent back to the queue.
    public struct ScanNotRetryable: Error, CustomStringConvertible, Sendable {
        public var state: String
        public var description: String { "the scan is \(state); only a dead or failed scan can be retried" }
    }

    /// Renews a claim's lease (now + `claimed.lease`) if it is still the scan's; false when
    /// it was lost, and the worker should then abandon the scan without writing anything.
    public func heartbeat(_ claimed: ClaimedScan, now: Date = Date()) async throws -> Bool {
        do {
            try await singleStatement { db in
                try await Self.fenced(claimed, set: Self.leaseRenewed(claimed, now), ScopedSQL(db: db, scope: claimed.scope))
            }
            return true
        } catch is LeaseLost {
            return false
        }
    }

    /// `record` for a worker: refused with `LeaseLost` (nothing written) unless the claim
    /// still holds the scan, which it renews in the same transaction, so the reaper cannot
    /// take the scan away while its findings are being written.
    @discardableResult
    public func record(
        _ observation: ScanObservation, for claimed: ClaimedScan, policy: SLAPolicy = .default, now: Date = Date()
    ) async throws -> LifecycleChanges {
        let kind = database.kind
        let changes = try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: claimed.scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            try await Self.fenced(claimed, set: Self.leaseRenewed(claimed, now), sql)
            return try await Self.record(observation, repositoryID: claimed.repositoryID, policy: policy, sql)
        }
        try await database.refreshStatistics()
        return changes
    }

    /// Ends a claimed scan's failed attempt. A `retryable` failure (the network, the
    /// database) goes back to the queue after `backoff` while attempts remain, and is
    /// dead-lettered with its error after the last; any other fails the scan at once.
    /// Usage is counted once, when the scan ends. Returns the state the scan is left in;
    /// throws `LeaseLost` (nothing written) when the claim is no longer the scan's.
    @discardableResult
    public func failScan(
        _ claimed: ClaimedScan, error: String, retryable: Bool, progress: ScanProgress? = nil, usage: ScanUsage? = nil,
        now: Date = Date(), backoff: RetryBackoff = RetryBackoff()
    ) async throws -> ScanRecord.State {
        guard retryable else {
            try await finishScan(claimed, state: .failed, error: error, completeness: .failed, progress: progress, usage: usage, now: now)
            return .failed
        }
        guard claimed.attempt < claimed.maxAttempts else {
            try await finishScan(
                claimed, state: .dead, error: "\(error) (gave up after \(claimed.attempt) attempts)", completeness: .failed,
                progress: progress, usage: usage, now: now
            )
            return .dead
        }
        let runAt = now.milliseconds + backoff.delay(afterAttempt: claimed.attempt).milliseconds
        var assignments: SQLQueryString = "state = 'queued', error = \(bind: error), run_at = \(bind: runAt), \(Self.leaseReleased)"
        if let progress { assignments += ", progress = \(bind: Self.json(progress))" }
        let set = assignments
        let kind = database.kind
        try await singleStatement { db in
            try await Self.fenced(claimed, set: set, ScopedSQL(db: db, scope: claimed.scope))
            try await Self.announceQueued(runAt: runAt, kind: kind, db)
        }
        wakeLocalWorkers(runAt: runAt)
        return .queued
    }

    /// Gives a claimed scan back to the queue untouched, to run at once elsewhere: for a
    /// worker that stops before the scan ends. The attempt does not count. False when
    /// the claim had already lost the scan.
    public func releaseScan(_ claimed: ClaimedScan, now: Date = Date()) async throws -> Bool {
        let kind = database.kind
        do {
            try await singleStatement { db in
                try await Self.fenced(claimed, set: """
                    state = 'queued', attempts = attempts - 1, run_at = \(bind: now.milliseconds), progress = NULL, \(Self.leaseReleased)
                    """, ScopedSQL(db: db, scope: claimed.scope))
                try await Self.announceQueued(runAt: now.milliseconds, kind: kind, db)
            }
            wakeLocalWorkers(runAt: now.milliseconds)
            return true
        } catch is LeaseLost {
            return false
        }
    }

    /// The reaper: running scans whose lease expired before `now` (their worker died or
    /// lost the database) go back to the queue after `backoff` while attempts remain, else
    /// are dead-lettered ("worker lost (lease expired) after N attempts"). Every worker
    /// calls it as it polls; when nothing expired it is one read of the `scans_leases`
    /// index and takes no write lock.
    @discardableResult
    public func reclaimExpiredLeases(now: Date = Date(), backoff: RetryBackoff = RetryBackoff()) async throws -> [ReclaimedScan] {
        let at = now.milliseconds
        let expired = try await database.withConnection { db in
            try await db.raw("""
                SELECT id, tenant_id, attempts, max_attempts, lease_token FROM scans
                WHERE state = 'running' AND lease_expires_at < \(bind: at)
                """).all()
        }
        guard !expired.isEmpty else { return [] }
        let kind = database.kind
        let (reclaimed, requeuedAt) = try await database.transaction { db in
            var reclaimed: [ReclaimedScan] = []
            var requeuedAt: [Int64] = []
            for row in expired {
                let id = try row.decode(column: "id", as: String.self)
                let scope = TenantScope(tenantID: try row.decode(column: "tenant_id", as: String.self))
                let attempts = try row.decode(column: "attempts", as: Int.self)
                let dead = attempts >= (try row.decode(column: "max_attempts", as: Int.self))
                let runAt = at + backoff.delay(afterAttempt: attempts).milliseconds
                let assignments: SQLQueryString = dead
                    ? """
                        state = 'dead', error = \(bind: "worker lost (lease expired) after \(attempts) attempts"),
                        finished_at = \(bind: at), completeness = 'failed', \(Self.leaseReleased)
                        """
                    : """
                        state = 'queued', error = \(bind: "worker lost (lease expired) on attempt \(attempts)"),
                        run_at = \(bind: runAt), \(Self.leaseReleased)
                        """
                // Still expired and still that claim's: a heartbeat since the read above wins.
                let changed = try await db.raw("""
                    UPDATE scans SET \(assignments)
                    WHERE id = \(bind: id) AND state = 'running' AND lease_expires_at < \(bind: at)
                        AND lease_token = \(bind: try row.decode(column: "lease_token", as: String.self))
                    RETURNING id
                    """).all()
                guard !changed.isEmpty else { continue }
                // A dead scan has ended: it counts once in its tenant's usage, like a failed one.
                if dead { try await Self.addUsage(ScanUsage(files: 0, bytes: 0, findings: 0), on: CalendarDay(now), ScopedSQL(db: db, scope: scope)) }
                reclaimed.append(ReclaimedScan(scanID: id, scope: scope, state: dead ? .dead : .queued))
                if !dead { requeuedAt.append(runAt) }
            }
            // The earliest is enough: a woken worker that finds a later one not yet due polls for it.
            if let first = requeuedAt.min() { try await Self.announceQueued(runAt: first, kind: kind, db) }
            return (reclaimed, requeuedAt)
        }
        if let first = requeuedAt.min() { wakeLocalWorkers(runAt: first) }
        return reclaimed
    }

    /// Sends a dead or failed scan back to the queue with its attempts reset, to run at
    /// once, with its `scan.retried` event by `actor`.
    public func retryScan(id: String, by actor: Principal, now: Date = Date()) async throws -> ScanRecord {
        let scan = try await changeScan(
            id: id, by: actor, now: now, action: "scan.retried", from: [.dead, .failed], to: .queued,
            set: """
                attempts = 0, run_at = \(bind: now.milliseconds), error = NULL, completeness = NULL,
                progress = NULL, started_at = NULL, finished_at = NULL, \(Self.leaseReleased)
                """,
            refusal: { ScanNotRetryable(state: $0) }
        )
        // After the commit, on its own: a NOTIFY lost here only leaves the scan to the polling.
        let kind = database.kind
        try? await database.withConnection { db in try await Self.announceQueued(runAt: now.milliseconds, kind: kind, db) }
        wakeLocalWorkers(runAt: now.milliseconds)
        return scan
    }

    /// Scans of every tenant waiting in the queue and running now: an operator's view.
    public func queueDepth() async throws -> (queued: Int, running: Int) {
        try await database.withConnection { db in
            let rows = try await db.raw("""
                SELECT state, COUNT(*) AS n FROM scans WHERE state IN ('queued', 'running') GROUP BY state
                """).all()
            var counts: [String: Int] = [:]
            for row in rows { counts[try row.decode(column: "state", as: String.self)] = try row.decode(column: "n", as: Int.self) }
            return (counts["queued"] ?? 0, counts["running"] ?? 0)
        }
    }

    /// Whether `error` says the database could not be reached, or refused for a while
    /// (shutting down, too many connections, busy), rather than that a statement was wrong:
    /// a scan that failed so is worth another attempt.
    public static func isUnavailable(_ error: any Error) -> Bool {
        if error is ConnectionClosed { return true }
        if let error = error as? PSQLError {
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
                return true
            case .server:
                // Classes 08 (connection), 53 (resources), 57P (shutdown), and serialization or deadlock failures.
                let state = error.serverInfo?[.sqlState] ?? ""
                return ["08", "53", "57P"].contains { state.hasPrefix($0) } || state == "40001" || state == "40P01"
            default:
                return false
            }
        }
        if let error = error as? SQLiteError { return [.busy, .busyTimeout, .busyInRecovery, .busyInSnapshot, .locked, .lockedBySharedCache, .ioError].contains(error.reason) }
        return false
    }

    // MARK: Fencing

    /// Runs one write statement: on PostgreSQL on its own (autocommit, which saves the
    /// round trips of BEGIN and COMMIT on the queue's hot path), on SQLite on the one
    /// writer connection, as every write there must.
    func singleStatement<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        database.kind == .postgres ? try await database.withConnection(body) : try await database.transaction(body)
    }

    /// A random fencing token per claim.
    static func leaseToken() -> String {
        UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    static let leaseReleased: SQLQueryString = "lease_token = NULL, lease_expires_at = NULL"

    static func leaseRenewed(_ claimed: ClaimedScan, _ now: Date) -> SQLQueryString {
        "heartbeat_at = \(bind: now.milliseconds), lease_expires_at = \(bind: now.milliseconds + claimed.lease.milliseconds)"
    }

    /// Applies `set` to the claimed scan only while the claim holds it (running, under its
    /// token); otherwise writes nothing and throws `LeaseLost`. On PostgreSQL the row stays
    /// locked until the caller's transaction ends, so nothing can take the scan meanwhile.
    static func fenced(_ claimed: ClaimedScan, set: SQLQueryString, _ sql: ScopedSQL) async throws {
        // RETURNING tells whether the row matched, the same way on both databases.
        let matched = try await sql.db.raw("""
            UPDATE scans SET \(set) WHERE id = \(bind: claimed.scanID) AND \(holds(claimed, sql.db)) RETURNING id
            """).all()
        guard !matched.isEmpty else { throw LeaseLost(scanID: claimed.scanID) }
    }

    /// The condition, beside `id = …`, that the claim still holds its scan. On PostgreSQL
    /// only the id is a search condition (a row compared with IS NOT DISTINCT FROM is no
    /// index's), so the primary key is always read: with the statistics of before a burst
    /// the planner would otherwise pick `scans_leases` or `scans_active` and filter through
    /// thousands of rows. None of the values is NULL, so it is plain equality.
    static func holds(_ claimed: ClaimedScan, _ db: any SQLDatabase) -> SQLQueryString {
        db.dialect.name == "postgresql"
            ? "(tenant_id, state, lease_token) IS NOT DISTINCT FROM (\(bind: claimed.scope.tenantID), 'running', \(bind: claimed.leaseToken))"
            : "tenant_id = \(bind: claimed.scope.tenantID) AND state = 'running' AND lease_token = \(bind: claimed.leaseToken)"
    }
}

extension Duration {
    /// Whole milliseconds, as the schema stores times.
    var milliseconds: Int64 { Int64((seconds * 1000).rounded()) }
}
