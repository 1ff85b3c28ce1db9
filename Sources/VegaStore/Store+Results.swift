import Foundation
import SQLKit
import VegaLifecycle
import VegaModel

/// Results a tool produced outside Vega (an uploaded SARIF file), to record as a finished
/// scan of a repository.
public struct UploadedResults: Sendable {
    /// The branch they are of; nil for the repository's default branch.
    public var ref: String?
    public var commit: String?
    /// Every engine the results name (`Finding.engine` values).
    public var engines: [String]
    /// The engines whose run completed: only their findings absent from these results are
    /// fixed. A tool that reported a failure, or no results array, proves no absence.
    public var completeEngines: Set<String>
    public var findings: [Finding]
    /// Results the file had that could not become findings (no location, outside the repository).
    public var skipped: Int

    public init(
        ref: String?, commit: String?, engines: [String], completeEngines: Set<String>, findings: [Finding], skipped: Int
    ) {
        self.ref = ref
        self.commit = commit
        self.engines = engines
        self.completeEngines = completeEngines
        self.findings = findings
        self.skipped = skipped
    }
}

/// What recording uploaded results did.
public struct UploadOutcome: Sendable {
    public var scan: ScanRecord
    public var changes: LifecycleChanges

    /// Findings seen for the first time.
    public var new: Int { changes.count(.appeared) }
    public var fixed: Int { changes.count(.disappeared) }
    public var reopened: Int { changes.count(.reappeared) }
}

extension Store {
    /// Records uploaded results in one transaction: a scan that has already succeeded, its
    /// findings with the lifecycle applied (complete for `completeEngines`), and a
    /// `scan.results_uploaded` audit event by `actor`. Uploading the same results again
    /// makes another scan but changes no finding's state.
    public func recordUploadedResults(
        _ results: UploadedResults, repositoryID: String, by actor: Principal, now: Date = Date(), policy: SLAPolicy = .default
    ) async throws -> UploadOutcome {
        let scope = TenantScope(tenantID: actor.tenantID)
        let kind = database.kind
        let id = Self.newID("scn")
        let changes = try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            guard let repository = try await sql.select("default_branch", from: .repositories, where: "id = \(bind: repositoryID)").first else {
                throw NotFound(description: "repository \(repositoryID) not found")
            }
            let ref = try results.ref ?? repository.decode(column: "default_branch", as: String.self)
            let complete = Set(results.engines).isSubset(of: results.completeEngines)
            try await sql.insert(into: .scans, [
                "id": id, "repository_id": repositoryID, "ref": ref, "commit_sha": results.commit, "state": "succeeded",
                "completeness": complete ? "complete" : "partial", "engines": results.engines.joined(separator: ","),
                "queued_at": now.milliseconds, "started_at": now.milliseconds, "finished_at": now.milliseconds,
            ])
            let observation = ScanObservation(
                scanID: id, branch: ref, completeness: .complete, engines: results.completeEngines, at: now, findings: results.findings
            )
            let changes = try await Self.record(observation, repositoryID: repositoryID, policy: policy, sql)
            var summary = [
                "repository": repositoryID, "ref": ref, "engines": results.engines.joined(separator: ","),
                "findings": String(results.findings.count), "skipped": String(results.skipped),
                "new": String(changes.count(.appeared)), "fixed": String(changes.count(.disappeared)),
            ]
            if let commit = results.commit { summary["commit"] = commit }
            try await AuditLog.append([AuditEntry(
                actor: actor.id, action: "scan.results_uploaded", subject: "scan:\(id)", after: Self.json(summary)
            )], at: now, sql)
            return changes
        }
        // Like a scan's, an upload can change the findings' shape by many thousands.
        try await database.refreshStatistics()
        guard let scan = try await scan(id: id, in: scope) else { throw NotFound(description: "scan \(id) not found") }
        return UploadOutcome(scan: scan, changes: changes)
    }
}
