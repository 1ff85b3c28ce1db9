/// One engine's part in a scan.
public struct EngineRun: Codable, Sendable, Hashable {
    public var engine: String
    public var coverage: Coverage
    public var durationSeconds: Double

    public init(engine: String, coverage: Coverage, durationSeconds: Double) {
        self.engine = engine
        self.coverage = coverage
        self.durationSeconds = durationSeconds
    }
}

/// The result of one scan, independent of output format. Codable so an isolated runner
/// process can hand it to the worker that started it.
public struct ScanReport: Codable, Sendable {
    public var toolVersion: String
    /// What the user asked to scan (a path or a git URL with credentials removed).
    public var source: String
    public var startedAt: String
    public var durationSeconds: Double
    public var engines: [EngineRun]
    /// Rules of the engines that ran, sorted by id.
    public var rules: [RuleDescriptor]
    /// Sorted by location, then rule.
    public var findings: [Finding]
    /// Findings left out because their fingerprint is in the baseline.
    public var suppressedByBaseline: Int
    /// Inputs that could not be read in full (a malformed lockfile, say).
    public var warnings: [ScanWarning]
    /// The lockfiles read, with their packages (the scan's inventory).
    public var dependencies: [DependencyGraph]

    public init(
        toolVersion: String, source: String, startedAt: String, durationSeconds: Double,
        engines: [EngineRun], rules: [RuleDescriptor], findings: [Finding], suppressedByBaseline: Int = 0,
        warnings: [ScanWarning] = [], dependencies: [DependencyGraph] = []
    ) {
        self.toolVersion = toolVersion
        self.source = source
        self.startedAt = startedAt
        self.durationSeconds = durationSeconds
        self.engines = engines
        self.rules = rules
        self.findings = findings
        self.suppressedByBaseline = suppressedByBaseline
        self.warnings = warnings
        self.dependencies = dependencies
    }
}

public enum VegaVersion {
    public static let current = "0.1.0"
}
