import Foundation
import VegaModel

/// The `runner-summary.json` artifact: how one attempt went, for the operator who asks
/// why a scan was slow or failed.
public struct RunnerSummary: Codable, Sendable {
    public struct Timings: Codable, Sendable {
        /// Cloning the repository or reading the uploaded archive.
        public var fetchSeconds: Double
        public var scanSeconds: Double
        public var totalSeconds: Double

        public init(fetchSeconds: Double, scanSeconds: Double, totalSeconds: Double) {
            self.fetchSeconds = fetchSeconds
            self.scanSeconds = scanSeconds
            self.totalSeconds = totalSeconds
        }
    }

    public var scanId: String
    public var attempt: Int
    /// "bubblewrap" or "process".
    public var isolation: String
    public var limits: RunnerLimits
    public var timeoutSeconds: Double
    public var timings: Timings
    public var commit: String?
    public var files: Int
    public var bytes: Int
    public var findings: Int
    public var engines: [EngineRun]
    /// How the runner ended ("exit status 0", "timed out", …); nil when it never started.
    public var exit: String?
    public var error: String?

    public init(
        scanId: String, attempt: Int, isolation: String, limits: RunnerLimits, timeoutSeconds: Double, timings: Timings,
        commit: String?, files: Int, bytes: Int, findings: Int, engines: [EngineRun], exit: String?, error: String?
    ) {
        self.scanId = scanId
        self.attempt = attempt
        self.isolation = isolation
        self.limits = limits
        self.timeoutSeconds = timeoutSeconds
        self.timings = timings
        self.commit = commit
        self.files = files
        self.bytes = bytes
        self.findings = findings
        self.engines = engines
        self.exit = exit
        self.error = error
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
