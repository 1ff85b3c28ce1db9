import Foundation
import Hummingbird
import VegaModel
import VegaReports
import VegaStore

/// Results upload: another tool's SARIF file becomes a finished scan of a repository.
extension APIRoutes {
    static let sarifMediaTypes: Set<String> = ["application/sarif+json", "application/json"]
    /// How many skipped results a response lists (the count covers all of them).
    static let skippedShown = 100

    struct UploadedScan: Encodable {
        var scan: ScanRecord
        var commit: String?
        /// The engines the file named ("sarif:" + tool), and those whose runs completed:
        /// only the latter's findings absent from the file were fixed.
        var engines: [String]
        var completeEngines: [String]
        var findings: Int
        var new: Int
        var fixed: Int
        var reopened: Int
        var skippedResults: Int
        var skipped: [SARIFImport.Skipped]
    }

    /// `POST /v1/repositories/{repository}/results?ref=…&commit=…`, the body a SARIF 2.1.0
    /// file. Its own body limit (32 MiB) replaces the 1 MiB of JSON requests: the context's
    /// `maxUploadSize` only applies where a body is decoded through it, which this route
    /// does not do.
    @Sendable func uploadResults(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.member, .scans)
        let scope = TenantScope(tenantID: principal.tenantID)
        let repository = try context.parameters.require("repository")
        let query = request.uri.queryParameters
        let ref = try query["ref"].map { try Self.checkedRef(String($0)) }
        let commit = try query["commit"].map { try Self.checkedCommit(String($0)) }
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard let mediaType, Self.sarifMediaTypes.contains(mediaType) else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "send the SARIF file as application/sarif+json or application/json")
        }
        // Before reading up to 32 MiB: a repository the caller cannot see is 404 at once.
        guard try await store.repository(id: repository, in: scope) != nil else { throw APIError.notFound("repository \(repository)") }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: SARIFImport.maxBytes)
        } catch {
            throw APIError(.contentTooLarge, "body_too_large", "a SARIF file may be at most \(SARIFImport.maxBytes >> 20) MiB")
        }
        let log = try SARIFImport.read(Data(body.readableBytesView))
        let outcome = try await store.recordUploadedResults(UploadedResults(
            ref: ref, commit: commit, engines: log.engines, completeEngines: log.completeEngines, findings: log.findings,
            skipped: log.skipped.count
        ), repositoryID: repository, by: principal)
        return try JSONBody.response(UploadedScan(
            scan: outcome.scan, commit: commit, engines: log.engines, completeEngines: log.completeEngines.sorted(),
            findings: log.findings.count, new: outcome.new, fixed: outcome.fixed, reopened: outcome.reopened,
            skippedResults: log.skipped.count, skipped: Array(log.skipped.prefix(Self.skippedShown))
        ), status: .created)
    }

    /// A branch name as git allows it, roughly: no spaces, control characters or leading '-'.
    static func checkedRef(_ ref: String) throws -> String {
        guard (1...255).contains(ref.count), !ref.hasPrefix("-"),
              !ref.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) else {
            throw APIError(.badRequest, "invalid_ref", "ref must be a branch name: 1 to 255 characters, no spaces, not starting with '-'")
        }
        return ref
    }

    /// A commit id: 7 to 64 hexadecimal digits (SHA-1 or SHA-256, possibly abbreviated).
    static func checkedCommit(_ commit: String) throws -> String {
        guard (7...64).contains(commit.count), commit.allSatisfy(\.isHexDigit) else {
            throw APIError(.badRequest, "invalid_commit", "commit must be 7 to 64 hexadecimal digits")
        }
        return commit.lowercased()
    }
}
