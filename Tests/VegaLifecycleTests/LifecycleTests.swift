import Foundation
import Testing
import VegaModel
@testable import VegaLifecycle

private let day: TimeInterval = 86_400
private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

private func finding(_ id: String, severity: Severity = .high, line: Int = 1, engine: String = "secrets") -> Finding {
    Finding(
        ruleId: "rule-\(id)", title: id, severity: severity, cwe: nil, message: id,
        location: Location(path: "src/\(id).py", startLine: line, startColumn: 1, endLine: line, endColumn: 9),
        snippet: "x", engine: engine, fingerprint: "fp-\(id)"
    )
}

private func scan(
    _ id: String, _ findings: [Finding], branch: String = "main", at: Date, _ completeness: ScanObservation.Completeness = .complete,
    engines: Set<String> = ["secrets"]
) -> ScanObservation {
    ScanObservation(scanID: id, branch: branch, completeness: completeness, engines: engines, at: at, findings: findings)
}

/// Applies changes the way the store does: replace by fingerprint.
private func merge(_ existing: [TrackedFinding], _ changes: LifecycleChanges) -> [TrackedFinding] {
    var byFingerprint = Dictionary(uniqueKeysWithValues: existing.map { ($0.fingerprint, $0) })
    for tracked in changes.findings { byFingerprint[tracked.fingerprint] = tracked }
    return byFingerprint.values.sorted { $0.fingerprint < $1.fingerprint }
}

private func state(_ fingerprint: String, in tracked: [TrackedFinding]) -> FindingState? {
    tracked.first { $0.fingerprint == fingerprint }?.state
}

@Suite struct LifecycleTests {
    @Test func newFindingsOpenWithAnSLAFromTheirSeverity() {
        let changes = Lifecycle.apply(scan("s1", [finding("a", severity: .critical), finding("b", severity: .info)], at: t0), to: [])
        #expect(changes.findings.map(\.state) == [.open, .open])
        #expect(changes.findings[0].slaDueAt == t0.addingTimeInterval(7 * day))
        #expect(changes.findings[1].slaDueAt == nil, "info has no target")
        #expect(changes.transitions.map(\.cause) == [.appeared, .appeared])
        let custom = Lifecycle.apply(scan("s1", [finding("a", severity: .medium)], at: t0), to: [], policy: SLAPolicy(days: [.medium: 14]))
        #expect(custom.findings[0].slaDueAt == t0.addingTimeInterval(14 * day))
    }

    @Test func absentFromACompleteScanIsFixedAndAReturnIsAReopening() {
        var tracked = merge([], Lifecycle.apply(scan("s1", [finding("a"), finding("b")], at: t0), to: []))
        let fix = Lifecycle.apply(scan("s2", [finding("a")], at: t0 + day), to: tracked)
        #expect(fix.transitions == [Transition(fingerprint: "fp-b", from: .open, to: .fixed, cause: .disappeared)])
        tracked = merge(tracked, fix)
        #expect(state("fp-b", in: tracked) == .fixed)
        #expect(tracked.first { $0.fingerprint == "fp-b" }?.fixedAt == t0 + day)

        let back = Lifecycle.apply(scan("s3", [finding("a"), finding("b", line: 40)], at: t0 + 100 * day), to: tracked)
        tracked = merge(tracked, back)
        let b = tracked.first { $0.fingerprint == "fp-b" }!
        #expect(b.state == .reopened && b.reopenedAt == t0 + 100 * day)
        #expect(b.slaDueAt == t0 + 130 * day, "a regression gets a fresh clock")
        #expect(b.finding.location.startLine == 40, "the latest sighting's location")
        #expect(b.firstSeenScan == "s1" && b.lastSeenScan == "s3")
    }

    @Test func applyingTheSameScanTwiceChangesNothing() {
        let first = scan("s1", [finding("a"), finding("b")], at: t0)
        var tracked = merge([], Lifecycle.apply(first, to: []))
        #expect(Lifecycle.apply(first, to: tracked).isEmpty)
        let second = scan("s2", [finding("a")], at: t0 + day)
        tracked = merge(tracked, Lifecycle.apply(second, to: tracked))
        let again = Lifecycle.apply(second, to: tracked)
        #expect(again.isEmpty && again.transitions.isEmpty)
    }

