import Foundation

/// A triage decision that cannot be applied as asked.
public struct TriageError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// What people do to findings: dismiss them with a reason, or take a dismissal back.
public enum Triage {
    /// Dismisses a finding. Accepted risk needs an owner and an expiry in the future; the
    /// other reasons take neither. Dismissing again replaces the earlier dismissal.
    public static func dismiss(_ tracked: TrackedFinding, with dismissal: Dismissal) throws -> LifecycleChanges {
        switch dismissal.reason {
        case .acceptedRisk:
            guard let owner = dismissal.riskOwner, !owner.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw TriageError("accepted_risk needs a risk owner")
            }
            guard let expiry = dismissal.expiresAt, expiry > dismissal.at else {
                throw TriageError("accepted_risk needs an expiry date in the future")
            }
        case .falsePositive, .wontFix, .usedInTests:
            guard dismissal.riskOwner == nil, dismissal.expiresAt == nil else {
                throw TriageError("only accepted_risk takes a risk owner and an expiry")
            }
        }
        guard tracked.dismissal != dismissal else { return LifecycleChanges() }
        var updated = tracked
        updated.state = .dismissed
        updated.dismissal = dismissal
        return LifecycleChanges(findings: [updated], transitions: [Transition(
            fingerprint: tracked.fingerprint, from: tracked.state, to: .dismissed, cause: .dismissed, actor: dismissal.actor,
            comment: dismissal.comment.isEmpty ? nil : dismissal.comment
        )])
    }

    /// Takes a dismissal back: the finding is open again if some branch still has it, fixed
    /// if none does. A finding that is not dismissed is left as it is. `comment` (why) goes
    /// to the audit log with the change.
    public static func restore(_ tracked: TrackedFinding, actor: String, comment: String? = nil) -> LifecycleChanges {
        guard tracked.state == .dismissed else { return LifecycleChanges() }
        var updated = tracked
        updated.dismissal = nil
        updated.state = tracked.branches.isEmpty ? .fixed : .open
        return LifecycleChanges(findings: [updated], transitions: [Transition(
            fingerprint: tracked.fingerprint, from: .dismissed, to: updated.state, cause: .restored, actor: actor,
            comment: comment.flatMap { $0.isEmpty ? nil : $0 }
        )])
    }
}
