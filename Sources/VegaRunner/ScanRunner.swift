import Dispatch
import Foundation
import Glibc
import Logging
import VegaModel
import VegaScanner
import VegaWorkspace

/// The worker's side of a runner: a workspace per scan attempt, the source fetched into
/// it (the only step with network), then a `vega runner` child process — in a bubblewrap
/// sandbox when possible — that scans it under resource limits and a deadline, and can be
/// stopped at any moment with its whole process group.
public struct ScanRunner: Sendable {
    public let configuration: RunnerConfiguration
    let sandbox: Sandbox?

    public init(configuration: RunnerConfiguration) {
        self.configuration = configuration
        sandbox = configuration.isolation == .process ? nil : Sandbox.find()
    }

    /// Before the first scan: refuses when bubblewrap is required but not installed, warns
    /// when isolation is weaker than a sandbox, and sweeps leftover workspaces (answers
    /// how many).
    public func prepare(logger: Logger) throws -> Int {
        if sandbox == nil {
            if configuration.isolation == .bubblewrap {
                throw RunnerError("--isolation bubblewrap was asked for, but bwrap is not installed (Debian: apt install bubblewrap)")
            }
            logger.warning("scans run without a sandbox, sharing this machine's network and files (install bubblewrap to isolate them)", metadata: [
                "isolation": "process",
            ])
        } else {
            logger.info("scans run in a bubblewrap sandbox: no network, read-only files, workspace only writable", metadata: ["isolation": "bubblewrap"])
        }
        try FileManager.default.createDirectory(atPath: configuration.workspaceRoot, withIntermediateDirectories: true)
        return sweep()
    }

    /// "bubblewrap" or "process": what the runner summary records.
    public var isolation: String { sandbox == nil ? "process" : "bubblewrap" }

    // MARK: Workspaces

    /// A fresh, private folder for one attempt, named after this process so that `sweep`
    /// in another worker process on the same data folder leaves it alone.
    public func makeWorkspace(for attempt: String) throws -> String {
        let path = (configuration.workspaceRoot as NSString).appendingPathComponent("\(getpid())-\(attempt)")
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path + "/tmp", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        return path
    }

    public func removeWorkspace(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Removes workspaces left by worker processes that are gone (a crash, a `kill -9`);
    /// answers how many.
    @discardableResult
    public func sweep() -> Int {
        let root = configuration.workspaceRoot
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: root) else { return 0 }
        var removed = 0
        for entry in entries {
            guard let owner = entry.split(separator: "-", maxSplits: 1).first.flatMap({ pid_t($0) }) else { continue }
            // ESRCH: no such process. (EPERM means it lives under another user.)
            guard kill(owner, 0) != 0 && errno == ESRCH else { continue }
            if (try? FileManager.default.removeItem(atPath: (root as NSString).appendingPathComponent(entry))) != nil { removed += 1 }
        }
        return removed
    }

    // MARK: Fetching

    /// A shallow clone of `url` at `ref` inside the workspace, with the clone timeout and
    /// the size limit.
    public func checkout(_ url: String, ref: String?, in workspace: String) async throws -> ResolvedSource {
        let source = try await SourceResolver.resolve(
            url, cloneTimeout: configuration.cloneTimeout, ref: ref, temporaryParent: workspace
        )
        let limit = configuration.maxRepositoryBytes
        let size = try await BlockingWork.run { Self.size(of: source.root, stoppingPast: limit) }
        if size > limit {
            throw RunnerFailure(message: "the repository is larger than the limit of \(ByteSize(bytes: limit)) (\(ByteSize(bytes: size)) or more checked out)")
        }
        return source
    }

    /// Bytes of every regular file under `root`, counted until past `limit`.
    static func size(of root: String, stoppingPast limit: Int) -> Int {
        guard let walk = FileManager.default.enumerator(atPath: root) else { return 0 }
        var total = 0
        while let relative = walk.nextObject() as? String, total <= limit {
            var info = stat()
            if lstat((root as NSString).appendingPathComponent(relative), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
                total += Int(info.st_size)
            }
        }
        return total
    }

    // MARK: Running

