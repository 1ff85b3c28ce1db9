import Foundation
import Logging
import VegaArtifacts
import VegaStore

/// `GET /readyz`: whether this instance can do its work — the database answers and the
/// artifact store takes a file (the folder's probe file; for S3, a HEAD of the bucket with
/// these credentials). A failure names the part, never a path, a bucket or a key; the log
/// line says what the store answered.
struct Readiness {
    let store: Store
    let artifacts: any ArtifactStore
    let logger: Logger

    func check() async throws {
        do {
            _ = try await Migrator.version(of: store.database)
        } catch {
            throw APIError(.serviceUnavailable, "not_ready", "the database is not reachable")
        }
        do {
            try await artifacts.checkReady()
        } catch {
            logger.warning("the artifact store is not ready", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "not_ready", "the artifact store is not writable or not reachable")
        }
    }
}
