import Foundation
import SQLKit
import VegaLifecycle
import VegaModel

/// What the whole platform holds right now, across every tenant: the operator's view
/// behind `/metrics`, never an answer to a tenant's request.
public struct SystemCounts: Sendable, Equatable {
    /// Scans by state (`queued`, `running`, …); a state with none is absent.
    public var scans: [String: Int]
    /// Tracked findings by severity and state; a pair with none is absent.
    public var findings: [FindingsKey: Int]

    public struct FindingsKey: Sendable, Hashable {
        public var severity: Severity
        public var state: FindingState

        public init(severity: Severity, state: FindingState) {
            self.severity = severity
            self.state = state
        }
    }
}

extension Store {
    /// Two grouped counts, one statement each. Findings are grouped by `severity_rank` and
    /// `state`, which the findings lists' indexes hold, so SQLite counts from an index
    /// rather than the rows' JSON bodies; scans' rows are narrow enough to read whole.
    public func systemCounts() async throws -> SystemCounts {
        try await database.withConnection { db in
            var scans: [String: Int] = [:]
            for row in try await db.raw("SELECT state, COUNT(*) AS n FROM scans GROUP BY state").all() {
                scans[try row.decode(column: "state", as: String.self)] = try row.decode(column: "n", as: Int.self)
            }
            let severities = Dictionary(uniqueKeysWithValues: Severity.allCases.map { ($0.rank, $0) })
            var findings: [SystemCounts.FindingsKey: Int] = [:]
            for row in try await db.raw("SELECT severity_rank, state, COUNT(*) AS n FROM findings GROUP BY severity_rank, state").all() {
                guard let severity = severities[try row.decode(column: "severity_rank", as: Int.self)],
                      let state = FindingState(rawValue: try row.decode(column: "state", as: String.self)) else { continue }
                findings[.init(severity: severity, state: state), default: 0] += try row.decode(column: "n", as: Int.self)
            }
            return SystemCounts(scans: scans, findings: findings)
        }
    }
}

/// The operator's bearer token for `/metrics` (`--metrics-token`): kept as a SHA-256 and
/// compared in constant time, like API keys, so a guess learns nothing from timing.
public struct OperatorToken: Sendable {
    private let digest: Data

    public init(_ token: String) {
        digest = Data(Secrets.sha256(token).utf8)
    }

    public func matches(_ presented: String) -> Bool {
        Data(Secrets.sha256(presented).utf8).constantTimeEquals(digest)
    }
}
