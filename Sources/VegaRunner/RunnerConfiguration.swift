import Foundation

/// How scans are isolated and bounded, the same for every scan a worker runs.
public struct RunnerConfiguration: Sendable {
    public enum Isolation: String, Sendable, CaseIterable {
        /// bubblewrap when it is installed, else a plain child process (logged as weaker).
        case auto
        /// bubblewrap, or the worker refuses to start.
        case bubblewrap
        /// A plain child process with resource limits, sharing the host's network and files.
        case process
    }

    /// The `vega` executable the runner is started from.
    public var executable: String
    /// Where each scan gets a workspace of its own.
    public var workspaceRoot: String
    public var limits: RunnerLimits
    /// Wall-clock time for the runner; the clone before it has `cloneTimeout`.
    public var timeout: Duration
    /// Cloning the repository into the workspace.
    public var cloneTimeout: Duration
    /// A checkout larger than this (every file, `.git` included) fails the scan.
    public var maxRepositoryBytes: Int
    public var isolation: Isolation
    /// After a stop is asked for (SIGTERM to the runner's group), how long before SIGKILL.
    public var stopGrace: Duration

    public init(
        executable: String? = nil, workspaceRoot: String, limits: RunnerLimits = RunnerLimits(), timeout: Duration = .seconds(1_800),
        cloneTimeout: Duration = .seconds(300), maxRepositoryBytes: Int = 2 << 30, isolation: Isolation = .auto,
        stopGrace: Duration = .seconds(1)
    ) {
        self.executable = executable ?? Self.currentExecutable
        self.workspaceRoot = workspaceRoot
        self.limits = limits
        self.timeout = timeout
        self.cloneTimeout = cloneTimeout
        self.maxRepositoryBytes = maxRepositoryBytes
        self.isolation = isolation
        self.stopGrace = stopGrace
    }

    /// The workspaces folder inside Vega's data folder.
    public static func workspaces(in dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent("workspaces")
    }

    /// This process's own executable: `vega serve` and `vega worker` start runners from
    /// the binary they run from, so a runner is always the same version as its worker.
    static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
