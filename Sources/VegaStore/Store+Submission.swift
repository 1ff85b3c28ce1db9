import Foundation
import SQLKit
import VegaModel

/// A tenant's limits on scans: how many may be queued or running at once, and how many may
/// be submitted per UTC day. 0 is unlimited (as `vega serve`'s flags write it).
public struct ScanQuota: Sendable, Hashable {
    public var maxActiveScans: Int
    public var maxScansPerDay: Int

    public init(maxActiveScans: Int = 20, maxScansPerDay: Int = 1_000) {
        self.maxActiveScans = maxActiveScans
        self.maxScansPerDay = maxScansPerDay
    }

    public static let unlimited = ScanQuota(maxActiveScans: 0, maxScansPerDay: 0)
}

/// The limits the operator gave one tenant (`vega admin set-quota`); a nil one is the
/// server's default.
public struct QuotaOverride: Sendable, Hashable {
    public var maxActiveScans: Int?
    public var maxScansPerDay: Int?

    public init(maxActiveScans: Int? = nil, maxScansPerDay: Int? = nil) {
        self.maxActiveScans = maxActiveScans
        self.maxScansPerDay = maxScansPerDay
    }
}

/// A change to one of a tenant's limits.
public enum QuotaSetting: Sendable, Hashable {
    /// This many (0: unlimited).
    case limit(Int)
    /// Back to the server's default.
    case serverDefault
}

/// A tenant's limits as they apply now, and how much of each it uses.
public struct QuotaStatus: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        /// 0: unlimited.
        public var limit: Int
        public var used: Int
        /// Set by the operator for this tenant, rather than the server's default.
        public var overridden: Bool
    }

    /// Scans queued or running.
    public var activeScans: Entry
    /// Scans submitted on `day` (UTC), which ends at `resetsAt`.
    public var scansPerDay: Entry
    public var day: CalendarDay
    public var resetsAt: Date
}

/// The caller's Idempotency-Key and a digest of what it asked, so a retry of the same
/// request is told from another request reusing the key.
public struct IdempotencyKey: Sendable, Hashable {
    public var key: String
    /// SHA-256 (hex) of the request's canonical form.
    public var requestHash: String

    /// `request`: the request in a canonical form (equal for requests that ask the same).
    public init(key: String, request: String) {
        self.key = key
        requestHash = Secrets.sha256(request)
    }
}

/// What to scan, as `POST /v1/scans` asks it.
public struct ScanSubmission: Sendable, Hashable {
    public var repositoryID: String
    public var ref: String
    /// Empty for the default engines; compared as a set.
    public var engines: [String]
    public var idempotency: IdempotencyKey?

    public init(repositoryID: String, ref: String, engines: [String], idempotency: IdempotencyKey? = nil) {
        self.repositoryID = repositoryID
        self.ref = ref
        self.engines = engines
        self.idempotency = idempotency
    }
}

/// The scan a submission answers with, and why that one.
public struct SubmittedScan: Sendable {
    public enum Outcome: Sendable, Hashable {
        /// Queued now.
        case created
        /// The same repository, ref and engines were already queued or running: that scan.
        case duplicate
        /// The Idempotency-Key was used for this request in the last 24 hours: its scan, as it is now.
        case replayed
    }

    public var scan: ScanRecord
    public var outcome: Outcome
}

extension Store {
    /// How long an Idempotency-Key answers with its first scan; `vega maintenance` removes older ones.
    public static let idempotencyWindow: TimeInterval = 86_400

    /// Seconds a submission refused by the active-scans quota is told to wait: about how
    /// long a short scan takes to end and free a place.
    public static let activeQuotaRetryAfter = 30

    /// A submission refused by a quota. Nothing was written.
    public struct QuotaExceeded: Error, CustomStringConvertible, Sendable {
        public enum Quota: String, Sendable {
            case activeScans = "active_scans", scansPerDay = "scans_per_day"
        }

        public var quota: Quota
        public var limit: Int
        public var used: Int
        /// When to try again: for the daily quota, the next UTC midnight.
        public var retryAfterSeconds: Int

        public var description: String {
            switch quota {
            case .activeScans:
                "the tenant's limit of \(limit) active scans is reached (\(used) queued or running); submit again when one ends"
            case .scansPerDay:
                "the tenant's limit of \(limit) scans per day is reached (\(used) submitted today, UTC); it resets at midnight UTC"
            }
        }
    }

    /// The Idempotency-Key was used in the last 24 hours for a different request. Nothing was written.
    public struct IdempotencyKeyReused: Error, CustomStringConvertible, Sendable {
        public var description: String {
            "this Idempotency-Key was used in the last 24 hours for a different request; send a new key with a new request"
        }
    }

