import Foundation
import SQLKit
import VegaLifecycle
import VegaModel

/// A scan as the platform tracks it.
public struct ScanRecord: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable, CaseIterable {
        /// `dead`: dead-lettered — its last attempt failed with a retryable error, or its
        /// worker was lost, and no attempt was left (`POST /v1/scans/{id}/retry` re-drives it).
        case queued, running, succeeded, failed, cancelled, dead
    }

    public var id: String
    public var repositoryID: String
    /// The branch, tag or full commit id asked for; findings are tracked per ref.
    public var ref: String
    public var state: State
    public var engines: [String]
    /// The commit scanned (40 hex digits), once the worker has checked the ref out.
    public var commit: String?
    /// How far the result can be trusted to be whole (see `ScanObservation.Completeness`); set when the scan ends.
    public var completeness: ScanObservation.Completeness?
    public var progress: ScanProgress?
    public var error: String?
    public var queuedAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Seconds spent waiting for a worker, once one took the scan.
    public var queueSeconds: Double?
    /// Seconds from start to end, once the scan ended.
    public var runSeconds: Double?
    /// How many times a worker has taken it (a retry or a lost worker takes it again).
    public var attempts: Int
    public var maxAttempts: Int
    /// For a queued scan, when it may next be taken: later than `queuedAt` while a retry waits out its backoff.
    public var runAt: Date?
}

/// Where a running scan is, as the worker last wrote it (at most about once a second).
public struct ScanProgress: Codable, Sendable, Hashable {
    public enum Phase: String, Codable, Sendable {
        case cloning, scanning, recording, done
    }

    public var phase: Phase
    public var filesScanned: Int
    public var bytesScanned: Int
    /// Known once the engines have finished.
    public var findings: Int?

    public init(phase: Phase, filesScanned: Int = 0, bytesScanned: Int = 0, findings: Int? = nil) {
        self.phase = phase
        self.filesScanned = filesScanned
        self.bytesScanned = bytesScanned
        self.findings = findings
    }

    enum CodingKeys: String, CodingKey {
        case phase, findings, filesScanned = "files_scanned", bytesScanned = "bytes_scanned"
    }
}

/// What a finished scan adds to its tenant's usage for the day.
public struct ScanUsage: Sendable, Hashable {
    public var files: Int
    public var bytes: Int
    public var findings: Int

    public init(files: Int, bytes: Int, findings: Int) {
        self.files = files
        self.bytes = bytes
        self.findings = findings
    }
}

/// A queued scan a worker has taken, with what it needs to run it and the lease it holds
/// it under: every write for it (`updateScan`, `record(_:for:)`, `finishScan`,
/// `failScan`) is refused once `leaseToken` is no longer the scan's.
public struct ClaimedScan: Sendable, Hashable {
    public var scope: TenantScope
    public var scanID: String
    public var repositoryID: String
    public var repositoryURL: String
    public var ref: String
    /// For a scan of an uploaded archive, the artifact store's key of that archive: the
    /// worker scans it (`ScanSource`) instead of cloning `repositoryURL`.
    public var sourceArchive: String? = nil
    public var engines: [String]
    /// 1 for the first run, 2 for the first retry, …
    public var attempt: Int
    public var maxAttempts: Int
    /// Random per claim: the fencing token.
    public var leaseToken: String
    /// How long each heartbeat extends the lease.
    public var lease: Duration
}

/// Which scans to list; every field narrows.
public struct ScanFilter: Sendable, Hashable {
    public var repositoryID: String?
    public var states: [ScanRecord.State]?
    public var ref: String?

    public init(repositoryID: String? = nil, states: [ScanRecord.State]? = nil, ref: String? = nil) {
        self.repositoryID = repositoryID
        self.states = states
        self.ref = ref
    }
}

extension Store {
    static let scanColumns: SQLQueryString = """
        id, repository_id, ref, state, engines, commit_sha, completeness, progress, error, queued_at, started_at, finished_at,
        attempts, max_attempts, run_at
        """