    /// Scans `source` (a directory or an archive inside `workspace`) in a runner process.
    /// `onProgress` gets the runner's running totals. Cancelling the calling task stops the
    /// runner's group at once (SIGTERM, SIGKILL after `stopGrace`) and throws
    /// `CancellationError`. A runner that fails is an answer too: see `RunnerRun.report()`.
    public func run(
        source: String, displayName: String, engines: [String]?, dataDirectory: String, in workspace: String,
        onProgress: @escaping @Sendable (_ files: Int, _ bytes: Int) -> Void
    ) async throws -> RunnerRun {
        let job = RunnerJob(
            source: source, displayName: displayName, engines: engines, dataDirectory: dataDirectory,
            resultPath: (workspace as NSString).appendingPathComponent("result.json"), limits: configuration.limits
        )
        let jobPath = (workspace as NSString).appendingPathComponent("job.json")
        try JSONEncoder().encode(job).write(to: URL(fileURLWithPath: jobPath))
        let runner = [configuration.executable, "runner", jobPath]
        let command = sandbox?.command(
            runner, executable: configuration.executable, workspace: workspace, dataDirectory: dataDirectory,
            advisories: DataDirectory.advisories(in: dataDirectory)
        ) ?? runner
        // Nothing of the worker's environment (database URL, storage keys) reaches the runner.
        let environment = [
            "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workspace, "TMPDIR": workspace + "/tmp", "LANG": "C.UTF-8",
            // A crash says why on its own; the backtracer would only fill the debug log.
            "SWIFT_BACKTRACE": "enable=no",
        ]
        let started = ContinuousClock.now
        let process = try Subprocess(command, environment: environment, inheritEnvironment: false)
        let deadline = started + configuration.timeout
        let grace = configuration.stopGrace
        let completion = try await withTaskCancellationHandler {
            try await BlockingWork.run {
                let lines = LineSplitter()
                var failure: String?
                let completion = try process.communicate(deadline: deadline) { chunk in
                    for line in lines.append(chunk) {
                        switch try? JSONDecoder().decode(RunnerMessage.self, from: line) {
                        case .progress(let files, let bytes): onProgress(files, bytes)
                        case .failed(let message): failure = message
                        case nil: break
                        }
                    }
                }
                return (completion, failure)
            }
        } onCancel: {
            process.interrupt()
            // On a Dispatch timer, not a task: a busy cooperative pool must not delay the kill.
            DispatchQueue.global().asyncAfter(deadline: .now() + grace.seconds) { process.terminate() }
        }
        try Task.checkCancellation()
        return RunnerRun(
            outcome: completion.0.outcome, failure: completion.1, log: completion.0.stderr, resultPath: job.resultPath,
            duration: ContinuousClock.now - started, limits: configuration.limits, timeout: configuration.timeout
        )
    }
}

/// How a runner ended.
public struct RunnerRun: Sendable {
    public var outcome: Subprocess.Outcome
    /// The runner's own account of why it failed, if it could give one.
    public var failure: String?
    /// Its standard error (the first 64 KiB): the scan's debug log.
    public var log: String
    let resultPath: String
    public var duration: Duration
    let limits: RunnerLimits
    let timeout: Duration

    /// The report, or a `RunnerFailure` saying in the user's terms why there is none.
    public func report() throws -> ScanReport {
        switch outcome {
        case .exited(0):
            do {
                return try JSONDecoder().decode(RunnerResult.self, from: Data(contentsOf: URL(fileURLWithPath: resultPath))).report
            } catch {
                throw RunnerFailure(message: "the runner ended without a readable report: \(error)")
            }
        case .exited(RunnerChild.scanFailedStatus):
            throw RunnerFailure(message: failure ?? "the scan failed")
        case .exited(let status) where (129...159).contains(status):
            // bubblewrap passes on a signal's end as 128 + the signal, as shells do.
            throw RunnerFailure(message: stopped(by: status - 128))
        case .exited(let status):
            throw RunnerFailure(message: "the runner exited with status \(status)\(lastLine)")
        case .timedOut:
            throw RunnerFailure(message: "the scan took longer than its limit of \(Int(timeout.seconds)) s")
        case .signalled(let signal):
            throw RunnerFailure(message: stopped(by: signal))
        }
    }

    private func stopped(by signal: Int32) -> String {
        switch signal {
        case SIGXCPU: "the scan used more than its CPU limit of \(limits.cpuSeconds) s"
        case SIGXFSZ: "the scan tried to write a file larger than its limit of \(ByteSize(bytes: limits.fileSizeBytes))"
        // An allocation refused under the memory limit ends a Swift process with a trap.
        default: "the runner was stopped by signal \(signal); it may have run out of memory (limit \(ByteSize(bytes: limits.memoryBytes)))\(lastLine)"
        }
    }

    private var lastLine: String {
        log.split(separator: "\n").last.map { ": \($0)" } ?? ""
    }
}

/// A scan that failed in or before its runner, for a reason another attempt would meet
/// again. The message is shown to users.
public struct RunnerFailure: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }
}

/// Splits a byte stream into lines; a partial line waits for the rest.
final class LineSplitter {
    private var pending = Data()

    func append(_ chunk: UnsafeRawBufferPointer) -> [Data] {
        pending.append(contentsOf: chunk)
        var lines: [Data] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(pending[pending.startIndex..<newline])
            pending.removeSubrange(pending.startIndex...newline)
        }
        return lines
    }
}
