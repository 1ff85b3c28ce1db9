import Foundation
import VegaModel
import VegaReports
import VegaWorkspace

/// Everything one scan needs; the CLI fills it from flags, a server worker from a job.
public struct ScanRequest: Sendable {
    public var source: String
    /// Explicit config file; nil means `.vega.yaml` in the scanned root when present.
    public var configPath: String?
    public var engines: [String]?
    public var maxFileSize: Int?
    public var excludes: [String]
    public var history: Bool
    public var baselinePath: String?
    public var cloneTimeout: Duration
    /// For a git URL: the branch, tag or full commit id to check out (default: the remote's default branch).
    public var ref: String?
    /// Vega's data folder (the advisory database lives there); nil resolves as `DataDirectory` says.
    public var dataDirectory: String?

    public init(
        source: String = ".", configPath: String? = nil, engines: [String]? = nil, maxFileSize: Int? = nil,
        excludes: [String] = [], history: Bool = false, baselinePath: String? = nil,
        cloneTimeout: Duration = .seconds(300), ref: String? = nil, dataDirectory: String? = nil
    ) {
        self.source = source
        self.configPath = configPath
        self.engines = engines
        self.maxFileSize = maxFileSize
        self.excludes = excludes
        self.history = history
        self.baselinePath = baselinePath
        self.cloneTimeout = cloneTimeout
        self.ref = ref
        self.dataDirectory = dataDirectory
    }
}

/// What the caller learns besides the report: the config in force (for the fail policy).
public struct ScanOutcome: Sendable {
    public var report: ScanReport
    public var config: ScanConfig
    /// The commit scanned, when the source was a clone.
    public var commit: String?
}

/// The scan pipeline shared by `vega scan` and (later) server workers:
/// source → workspace → engines → fingerprinted findings → baseline filter → report.
public enum Scanner {
    public static let defaultMaxFileSize = 10 * 1024 * 1024

    public static func run(
        _ request: ScanRequest, progress: @escaping ProgressHandler = { _ in }
    ) async throws -> ScanOutcome {
        let started = Date()
        // Read the baseline before any clone so a bad path fails fast.
        let baseline = try request.baselinePath.map(loadBaseline)
        let source = try await SourceResolver.resolve(
            request.source, cloneTimeout: request.cloneTimeout, fullHistory: request.history, ref: request.ref
        )
        defer { source.cleanup() }

        let config = try loadConfig(request, root: source.root)
        let engineIDs = request.engines ?? config.engines ?? EngineRegistry.defaults
        guard !engineIDs.isEmpty else { throw ScanError("no engines selected") }
        let maxFileSize = request.maxFileSize ?? config.maxFileSize?.bytes ?? defaultMaxFileSize
        let engines = try EngineRegistry.make(
            engineIDs, config: config, maxFileSize: maxFileSize, dataDirectory: DataDirectory.resolve(request.dataDirectory)
        )

        // A history scan reads commits, not the working tree.
        let walkOptions = WalkOptions(maxFileSize: maxFileSize, excludes: (config.exclude ?? []) + request.excludes)
        let root = source.root
        let walk = request.history ? nil : try await BlockingWork.run { try Walker.walk(root: root, options: walkOptions) }
        let walkSkipped = walk?.skipped ?? []
        let target = ScanTarget(root: source.root, files: walk?.files ?? [], history: request.history)

        var runs: [EngineRun] = []
        var results: [EngineResult] = []
        try await withThrowingTaskGroup(of: (EngineRun, EngineResult).self) { group in
            for engine in engines {
                group.addTask {
                    let clock = ContinuousClock.now
                    let result = try await engine.scan(target, progress: progress)
                    var coverage = result.coverage
                    coverage.skipped = (coverage.skipped + walkSkipped).sorted { $0.path < $1.path }
                    let elapsed = ContinuousClock.now - clock
                    return (EngineRun(engine: engine.id, coverage: coverage, durationSeconds: elapsed.seconds), result)
                }
            }
            for try await (run, result) in group {
                runs.append(run)
                results.append(result)
            }
        }
        runs.sort { $0.engine < $1.engine }
        let detections = results.flatMap(\.detections)

        var findings = Fingerprint.assign(detections)
        var suppressed = 0
        if let baseline {
            let before = findings.count
            findings.removeAll { baseline.contains($0.fingerprint) }
            suppressed = before - findings.count
        }
        let report = ScanReport(
            toolVersion: VegaVersion.current,
            // Local scans name the absolute root, so SARIF consumers can resolve paths.
            source: source.isTemporary ? source.display : source.root,
            startedAt: ISO8601DateFormatter().string(from: started),
            durationSeconds: Date().timeIntervalSince(started),
            engines: runs,
            rules: (engines.flatMap(\.rules) + results.flatMap(\.rules)).sorted { $0.id < $1.id },
            findings: findings,
            suppressedByBaseline: suppressed,
            warnings: results.flatMap(\.warnings).sorted { ($0.path, $0.line ?? 0) < ($1.path, $1.line ?? 0) },
            dependencies: results.flatMap(\.dependencies).sorted { $0.source < $1.source }
        )
        return ScanOutcome(report: report, config: config, commit: source.commit)
    }

    static func loadConfig(_ request: ScanRequest, root: String) throws -> ScanConfig {
        if let path = request.configPath { return try ScanConfig.load(path: path) }
        let implicit = (root as NSString).appendingPathComponent(ScanConfig.defaultFileName)
        return FileManager.default.fileExists(atPath: implicit) ? try ScanConfig.load(path: implicit) : ScanConfig()
    }

    static func loadBaseline(_ path: String) throws -> Set<String> {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScanError("cannot read baseline \(path)")
        }
        do {
            return try Baseline.fingerprints(from: data)
        } catch {
            throw ScanError("\(error)")
        }
    }
}
