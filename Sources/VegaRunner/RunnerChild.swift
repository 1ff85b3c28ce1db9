import Foundation
import Glibc
import Synchronization
import VegaScanner

/// The runner's side (`vega runner JOB`): limits itself, scans, reports progress as JSON
/// lines on standard output and the report in the job's result file. Runs in a workspace
/// of its own, in a sandbox when bubblewrap is installed; it never sees the database.
public enum RunnerChild {
    /// Exit status of a runner whose scan failed (after its `failed` message).
    public static let scanFailedStatus: Int32 = 3

    public static func run(jobPath: String) async -> Int32 {
        let job: RunnerJob
        do {
            job = try JSONDecoder().decode(RunnerJob.self, from: Data(contentsOf: URL(fileURLWithPath: jobPath)))
        } catch {
            fail("cannot read the runner job \(jobPath): \(error)")
            return scanFailedStatus
        }
        do {
            try apply(job.limits)
        } catch {
            fail("\(error)")
            return scanFailedStatus
        }
        log("limits: memory \(job.limits.memoryBytes) bytes, cpu \(job.limits.cpuSeconds) s, file size \(job.limits.fileSizeBytes) bytes")
        let progress = ProgressThrottle()
        do {
            let request = ScanRequest(source: job.source, engines: job.engines, dataDirectory: job.dataDirectory)
            var outcome = try await Scanner.run(request) { event in
                if progress.due() { emit(.progress(files: event.files, bytes: event.bytes)) }
            }
            outcome.report.source = job.displayName
            let encoded = try JSONEncoder().encode(RunnerResult(report: outcome.report))
            try encoded.write(to: URL(fileURLWithPath: job.resultPath))
            log("scan done: \(outcome.report.findings.count) findings")
            return 0
        } catch {
            fail("\(error)")
            return scanFailedStatus
        }
    }

    /// Hard limits: past them the kernel refuses (memory, open files, file size: the write
    /// fails with SIGXFSZ) or stops the runner (CPU: SIGXCPU, then SIGKILL).
    static func apply(_ limits: RunnerLimits) throws {
        let wanted: [(resource: Int32, value: Int, name: String)] = [
            (Int32(RLIMIT_AS.rawValue), limits.memoryBytes, "memory"),
            (Int32(RLIMIT_CPU.rawValue), limits.cpuSeconds, "cpu"),
            (Int32(RLIMIT_FSIZE.rawValue), limits.fileSizeBytes, "file size"),
            (Int32(RLIMIT_NOFILE.rawValue), limits.openFiles, "open files"),
            (Int32(RLIMIT_CORE.rawValue), 0, "core dumps"),
        ]
        for limit in wanted {
            var value = rlimit(rlim_cur: rlim_t(limit.value), rlim_max: rlim_t(limit.value))
            var current = rlimit()
            // Never above what the runner was given: raising a hard limit needs privilege.
            if getrlimit(__rlimit_resource_t(UInt32(limit.resource)), &current) == 0, current.rlim_max < value.rlim_max {
                value = rlimit(rlim_cur: current.rlim_max, rlim_max: current.rlim_max)
            }
            guard setrlimit(__rlimit_resource_t(UInt32(limit.resource)), &value) == 0 else {
                throw RunnerError("cannot set the runner's \(limit.name) limit: \(String(cString: strerror(errno)))")
            }
        }
    }

    static func emit(_ message: RunnerMessage) {
        guard var line = try? JSONEncoder().encode(message) else { return }
        line.append(UInt8(ascii: "\n"))
        output.withLock { _ in FileHandle.standardOutput.write(line) }
    }

    static func fail(_ message: String) {
        log("failed: \(message)")
        emit(.failed(message: message))
    }

    /// The runner's log is its standard error, which the worker keeps as the scan's debug log.
    static func log(_ line: String) {
        FileHandle.standardError.write(Data("runner: \(line)\n".utf8))
    }

    /// Engines report from several threads; lines must not interleave.
    private static let output = Mutex(())
}

/// Lets through at most one progress event per interval: engines report per file.
final class ProgressThrottle: Sendable {
    private let last = Mutex<ContinuousClock.Instant?>(nil)
    private let interval: Duration

    init(interval: Duration = .milliseconds(250)) {
        self.interval = interval
    }

    func due() -> Bool {
        let now = ContinuousClock.now
        return last.withLock { last in
            if let previous = last, now - previous < interval { return false }
            last = now
            return true
        }
    }
}

public struct RunnerError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
