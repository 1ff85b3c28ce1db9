import Foundation
import Hummingbird
import VegaStore

/// What bounds a tenant's submissions: its quotas (`GET /v1/quotas`, 429 `quota_exceeded`),
/// the answer to a duplicate submission, and the Idempotency-Key header.
extension APIRoutes {
    static let idempotencyKeyHeader = HTTPFields.Element.Name("Idempotency-Key")!
    /// On a 200 answer to `POST /v1/scans`: the same scan was already queued or running, and this is it.
    static let duplicateOfHeader = HTTPFields.Element.Name("Vega-Duplicate-Of")!
    /// On a 200 answer to `POST /v1/scans`: "true", the Idempotency-Key's first answer, replayed.
    static let replayedHeader = HTTPFields.Element.Name("Idempotent-Replayed")!

    struct QuotaItem: Encodable {
        /// nil: unlimited.
        var limit: Int?
        var used: Int
        /// "tenant" when the operator set this tenant's limit, else "default" (the server's).
        var source: String
        /// The daily quota's UTC day, and when the next begins.
        var day: CalendarDay?
        var resetsAt: Date?

        init(_ entry: QuotaStatus.Entry, day: CalendarDay? = nil, resetsAt: Date? = nil) {
            limit = entry.limit > 0 ? entry.limit : nil
            used = entry.used
            source = entry.overridden ? "tenant" : "default"
            self.day = day
            self.resetsAt = resetsAt
        }

        enum CodingKeys: CodingKey {
            case limit, used, source, day, resetsAt
        }

        /// `limit` is written even when unlimited, as null.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(limit, forKey: .limit)
            try container.encode(used, forKey: .used)
            try container.encode(source, forKey: .source)
            try container.encodeIfPresent(day, forKey: .day)
            try container.encodeIfPresent(resetsAt, forKey: .resetsAt)
        }
    }

    struct Quotas: Encodable {
        var activeScans: QuotaItem
        var scansPerDay: QuotaItem
    }

    /// The tenant's limits on scans and what it uses of them now.
    @Sendable func quotas(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let status = try await store.quotaStatus(defaults: scanQuota, in: try context.scope)
        return try JSONBody.response(Quotas(
            activeScans: QuotaItem(status.activeScans),
            scansPerDay: QuotaItem(status.scansPerDay, day: status.day, resetsAt: status.resetsAt)
        ))
    }

    /// The request's Idempotency-Key: nil when absent; 400 `invalid_idempotency_key` unless
    /// it is one header of 1 to 255 printable ASCII characters (space to `~`).
    static func idempotencyKey(of request: Request) throws -> String? {
        let values = request.headers[values: idempotencyKeyHeader]
        guard let key = values.first else { return nil }
        guard values.count == 1, (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
            throw APIError(.badRequest, "invalid_idempotency_key", "Idempotency-Key must be one header of 1 to 255 printable ASCII characters")
        }
        return key
    }

    /// A submission's answer: 202 for a new scan; 200 with `Vega-Duplicate-Of` for the scan
    /// already queued or running, or with `Idempotent-Replayed: true` for a key's first scan.
    static func response(_ submitted: SubmittedScan) throws -> Response {
        var response = try JSONBody.response(submitted.scan, status: submitted.outcome == .created ? .accepted : .ok)
        switch submitted.outcome {
        case .created: break
        case .duplicate: response.headers[duplicateOfHeader] = submitted.scan.id
        case .replayed: response.headers[replayedHeader] = "true"
        }
        return response
    }

    /// 429 `quota_exceeded` with `Retry-After`: the problem+json every error gets
    /// (`ProblemMiddleware`), plus RFC 9457 extension members for clients to act on —
    /// `quota` (`active_scans` or `scans_per_day`), its `limit`, the `used` count and
    /// `retry_after` (seconds, as the header).
    static func quotaExceeded(_ refusal: Store.QuotaExceeded, context: VegaRequestContext) -> Response {
        let status = HTTPResponse.Status.tooManyRequests
        var body: [String: Any] = [
            "type": "https://vega.dev/problems/quota_exceeded", "title": status.reasonPhrase, "status": status.code,
            "code": "quota_exceeded", "detail": refusal.description, "quota": refusal.quota.rawValue, "limit": refusal.limit,
            "used": refusal.used, "retry_after": refusal.retryAfterSeconds,
        ]
        if let requestID = context.logger[metadataKey: "request_id"] { body["request_id"] = "\(requestID)" }
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        headers[.retryAfter] = String(refusal.retryAfterSeconds)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
