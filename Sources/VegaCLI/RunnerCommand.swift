import ArgumentParser
import Foundation
import VegaRunner
import VegaScanner

/// `vega runner JOB` (hidden): one scan in an isolated child process, started by a worker
/// (see `ScanRunner`). Not for people: the job file says everything, and the answer is
/// JSON lines on stdout plus the result file.
struct RunnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runner", abstract: "Run one scan job for a worker (internal).", shouldDisplay: false
    )

    @Argument(help: "The job file a worker wrote.")
    var job: String

    func run() async throws {
        let status = await RunnerChild.run(jobPath: job)
        if status != 0 { throw ExitCode(status) }
    }
}

/// How workers isolate and bound each scan; `vega serve` and `vega worker` share these.
struct RunnerOptions: ParsableArguments {
    @Option(help: "auto (bubblewrap when installed), bubblewrap (required), or process (no sandbox, limits only).")
    var isolation: RunnerConfiguration.Isolation = .auto

    @Option(name: .customLong("scan-timeout"), help: "Wall-clock limit of a scan's runner (the clone before it has its own 5-minute limit): 30m, 90s.")
    var scanTimeout = Interval(.seconds(1_800))

    @Option(name: .customLong("runner-memory"), help: "Address-space limit of a scan's runner: 4GB, 512MB.")
    var runnerMemory = ByteSize(bytes: 4 << 30)

    @Option(name: .customLong("runner-cpu"), help: "CPU-time limit of a scan's runner: 30m.")
    var runnerCPU = Interval(.seconds(1_800))

    @Option(name: .customLong("max-repository-size"), help: "A checkout larger than this fails its scan: 2GB.")
    var maxRepositorySize = ByteSize(bytes: 2 << 30)

    func configuration(dataDirectory: String) -> RunnerConfiguration {
        var limits = RunnerLimits()
        limits.memoryBytes = runnerMemory.bytes
        limits.cpuSeconds = max(1, Int(runnerCPU.duration.seconds.rounded(.up)))
        return RunnerConfiguration(
            workspaceRoot: RunnerConfiguration.workspaces(in: dataDirectory), limits: limits, timeout: scanTimeout.duration,
            maxRepositoryBytes: maxRepositorySize.bytes, isolation: isolation
        )
    }
}

extension RunnerConfiguration.Isolation: ExpressibleByArgument {}

extension ByteSize: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(parsing: argument)
    }
}
