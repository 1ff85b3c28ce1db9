import Foundation
import VegaArtifacts
import VegaStore
import VegaWorkspace

/// What a claimed scan reads: its repository, cloned at the scan's ref, or — for a scan of
/// an uploaded archive (`POST /v1/repositories/{id}/scans/archive`) — that archive, fetched
/// from the artifact store into the scan's workspace. The API checked the archive before
/// queueing it; the scan extracts it again, with the same limits, as any archive.
public enum ScanSource: Sendable, Hashable {
    case repository(url: String, ref: String)
    /// The downloaded archive's path.
    case archive(path: String)

    /// The scan's source: for an archive scan, the archive downloaded into `directory` (which
    /// must exist; the file is named as the key's last part, `source.tar.gz`); otherwise the
    /// repository's URL, for the caller to clone. An archive no longer in the store (retention,
    /// a changed `--artifacts`) throws `ArchiveMissing`, which fails the scan for good: no
    /// retry can bring it back.
    public static func fetch(_ claimed: ClaimedScan, from artifacts: any ArtifactStore, into directory: String) async throws -> ScanSource {
        guard let key = claimed.sourceArchive else { return .repository(url: claimed.repositoryURL, ref: claimed.ref) }
        guard let contents = try await artifacts.get(key) else { throw ArchiveMissing(name: (key as NSString).lastPathComponent) }
        let path = (directory as NSString).appendingPathComponent((key as NSString).lastPathComponent)
        try await BlockingWork.run { try contents.write(to: URL(fileURLWithPath: path)) }
        return .archive(path: path)
    }

    /// The uploaded archive a scan was queued with is gone from the artifact store.
    public struct ArchiveMissing: Error, CustomStringConvertible, Sendable {
        public var name: String
        public var description: String {
            "the uploaded archive (\(name)) is no longer in the artifact store (removed by retention, or the store changed); upload it again"
        }
    }
}
