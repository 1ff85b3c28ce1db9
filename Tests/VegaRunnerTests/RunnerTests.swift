import Foundation
import Glibc
import Logging
import Testing
import VegaTestSupport
@testable import VegaRunner

/// The runner as a worker uses it: a real `vega runner` child, in bubblewrap (which
/// scripts/setup installs for the tests), scanning what `checkout` cloned into its workspace.
@Suite struct RunnerTests {
    let data: URL
    let logger = Logger(label: "runner-test")

    init() throws {
        data = FileManager.default.temporaryDirectory.appendingPathComponent("vega-runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
    }

    func runner(
        isolation: RunnerConfiguration.Isolation = .bubblewrap, executable: String? = nil, limits: RunnerLimits = RunnerLimits(),
        timeout: Duration = .seconds(120), maxRepositoryBytes: Int = 1 << 30
    ) throws -> ScanRunner {
        ScanRunner(configuration: RunnerConfiguration(
            executable: try executable ?? vegaPath(), workspaceRoot: RunnerConfiguration.workspaces(in: data.path), limits: limits,
            timeout: timeout, maxRepositoryBytes: maxRepositoryBytes, isolation: isolation
        ))
    }

    func repository() throws -> TestRepo {
        let repo = try TestRepo()
        try PlantedSecrets.plant(in: repo)
        try repo.commitAll("secrets")
        return repo
    }

    @Test func scansACloneInTheSandbox() async throws {
        let repo = try repository()
        defer { repo.remove() }
        let runner = try runner()
        #expect(try runner.prepare(logger: logger) == 0)
        #expect(runner.isolation == "bubblewrap")
        let workspace = try runner.makeWorkspace(for: "scan-1")
        let checkout = try await runner.checkout("file://\(repo.path)", ref: "main", in: workspace)
        #expect(checkout.root.hasPrefix(workspace + "/"))
        #expect(checkout.commit?.count == 40)
        let progress = ProgressLog()
        let run = try await runner.run(
            source: checkout.root, displayName: "https://git.example/app", engines: ["secrets"], dataDirectory: data.path, in: workspace
        ) { files, _ in progress.add(files) }
        let report = try run.report()
        #expect(report.source == "https://git.example/app")
        #expect(Set(report.findings.map(\.ruleId)).count >= 3)
        #expect(run.log.contains("runner: limits"))
        #expect(!progress.values.isEmpty)
        runner.removeWorkspace(workspace)
        #expect(!FileManager.default.fileExists(atPath: workspace))
    }

    /// The sandbox itself: run a shell under the same command line the runner gets.
    @Test func sandboxHasNoNetworkAndOnlyTheWorkspaceWritable() throws {
        let sandbox = try #require(Sandbox.find())
        let runner = try runner()
        _ = try runner.prepare(logger: logger)
        let workspace = try runner.makeWorkspace(for: "probe")
        try Data("database password".utf8).write(to: data.appendingPathComponent("vega.sqlite"))
        let script = """
            tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' \\n'; echo
            touch \(workspace)/written && echo workspace-writable
            touch /etc/vega-probe 2>/dev/null && echo etc-writable
            cat \(data.path)/vega.sqlite 2>/dev/null || echo data-hidden
            """
        let command = sandbox.command(
            ["/bin/sh", "-c", script], executable: "/bin/sh", workspace: workspace, dataDirectory: data.path,
            advisories: data.appendingPathComponent("advisories").path
        )
        let result = try Run.command(command[0], Array(command.dropFirst()))
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.first == "lo")
        #expect(lines.contains("workspace-writable"))
        #expect(!lines.contains("etc-writable"))
        #expect(lines.contains("data-hidden"))
        #expect(!result.stdout.contains("database password"))
    }

    @Test func timeoutEndsTheScanWithAClearError() async throws {
        let repo = try repository()
        defer { repo.remove() }
        let runner = try runner(timeout: .milliseconds(10))
        _ = try runner.prepare(logger: logger)
        let workspace = try runner.makeWorkspace(for: "slow")
        try FileManager.default.copyItem(atPath: repo.path, toPath: workspace + "/src")
        let run = try await runner.run(source: workspace + "/src", displayName: "x", engines: nil, dataDirectory: data.path, in: workspace) { _, _ in }
        #expect(run.outcome == .timedOut)
        #expect(throws: RunnerFailure.self) { try run.report() }
        #expect(error(of: run).contains("took longer than its limit"))
    }

