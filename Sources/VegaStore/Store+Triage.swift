import Foundation
import SQLKit
import VegaLifecycle

/// A tracked finding's identity: its repository and its engine's fingerprint.
public struct FindingKey: Hashable, Sendable {
    public var repositoryID: String
    public var fingerprint: String

    public init(repositoryID: String, fingerprint: String) {
        self.repositoryID = repositoryID
        self.fingerprint = fingerprint
    }
}

/// What a person decides about findings.
public enum TriageDecision: Sendable {
    /// See `Triage.dismiss` for what each reason needs.
    case dismiss(Dismissal)
    /// Takes a dismissal back (`Triage.restore`); `comment` says why, in the audit log.
    case restore(actor: String, comment: String?, at: Date)

    var at: Date {
        switch self {
        case .dismiss(let dismissal): dismissal.at
        case .restore(_, _, let at): at
        }
    }
}

/// What a triage decision did.
public struct TriageOutcome: Sendable {
    /// Every finding asked for (once each, in the order asked), as it is now.
    public var findings: [ListedFinding]
    /// Only what changed: a finding already in the asked state has no transition.
    public var changes: LifecycleChanges
}

extension Store {
    /// Applies one decision to findings of any of the tenant's repositories, all or nothing,
    /// in one transaction: a finding that does not exist (or one the decision cannot apply
    /// to) changes none of them. Each change is one audit event, with the comment.
    @discardableResult
    public func triage(_ keys: [FindingKey], _ decision: TriageDecision, in scope: TenantScope) async throws -> TriageOutcome {
        let kind = database.kind
        return try await database.transaction { db in
            let sql = ScopedSQL(db: db, scope: scope)
            try await AuditLog.lockTenant(sql, kind: kind)
            var outcome = TriageOutcome(findings: [], changes: LifecycleChanges())
            var entries: [AuditEntry] = []
            var done: Set<FindingKey> = []
            for key in keys where done.insert(key).inserted {
                guard let tracked = try await Self.tracked(sql, repositoryID: key.repositoryID, fingerprint: key.fingerprint).first else {
                    throw NotFound(description: "finding \(key.fingerprint) of repository \(key.repositoryID) not found")
                }
                let changes = switch decision {
                case .dismiss(let dismissal): try Triage.dismiss(tracked, with: dismissal)
                case .restore(let actor, let comment, _): Triage.restore(tracked, actor: actor, comment: comment)
                }
                for updated in changes.findings { try await Self.save(updated, repositoryID: key.repositoryID, sql) }
                entries += Self.auditEntries(changes, repositoryID: key.repositoryID, scan: nil)
                outcome.changes.findings += changes.findings
                outcome.changes.transitions += changes.transitions
                outcome.findings.append(ListedFinding(repositoryID: key.repositoryID, tracked: changes.findings.first ?? tracked))
            }
            try await AuditLog.append(entries, at: decision.at, sql)
            return outcome
        }
    }

    /// A finding's audit events, oldest first: how its state came to be.
    public func history(of key: FindingKey, in scope: TenantScope, limit: Int = 1_000) async throws -> [AuditEvent] {
        try await database.withConnection { db in
            try await AuditLog.events(
                ScopedSQL(db: db, scope: scope), subject: Self.auditSubject(key), limit: limit
            )
        }
    }

    /// What the audit log calls a finding.
    static func auditSubject(_ key: FindingKey) -> String {
        "finding:\(key.repositoryID)/\(key.fingerprint)"
    }
}
