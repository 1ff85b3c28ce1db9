import ArgumentParser
import Foundation
import Logging
import VegaArtifacts
import VegaScanner
import VegaStore

/// `vega maintenance`: the operator's housekeeping, run from cron or a timer on any machine
/// that reaches the database and the artifact store: expired Idempotency-Keys, artifact retention.
struct MaintenanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintenance",
        abstract: "Housekeeping: remove expired Idempotency-Keys, and scans' reports older than the artifact retention.",
        discussion: """
            Every run removes the Idempotency-Keys of scan submissions older than 24 hours (which no longer answer anything). \
            With --artifact-retention-days N, every tenant's artifacts (reports, SBOMs) made more than N days ago are removed \
            from the artifact store, and their rows with them; each such scan gets a scan.artifacts_expired audit event, and \
            its downloads answer 410 artifact_expired. Safe to run again after a failure: what was not removed is tried again.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @OptionGroup var artifacts: ArtifactOptions

    @Option(name: .customLong("artifact-retention-days"), help: "Remove artifacts made more than this many days ago.")
    var artifactRetentionDays: Int?

    func validate() throws {
        if let days = artifactRetentionDays, days < 1 { throw ValidationError("--artifact-retention-days must be at least 1") }
    }

    func run() async throws {
        let days = artifactRetentionDays
        let artifactStore = try days.map { _ in try artifacts.makeStore(dataDirectory: DataDirectory.resolve(database.dataDirectory)) }
        let logger = Logger(label: "vega")
        let (keys, retention) = try await AdminCommand.withStore(database) { store in
            let keys = try await store.removeExpiredIdempotencyKeys()
            guard let days, let artifactStore else { return (keys, nil as RetentionSummary?) }
            return (keys, try await Self.expireArtifacts(olderThan: days, store: store, artifacts: artifactStore, logger: logger))
        }
        print("idempotency keys older than 24 hours: removed \(keys)")
        guard let days, let artifactStore, let summary = retention else { return }
        print("artifact retention (\(days) days, \(artifactStore)): removed \(summary.artifacts) artifacts of \(summary.scans) scans")
        if let failure = summary.failure { throw MaintenanceFailure(description: failure) }
    }

    /// Some artifacts stayed (exit 2); they are tried again on the next run.
    struct MaintenanceFailure: Error, CustomStringConvertible {
        let description: String
    }

    struct RetentionSummary: Sendable {
        var artifacts = 0
        var scanIDs: Set<String> = []
        var scans: Int { scanIDs.count }
        /// The first error, when some artifacts could not be removed; they stay recorded.
        var failure: String?
    }

    /// Removes every tenant's artifacts made before `now - days`, a batch at a time: the
    /// files first, then (in one transaction per batch) the rows of those removed and the
    /// scans' audit events. A file the store cannot remove keeps its row and stops that
    /// tenant's run, so a store that is down is not asked a thousand times.
    static func expireArtifacts(
        olderThan days: Int, store: Store, artifacts: any ArtifactStore, now: Date = Date(), batch: Int = 500, logger: Logger
    ) async throws -> RetentionSummary {
        let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
        var summary = RetentionSummary()
        for tenant in try await store.tenants() {
            while true {
                let expired = try await store.artifacts(createdBefore: cutoff, limit: batch, in: tenant.scope)
                var removed: [Artifact] = []
                var failed = false
                for artifact in expired {
                    do {
                        try await artifacts.delete(artifact.key)
                        removed.append(artifact)
                    } catch {
                        logger.error("cannot remove an expired artifact", metadata: [
                            "tenant_id": "\(tenant.scope.tenantID)", "artifact_id": "\(artifact.id)", "error": "\(error)",
                        ])
                        summary.failure = summary.failure ?? "some artifacts could not be removed (tried again next run): \(error)"
                        failed = true
                        break
                    }
                }
                try await store.removeExpiredArtifacts(removed, retentionDays: days, in: tenant.scope, now: now)
                summary.artifacts += removed.count
                summary.scanIDs.formUnion(removed.map(\.scanID))
                if failed || expired.count < batch { break }
            }
        }
        return summary
    }
}
