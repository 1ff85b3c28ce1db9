import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VegaArtifacts
import VegaLifecycle
import VegaModel
import VegaReports
import VegaScanner
import VegaStore

/// Runs queued scans from the database's durable queue: `concurrency` claim loops, each
/// taking the next scan under a lease, running the same pipeline as `vega scan` while a
/// heartbeat renews the lease, then recording findings and components, putting the
/// reports in the artifact store and marking the scan done — every write fenced by the
/// lease's token, so a worker that lost its scan stores nothing. Each loop also runs the
/// reaper, which requeues the scans of workers that died. Any number of these, in any
/// number of processes (`vega serve`, `vega worker`), can share one database.
public struct ScanWorker: Service {
    let store: Store
    let dataDirectory: String
    /// Where the reports go: the data folder's `artifacts` unless the operator chose a store.
    let artifacts: any ArtifactStore
    let pollInterval: Duration
    /// How often a running scan's progress is written to its row, at most.
    let progressInterval: Duration
    /// Scans this worker runs at once, one claim loop each.
    let concurrency: Int
    /// How long a claim holds a scan without a heartbeat; heartbeats come every sixth of it
    /// (10 s for the default 60 s), so a few may fail before the lease lapses.
    let lease: Duration
    /// After a graceful shutdown begins (SIGTERM), how long running scans may take to end;
    /// then they are stopped and given back to the queue.
    let shutdownGrace: Duration
    let backoff: RetryBackoff
    /// Test hook (`vega worker --test-trivial-jobs`, hidden): each claimed scan is finished
    /// at once — one heartbeat, then succeeded — without cloning or scanning, so tests can
    /// push thousands of scans through the real claim/heartbeat/finish calls of several
    /// processes. Never set in production.
    let trivialJobs: Bool
    let logger: Logger

    public init(
        store: Store, dataDirectory: String, artifacts: (any ArtifactStore)? = nil, pollInterval: Duration = .seconds(1),
        progressInterval: Duration = .seconds(1), concurrency: Int = 1, lease: Duration = .seconds(60), shutdownGrace: Duration = .seconds(30),
        backoff: RetryBackoff = RetryBackoff(), trivialJobs: Bool = false, logger: Logger
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
        self.trivialJobs = trivialJobs
        self.logger = logger
    }

    /// Polls until the service group stops it. A graceful shutdown stops the claiming at
    /// once and lets running scans end within `shutdownGrace`; after that, or on
    /// cancellation, they are stopped and released. A stop is a normal end, not an error.
    public func run() async throws {
        let counters = Counters()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withDiscardingTaskGroup { loops in
                    for _ in 0..<concurrency { loops.addTask { await claimLoop(counters) } }
                }
            }
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

