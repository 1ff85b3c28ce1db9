import Foundation
import SQLKit
import VegaLifecycle
import VegaModel

/// The platform's records on one database: tenants, projects, repositories, scans and the
/// findings tracked across them. Every method on a tenant's data takes its `TenantScope`.
public struct Store: Sendable {
    public let database: any StoreDatabase

    public init(database: any StoreDatabase) {
        self.database = database
    }

    /// A thing that does not exist for this tenant (whether or not another tenant has it).
    public struct NotFound: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    static func newID(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    // MARK: Tenants, projects, repositories, scans

    public func createTenant(name: String, now: Date = Date()) async throws -> TenantScope {
        let id = Self.newID("ten")
        try await database.transaction { db in
            try await db.raw("INSERT INTO tenants (id, name, created_at) VALUES (\(bind: id), \(bind: name), \(bind: now.milliseconds))").run()
        }
        return TenantScope(tenantID: id)
    }

    /// Every tenant, by name: for operators' commands, never for a tenant's request.
    public func tenants() async throws -> [(scope: TenantScope, name: String)] {
        try await database.withConnection { db in
            try await db.raw("SELECT id, name FROM tenants ORDER BY name").all().map { row in
                (TenantScope(tenantID: try row.decode(column: "id", as: String.self)), try row.decode(column: "name", as: String.self))
            }
        }
    }

    public func tenant(named name: String) async throws -> TenantScope? {
        try await tenants().first { $0.name == name }?.scope
    }

    /// Something with this name exists already in the tenant.
    public struct AlreadyExists: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Creates a project in the actor's tenant, with its `project.created` event.
    public func createProject(name: String, by actor: Principal, now: Date = Date()) async throws -> String {
        let id = Self.newID("prj")
        let kind = database.kind
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: TenantScope(tenantID: actor.tenantID))
            try await AuditLog.lockTenant(sql, kind: kind)
            guard try await !sql.exists(in: .projects, where: "name = \(bind: name)") else {
                throw AlreadyExists(description: "a project named \(name) exists")
            }
            try await sql.insert(into: .projects, ["id": id, "name": name, "created_at": now.milliseconds])
            try await AuditLog.append([AuditEntry(
                actor: actor.id, action: "project.created", subject: "project:\(id)", after: Self.json(["name": name])
            )], at: now, sql)
        }
        return id
    }

    /// Registers a repository in the actor's tenant, with its `repository.created` event.
    /// `maskedURL` is `url` with its credentials masked (`RepositoryAddress.display`): the
    /// clone needs `url` whole, but the append-only log must never hold a password, so the
    /// event keeps only the masked form.
    public func createRepository(
        projectID: String, url: String, maskedURL: String, defaultBranch: String, by actor: Principal, now: Date = Date()
    ) async throws -> String {
        let id = Self.newID("rep")
        let kind = database.kind
        try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: TenantScope(tenantID: actor.tenantID))
            try await AuditLog.lockTenant(sql, kind: kind)
            guard try await sql.exists(in: .projects, where: "id = \(bind: projectID)") else {
                throw NotFound(description: "project \(projectID) not found")
            }
            try await sql.insert(into: .repositories, [
                "id": id, "project_id": projectID, "url": url, "default_branch": defaultBranch, "created_at": now.milliseconds,
            ])
            try await AuditLog.append([AuditEntry(
                actor: actor.id, action: "repository.created", subject: "repository:\(id)",
                after: Self.json(["project": projectID, "url": maskedURL, "default_branch": defaultBranch])
            )], at: now, sql)
        }
        return id
    }

    // Scans are submitted in Store+Submission.swift (duplicates, Idempotency-Key, quotas).

    // MARK: Findings

    /// Records a finished scan's findings and applies the lifecycle to the repository's
    /// tracked findings, all in one transaction. Recording the same scan again changes nothing.
    @discardableResult
    public func record(
        _ observation: ScanObservation, repositoryID: String, in scope: TenantScope, policy: SLAPolicy = .default
    ) async throws -> LifecycleChanges {
        let kind = database.kind
        let changes = try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            return try await Self.record(observation, repositoryID: repositoryID, policy: policy, sql)
        }
        // A scan is the one write that can change the findings' shape by many thousands.
        try await database.refreshStatistics()
        return changes
    }

    /// `record`'s work inside the caller's transaction (which took `AuditLog.lockTenant` first).
    static func record(
        _ observation: ScanObservation, repositoryID: String, policy: SLAPolicy, _ sql: ScopedSQL
    ) async throws -> LifecycleChanges {
        guard try await sql.exists(in: .scans, where: "id = \(bind: observation.scanID) AND repository_id = \(bind: repositoryID)") else {
            throw NotFound(description: "scan \(observation.scanID) of repository \(repositoryID) not found")
        }
        let existing = try await tracked(sql, repositoryID: repositoryID)
        let changes = Lifecycle.apply(observation, to: existing, policy: policy)
        for tracked in changes.findings { try await save(tracked, repositoryID: repositoryID, sql) }
        try await AuditLog.append(auditEntries(changes, repositoryID: repositoryID, scan: observation.scanID), at: observation.at, sql)
        if observation.completeness != .failed {
            for finding in observation.findings {
                try await sql.insert(into: .findingOccurrences, [
                    "scan_id": observation.scanID, "repository_id": repositoryID, "fingerprint": finding.fingerprint,
                    "path": finding.location.path, "start_line": finding.location.startLine,
                ], conflict: "ON CONFLICT (scan_id, fingerprint) DO NOTHING")
            }
        }
        return changes
    }

    /// Dismisses one finding (see `Triage.dismiss` for what a dismissal needs; `triage` for many).
    @discardableResult
    public func dismiss(
        fingerprint: String, repositoryID: String, with dismissal: Dismissal, in scope: TenantScope
    ) async throws -> LifecycleChanges {
        try await triage([FindingKey(repositoryID: repositoryID, fingerprint: fingerprint)], .dismiss(dismissal), in: scope).changes
    }

    /// One tracked finding, if the tenant has it.
    public func finding(repositoryID: String, fingerprint: String, in scope: TenantScope) async throws -> TrackedFinding? {
        try await database.withConnection { db in
            try await Self.tracked(ScopedSQL(db: db, scope: scope), repositoryID: repositoryID, fingerprint: fingerprint).first
        }
    }

    /// A repository's tracked findings, by fingerprint.
    public func findings(repositoryID: String, in scope: TenantScope) async throws -> [TrackedFinding] {
        try await database.withConnection { db in
            try await Self.tracked(ScopedSQL(db: db, scope: scope), repositoryID: repositoryID)
        }
    }

    // MARK: Audit log

    /// A tenant's audit events in order, `limit` at a time after `sequence`.
    public func auditEvents(in scope: TenantScope, after sequence: Int = 0, limit: Int = 1_000) async throws -> [AuditEvent] {
        try await database.withConnection { db in
            try await AuditLog.events(ScopedSQL(db: db, scope: scope), after: sequence, limit: limit)
        }
    }

    /// Recomputes a tenant's whole hash chain: any edited, removed or reordered event shows.
    public func verifyAudit(in scope: TenantScope) async throws -> AuditVerification {
        var checked = 0
        var previous = AuditLog.genesis
        while true {
            let page = try await auditEvents(in: scope, after: checked, limit: 1_000)
            for event in page {
                checked += 1
                guard event.sequence == checked, event.previousHash == previous,
                      AuditLog.digest(event, tenant: scope.tenantID) == event.hash else {
                    return AuditVerification(events: checked, firstBroken: checked)
                }
                previous = event.hash
            }
            if page.count < 1_000 { return AuditVerification(events: checked, firstBroken: nil) }
        }
    }

    /// One event per state change: who (the person, or "system" for a scan), what, and the
    /// state before and after.
    static func auditEntries(_ changes: LifecycleChanges, repositoryID: String, scan: String?) -> [AuditEntry] {
        changes.transitions.map { transition in
            var after = ["state": transition.to.rawValue, "cause": transition.cause.rawValue]
            if let scan { after["scan"] = scan }
            if let comment = transition.comment { after["comment"] = comment }
            return AuditEntry(
                actor: transition.actor ?? "system", action: "finding.state_changed",
                subject: auditSubject(FindingKey(repositoryID: repositoryID, fingerprint: transition.fingerprint)),
                before: transition.from.map { json(["state": $0.rawValue]) }, after: json(after)
            )
        }
    }

    /// `object`'s values: strings, or arrays of strings.
    static func json(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func tracked(_ sql: ScopedSQL, repositoryID: String, fingerprint: String? = nil) async throws -> [TrackedFinding] {
        var condition: SQLQueryString = "repository_id = \(bind: repositoryID)"
        if let fingerprint { condition += " AND fingerprint = \(bind: fingerprint)" }
        let decoder = JSONDecoder()
        return try await sql.select("body", from: .findings, where: condition, then: "ORDER BY fingerprint").map { row in
            try decoder.decode(TrackedFinding.self, from: Data(row.decode(column: "body", as: String.self).utf8))
        }
    }

    /// Writes a tracked finding: the whole record as JSON, plus the columns lists filter and
    /// sort on.
    static func save(_ tracked: TrackedFinding, repositoryID: String, _ sql: ScopedSQL) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let body = String(decoding: try encoder.encode(tracked), as: UTF8.self)
        let finding = tracked.finding
        try await sql.insert(into: .findings, [
            "repository_id": repositoryID, "fingerprint": tracked.fingerprint, "rule_id": finding.ruleId,
            "engine": finding.engine, "severity": finding.severity.rawValue, "severity_rank": finding.severity.rank,
            "state": tracked.state.rawValue, "path": finding.location.path, "title": finding.title,
            "first_seen_at": tracked.firstSeenAt.milliseconds, "last_seen_at": tracked.lastSeenAt.milliseconds,
            "sla_due_at": tracked.slaDueAt?.milliseconds, "body": body,
        ], conflict: """
            ON CONFLICT (repository_id, fingerprint) DO UPDATE SET
                rule_id = excluded.rule_id, engine = excluded.engine, severity = excluded.severity,
                severity_rank = excluded.severity_rank, state = excluded.state, path = excluded.path,
                title = excluded.title, first_seen_at = excluded.first_seen_at, last_seen_at = excluded.last_seen_at,
                sla_due_at = excluded.sla_due_at, body = excluded.body
            """)
    }
}