    static func scanRecord(_ row: any SQLRow) throws -> ScanRecord {
        let queuedAt = Date(milliseconds: try row.decode(column: "queued_at", as: Int64.self))
        let startedAt = try row.decode(column: "started_at", as: Int64?.self).map(Date.init(milliseconds:))
        let finishedAt = try row.decode(column: "finished_at", as: Int64?.self).map(Date.init(milliseconds:))
        let state = ScanRecord.State(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed
        return ScanRecord(
            id: try row.decode(column: "id", as: String.self),
            repositoryID: try row.decode(column: "repository_id", as: String.self),
            ref: try row.decode(column: "ref", as: String.self),
            state: state,
            engines: try row.decode(column: "engines", as: String.self).split(separator: ",").map(String.init),
            commit: try row.decode(column: "commit_sha", as: String?.self),
            completeness: try row.decode(column: "completeness", as: String?.self).flatMap(ScanObservation.Completeness.init(rawValue:)),
            progress: try row.decode(column: "progress", as: String?.self).flatMap {
                try? JSONDecoder().decode(ScanProgress.self, from: Data($0.utf8))
            },
            error: try row.decode(column: "error", as: String?.self),
            queuedAt: queuedAt, startedAt: startedAt, finishedAt: finishedAt,
            queueSeconds: startedAt.map { $0.timeIntervalSince(queuedAt) },
            runSeconds: startedAt.flatMap { start in finishedAt.map { $0.timeIntervalSince(start) } },
            attempts: try row.decode(column: "attempts", as: Int.self),
            maxAttempts: try row.decode(column: "max_attempts", as: Int.self),
            runAt: state == .queued ? Date(milliseconds: try row.decode(column: "run_at", as: Int64.self)) : nil
        )
    }

    static func json(_ progress: ScanProgress) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(progress)) ?? Data("{}".utf8), as: UTF8.self)
    }

    public func scan(id: String, in scope: TenantScope) async throws -> ScanRecord? {
        try await database.withConnection { db in
            try await ScopedSQL(db: db, scope: scope).select(Self.scanColumns, from: .scans, where: "id = \(bind: id)")
                .first.map(Self.scanRecord)
        }
    }

    /// The tenant's scans, newest first (by queue time, then id, both descending, so the
    /// scans_list or scans_by_repository index is read backwards rather than the tenant
    /// sorted). Keyset pagination: `cursor` is opaque, and a page never repeats or skips
    /// a scan whatever is queued meanwhile.
    public func scans(
        matching filter: ScanFilter, after cursor: String? = nil, limit: Int = 100, in scope: TenantScope
    ) async throws -> Page<ScanRecord> {
        var condition: SQLQueryString = "1 = 1"
        if let repository = filter.repositoryID { condition += " AND repository_id = \(bind: repository)" }
        if let states = filter.states {
            condition += states.isEmpty ? " AND 1 = 0" : " AND state IN (\(binds: states.map(\.rawValue)))"
        }
        if let ref = filter.ref { condition += " AND ref = \(bind: ref)" }
        if let cursor {
            guard let parts = Cursor.decode(cursor, parts: 2), let queuedAt = Int64(parts[0]) else { throw InvalidCursor() }
            // A row value, so both databases seek the index to the cursor instead of filtering up to it.
            condition += " AND (queued_at, id) < (\(bind: queuedAt), \(bind: parts[1]))"
        }
        let size = max(1, min(limit, 1_000))
        let matching = condition
        let rows = try await database.withConnection { db in
            try await ScopedSQL(db: db, scope: scope).select(
                Self.scanColumns, from: .scans, where: matching, then: "ORDER BY queued_at DESC, id DESC LIMIT \(literal: size + 1)"
            )
        }
        let items = try rows.prefix(size).map(Self.scanRecord)
        let next = rows.count > size ? items.last.map { Cursor.encode(["\($0.queuedAt.milliseconds)", $0.id]) } : nil
        return Page(items: items, nextCursor: next)
    }

    /// Takes the next queued scan of any tenant whose time has come — highest priority,
    /// then earliest run-at, then id — and leases it to the caller for `lease`: marked
    /// running (cloning), one more attempt, a new fencing token. nil when none waits.
    /// Workers are shared by all tenants, so this is a system query, not a tenant's. Two
    /// workers never take the same scan: PostgreSQL skips rows another claim has locked,
    /// and SQLite's single writer runs one claim at a time. One statement, served by the
    /// `scans_queue` index.
    public func claimNextScan(now: Date = Date(), lease: Duration = .seconds(60)) async throws -> ClaimedScan? {
        try await claimNextScans(limit: 1, now: now, lease: lease).first
    }

    /// `claimNextScan` for a worker with several free slots: up to `limit` scans in the
    /// same order, taken by one statement (in no particular order in the answer). They
    /// share the claim's fencing token, which tells apart the claims of one scan; every
    /// write for one of them is still fenced on its own row.
    public func claimNextScans(limit: Int, now: Date = Date(), lease: Duration = .seconds(60)) async throws -> [ClaimedScan] {
        let token = Self.leaseToken()
        let at = now.milliseconds
        let progress = Self.json(ScanProgress(phase: .cloning))
        let next: SQLQueryString = """
            SELECT id FROM scans WHERE state = 'queued' AND run_at <= \(bind: at)
            ORDER BY priority DESC, run_at, id LIMIT \(literal: max(1, limit))
            """
        // On PostgreSQL an ARRAY sub-select runs once, before the update: a plain IN could be
        // run again per row and lock more scans than it takes.
        let chosen: SQLQueryString = database.kind == .postgres ? "id = ANY(ARRAY(\(next) FOR UPDATE SKIP LOCKED))" : "id IN (\(next))"
        return try await singleStatement { db in
            try await db.raw("""
                UPDATE scans SET state = 'running', attempts = attempts + 1, lease_token = \(bind: token),
                    lease_expires_at = \(bind: at + lease.milliseconds), heartbeat_at = \(bind: at),
                    started_at = \(bind: at), progress = \(bind: progress)
                WHERE \(chosen)
                RETURNING id, tenant_id, repository_id, ref, engines, attempts, max_attempts, source_archive,
                    (SELECT url FROM repositories WHERE repositories.id = scans.repository_id AND repositories.tenant_id = scans.tenant_id) AS url
                """).all().map { row in
                ClaimedScan(
                    scope: TenantScope(tenantID: try row.decode(column: "tenant_id", as: String.self)),
                    scanID: try row.decode(column: "id", as: String.self),
                    repositoryID: try row.decode(column: "repository_id", as: String.self),
                    repositoryURL: try row.decode(column: "url", as: String.self),
                    ref: try row.decode(column: "ref", as: String.self),
                    sourceArchive: try row.decode(column: "source_archive", as: String?.self),
                    engines: try row.decode(column: "engines", as: String.self).split(separator: ",").map(String.init),
                    attempt: try row.decode(column: "attempts", as: Int.self), maxAttempts: try row.decode(column: "max_attempts", as: Int.self),
                    leaseToken: token, lease: lease
                )
            }
        }
    }

    /// Where a running scan is, and the commit once it is known: one write to the scan's
    /// row. Throws `LeaseLost` (nothing written) when the claim is no longer the scan's.
    public func updateScan(_ claimed: ClaimedScan, progress: ScanProgress, commit: String? = nil) async throws {
        var assignments: SQLQueryString = "progress = \(bind: Self.json(progress))"
        if let commit { assignments += ", commit_sha = \(bind: commit)" }
        let set = assignments
        try await singleStatement { db in
            try await Self.fenced(claimed, set: set, ScopedSQL(db: db, scope: claimed.scope))
        }
    }

    /// Marks a claimed scan finished, with its last progress, and adds `usage` to the
    /// tenant's count for the (UTC) day, in one transaction. Throws `LeaseLost` (nothing
    /// written) when the claim is no longer the scan's: a late worker's end is never
    /// stored. `error` is shown to users: keep secrets out of it.
    public func finishScan(
        _ claimed: ClaimedScan, state: ScanRecord.State, error: String? = nil, completeness: ScanObservation.Completeness? = nil,
        progress: ScanProgress? = nil, usage: ScanUsage? = nil, now: Date = Date()
    ) async throws {
        var assignments: SQLQueryString = """
            state = \(bind: state.rawValue), error = \(bind: error), finished_at = \(bind: now.milliseconds),
            completeness = \(bind: completeness?.rawValue), \(Self.leaseReleased)
            """
        if let progress { assignments += ", progress = \(bind: Self.json(progress))" }
        let set = assignments
        guard let usage else {
            try await singleStatement { db in try await Self.fenced(claimed, set: set, ScopedSQL(db: db, scope: claimed.scope)) }
            return
        }
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: claimed.scope)
            try await Self.fenced(claimed, set: set, sql)
            try await Self.addUsage(usage, on: CalendarDay(now), sql)
        }
    }
}

