import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VegaArtifacts
import VegaLifecycle
import VegaModel
import VegaReports
import VegaRunner
import VegaScanner
import VegaStore
import VegaWorkspace

/// Runs queued scans from the database's durable queue, up to `concurrency` at once,
/// claiming as many as it has free slots in one statement, each under a lease. Each scan's
/// source is fetched into a workspace of its own and scanned in an isolated runner process
/// (`ScanRunner`) while a heartbeat renews the lease; then the findings and components are
/// recorded, the reports, runner summary and debug log put in the artifact store and the
/// scan marked done — every write fenced by the lease's token, so a worker that lost its
/// scan, or whose scan was cancelled, stores nothing; it notices within half a second and stops
/// the runner. Claiming also runs the reaper, which requeues the scans of workers that
/// died. Any number of these, in any number of processes (`vega serve`, `vega worker`),
/// can share one database.
public struct ScanWorker: Service {
    let store: Store
    let dataDirectory: String
    /// Where the reports go: the data folder's `artifacts` unless the operator chose a store.
    let artifacts: any ArtifactStore
    let pollInterval: Duration
    /// How often a running scan's progress is written to its row, at most, or, when it has not
    /// moved, its lease checked (a cancel is noticed within this).
    let progressInterval: Duration
    /// Scans this worker runs at once.
    let concurrency: Int
    /// How long a claim holds a scan without a heartbeat; heartbeats come every sixth of it
    /// (10 s for the default 60 s), so a few may fail before the lease lapses.
    let lease: Duration
    /// After a graceful shutdown begins (SIGTERM), how long running scans may take to end;
    /// then they are stopped and given back to the queue.
    let shutdownGrace: Duration
    let backoff: RetryBackoff
    let runner: ScanRunner
    /// Test hook (`vega worker --test-trivial-jobs`, hidden): each claimed scan is finished
    /// at once — one heartbeat, then succeeded — without cloning or scanning, so tests can
    /// push thousands of scans through the real claim/heartbeat/finish calls of several
    /// processes. Never set in production.
    let trivialJobs: Bool
    let logger: Logger

    public init(
        store: Store, dataDirectory: String, artifacts: (any ArtifactStore)? = nil, pollInterval: Duration = .seconds(1),
        progressInterval: Duration = .milliseconds(500), concurrency: Int = 1, lease: Duration = .seconds(60), shutdownGrace: Duration = .seconds(30),
        backoff: RetryBackoff = RetryBackoff(), runner: RunnerConfiguration? = nil, trivialJobs: Bool = false, logger: Logger
    ) {
        self.store = store
        self.dataDirectory = dataDirectory
        self.artifacts = artifacts ?? LocalArtifactStore.inDataDirectory(dataDirectory)
        self.pollInterval = pollInterval
        self.progressInterval = progressInterval
        self.concurrency = max(1, concurrency)
        self.lease = lease
        self.shutdownGrace = shutdownGrace
        self.backoff = backoff
        self.runner = ScanRunner(configuration: runner ?? RunnerConfiguration(workspaceRoot: RunnerConfiguration.workspaces(in: dataDirectory)))
        self.trivialJobs = trivialJobs
        self.logger = logger
    }

