import ArgumentParser
import Foundation
import Logging
import VegaScanner
import VegaStore
import VegaWorker

/// `vega worker`: scan workers only, no API — as many processes, on as many machines, as
/// the database serves (see docs/platform.md, "Queue and workers").
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run scan workers only (no API) on the platform database: SQLite in the data folder, or PostgreSQL.",
        discussion: """
            Each worker takes queued scans under a lease that heartbeats renew; a worker that dies loses its lease and another \
            worker runs its scan again. Each scan runs in a `vega runner` child process in a workspace of its own under the data \
            folder, sandboxed by bubblewrap when it is installed, with the limits below. SIGTERM (or Ctrl-C) stops the claiming at once and lets running scans end within \
            --shutdown-grace; scans still running then are given back to the queue. Migrations run on start, as with `vega serve`. \
            Reports go to the data folder (keep it shared between workers and the API) or to --artifacts.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @OptionGroup var artifacts: ArtifactOptions

    @OptionGroup var runner: RunnerOptions

    @Option(help: "Scans to run at once in this process.")
    var concurrency = 1

    @Option(help: "How long a claim holds a scan without a heartbeat (heartbeats come every sixth of it): 60s, 5s, 500ms.")
    var lease = Interval(.seconds(60))

    @Option(name: .customLong("poll-interval"), help: "How often an idle worker looks for a scan and for lost workers' scans. New scans wake it at once (on PostgreSQL from any process, on SQLite from its own); the poll is the fallback.")
    var pollInterval = Interval(.seconds(1))

    @Option(name: .customLong("shutdown-grace"), help: "After SIGTERM, how long running scans may take to end before they are given back to the queue.")
    var shutdownGrace = Interval(.seconds(30))

    @Option(name: .customLong("log-format"), help: "json (one object per line) or text (default: text when stderr is a terminal, else json).")
    var logFormat: ServeCommand.LogFormat?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    /// Test hook, hidden from help: finish every claimed scan at once without cloning or
    /// scanning (see `ScanWorker.trivialJobs`). WorkerCommandTests push thousands of scans
    /// through two processes with it.
    @Flag(name: .customLong("test-trivial-jobs"), help: .hidden)
    var testTrivialJobs = false

    func validate() throws {
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 256") }
        guard lease.duration >= .milliseconds(600) else { throw ValidationError("--lease must be at least 600ms") }
    }

    func run() async throws {
        ServeCommand.bootstrapLogging(format: logFormat, level: logLevel)
        let logger = Logger(label: "vega")
        let db = try await database.open(logger: logger)
        do {
            let applied = try await Migrator.migrate(db)
            logger.info("database ready", metadata: ["database": "\(database.displayURL)", "migrations_applied": "\(applied)"])
            let dataDirectory = DataDirectory.resolve(database.dataDirectory)
            let worker = ScanWorker(
                store: Store(database: db), dataDirectory: dataDirectory, artifacts: try artifacts.makeStore(dataDirectory: dataDirectory),
                pollInterval: pollInterval.duration, concurrency: concurrency, lease: lease.duration, shutdownGrace: shutdownGrace.duration,
                runner: runner.configuration(dataDirectory: dataDirectory), trivialJobs: testTrivialJobs, logger: logger
            )
            logger.info("worker started", metadata: ["concurrency": "\(concurrency)", "lease": "\(lease)"])
            try await worker.runUntilSignalled()
        } catch {
            try? await db.shutdown()
            throw error
        }
        try await db.shutdown()
    }
}

/// A length of time on the command line: `60s`, `1.5s`, `500ms`, `2m`, or plain seconds.
struct Interval: ExpressibleByArgument, CustomStringConvertible, Sendable {
    let duration: Duration

    init(_ duration: Duration) {
        self.duration = duration
    }

    init?(argument: String) {
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
        let unit = units.first { argument.hasSuffix($0.suffix) } ?? ("", 1)
        guard let value = Double(argument.dropLast(unit.suffix.count)), value.isFinite, value > 0 else { return nil }
        duration = .milliseconds(Int64((value * unit.seconds * 1000).rounded()))
    }

    var description: String {
        let milliseconds = Int64((duration.seconds * 1000).rounded())
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    var defaultValueDescription: String { description }
}
