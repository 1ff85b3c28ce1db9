import Foundation
import Hummingbird
import VegaArtifacts
import VegaStore
import VegaWorkspace

/// Archive upload: a tar, tar.gz or zip of a repository's files, scanned like a clone.
extension APIRoutes {
    /// Types an archive may be declared as. Whatever is declared, the format is told by the
    /// body's first bytes (as `vega scan` does), so `application/octet-stream` or no type at
    /// all is fine too.
    static let archiveMediaTypes: Set<String> = [
        "application/x-tar", "application/gzip", "application/x-gzip", "application/zip", "application/x-zip-compressed",
        "application/octet-stream",
    ]
    /// The ref an archive scan's findings are tracked under when the caller names none.
    static let archiveRef = "archive"

    /// `POST /v1/repositories/{repository}/scans/archive?engines=…&ref=…`. The body is written
    /// to a temporary file as it arrives (at most `maxUploadBytes`, else 413), extracted once
    /// into a temporary folder with `ArchiveExtractor`'s limits — so a zip bomb, a `../`
    /// entry or a link leading out is refused at once with 422, naming the entry and the
    /// rule — then kept in the artifact store and queued; a worker scans it instead of
    /// cloning the repository. Findings are tracked on the repository under `ref`
    /// (default `archive`). Quotas apply as to any submission.
    @Sendable func uploadArchive(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.member, .scans)
        let scope = TenantScope(tenantID: principal.tenantID)
        let repositoryID = try context.parameters.require("repository")
        let query = request.uri.queryParameters
        let engines = try query["engines"].map { try Self.checkedEngines($0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)) }
        let ref = try Self.checkedScanRef(query["ref"].map(String.init) ?? Self.archiveRef)
        if let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased(),
           !Self.archiveMediaTypes.contains(type) {
            throw Self.notAnArchive
        }
        // Before reading up to the limit: a repository the caller cannot see is 404 at once.
        guard try await store.repository(id: repositoryID, in: scope) != nil else { throw APIError.notFound("repository \(repositoryID)") }
        if let declared = request.headers[.contentLength].flatMap({ Int64($0) }), declared > maxUploadBytes { throw uploadTooLarge }

        let upload = try UploadFolder()
        defer { upload.remove() }
        try await upload.receive(request.body, limit: maxUploadBytes, tooLarge: uploadTooLarge)
        guard let format = try ArchiveFormat.detect(path: upload.archive) else { throw Self.notAnArchive }
        do {
            try await upload.check()
        } catch let refusal as ArchiveError {
            throw Self.problem(for: refusal)
        }

        // The archive must be stored before the transaction that queues the scan makes the
        // scan's id: the key names the upload instead (`<tenant>/upl_…/source.tar.gz`).
        let kind = "source.\(format.rawValue)"
        let key = try ArtifactKey.make(tenant: scope.tenantID, scan: Self.uploadID(), kind: kind)
        let contents = try Data(contentsOf: URL(fileURLWithPath: upload.archive), options: .alwaysMapped)
        do {
            try await artifacts.put(key, data: contents, contentType: Self.contentType(of: format))
        } catch {
            // The store's error names the bucket and what it answered: the operator's to read, not the caller's.
            context.logger.error("cannot store an uploaded archive", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "artifact_store_unavailable", "the artifact store cannot take the archive now; try again later")
        }
        let scan: ScanRecord
        do {
            scan = try await store.submitArchiveScan(
                repositoryID: repositoryID, ref: ref, engines: engines ?? [], archive: key, by: principal, quota: scanQuota
            )
        } catch {
            try? await artifacts.delete(key)
            if let refusal = error as? Store.QuotaExceeded { return Self.quotaExceeded(refusal, context: context) }
            throw error
        }
        do {
            // Recorded as the scan's artifact, so retention (`vega maintenance`) removes it with its reports.
            _ = try await store.recordArtifact(scanID: scan.id, kind: kind, location: key, contents: contents, in: scope)
        } catch {
            // The scan is queued and will run: answering an error would only make the caller upload it twice.
            context.logger.error("cannot record an uploaded archive", metadata: ["scan_id": "\(scan.id)", "error": "\(error)"])
        }
        return try JSONBody.response(scan, status: .accepted)
    }

    static let notAnArchive = APIError(.unsupportedMediaType, "unsupported_media_type", "send a tar, tar.gz or zip archive")

    var uploadTooLarge: APIError {
        APIError(.contentTooLarge, "body_too_large", "an archive may be at most \(maxUploadBytes) bytes (vega serve --max-upload-bytes)")
    }

    /// 422 `unsafe_archive` for what could escape the extraction folder or exhaust the disk,
    /// `invalid_archive` for a corrupt or truncated one; the detail names the entry and the rule.
    static func problem(for refusal: ArchiveError) -> APIError {
        switch refusal.rule {
        case .unsupported: notAnArchive
        case .corrupt: APIError(.unprocessableContent, "invalid_archive", refusal.description)
        case .io: APIError(.internalServerError, "internal_error", "the archive could not be checked")
        default: APIError(.unprocessableContent, "unsafe_archive", refusal.description)
        }
    }

    static func contentType(of format: ArchiveFormat) -> String {
        switch format {
        case .tar: "application/x-tar"
        case .tarGzip: "application/gzip"
        case .zip: "application/zip"
        }
    }

    static func uploadID() -> String {
        "upl_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }
}

/// A private temporary folder for one upload: the archive as received, and the tree it was
/// extracted into to check it. Removed when the request ends, whatever happened.
struct UploadFolder: Sendable {
    let root: URL
    var archive: String { root.appendingPathComponent("upload").path }
    var tree: String { root.appendingPathComponent("tree").path }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("vega-upload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: root.appendingPathComponent("tree").path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    func remove() {
        try? FileManager.default.removeItem(at: root)
    }

    /// Writes the body to `archive` as it arrives, a MiB at a time off the cooperative pool;
    /// throws `tooLarge` as soon as it passes `limit` bytes.
    func receive(_ body: RequestBody, limit: Int64, tooLarge: APIError) async throws {
        FileManager.default.createFile(atPath: archive, contents: nil, attributes: [.posixPermissions: 0o600])
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: archive))
        defer { try? file.close() }
        var received: Int64 = 0
        var pending = ByteBuffer()
        for try await chunk in body {
            received += Int64(chunk.readableBytes)
            guard received <= limit else { throw tooLarge }
            pending.writeImmutableBuffer(chunk)
            if pending.readableBytes >= 1 << 20 {
                try await Self.write(pending, to: file)
                pending.clear()
            }
        }
        try await Self.write(pending, to: file)
    }

    private static func write(_ buffer: ByteBuffer, to file: FileHandle) async throws {
        guard buffer.readableBytes > 0 else { return }
        try await BlockingWork.run { try file.write(contentsOf: buffer.readableBytesView) }
    }

    /// Extracts the archive into `tree` with the default limits, as the scan will, and
    /// throws its `ArchiveError` when it breaks one.
    func check() async throws {
        let archive = archive, tree = tree
        _ = try await BlockingWork.cancellable { flag in
            try ArchiveExtractor().extract(archive, into: tree, cancellation: flag)
        }
    }
}