    /// Submits a scan, in one transaction under the tenant's lock (which on PostgreSQL
    /// serialises one tenant's submissions; SQLite has one writer), so no two submissions
    /// both see room:
    /// 1. an Idempotency-Key seen in the last 24 hours answers its first scan (`replayed`),
    ///    or `IdempotencyKeyReused` when it came with another request;
    /// 2. a queued or running scan of the same repository, ref and engine set is answered
    ///    as it is (`duplicate`): nothing is created, no quota is used;
    /// 3. otherwise the tenant's quotas (its override, else `defaults`) are checked
    ///    (`QuotaExceeded`) and the scan is queued with its `scan.submitted` event (`created`).
    /// The key, when given, is remembered with the scan it answered.
    public func submitScan(
        _ submission: ScanSubmission, by actor: Principal, quota defaults: ScanQuota, now: Date = Date()
    ) async throws -> SubmittedScan {
        let scope = TenantScope(tenantID: actor.tenantID)
        let kind = database.kind
        let answer = try await database.transaction { db -> SubmittedScan in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            if let key = submission.idempotency, let earlier = try await Self.scan(answering: key, now: now, sql) {
                return SubmittedScan(scan: earlier, outcome: .replayed)
            }
            guard try await sql.exists(in: .repositories, where: "id = \(bind: submission.repositoryID)") else {
                throw NotFound(description: "repository \(submission.repositoryID) not found")
            }
            let submitted: SubmittedScan
            if let active = try await Self.activeScan(like: submission, sql) {
                submitted = SubmittedScan(scan: active, outcome: .duplicate)
            } else {
                try await Self.checkQuota(Self.quota(defaults, sql).limits, now: now, sql)
                let id = try await Self.queueScan(
                    repositoryID: submission.repositoryID, ref: submission.ref, engines: submission.engines, by: actor, now: now, kind: kind, sql
                )
                guard let created = try await Self.scan(id: id, sql) else { throw NotFound(description: "scan \(id) not found") }
                submitted = SubmittedScan(scan: created, outcome: .created)
            }
            if let key = submission.idempotency { try await Self.remember(key, scanID: submitted.scan.id, now: now, sql) }
            return submitted
        }
        if answer.outcome == .created { wakeLocalWorkers(runAt: now.milliseconds) }
        return answer
    }

