/// How bad a finding is. Ordered so `>=` answers "at or above the policy threshold".
public enum Severity: String, Codable, Sendable, CaseIterable, Comparable {
    case info, low, medium, high, critical

    /// 0 (info) to 4 (critical): the order, as a number to store and sort on.
    public var rank: Int {
        switch self {
        case .info: 0
        case .low: 1
        case .medium: 2
        case .high: 3
        case .critical: 4
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }

    /// The numeric score GitHub code scanning reads from SARIF `security-severity`
    /// (critical > 9.0, high 7.0–8.9, medium 4.0–6.9, low 0.1–3.9).
    public var securityScore: Double {
        switch self {
        case .info: 0.0
        case .low: 3.0
        case .medium: 5.5
        case .high: 8.0
        case .critical: 9.5
        }
    }
}