    /// Polls until the service group stops it. A graceful shutdown stops the claiming at
    /// once and lets running scans end within `shutdownGrace`; after that, or on
    /// cancellation, they are stopped and released. A stop is a normal end, not an error.
    public func run() async throws {
        if !trivialJobs {
            let swept = try runner.prepare(logger: logger)
            if swept > 0 { logger.notice("removed workspaces left by stopped workers", metadata: ["workspaces": "\(swept)"]) }
        }
        let counters = Counters()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await dispatch(counters) }
            group.addTask {
                // Ends when the grace after a graceful shutdown is over (or at cancellation).
                try? await gracefulShutdown()
                try? await Task.sleep(for: shutdownGrace)
            }
            await group.next()
            group.cancelAll()
        }
        logger.info("worker stopped", metadata: ["scans_run": "\(counters.ran.load(ordering: .relaxed))"])
    }

    /// Runs this worker on its own (`vega worker`): SIGTERM or SIGINT begin a graceful shutdown.
    public func runUntilSignalled() async throws {
        let group = ServiceGroup(configuration: .init(services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Reaps, claims as many scans as there are free slots in one statement, and runs each
    /// in a task of its own, until the worker stops; then waits for the running ones.
    func dispatch(_ counters: Counters) async {
        // A finished scan's slot, announced to the claiming loop when every slot was taken.
        let (freed, announce) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        var slotFreed = freed.makeAsyncIterator()
        // Only this loop reaps, at most once per poll interval.
        var lastReap: ContinuousClock.Instant?
        await withDiscardingTaskGroup { scans in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let free = concurrency - counters.running.load(ordering: .relaxed)
                guard free > 0 else {
                    _ = await slotFreed.next(isolation: nil)
                    continue
                }
                var claimed: [ClaimedScan] = []
                do {
                    if lastReap.map({ ContinuousClock.now - $0 >= pollInterval }) ?? true {
                        lastReap = .now
                        for scan in try await store.reclaimExpiredLeases(backoff: backoff) {
                            logger.warning("worker lost: lease expired", metadata: [
                                "scan_id": "\(scan.scanID)", "tenant_id": "\(scan.scope.tenantID)", "state": "\(scan.state.rawValue)",
                            ])
                        }
                    }
                    claimed = try await store.claimNextScans(limit: free, lease: lease)
                } catch {
                    logger.error("cannot claim a scan", metadata: ["error": "\(error)"])
                }
                for scan in claimed {
                    counters.running.add(1, ordering: .relaxed)
                    scans.addTask {
                        await execute(scan)
                        counters.ran.add(1, ordering: .relaxed)
                        counters.running.subtract(1, ordering: .relaxed)
                        announce.yield()
                    }
                }
                if claimed.isEmpty {
                    // Woken by a queued scan (PostgreSQL's NOTIFY, or this process's own submission),
                    // else polls; and by a graceful shutdown, so an idle worker stops at once.
                    await cancelWhenGracefulShutdown { [store, pollInterval] in await store.waitForQueuedScans(upTo: pollInterval) }
                }
            }
        }
        announce.finish()
    }

    /// Runs one claimed scan to an end, or gives it up; never throws, so one bad scan
    /// cannot stop the worker.
    func execute(_ claimed: ClaimedScan) async {
        var scanLogger = logger
        scanLogger[metadataKey: "tenant_id"] = .string(claimed.scope.tenantID)
        scanLogger[metadataKey: "scan_id"] = .string(claimed.scanID)
        scanLogger[metadataKey: "attempt"] = .stringConvertible(claimed.attempt)
        let logger = scanLogger
        if trivialJobs {
            await finishTrivially(claimed, logger: logger)
            return
        }
        logger.info("scan started")
        let leaseLost = Flag()
        // The heartbeat and the scan side by side: whichever ends first stops the other.
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                if await !keepLease(claimed, logger: logger) { leaseLost.set() }
            }
            group.addTask {
                await perform(claimed, leaseLost: leaseLost, logger: logger)
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Renews the lease every sixth of it until cancelled (true) or the lease is lost
    /// (false). A failed renewal is retried at the next beat: the lease outlasts several.
    func keepLease(_ claimed: ClaimedScan, logger: Logger) async -> Bool {
        while true {
            do { try await Task.sleep(for: lease / 6) } catch { return true }
            do {
                if try await !store.heartbeat(claimed) {
                    logger.warning("lease lost: the scan is abandoned, its results not stored")
                    return false
                }
            } catch {
                logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The scan itself, its records and its end state. The workspace is removed whatever happens.
    func perform(_ claimed: ClaimedScan, leaseLost: Flag, logger: Logger) async {
        let tracker = ProgressTracker()
        let started = ContinuousClock.now
        let workspace: String
        do {
            workspace = try runner.makeWorkspace(for: "\(claimed.scanID)-\(claimed.attempt)")
        } catch {
            // The worker's own disk, not the scan, failed: worth another attempt, maybe elsewhere.
            await fail(claimed, message: "cannot create the scan's workspace: \(error)", retryable: true, tracker: tracker, logger: logger)
            return
        }
        defer { runner.removeWorkspace(workspace) }
        var attempt = Attempt()
        do {
            attempt = try await watched(claimed, tracker: tracker) { try await run(claimed, in: workspace, tracker: tracker) }
            let report = try attempt.report()
            try await store.updateScan(claimed, progress: tracker.recording(report), commit: attempt.commit)
            try await store.record(
                ScanObservation(scanID: claimed.scanID, branch: claimed.ref, completeness: .complete,
                                engines: Set(report.engines.map(\.engine)), at: Date(), findings: report.findings),
                for: claimed
            )
            if report.engines.contains(where: { $0.engine == "deps" }) {
                // The repository's current set, replaced whole: a repeat by a later attempt changes nothing.
                try await store.replaceComponents(report.dependencies, scanID: claimed.scanID, repositoryID: claimed.repositoryID, in: claimed.scope)
            }
            try await writeReports(report, for: claimed)
            try await writeRunnerArtifacts(attempt, report: report, error: nil, started: started, tracker: tracker, for: claimed)
            var done = tracker.current
            done.phase = .done
            // Complete, as the observation above was recorded.
            try await store.finishScan(claimed, state: .succeeded, completeness: .complete, progress: done, usage: tracker.usage)
            logger.info("scan succeeded", metadata: ["findings": "\(report.findings.count)"])
        } catch is Store.LeaseLost {
            logger.warning("scan cancelled or its lease lost: runner stopped, results not stored")
        } catch where Task.isCancelled {
            guard !leaseLost.isSet else { return }
            // The worker is stopping: give the scan back for another worker to run now.
            // In a task of its own, which the cancellation does not reach.
            let released = await Task { try? await store.releaseScan(claimed) }.value
            logger.notice("worker stopping: scan released to the queue", metadata: ["released": "\(released ?? false)"])
        } catch {
            // Errors from resolving a URL name it without credentials; the message is the user's to see.
            let message = "\(error)"
            // What failed in the runner, or on the repository's size, would fail the same way again.
            let retryable = !(error is RunnerFailure) && !(error is ScanSource.ArchiveMissing) && ScanFailure.isRetryable(error)
            do {
                try await writeRunnerArtifacts(attempt, report: nil, error: message, started: started, tracker: tracker, for: claimed)
            } catch {
                logger.warning("cannot store the failed attempt's runner summary", metadata: ["error": "\(error)"])
            }
            await fail(claimed, message: message, retryable: retryable, tracker: tracker, logger: logger)
        }
    }

    /// Ends an attempt as failed: retried later or not, as `retryable` says.
    func fail(_ claimed: ClaimedScan, message: String, retryable: Bool, tracker: ProgressTracker, logger: Logger) async {
        // The phase it stopped in stays shown, and what it read counts towards usage once the scan ends.
        do {
            let state = try await store.failScan(
                claimed, error: message, retryable: retryable, progress: tracker.current, usage: tracker.usage, backoff: backoff
            )
            logger.warning("scan attempt failed", metadata: ["error": "\(message)", "retryable": "\(retryable)", "state": "\(state.rawValue)"])
        } catch {
            logger.warning("scan failed; its end was not stored", metadata: ["error": "\(message)", "store_error": "\(error)"])
        }
    }

    /// Fetches the source into the workspace (clone, or the uploaded archive), then scans it
    /// in a runner. A runner that failed is returned, not thrown, so its log is kept.
    func run(_ claimed: ClaimedScan, in workspace: String, tracker: ProgressTracker) async throws -> Attempt {
        var attempt = Attempt()
        let fetchStarted = ContinuousClock.now
        let location: String
        let display: String
        switch try await ScanSource.fetch(claimed, from: artifacts, into: workspace) {
        case .repository(let url, let ref):
            let checkout = try await runner.checkout(url, ref: ref, in: workspace)
            (location, display, attempt.commit) = (checkout.root, checkout.display, checkout.commit)
        case .archive(let path):
            // Extracted by the runner, inside its sandbox: the archive is the user's content.
            (location, display) = (path, "uploaded archive \((path as NSString).lastPathComponent)")
        }
        attempt.fetchSeconds = (ContinuousClock.now - fetchStarted).seconds
        tracker.startScanning()
        attempt.run = try await runner.run(
            source: location, displayName: display, engines: claimed.engines.isEmpty ? nil : claimed.engines, dataDirectory: dataDirectory,
            in: workspace
        ) { files, bytes in tracker.note(files: files, bytes: bytes) }
        return attempt
    }

    /// Runs `operation` and, every `progressInterval` while it runs, writes the latest
    /// progress to the scan's row if it moved (watchers see it move without a write per
    /// file), else checks the claim still holds the scan. A cancelled scan, or one another
    /// worker took, ends `operation` (and so its runner) within that interval: `LeaseLost`.
    func watched<T: Sendable>(_ claimed: ClaimedScan, tracker: ProgressTracker, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            let tick = { @Sendable [progressInterval] () async -> T? in
                try? await Task.sleep(for: progressInterval)
                return nil
            }
            group.addTask { try await operation() }
            group.addTask(operation: tick)
            var written = tracker.current
            while let next = try await group.next() {
                if let outcome = next {
                    group.cancelAll()
                    return outcome
                }
                // Written here rather than in a child task: the end of the scan cancels the
                // children, and a cancelled transaction could be cut short half-way.
                let latest = tracker.current
                do {
                    if latest != written {
                        try await store.updateScan(claimed, progress: latest)
                        written = latest
                    } else {
                        try await store.checkLease(claimed)
                    }
                } catch let lost as Store.LeaseLost {
                    throw lost
                } catch {
                    // A lost progress write or check is not worth failing the scan for.
                }
                group.addTask(operation: tick)
            }
            throw CancellationError()
        }
    }

    /// The test hook's job: the queue's real calls for one scan, and nothing else.
    func finishTrivially(_ claimed: ClaimedScan, logger: Logger) async {
        do {
            guard try await store.heartbeat(claimed) else { return }
            try await store.finishScan(claimed, state: .succeeded, completeness: .complete)
        } catch {
            logger.warning("trivial job not finished", metadata: ["error": "\(error)"])
        }
    }

    /// The scan's JSON and SARIF reports, and its CycloneDX SBOM when the deps engine ran,
    /// put in the artifact store under `<tenant>/<scan>/<kind>`, each recorded as an artifact
    /// (after it is stored, so a recorded artifact is always there to download).
    func writeReports(_ report: ScanReport, for claimed: ClaimedScan) async throws {
        var files: [(kind: String, contentType: String, contents: Data)] = [
            ("report.json", "application/json", try JSONReport.encode(report)),
            ("report.sarif", "application/sarif+json", try SARIFReport.encode(report)),
        ]
        if report.engines.contains(where: { $0.engine == "deps" }) {
            let sbom = SBOMInput(name: report.source, graphs: report.dependencies, toolVersion: VegaVersion.current,
                                 timestamp: report.startedAt)
            files.append(("sbom.cdx.json", "application/vnd.cyclonedx+json", try CycloneDXReport.encode(sbom)))
        }
        for file in files {
            try await storeArtifact(file.kind, contentType: file.contentType, contents: file.contents, for: claimed)
        }
    }

    /// The attempt's `runner-summary.json` (timings, isolation, limits, counts, how the runner
    /// ended) and `debug.log` (the runner's log), for a succeeded or a failed attempt alike.
    func writeRunnerArtifacts(
        _ attempt: Attempt, report: ScanReport?, error: String?, started: ContinuousClock.Instant, tracker: ProgressTracker,
        for claimed: ClaimedScan
    ) async throws {
        let progress = tracker.current
        let configuration = runner.configuration
        let summary = RunnerSummary(
            scanId: claimed.scanID, attempt: claimed.attempt, isolation: runner.isolation, limits: configuration.limits,
            timeoutSeconds: configuration.timeout.seconds,
            timings: .init(
                fetchSeconds: attempt.fetchSeconds ?? 0, scanSeconds: attempt.run?.duration.seconds ?? 0,
                totalSeconds: (ContinuousClock.now - started).seconds
            ),
            commit: attempt.commit, files: progress.filesScanned, bytes: progress.bytesScanned, findings: report?.findings.count ?? 0,
            engines: report?.engines ?? [], exit: attempt.run.map { "\($0.outcome)" }, error: error
        )
        try await storeArtifact("runner-summary.json", contentType: "application/json", contents: try summary.encoded(), for: claimed)
        let log = attempt.run?.log ?? ""
        let header = "scan \(claimed.scanID) attempt \(claimed.attempt), isolation \(runner.isolation)\n"
        let footer = error.map { "\nfailed: \($0)\n" } ?? ""
        try await storeArtifact("debug.log", contentType: "text/plain; charset=utf-8", contents: Data((header + log + footer).utf8), for: claimed)
    }

    /// Puts a file in the artifact store under `<tenant>/<scan>/<kind>`, then records it
    /// (after, so a recorded artifact is always there to download), fenced by the claim.
    func storeArtifact(_ kind: String, contentType: String, contents: Data, for claimed: ClaimedScan) async throws {
        let key = try ArtifactKey.make(tenant: claimed.scope.tenantID, scan: claimed.scanID, kind: kind)
        try await artifacts.put(key, data: contents, contentType: contentType)
        try await store.recordArtifact(kind: kind, location: key, contents: contents, for: claimed)
    }
}

/// The latest counts of a running scan, written by the engines' threads and read by the
/// task that stores them.
final class ProgressTracker: Sendable {
    private let state = Mutex(ScanProgress(phase: .cloning))

    var current: ScanProgress { state.withLock { $0 } }

    func startScanning() {
        state.withLock { $0.phase = .scanning }
    }

    /// Engines report running totals from several threads, not always in order.
    func note(files: Int, bytes: Int) {
        state.withLock { progress in
            progress.phase = .scanning
            progress.filesScanned = max(progress.filesScanned, files)
            progress.bytesScanned = max(progress.bytesScanned, bytes)
        }
    }

    /// The engines are done: the final counts (those of the engine that read the most) and findings.
    func recording(_ report: ScanReport) -> ScanProgress {
        state.withLock { progress in
            progress.phase = .recording
            progress.filesScanned = report.engines.map(\.coverage.filesScanned).max() ?? 0
            progress.bytesScanned = report.engines.map(\.coverage.bytesScanned).max() ?? 0
            progress.findings = report.findings.count
            return progress
        }
    }

    var usage: ScanUsage {
        let progress = current
        return ScanUsage(files: progress.filesScanned, bytes: progress.bytesScanned, findings: progress.findings ?? 0)
    }
}

/// What one attempt got to: the fetch, and the runner's end.
struct Attempt: Sendable {
    var fetchSeconds: Double?
    var commit: String?
    var run: RunnerRun?

    /// The runner's report, or why there is none.
    func report() throws -> ScanReport {
        guard let run else { throw RunnerFailure(message: "the scan did not run") }
        return try run.report()
    }
}

/// Per-worker state its scans and claiming share.
final class Counters: Sendable {
    /// Scans this worker has taken and brought to an end (or given up).
    let ran = Atomic<Int>(0)
    /// Scans running now: the slots taken.
    let running = Atomic<Int>(0)
}

/// Set once, read from other tasks.
final class Flag: Sendable {
    private let value = Atomic(false)

    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