    @Test func writingPastTheFileSizeLimitFailsTheScan() async throws {
        let source = try TestRepo(git: false)
        defer { source.remove() }
        try source.write("big.txt", String(repeating: "a", count: 3 << 20))
        var limits = RunnerLimits()
        limits.fileSizeBytes = 1 << 20
        let runner = try runner(limits: limits)
        _ = try runner.prepare(logger: logger)
        let workspace = try runner.makeWorkspace(for: "fsize")
        let archive = workspace + "/source.tar.gz"
        let tar = try Run.command("/usr/bin/env", ["tar", "czf", archive, "-C", source.path, "big.txt"])
        #expect(tar.status == 0)
        let run = try await runner.run(source: archive, displayName: "upload", engines: ["secrets"], dataDirectory: data.path, in: workspace) { _, _ in }
        // The kernel refuses the write (EFBIG) and the extraction says so.
        #expect(run.outcome == .exited(RunnerChild.scanFailedStatus))
        #expect(error(of: run).contains("'big.txt' refused: cannot write it: File too large"), "\(run.outcome): \(run.log)")
    }

    @Test func memoryLimitStopsTheRunner() async throws {
        let repo = try repository()
        defer { repo.remove() }
        var limits = RunnerLimits()
        limits.memoryBytes = 32 << 20
        let runner = try runner(limits: limits, timeout: .seconds(30))
        _ = try runner.prepare(logger: logger)
        let workspace = try runner.makeWorkspace(for: "memory")
        try FileManager.default.copyItem(atPath: repo.path, toPath: workspace + "/src")
        let run = try await runner.run(source: workspace + "/src", displayName: "x", engines: nil, dataDirectory: data.path, in: workspace) { _, _ in }
        #expect(run.outcome != .exited(0))
        // Usually an allocation is refused and the runner traps; when a thread cannot start
        // instead, it stalls until the wall-clock limit ends it. Either way no report comes back.
        let message = error(of: run)
        #expect(message.contains("may have run out of memory") || message.contains("took longer than its limit"), "\(run.outcome): \(run.log)")
    }

    @Test func repositoryLargerThanTheLimitFailsCleanly() async throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.write("data.txt", String(repeating: "x", count: 64 * 1024))
        try repo.commitAll("big")
        let runner = try runner(maxRepositoryBytes: 16 * 1024)
        _ = try runner.prepare(logger: logger)
        let workspace = try runner.makeWorkspace(for: "large")
        await #expect(throws: RunnerFailure.self) { _ = try await runner.checkout("file://\(repo.path)", ref: nil, in: workspace) }
        do {
            _ = try await runner.checkout("file://\(repo.path)", ref: nil, in: workspace)
        } catch {
            #expect("\(error)".contains("larger than the limit of 16KB"))
        }
    }

    /// A runner that ignores SIGTERM is killed after the grace: cancelling returns long
    /// before the runner would have ended, and nothing of the runner's group is left.
    @Test func cancellationStopsTheRunnerGroupWithinTwoSeconds() async throws {
        let root = RunnerConfiguration.workspaces(in: data.path)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let script = data.appendingPathComponent("stubborn-runner").path
        let pidFile = data.appendingPathComponent("pids").path
        try Data("#!/bin/sh\ntrap '' TERM\nsleep 60 &\necho $$ $! > \(pidFile)\nwait\n".utf8).write(to: URL(fileURLWithPath: script))
        chmod(script, 0o755)
        let runner = try runner(isolation: .process, executable: script)
        let workspace = try runner.makeWorkspace(for: "stubborn")
        let task = Task {
            try await runner.run(source: workspace, displayName: "x", engines: nil, dataDirectory: data.path, in: workspace) { _, _ in }
        }
        while ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").split(separator: " ").count < 2 {
            try await Task.sleep(for: .milliseconds(20))
        }
        let pids = try String(contentsOfFile: pidFile, encoding: .utf8).split(whereSeparator: \.isWhitespace).compactMap { pid_t($0) }
        let cancelled = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        // The grace is 1 s; the bound leaves room for a loaded machine, far below the minute it would run.
        #expect(ContinuousClock.now - cancelled < .seconds(10))
        for pid in pids { #expect(!isProcessRunning(pid), "process \(pid) survived") }
    }

    @Test func sweepRemovesOnlyWorkspacesOfDeadWorkers() throws {
        let runner = try runner()
        _ = try runner.prepare(logger: logger)
        let mine = try runner.makeWorkspace(for: "running")
        // A pid that was just used and has exited: no such process any more.
        let gone = try Run.command("/bin/sh", ["-c", "echo $$"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let orphan = RunnerConfiguration.workspaces(in: data.path) + "/\(gone)-scan-3"
        try FileManager.default.createDirectory(atPath: orphan + "/src", withIntermediateDirectories: true)
        #expect(runner.sweep() == 1)
        #expect(FileManager.default.fileExists(atPath: mine))
        #expect(!FileManager.default.fileExists(atPath: orphan))
    }

    func error(of run: RunnerRun) -> String {
        do {
            _ = try run.report()
            return ""
        } catch {
            return "\(error)"
        }
    }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Int] = []
    func add(_ value: Int) { lock.withLock { stored.append(value) } }
    var values: [Int] { lock.withLock { stored } }
}
