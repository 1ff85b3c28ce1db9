import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VegaLifecycle
import VegaModel
import VegaReports
import VegaScanner
import VegaStore

/// Runs queued scans in this process, one at a time: claims the oldest, runs the same
/// pipeline as `vega scan`, records findings and components, writes the reports to the
/// data folder, and marks the scan done. The durable multi-worker queue with leases,
/// retries and isolated runners replaces this loop later; the store calls stay.
public struct ScanWorker: Service {
    let store: Store
    let dataDirectory: String
    let pollInterval: Duration
    /// How often a running scan's progress is written to its row, at most.
    let progressInterval: Duration
    let logger: Logger

    public init(
        store: Store, dataDirectory: String, pollInterval: Duration = .seconds(1), progressInterval: Duration = .seconds(1), logger: Logger
    ) {
        self.store = store
        self.dataDirectory = dataDirectory
        self.pollInterval = pollInterval
        self.progressInterval = progressInterval
        self.logger = logger
    }

    /// Polls until the service group shuts down; a stop is a normal end, not an error.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let claimed: ClaimedScan?
                do {
                    claimed = try await store.claimNextScan()
                } catch {
                    logger.error("cannot claim a scan", metadata: ["error": "\(error)"])
                    claimed = nil
                }
                if let claimed {
                    await execute(claimed)
                } else {
                    try? await Task.sleep(for: pollInterval)
                }
            }
        }
    }

    /// Runs one claimed scan to an end state; never throws, so one bad scan cannot stop the worker.
    func execute(_ claimed: ClaimedScan) async {
        var logger = logger
        logger[metadataKey: "tenant_id"] = .string(claimed.scope.tenantID)
        logger[metadataKey: "scan_id"] = .string(claimed.scanID)
        logger.info("scan started")
        let tracker = ProgressTracker()
        do {
            let request = ScanRequest(
                source: claimed.repositoryURL, engines: claimed.engines.isEmpty ? nil : claimed.engines, ref: claimed.ref,
                dataDirectory: dataDirectory
            )
            let outcome = try await scan(request, for: claimed, tracker: tracker)
            let report = outcome.report
            try await store.updateScan(id: claimed.scanID, progress: tracker.recording(report), commit: outcome.commit, in: claimed.scope)
            try await store.record(
                ScanObservation(scanID: claimed.scanID, branch: claimed.ref, completeness: .complete,
                                engines: Set(report.engines.map(\.engine)), at: Date(), findings: report.findings),
                repositoryID: claimed.repositoryID, in: claimed.scope
            )
            if report.engines.contains(where: { $0.engine == "deps" }) {
                try await store.replaceComponents(report.dependencies, scanID: claimed.scanID, repositoryID: claimed.repositoryID, in: claimed.scope)
            }
            try await writeReports(report, for: claimed)
            var done = tracker.current
            done.phase = .done
            // Complete, as the observation above was recorded.
            try await store.finishScan(
                id: claimed.scanID, state: .succeeded, completeness: .complete, progress: done, usage: tracker.usage, in: claimed.scope
            )
            logger.info("scan succeeded", metadata: ["findings": "\(report.findings.count)"])
        } catch {
            // Errors from resolving a URL name it without credentials; the message is the user's to see.
            let message = Task.isCancelled ? "interrupted: the server stopped" : "\(error)"
            logger.warning("scan failed", metadata: ["error": "\(message)"])
            // The phase it stopped in stays shown, and what it read still counts towards usage.
            try? await store.finishScan(
                id: claimed.scanID, state: .failed, error: message, completeness: .failed, progress: tracker.current,
                usage: tracker.usage, in: claimed.scope
            )
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
                    // A lost progress write is not worth failing the scan for.
                    try? await store.updateScan(id: claimed.scanID, progress: latest, in: claimed.scope)
                    written = latest
                }
                group.addTask(operation: tick)
            }
            throw CancellationError()
        }
    }

    /// The scan's JSON and SARIF reports, and its CycloneDX SBOM when the deps engine ran,
    /// under artifacts/<tenant>/<scan>/ in the data folder, each recorded as an artifact.
    func writeReports(_ report: ScanReport, for claimed: ClaimedScan) async throws {
        var files: [(kind: String, contents: Data)] = [
            ("report.json", try JSONReport.encode(report)), ("report.sarif", try SARIFReport.encode(report)),
        ]
        if report.engines.contains(where: { $0.engine == "deps" }) {
            let sbom = SBOMInput(name: report.source, graphs: report.dependencies, toolVersion: VegaVersion.current,
                                 timestamp: report.startedAt)
            files.append(("sbom.cdx.json", try CycloneDXReport.encode(sbom)))
        }
        let relative = "artifacts/\(claimed.scope.tenantID)/\(claimed.scanID)"
        let folder = URL(fileURLWithPath: dataDirectory).appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for file in files {
            try file.contents.write(to: folder.appendingPathComponent(file.kind), options: .atomic)
            _ = try await store.recordArtifact(
                scanID: claimed.scanID, kind: file.kind, location: "\(relative)/\(file.kind)", contents: file.contents, in: claimed.scope
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