extension Store {
    /// Cancels a queued or running scan at once. A running scan's lease is taken from its
    /// worker, so none of its later writes is stored; the worker sees that within half a second
    /// (`checkLease`) and stops the scan's runner.
    public func cancelScan(id: String, by actor: Principal, now: Date = Date()) async throws -> ScanRecord {
        try await changeScan(
            id: id, by: actor, now: now, action: "scan.cancelled", from: [.queued, .running], to: .cancelled,
            set: "finished_at = \(bind: now.milliseconds), \(Self.leaseReleased)", refusal: { ScanNotCancellable(state: $0) }
        )
    }

    /// A person's change of a scan's state (cancel, retry): refused unless the scan is in one
    /// of `allowed`, else applied with `set` and audited as `action` (before: the state, and
    /// for a requeue the attempts it resets; after: the new state) in one transaction.
    /// Answers the scan as it now is.
    func changeScan(
        id: String, by actor: Principal, now: Date, action: String, from allowed: Set<ScanRecord.State>,
        to target: ScanRecord.State, set assignments: SQLQueryString, refusal: @escaping @Sendable (String) -> any Error
    ) async throws -> ScanRecord {
        let scope = TenantScope(tenantID: actor.tenantID)
        let kind = database.kind
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            guard let row = try await sql.select("state, attempts", from: .scans, where: "id = \(bind: id)").first else {
                throw NotFound(description: "scan \(id) not found")
            }
            let state = try row.decode(column: "state", as: String.self)
            guard let current = ScanRecord.State(rawValue: state), allowed.contains(current) else { throw refusal(state) }
            try await sql.update(.scans, set: "state = \(bind: target.rawValue), \(assignments)", where: "id = \(bind: id)")
            var before = ["state": state]
            if target == .queued { before["attempts"] = String(try row.decode(column: "attempts", as: Int.self)) }
            try await AuditLog.append([AuditEntry(
                actor: actor.id, action: action, subject: "scan:\(id)",
                before: Self.json(before), after: Self.json(["state": target.rawValue])
            )], at: now, sql)
        }
        guard let scan = try await self.scan(id: id, in: scope) else { throw NotFound(description: "scan \(id) not found") }
        return scan
    }

    public struct ScanNotCancellable: Error, CustomStringConvertible, Sendable {
        public var state: String
        public var description: String { "the scan is \(state); only a queued or running scan can be cancelled" }
    }
}

