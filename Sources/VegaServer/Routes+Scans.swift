import Foundation
import Hummingbird
import VegaStore
import VegaWorkspace

/// Scans: submit for a ref, list, read, cancel, download the reports.
extension APIRoutes {
    struct NewScan: Codable {
        var repositoryId: String
        var ref: String?
        var engines: [String]?

        enum CodingKeys: String, CodingKey {
            case repositoryId = "repository_id", ref, engines
        }
    }

    /// Queues a scan of a repository's ref (default: its default branch); a worker runs it.
    /// The same scan already queued or running, or an Idempotency-Key's first scan, is
    /// answered instead (Routes+Quotas.swift); a quota refuses with 429.
    @Sendable func submitScan(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.member, .scans)
        let key = try Self.idempotencyKey(of: request)
        let input = try await JSONBody.decode(NewScan.self, allowing: ["repository_id", "ref", "engines"], from: request, context: context)
        if let engines = input.engines { _ = try Self.checkedEngines(engines) }
        let ref = try input.ref.map(Self.checkedScanRef)
        let scope = TenantScope(tenantID: principal.tenantID)
        guard let repository = try await store.repository(id: input.repositoryId, in: scope) else {
            throw APIError.notFound("repository \(input.repositoryId)")
        }
        // What the request asks, the same however it was written: a retry with the same key must match it.
        let asked = NewScan(repositoryId: input.repositoryId, ref: ref, engines: input.engines.map { Set($0).sorted() })
        let submission = ScanSubmission(
            repositoryID: repository.id, ref: ref ?? repository.defaultBranch, engines: input.engines ?? [],
            idempotency: try key.map { IdempotencyKey(key: $0, request: String(decoding: try JSONBody.encoder.encode(asked), as: UTF8.self)) }
        )
        do {
            return try Self.response(try await store.submitScan(submission, by: principal, quota: scanQuota))
        } catch let refusal as Store.QuotaExceeded {
            return Self.quotaExceeded(refusal, context: context)
        } catch let reuse as Store.IdempotencyKeyReused {
            throw APIError(.unprocessableContent, "idempotency_key_reused", reuse.description)
        }
    }

    struct ScanPage: Encodable {
        var items: [ScanRecord]
        var nextCursor: String?
    }

    /// The tenant's scans, newest first, a page at a time.
    @Sendable func listScans(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let filter = ScanFilter(
            repositoryID: query["repository_id"].map(String.init), states: try Self.values("state", ScanRecord.State.self, in: query),
            ref: query["ref"].map(String.init)
        )
        let page = try await store.scans(
            matching: filter, after: query["cursor"].map(String.init), limit: try Self.pageLimit(in: query), in: try context.scope
        )
        return try JSONBody.response(ScanPage(items: page.items, nextCursor: page.nextCursor))
    }

    @Sendable func getScan(_ request: Request, context: VegaRequestContext) async throws -> Response {
        guard let scan = try await store.scan(id: try context.parameters.require("id"), in: try context.scope) else {
            throw APIError.notFound("scan")
        }
        return try JSONBody.response(scan)
    }

    @Sendable func cancelScan(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.member, .scans)
        return try JSONBody.response(try await store.cancelScan(id: try context.parameters.require("id"), by: principal))
    }

    /// Re-drives a dead or failed scan: back to the queue, attempts reset (409 `not_retryable` otherwise).
    @Sendable func retryScan(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.member, .scans)
        return try JSONBody.response(try await store.retryScan(id: try context.parameters.require("id"), by: principal))
    }

    @Sendable func downloadSARIF(_ request: Request, context: VegaRequestContext) async throws -> Response {
        try await download("report.sarif", contentType: "application/sarif+json", request: request, context: context)
    }

    @Sendable func downloadJSON(_ request: Request, context: VegaRequestContext) async throws -> Response {
        try await download("report.json", contentType: "application/json", request: request, context: context)
    }

    /// A finished scan's report, read from the artifact store. 410 `artifact_expired` once
    /// retention (`vega maintenance`) removed it.
    func download(_ kind: String, contentType: String, request: Request, context: VegaRequestContext) async throws -> Response {
        let scope = try context.scope
        let id = try context.parameters.require("id")
        guard try await store.scan(id: id, in: scope) != nil else { throw APIError.notFound("scan") }
        guard let artifact = try await store.artifacts(scanID: id, in: scope).first(where: { $0.kind == kind }) else {
            if try await store.artifactsExpired(scanID: id, in: scope) {
                throw APIError(.gone, "artifact_expired", "this scan's \(kind) was removed by the artifact retention")
            }
            throw APIError(.notFound, "no_report", "this scan has no \(kind) (it has not succeeded)")
        }
        let contents: Data?
        do {
            contents = try await artifacts.get(artifact.key)
        } catch {
            // The store's error names the bucket and what it answered: the operator's to read, not the caller's.
            context.logger.error("cannot read an artifact", metadata: ["artifact_id": "\(artifact.id)", "error": "\(error)"])
            throw APIError(.serviceUnavailable, "artifact_store_unavailable", "the artifact store cannot be read now; try again later")
        }
        guard let contents else {
            throw APIError(.gone, "artifact_missing", "the report's file is no longer in the artifact store")
        }
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: contents)))
    }

    /// Engines a submission asks for: a non-empty list of known ones, else 422 `invalid_engines`.
    static func checkedEngines(_ engines: [String]) throws -> [String] {
        let known = ["secrets", "deps"]
        guard !engines.isEmpty, engines.allSatisfy(known.contains) else {
            throw APIError(.unprocessableContent, "invalid_engines", "engines must be a non-empty list of: \(known.joined(separator: ", "))")
        }
        return engines
    }

    /// A scan's ref as git accepts it (`GitRef.validate`), else 422 `invalid_ref`.
    static func checkedScanRef(_ ref: String) throws -> String {
        do {
            return try GitRef.validate(ref)
        } catch {
            throw APIError(.unprocessableContent, "invalid_ref", "\(error); give a branch, a tag or a full 40-character commit id")
        }
    }

    // MARK: Query parameters every list shares

    /// A comma list of `T`'s values from the query; nil when absent, 400 `invalid_filter` for an unknown value.
    static func values<T: RawRepresentable<String>>(_ name: String, _ type: T.Type, in query: Parameters) throws -> [T]? {
        guard let raw = query[name[...]] else { return nil }
        return try raw.split(separator: ",").map { part in
            guard let value = T(rawValue: String(part)) else {
                throw APIError(.badRequest, "invalid_filter", "\(name) has an unknown value \(part)")
            }
            return value
        }
    }

    /// `limit` from the query: 1 to 1000, 100 when absent, 400 `invalid_limit` otherwise.
    static func pageLimit(in query: Parameters) throws -> Int {
        guard let raw = query["limit"] else { return 100 }
        guard let value = Int(raw), (1...1_000).contains(value) else {
            throw APIError(.badRequest, "invalid_limit", "limit must be a number from 1 to 1000")
        }
        return value
    }
}