    /// Queues a scan in the actor's tenant, with its `scan.submitted` event, always: no
    /// duplicate, idempotency or quota check (the API goes through `submitScan`). For the
    /// benchmarks and tests that queue many alike. `engines`: empty for the default ones.
    public func createScan(
        repositoryID: String, ref: String, engines: [String], by actor: Principal, now: Date = Date()
    ) async throws -> String {
        let kind = database.kind
        let id = try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: TenantScope(tenantID: actor.tenantID))
            try await AuditLog.lockTenant(sql, kind: kind)
            guard try await sql.exists(in: .repositories, where: "id = \(bind: repositoryID)") else {
                throw NotFound(description: "repository \(repositoryID) not found")
            }
            return try await Self.queueScan(repositoryID: repositoryID, ref: ref, engines: engines, by: actor, now: now, kind: kind, sql)
        }
        wakeLocalWorkers(runAt: now.milliseconds)
        return id
    }

    /// The tenant's limits (its override, else `defaults`) and what it uses of them now.
    public func quotaStatus(defaults: ScanQuota, in scope: TenantScope, now: Date = Date()) async throws -> QuotaStatus {
        try await database.withConnection { db in
            let sql = ScopedSQL(db: db, scope: scope)
            let (limits, override) = try await Self.quota(defaults, sql)
            let day = CalendarDay(now)
            return QuotaStatus(
                activeScans: .init(limit: limits.maxActiveScans, used: try await Self.activeScans(sql), overridden: override.maxActiveScans != nil),
                scansPerDay: .init(
                    limit: limits.maxScansPerDay, used: try await Self.submitted(on: day, sql), overridden: override.maxScansPerDay != nil
                ),
                day: day, resetsAt: Self.start(of: day.adding(days: 1))
            )
        }
    }

    /// The operator's limits for one tenant; nil fields follow the server's defaults.
    public func quotaOverride(in scope: TenantScope) async throws -> QuotaOverride {
        try await database.withConnection { db in try await Self.quotaOverride(ScopedSQL(db: db, scope: scope)) }
    }

    /// Changes a tenant's limits (a nil setting stays as it was), with a `tenant.quota_changed`
    /// event by `actor` (the operator's commands: "operator") saying the limits before and
    /// after ("default" for the server's). Answers the limits now.
    @discardableResult
    public func setQuota(
        maxActiveScans: QuotaSetting?, maxScansPerDay: QuotaSetting?, in scope: TenantScope, actor: String = "operator", now: Date = Date()
    ) async throws -> QuotaOverride {
        let kind = database.kind
        return try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            let before = try await Self.quotaOverride(sql)
            var after = before
            func apply(_ setting: QuotaSetting?, to limit: inout Int?) {
                switch setting {
                case .limit(let value)?: limit = value
                case .serverDefault?: limit = nil
                case nil: break
                }
            }
            apply(maxActiveScans, to: &after.maxActiveScans)
            apply(maxScansPerDay, to: &after.maxScansPerDay)
            try await sql.insert(into: .tenantQuotas, [
                "max_active_scans": after.maxActiveScans, "max_scans_per_day": after.maxScansPerDay, "updated_at": now.milliseconds,
            ], conflict: """
                ON CONFLICT (tenant_id) DO UPDATE SET max_active_scans = excluded.max_active_scans,
                    max_scans_per_day = excluded.max_scans_per_day, updated_at = excluded.updated_at
                """)
            func shown(_ override: QuotaOverride) -> String {
                Self.json([
                    "max_active_scans": override.maxActiveScans.map(String.init) ?? "default",
                    "max_scans_per_day": override.maxScansPerDay.map(String.init) ?? "default",
                ])
            }
            try await AuditLog.append([AuditEntry(
                actor: actor, action: "tenant.quota_changed", subject: "tenant:\(scope.tenantID)", before: shown(before), after: shown(after)
            )], at: now, sql)
            return after
        }
    }

    /// Removes every tenant's Idempotency-Keys older than the window (`vega maintenance`);
    /// answers how many. Submissions already ignore them: this only keeps the table small.
    public func removeExpiredIdempotencyKeys(now: Date = Date()) async throws -> Int {
        let cutoff = now.addingTimeInterval(-Self.idempotencyWindow).milliseconds
        return try await database.transaction { db in
            let expired = try await db.raw("SELECT COUNT(*) AS count FROM idempotency_keys WHERE created_at <= \(bind: cutoff)")
                .first()?.decode(column: "count", as: Int.self) ?? 0
            if expired > 0 { try await db.raw("DELETE FROM idempotency_keys WHERE created_at <= \(bind: cutoff)").run() }
            return expired
        }
    }

    // MARK: Inside the submission's transaction

    /// Engines as the `scans` table keeps them: each once, sorted, so equal sets are equal text.
    static func canonicalEngines(_ engines: [String]) -> [String] {
        Set(engines).sorted()
    }

    /// Inserts a queued scan (engines in canonical form), its `scan.submitted` event (the
    /// engines as asked) and one more submission in the tenant's day, and announces it to
    /// the workers when the transaction commits. The caller took the tenant's lock.
    static func queueScan(
        repositoryID: String, ref: String, engines: [String], by actor: Principal, now: Date, kind: DatabaseKind, _ sql: ScopedSQL
    ) async throws -> String {
        let id = newID("scn")
        try await sql.insert(into: .scans, [
            "id": id, "repository_id": repositoryID, "ref": ref, "state": "queued",
            "engines": canonicalEngines(engines).joined(separator: ","), "queued_at": now.milliseconds, "run_at": now.milliseconds,
        ])
        try await AuditLog.append([AuditEntry(
            actor: actor.id, action: "scan.submitted", subject: "scan:\(id)",
            after: json(["repository": repositoryID, "ref": ref, "engines": engines, "state": "queued"])
        )], at: now, sql)
        try await sql.insert(into: .usageDays, [
            "day": CalendarDay(now).description, "scans": 0, "files": 0, "bytes": 0, "findings": 0, "submitted": 1,
        ], conflict: "ON CONFLICT (tenant_id, day) DO UPDATE SET submitted = usage_days.submitted + 1")
        try await announceQueued(runAt: now.milliseconds, kind: kind, sql.db)
        return id
    }

    static func scan(id: String, _ sql: ScopedSQL) async throws -> ScanRecord? {
        try await sql.select(scanColumns, from: .scans, where: "id = \(bind: id)").first.map(scanRecord)
    }

    /// The scan a live key answered with; nil for a key unseen or older than the window.
    static func scan(answering key: IdempotencyKey, now: Date, _ sql: ScopedSQL) async throws -> ScanRecord? {
        let since = now.addingTimeInterval(-idempotencyWindow).milliseconds
        guard let row = try await sql.select(
            "request_hash, scan_id", from: .idempotencyKeys, where: "idempotency_key = \(bind: key.key) AND created_at > \(bind: since)"
        ).first else { return nil }
        guard try row.decode(column: "request_hash", as: String.self) == key.requestHash else { throw IdempotencyKeyReused() }
        let id = try row.decode(column: "scan_id", as: String.self)
        guard let scan = try await scan(id: id, sql) else { throw NotFound(description: "scan \(id) not found") }
        return scan
    }

    /// Keeps a key with the scan it answered; an expired row of the same key is replaced.
    static func remember(_ key: IdempotencyKey, scanID: String, now: Date, _ sql: ScopedSQL) async throws {
        try await sql.insert(into: .idempotencyKeys, [
            "idempotency_key": key.key, "request_hash": key.requestHash, "scan_id": scanID, "created_at": now.milliseconds,
        ], conflict: """
            ON CONFLICT (tenant_id, idempotency_key) DO UPDATE SET
                request_hash = excluded.request_hash, scan_id = excluded.scan_id, created_at = excluded.created_at
            """)
    }

    /// A queued or running scan of the same repository and ref whose engines are the same
    /// set, from the `scans_active` index. Engines are compared as sets rather than as text,
    /// so rows written before they were kept sorted match too. A scan of an uploaded archive
    /// (`source_archive`) scans other files than the repository's: never the same.
    static func activeScan(like submission: ScanSubmission, _ sql: ScopedSQL) async throws -> ScanRecord? {
        let engines = Set(submission.engines)
        return try await sql.select(
            scanColumns, from: .scans,
            where: """
                repository_id = \(bind: submission.repositoryID) AND ref = \(bind: submission.ref) AND \(activeStates)
                    AND source_archive IS NULL
                """,
            then: "ORDER BY queued_at, id"
        ).map(scanRecord).first { Set($0.engines) == engines }
    }

    /// Written as literals, as the `scans_active` index's predicate is, so PostgreSQL's
    /// planner can prove a query's rows are in the partial index.
    static let activeStates: SQLQueryString = "state IN ('queued', 'running')"

    static func activeScans(_ sql: ScopedSQL) async throws -> Int {
        try await count(sql, .scans, where: activeStates)
    }

    static func submitted(on day: CalendarDay, _ sql: ScopedSQL) async throws -> Int {
        try await sql.select("submitted", from: .usageDays, where: "day = \(bind: day.description)").first?
            .decode(column: "submitted", as: Int.self) ?? 0
    }

    static func quotaOverride(_ sql: ScopedSQL) async throws -> QuotaOverride {
        guard let row = try await sql.select("max_active_scans, max_scans_per_day", from: .tenantQuotas).first else { return QuotaOverride() }
        return QuotaOverride(
            maxActiveScans: try row.decode(column: "max_active_scans", as: Int?.self),
            maxScansPerDay: try row.decode(column: "max_scans_per_day", as: Int?.self)
        )
    }

    /// The limits that apply to the tenant, and its override they came from.
    static func quota(_ defaults: ScanQuota, _ sql: ScopedSQL) async throws -> (limits: ScanQuota, override: QuotaOverride) {
        let override = try await quotaOverride(sql)
        let limits = ScanQuota(
            maxActiveScans: override.maxActiveScans ?? defaults.maxActiveScans, maxScansPerDay: override.maxScansPerDay ?? defaults.maxScansPerDay
        )
        return (limits, override)
    }

    /// Refuses one more scan over either limit. The daily one is checked first: when both
    /// are reached, waiting for a scan to end would not help.
    static func checkQuota(_ limits: ScanQuota, now: Date, _ sql: ScopedSQL) async throws {
        if limits.maxScansPerDay > 0 {
            let day = CalendarDay(now)
            let used = try await submitted(on: day, sql)
            if used >= limits.maxScansPerDay {
                let wait = start(of: day.adding(days: 1)).timeIntervalSince(now)
                throw QuotaExceeded(quota: .scansPerDay, limit: limits.maxScansPerDay, used: used, retryAfterSeconds: max(1, Int(wait.rounded(.up))))
            }
        }
        if limits.maxActiveScans > 0 {
            let used = try await activeScans(sql)
            if used >= limits.maxActiveScans {
                throw QuotaExceeded(quota: .activeScans, limit: limits.maxActiveScans, used: used, retryAfterSeconds: activeQuotaRetryAfter)
            }
        }
    }

    /// Midnight UTC at the start of `day`.
    static func start(of day: CalendarDay) -> Date {
        Date(timeIntervalSince1970: Double(day.ordinal) * 86_400)
    }
}
