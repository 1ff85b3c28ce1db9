import Foundation
import VegaModel

/// What a runner process is asked to do: scan one local source (a checkout or an archive
/// the worker put in the scan's workspace) and write its report. The runner reads it
/// from a file, so nothing about the job has to pass through argv or the environment.
public struct RunnerJob: Codable, Sendable, Hashable {
    /// A directory or an archive inside the workspace.
    public var source: String
    /// What the report names as its source: the repository's URL without credentials.
    public var displayName: String
    /// nil: the repository's `.vega.yaml` or the default engines.
    public var engines: [String]?
    /// Vega's data folder, for the advisory database (read-only to the runner).
    public var dataDirectory: String
    /// Where the runner writes its `RunnerResult`.
    public var resultPath: String
    public var limits: RunnerLimits

    public init(
        source: String, displayName: String, engines: [String]?, dataDirectory: String, resultPath: String, limits: RunnerLimits
    ) {
        self.source = source
        self.displayName = displayName
        self.engines = engines
        self.dataDirectory = dataDirectory
        self.resultPath = resultPath
        self.limits = limits
    }
}

/// The resource limits a runner applies to itself (setrlimit) before it reads anything
/// from the repository; the wall-clock limit is the worker's to enforce.
public struct RunnerLimits: Codable, Sendable, Hashable {
    /// Address space, in bytes.
    public var memoryBytes: Int
    public var cpuSeconds: Int
    /// The largest file the runner may write (an extracted archive member, say).
    public var fileSizeBytes: Int
    public var openFiles: Int

    public init(memoryBytes: Int = 4 << 30, cpuSeconds: Int = 1_800, fileSizeBytes: Int = 1 << 30, openFiles: Int = 1_024) {
        self.memoryBytes = memoryBytes
        self.cpuSeconds = cpuSeconds
        self.fileSizeBytes = fileSizeBytes
        self.openFiles = openFiles
    }
}

/// One line of the runner's standard output: progress while it scans, or why it failed.
/// The report itself goes to `RunnerJob.resultPath`, since it can be large.
public enum RunnerMessage: Codable, Sendable, Hashable {
    case progress(files: Int, bytes: Int)
    /// `message` is shown to users. The runner has no network and no database, so what
    /// fails in it fails on the repository's own content: never worth another attempt.
    case failed(message: String)
}

/// What a runner that finished writes to `RunnerJob.resultPath`.
public struct RunnerResult: Codable, Sendable {
    public var report: ScanReport

    public init(report: ScanReport) {
        self.report = report
    }
}