    /// One slot: reap, claim, run, until the worker stops.
    func claimLoop(_ counters: Counters) async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var claimed: ClaimedScan?
            do {
                if counters.reapDue(every: pollInterval) {
                    for scan in try await store.reclaimExpiredLeases(backoff: backoff) {
                        logger.warning("worker lost: lease expired", metadata: [
                            "scan_id": "\(scan.scanID)", "tenant_id": "\(scan.scope.tenantID)", "state": "\(scan.state.rawValue)",
                        ])
                    }
                }
                claimed = try await store.claimNextScan(lease: lease)
            } catch {
                logger.error("cannot claim a scan", metadata: ["error": "\(error)"])
            }
            if let claimed {
                await execute(claimed)
                counters.ran.add(1, ordering: .relaxed)
            } else {
                // Woken by a graceful shutdown, so an idle worker stops at once.
                try? await cancelWhenGracefulShutdown { [pollInterval] in try await Task.sleep(for: pollInterval) }
            }
        }
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

    /// The scan itself, its records and its end state.
    func perform(_ claimed: ClaimedScan, leaseLost: Flag, logger: Logger) async {
        let tracker = ProgressTracker()
        do {
            let request = ScanRequest(
                source: claimed.repositoryURL, engines: claimed.engines.isEmpty ? nil : claimed.engines, ref: claimed.ref,
                dataDirectory: dataDirectory
            )
            let outcome = try await scan(request, for: claimed, tracker: tracker)
            let report = outcome.report
            try await store.updateScan(claimed, progress: tracker.recording(report), commit: outcome.commit)
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
            var done = tracker.current
            done.phase = .done
            // Complete, as the observation above was recorded.
            try await store.finishScan(claimed, state: .succeeded, completeness: .complete, progress: done, usage: tracker.usage)
            logger.info("scan succeeded", metadata: ["findings": "\(report.findings.count)"])
        } catch is Store.LeaseLost {
            logger.warning("lease lost: the scan is abandoned, its results not stored")
        } catch where Task.isCancelled {
            guard !leaseLost.isSet else { return }
            // The worker is stopping: give the scan back for another worker to run now.
            // In a task of its own, which the cancellation does not reach.
            let released = await Task { try? await store.releaseScan(claimed) }.value
            logger.notice("worker stopping: scan released to the queue", metadata: ["released": "\(released ?? false)"])
        } catch {
            // Errors from resolving a URL name it without credentials; the message is the user's to see.
            let message = "\(error)"
            let retryable = ScanFailure.isRetryable(error)
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

    /// Runs the pipeline and, every `progressInterval` while it runs, writes the latest
    /// progress to the scan's row if it moved: watchers see it move without a write per file.
    func scan(_ request: ScanRequest, for claimed: ClaimedScan, tracker: ProgressTracker) async throws -> ScanOutcome {
        try await withThrowingTaskGroup(of: ScanOutcome?.self) { group in
            let tick = { @Sendable [progressInterval] () async -> ScanOutcome? in
                try? await Task.sleep(for: progressInterval)
                return nil
            }
            group.addTask { try await Scanner.run(request) { tracker.note($0) } }
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
                if latest != written {
                    do {
                        try await store.updateScan(claimed, progress: latest)
                    } catch let lost as Store.LeaseLost {
                        throw lost
                    } catch {
                        // A lost progress write is not worth failing the scan for.
                    }
                    written = latest
                }
                group.addTask(operation: tick)
            }
            throw CancellationError()
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
            let key = try ArtifactKey.make(tenant: claimed.scope.tenantID, scan: claimed.scanID, kind: file.kind)
            try await artifacts.put(key, data: file.contents, contentType: file.contentType)
            _ = try await store.recordArtifact(
                scanID: claimed.scanID, kind: file.kind, location: key, contents: file.contents, in: claimed.scope
            )
        }
    }
}

/// The latest counts of a running scan, written by the engines' threads and read by the
/// task that stores them.
final class ProgressTracker: Sendable {
    private let state = Mutex(ScanProgress(phase: .cloning))

    var current: ScanProgress { state.withLock { $0 } }

    /// Engines report running totals from several threads, not always in order.
    func note(_ event: ProgressEvent) {
        state.withLock { progress in
            progress.phase = .scanning
            progress.filesScanned = max(progress.filesScanned, event.files)
            progress.bytesScanned = max(progress.bytesScanned, event.bytes)
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

/// Per-worker state its claim loops share.
final class Counters: Sendable {
    /// Scans this worker has taken and brought to an end (or given up).
    let ran = Atomic<Int>(0)
    private let lastReap = Mutex<ContinuousClock.Instant?>(nil)

    /// Whether the reaper should run now: at most once per `interval` for all loops.
    func reapDue(every interval: Duration) -> Bool {
        let now = ContinuousClock.now
        return lastReap.withLock { last in
            if let last, now - last < interval { return false }
            last = now
            return true
        }
    }
}

/// Set once, read from other tasks.
final class Flag: Sendable {
    private let value = Atomic(false)

    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