    @Test func partialAndFailedScansNeverFixAnything() {
        let tracked = merge([], Lifecycle.apply(scan("s1", [finding("a"), finding("b")], at: t0), to: []))
        let partial = Lifecycle.apply(scan("s2", [finding("a")], at: t0 + day, .partial), to: tracked)
        #expect(!partial.transitions.contains { $0.to == .fixed })
        #expect(merge(tracked, partial).allSatisfy { $0.state == .open })
        #expect(Lifecycle.apply(scan("s3", [], at: t0 + 2 * day, .failed), to: tracked).isEmpty)
        // A partial scan still counts what it saw.
        let newOne = Lifecycle.apply(scan("s4", [finding("c")], at: t0 + 3 * day, .partial), to: tracked)
        #expect(newOne.transitions == [Transition(fingerprint: "fp-c", from: nil, to: .open, cause: .appeared)])
    }

    @Test func fixedOnlyWhenGoneFromEveryBranchItWasSeenOn() {
        var tracked = merge([], Lifecycle.apply(scan("s1", [finding("a")], branch: "main", at: t0), to: []))
        tracked = merge(tracked, Lifecycle.apply(scan("s2", [finding("a")], branch: "feature", at: t0 + day), to: tracked))
        tracked = merge(tracked, Lifecycle.apply(scan("s3", [], branch: "feature", at: t0 + 2 * day), to: tracked))
        #expect(state("fp-a", in: tracked) == .open, "main still has it")
        // A complete scan of a branch it was never seen on says nothing about it.
        #expect(Lifecycle.apply(scan("s4", [], branch: "other", at: t0 + 3 * day), to: tracked).isEmpty)
        tracked = merge(tracked, Lifecycle.apply(scan("s5", [], branch: "main", at: t0 + 4 * day), to: tracked))
        #expect(state("fp-a", in: tracked) == .fixed)
    }

