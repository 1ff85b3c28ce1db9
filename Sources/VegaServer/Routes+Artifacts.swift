import Foundation
import Hummingbird
import VegaStore

/// A scan's artifacts: the list, and any of them by kind — the reports, the SBOM, the
/// runner summary and the debug log a worker kept for each attempt.
extension APIRoutes {
    /// What may be downloaded, with its content type. An uploaded source archive is the
    /// caller's own file and can be large: it is listed, not served.
    static let downloadableArtifacts: [String: String] = [
        "report.json": "application/json",
        "report.sarif": "application/sarif+json",
        "sbom.cdx.json": "application/vnd.cyclonedx+json",
        "runner-summary.json": "application/json",
        "debug.log": "text/plain; charset=utf-8",
    ]

    struct ArtifactItem: Encodable {
        var kind: String
        var size: Int
        var sha256: String
        var createdAt: Date
        var downloadable: Bool
    }

    struct ArtifactList: Encodable {
        var items: [ArtifactItem]
    }

    @Sendable func listArtifacts(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let scope = try context.scope
        let id = try context.parameters.require("id")
        guard try await store.scan(id: id, in: scope) != nil else { throw APIError.notFound("scan") }
        let items = try await store.artifacts(scanID: id, in: scope).map {
            ArtifactItem(kind: $0.kind, size: $0.size, sha256: $0.sha256, createdAt: $0.createdAt,
                         downloadable: Self.downloadableArtifacts[$0.kind] != nil)
        }
        return try JSONBody.response(ArtifactList(items: items))
    }

    @Sendable func downloadArtifact(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let kind = try context.parameters.require("kind")
        guard let contentType = Self.downloadableArtifacts[kind] else {
            throw APIError(.notFound, "no_such_artifact", "no downloadable artifact is called \(kind)")
        }
        return try await download(kind, contentType: contentType, request: request, context: context)
    }
}
