import Foundation
import VegaModel

/// One scan's result as the lifecycle sees it.
public struct ScanObservation: Sendable {
    public enum Completeness: String, Codable, Sendable {
        /// Every selected engine ran over the whole tree: absence means fixed.
        case complete
        /// Something was not scanned (an engine failed, a limit cut it short): what it saw
        /// counts, what it did not see proves nothing.
        case partial
        /// Nothing it reports can be trusted to be complete; it changes nothing.
        case failed
    }

    public var scanID: String
    public var branch: String
    public var completeness: Completeness
    /// The engines that ran to completion (`Finding.engine` values). Absence proves
    /// something only about what an engine looked for: a secrets-only scan, or one tool's
    /// uploaded results, says nothing about the others' findings.
    public var engines: Set<String>
    public var at: Date
    public var findings: [Finding]

    public init(
        scanID: String, branch: String, completeness: Completeness, engines: Set<String>, at: Date, findings: [Finding]
    ) {
        self.scanID = scanID
        self.branch = branch
        self.completeness = completeness
        self.engines = engines
        self.at = at
        self.findings = findings
    }
}

/// A state change the lifecycle made, for the audit log and notifications.
public struct Transition: Sendable, Hashable {
    public enum Cause: String, Codable, Sendable {
        case appeared, disappeared, reappeared, riskExpired = "risk_expired", dismissed, restored
    }

    public var fingerprint: String
    /// nil for a finding seen for the first time.
    public var from: FindingState?
    public var to: FindingState
    public var cause: Cause
    public var actor: String?
    /// What the person said about a triage decision, kept with it in the audit log.
    public var comment: String?

    public init(
        fingerprint: String, from: FindingState?, to: FindingState, cause: Cause, actor: String? = nil, comment: String? = nil
    ) {
        self.fingerprint = fingerprint
        self.from = from
        self.to = to
        self.cause = cause
        self.actor = actor
        self.comment = comment
    }
}

/// What applying a scan or a triage decision changed: the findings to write back (only
/// those that changed) and the transitions among them.
public struct LifecycleChanges: Sendable {
    public var findings: [TrackedFinding] = []
    public var transitions: [Transition] = []

    public init(findings: [TrackedFinding] = [], transitions: [Transition] = []) {
        self.findings = findings
        self.transitions = transitions
    }

    public var isEmpty: Bool { findings.isEmpty }

    /// How many transitions had this cause (`.appeared`: new, `.disappeared`: fixed by a scan).
    public func count(_ cause: Transition.Cause) -> Int {
        transitions.count { $0.cause == cause }
    }
}

/// The findings lifecycle: pure rules, no storage. The store loads a repository's tracked
/// findings, calls these, and writes back `LifecycleChanges` in one transaction.
///
/// - A new fingerprint is open. A fixed one that appears again is reopened; a dismissed
///   one stays dismissed whatever scans say — a person's decision is never overridden.
/// - A finding is fixed only when absent from a **complete** scan, by an engine that ran,
///   of every branch it was seen on. A partial scan only adds sightings; a failed scan
///   changes nothing.
/// - Applying the same scan twice changes nothing.
public enum Lifecycle {
    public static func apply(
        _ scan: ScanObservation, to existing: [TrackedFinding], policy: SLAPolicy = .default
    ) -> LifecycleChanges {
        guard scan.completeness != .failed else { return LifecycleChanges() }
        var changes = LifecycleChanges()
        let seen = Dictionary(scan.findings.map { ($0.fingerprint, $0) }, uniquingKeysWith: { first, _ in first })
        let known = Dictionary(existing.map { ($0.fingerprint, $0) }, uniquingKeysWith: { first, _ in first })

        for fingerprint in seen.keys.sorted() {
            let finding = seen[fingerprint]!
            guard var tracked = known[fingerprint] else {
                changes.findings.append(TrackedFinding(
                    finding: finding, state: .open, branches: [scan.branch], firstSeenScan: scan.scanID,
                    firstSeenAt: scan.at, lastSeenScan: scan.scanID, lastSeenAt: scan.at,
                    slaDueAt: policy.dueDate(for: finding.severity, from: scan.at)
                ))
                changes.transitions.append(Transition(fingerprint: fingerprint, from: nil, to: .open, cause: .appeared))
                continue
            }
            let before = tracked
            // Scans arrive out of order too (a retried one): an older one does not rewind.
            if scan.at >= tracked.lastSeenAt {
                tracked.lastSeenScan = scan.scanID
                tracked.lastSeenAt = scan.at
                tracked.finding = finding
            }
            tracked.branches.insert(scan.branch)
            if tracked.state == .fixed {
                tracked.state = .reopened
                tracked.reopenedAt = scan.at
                changes.transitions.append(Transition(fingerprint: fingerprint, from: .fixed, to: .reopened, cause: .reappeared))
            }
            tracked.slaDueAt = policy.dueDate(for: tracked.finding.severity, from: tracked.reopenedAt ?? tracked.firstSeenAt)
            if tracked != before { changes.findings.append(tracked) }
        }

        guard scan.completeness == .complete else { return changes }
        for tracked in existing.sorted(by: { $0.fingerprint < $1.fingerprint })
        where seen[tracked.fingerprint] == nil && tracked.branches.contains(scan.branch)
            && scan.engines.contains(tracked.finding.engine) {
            var updated = tracked
            updated.branches.remove(scan.branch)
            if updated.branches.isEmpty, updated.state.isActive {
                changes.transitions.append(Transition(
                    fingerprint: tracked.fingerprint, from: tracked.state, to: .fixed, cause: .disappeared
                ))
                updated.state = .fixed
                updated.fixedAt = scan.at
            }
            changes.findings.append(updated)
        }
        return changes
    }

    /// Accepted risks whose expiry has passed come back: reopened if still present on some
    /// branch, fixed if not.
    public static func expireAcceptedRisks(
        _ existing: [TrackedFinding], now: Date, policy: SLAPolicy = .default
    ) -> LifecycleChanges {
        var changes = LifecycleChanges()
        for tracked in existing.sorted(by: { $0.fingerprint < $1.fingerprint }) {
            guard tracked.state == .dismissed, let dismissal = tracked.dismissal, dismissal.reason == .acceptedRisk,
                  let expiry = dismissal.expiresAt, expiry <= now else { continue }
            var updated = tracked
            updated.dismissal = nil
            updated.state = tracked.branches.isEmpty ? .fixed : .reopened
            if updated.state == .reopened {
                updated.reopenedAt = now
                updated.slaDueAt = policy.dueDate(for: updated.finding.severity, from: now)
            }
            changes.findings.append(updated)
            changes.transitions.append(Transition(
                fingerprint: tracked.fingerprint, from: .dismissed, to: updated.state, cause: .riskExpired
            ))
        }
        return changes
    }
}