extension Store {
    /// Queues a scan of an uploaded archive, already in the artifact store under `archive`
    /// (its key): the tenant's quotas apply as to any submission (`QuotaExceeded`), but no
    /// two uploads are the same source, so there is no duplicate check. The scan row gets
    /// its archive in the same transaction that inserts it, so no worker can take it first.
    public func submitArchiveScan(
        repositoryID: String, ref: String, engines: [String], archive: String, by actor: Principal, quota defaults: ScanQuota,
        now: Date = Date()
    ) async throws -> ScanRecord {
        let scope = TenantScope(tenantID: actor.tenantID)
        let kind = database.kind
        let scan = try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            guard try await sql.exists(in: .repositories, where: "id = \(bind: repositoryID)") else {
                throw NotFound(description: "repository \(repositoryID) not found")
            }
            try await Self.checkQuota(Self.quota(defaults, sql).limits, now: now, sql)
            let id = try await Self.queueScan(repositoryID: repositoryID, ref: ref, engines: engines, by: actor, now: now, kind: kind, sql)
            try await sql.update(.scans, set: "source_archive = \(bind: archive)", where: "id = \(bind: id)")
            guard let scan = try await Self.scan(id: id, sql) else { throw NotFound(description: "scan \(id) not found") }
            return scan
        }
        wakeLocalWorkers(runAt: now.milliseconds)
        return scan
    }
}