    @Test func scansNeverOverrideADismissal() throws {
        var tracked = merge([], Lifecycle.apply(scan("s1", [finding("a")], at: t0), to: []))
        let dismissal = Dismissal(reason: .falsePositive, comment: "test fixture", actor: "user-1", at: t0 + day)
        let dismissed = try Triage.dismiss(tracked[0], with: dismissal)
        #expect(dismissed.transitions == [Transition(
            fingerprint: "fp-a", from: .open, to: .dismissed, cause: .dismissed, actor: "user-1", comment: "test fixture"
        )])
        tracked = merge(tracked, dismissed)
        // Gone, then back: still dismissed, with the same dismissal.
        tracked = merge(tracked, Lifecycle.apply(scan("s2", [], at: t0 + 2 * day), to: tracked))
        #expect(state("fp-a", in: tracked) == .dismissed)
        tracked = merge(tracked, Lifecycle.apply(scan("s3", [finding("a")], at: t0 + 3 * day), to: tracked))
        #expect(state("fp-a", in: tracked) == .dismissed && tracked[0].dismissal == dismissal)
        // Taken back: open, since main has it; the reason given travels with the change.
        let restored = Triage.restore(tracked[0], actor: "user-2", comment: "the fixture became real code")
        #expect(restored.transitions.map(\.comment) == ["the fixture became real code"])
        tracked = merge(tracked, restored)
        #expect(state("fp-a", in: tracked) == .open && tracked[0].dismissal == nil)
    }

    @Test func aScanFixesOnlyFindingsOfTheEnginesThatRan() {
        let findings = [finding("leak"), finding("cve", engine: "deps"), finding("xss", engine: "sarif:semgrep")]
        var tracked = merge([], Lifecycle.apply(scan("s1", findings, at: t0, engines: ["secrets", "deps", "sarif:semgrep"]), to: []))

        // A secrets-only scan that finds nothing fixes the secret, and nothing else.
        let secretsOnly = Lifecycle.apply(scan("s2", [], at: t0 + day, engines: ["secrets"]), to: tracked)
        #expect(secretsOnly.transitions == [Transition(fingerprint: "fp-leak", from: .open, to: .fixed, cause: .disappeared)])
        #expect(secretsOnly.findings.map(\.fingerprint) == ["fp-leak"], "other engines' findings keep their branch")
        tracked = merge(tracked, secretsOnly)

        // One tool's uploaded results without the XSS: only that tool's finding is fixed.
        let upload = Lifecycle.apply(scan("u1", [], at: t0 + 2 * day, engines: ["sarif:semgrep"]), to: tracked)
        #expect(upload.transitions.map(\.fingerprint) == ["fp-xss"])
        tracked = merge(tracked, upload)
        #expect(state("fp-cve", in: tracked) == .open)

        // A complete scan naming no engine proves nothing; deps running at last fixes the CVE.
        #expect(Lifecycle.apply(scan("s3", [], at: t0 + 3 * day, engines: []), to: tracked).isEmpty)
        let deps = Lifecycle.apply(scan("s4", [], at: t0 + 4 * day, engines: ["deps"]), to: tracked)
        #expect(deps.transitions.map(\.fingerprint) == ["fp-cve"])
        #expect(merge(tracked, deps).allSatisfy { $0.state == .fixed })
    }

    @Test func aFindingSeenByAnEngineThatDidNotFinishIsStillASighting() {
        // The deps finding arrives in a scan whose deps engine did not complete: it is
        // recorded, and the scan's absence of other deps findings fixes nothing.
        let tracked = merge([], Lifecycle.apply(scan("s1", [finding("old", engine: "deps")], at: t0, engines: ["deps"]), to: []))
        let changes = Lifecycle.apply(scan("s2", [finding("new", engine: "deps")], at: t0 + day, engines: ["secrets"]), to: tracked)
        #expect(changes.transitions == [Transition(fingerprint: "fp-new", from: nil, to: .open, cause: .appeared)])
        #expect(state("fp-old", in: merge(tracked, changes)) == .open)
    }

    @Test func acceptedRiskNeedsAnOwnerAndAnExpiryAndComesBackAfterIt() throws {
        let tracked = merge([], Lifecycle.apply(scan("s1", [finding("a"), finding("b")], at: t0), to: []))
        #expect(throws: TriageError("accepted_risk needs a risk owner")) {
            try Triage.dismiss(tracked[0], with: Dismissal(reason: .acceptedRisk, comment: "", actor: "u", at: t0, expiresAt: t0 + day))
        }
        #expect(throws: TriageError("accepted_risk needs an expiry date in the future")) {
            try Triage.dismiss(tracked[0], with: Dismissal(reason: .acceptedRisk, comment: "", actor: "u", at: t0, riskOwner: "sec", expiresAt: t0))
        }
        #expect(throws: TriageError("only accepted_risk takes a risk owner and an expiry")) {
            try Triage.dismiss(tracked[0], with: Dismissal(reason: .wontFix, comment: "", actor: "u", at: t0, expiresAt: t0 + day))
        }
        let accept = Dismissal(reason: .acceptedRisk, comment: "vendor fix due", actor: "u", at: t0, riskOwner: "payments-team", expiresAt: t0 + 30 * day)
        var current = merge(tracked, try Triage.dismiss(tracked[0], with: accept))
        current = merge(current, try Triage.dismiss(current[1], with: accept))
        // b disappears while dismissed.
        current = merge(current, Lifecycle.apply(scan("s2", [finding("a")], at: t0 + day), to: current))
        #expect(Lifecycle.expireAcceptedRisks(current, now: t0 + 29 * day).isEmpty)
        let expired = Lifecycle.expireAcceptedRisks(current, now: t0 + 30 * day)
        #expect(expired.transitions.map(\.to) == [.reopened, .fixed], "a is still present, b is gone")
        #expect(expired.findings[0].slaDueAt == t0 + 60 * day)
    }
}
