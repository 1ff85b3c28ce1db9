import Foundation
import VegaStore
import VegaWorkspace

/// `GET /readyz`: whether this instance can do its work — the database answers and the
/// artifact store (the data folder's `artifacts`, where the worker keeps reports) takes a
/// file. A failure names the part, never a path.
struct Readiness {
    let store: Store
    let dataDirectory: String

    func check() async throws {
        do {
            _ = try await Migrator.version(of: store.database)
        } catch {
            throw APIError(.serviceUnavailable, "not_ready", "the database is not reachable")
        }
        let artifacts = URL(fileURLWithPath: dataDirectory).appendingPathComponent("artifacts")
        do {
            try await BlockingWork.run {
                // Written and removed, as the worker will: a folder that exists but is read-only is not ready.
                try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
                let probe = artifacts.appendingPathComponent(".ready-\(UUID().uuidString)")
                try Data("ok".utf8).write(to: probe)
                try FileManager.default.removeItem(at: probe)
            }
        } catch {
            throw APIError(.serviceUnavailable, "not_ready", "the artifact store is not writable")
        }
    }
}
