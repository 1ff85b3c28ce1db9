import Foundation
import Logging
import ServiceLifecycle
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
    let logger: Logger

    public init(store: Store, dataDirectory: String, pollInterval: Duration = .seconds(1), logger: Logger) {
        self.store = store
        self.dataDirectory = dataDirectory
        self.pollInterval = pollInterval
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
        do {
            let request = ScanRequest(
                source: claimed.repositoryURL, engines: claimed.engines.isEmpty ? nil : claimed.engines, dataDirectory: dataDirectory
            )
            let report = try await Scanner.run(request).report
            try await store.record(
                ScanObservation(scanID: claimed.scanID, branch: claimed.ref, completeness: .complete, at: Date(), findings: report.findings),
                repositoryID: claimed.repositoryID, in: claimed.scope
            )
            if report.engines.contains(where: { $0.engine == "deps" }) {
                try await store.replaceComponents(report.dependencies, scanID: claimed.scanID, repositoryID: claimed.repositoryID, in: claimed.scope)
            }
            try await writeReports(report, for: claimed)
            try await store.finishScan(id: claimed.scanID, state: .succeeded, in: claimed.scope)
            logger.info("scan succeeded", metadata: ["findings": "\(report.findings.count)"])
        } catch {
            // Errors from resolving a URL name it without credentials; the message is the user's to see.
            let message = Task.isCancelled ? "interrupted: the server stopped" : "\(error)"
            logger.warning("scan failed", metadata: ["error": "\(message)"])
            try? await store.finishScan(id: claimed.scanID, state: .failed, error: message, in: claimed.scope)
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
