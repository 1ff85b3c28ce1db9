import Foundation
import VegaModel

/// Where a finding stands across scans of its repository.
public enum FindingState: String, Codable, Sendable, CaseIterable {
    /// Present in the latest scans, never triaged.
    case open
    /// Was fixed, then appeared again: a regression, kept apart so it can be found.
    case reopened
    /// Absent from a complete scan of every branch it was seen on.
    case fixed
    /// A person decided it needs no fix (see `Dismissal`); scans never override that.
    case dismissed

    /// Whether it still asks for work: open or reopened.
    public var isActive: Bool { self == .open || self == .reopened }
}

/// Why a person dismissed a finding.
public enum DismissalReason: String, Codable, Sendable, CaseIterable {
    case falsePositive = "false_positive"
    /// Needs an owner and an expiry; when it expires the finding comes back.
    case acceptedRisk = "accepted_risk"
    case wontFix = "wont_fix"
    case usedInTests = "used_in_tests"
}

public struct Dismissal: Codable, Sendable, Hashable {
    public var reason: DismissalReason
    public var comment: String
    /// The user or API key that dismissed it.
    public var actor: String
    public var at: Date
    /// Accepted risk only: who owns the risk, and until when.
    public var riskOwner: String?
    public var expiresAt: Date?

    public init(
        reason: DismissalReason, comment: String, actor: String, at: Date, riskOwner: String? = nil, expiresAt: Date? = nil
    ) {
        self.reason = reason
        self.comment = comment
        self.actor = actor
        self.at = at
        self.riskOwner = riskOwner
        self.expiresAt = expiresAt
    }
}

/// One finding of one repository, as the platform tracks it across scans. Identity is the
/// engine's fingerprint; `finding` is the latest sighting (its location moves with edits).
public struct TrackedFinding: Codable, Sendable, Hashable {
    public var fingerprint: String { finding.fingerprint }
    public var finding: Finding
    public var state: FindingState
    public var dismissal: Dismissal?
    /// Branches whose latest complete scan (or any later partial one) contains it; it is
    /// fixed when this empties.
    public var branches: Set<String>
    public var firstSeenScan: String
    public var firstSeenAt: Date
    public var lastSeenScan: String
    public var lastSeenAt: Date
    /// When it was last fixed or reopened, if ever.
    public var fixedAt: Date?
    public var reopenedAt: Date?
    /// When it should be fixed by, from its severity; nil for severities without a target.
    public var slaDueAt: Date?

    public init(
        finding: Finding, state: FindingState, dismissal: Dismissal? = nil, branches: Set<String>,
        firstSeenScan: String, firstSeenAt: Date, lastSeenScan: String, lastSeenAt: Date,
        fixedAt: Date? = nil, reopenedAt: Date? = nil, slaDueAt: Date?
    ) {
        self.finding = finding
        self.state = state
        self.dismissal = dismissal
        self.branches = branches
        self.firstSeenScan = firstSeenScan
        self.firstSeenAt = firstSeenAt
        self.lastSeenScan = lastSeenScan
        self.lastSeenAt = lastSeenAt
        self.fixedAt = fixedAt
        self.reopenedAt = reopenedAt
        self.slaDueAt = slaDueAt
    }
}

/// Days to fix by severity, counted from first sighting (or from a reopening: a regression
/// gets a fresh clock). Defaults 7 / 30 / 90 / 120 days; info findings have no target.
public struct SLAPolicy: Codable, Sendable, Hashable {
    public var days: [Severity: Int]

    public init(days: [Severity: Int] = [.critical: 7, .high: 30, .medium: 90, .low: 120]) {
        self.days = days
    }

    public static let `default` = SLAPolicy()

    public func dueDate(for severity: Severity, from start: Date) -> Date? {
        days[severity].map { start.addingTimeInterval(Double($0) * 86_400) }
    }
}
