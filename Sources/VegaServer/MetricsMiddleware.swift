import Foundation
import Hummingbird
import Prometheus
import VegaLifecycle
import VegaModel
import VegaStore

/// The application's metrics, in Prometheus' text format at `/metrics`: one registry per
/// application (not the process-wide swift-metrics factory), so applications in one
/// process — tests — never see each other's numbers.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let store: Store
    /// When set, `/metrics` wants `Authorization: Bearer <token>`: it shows every tenant's counts.
    let token: OperatorToken?

    /// 5 ms to 10 s: API calls are milliseconds, report downloads and large lists longer.
    static let buckets: [Duration] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000].map { .milliseconds($0) }

    init(store: Store, token: OperatorToken?) {
        self.store = store
        self.token = token
    }

    /// One request's time, by method, matched route pattern (never the raw path, whose ids
    /// would make a series per resource) and status.
    func observe(method: HTTPRequest.Method, route: String, status: HTTPResponse.Status, duration: Duration) {
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "vega", metricName: "http_request_duration", unitName: "seconds",
                helpText: "Time to answer an HTTP request, by method, route pattern and status."
            ),
            labels: [("method", method.rawValue), ("route", route), ("status", String(status.code))],
            buckets: Self.buckets
        ).record(duration)
    }

    /// Reads the counts from the database (every state and severity is written, zeros
    /// included, so a series that empties drops to 0 instead of keeping its last value) and
    /// renders the registry.
    func exposition() async throws -> String {
        let counts = try await store.systemCounts()
        let scans = MetricNameDescriptor(namespace: "vega", metricName: "scans", unitName: "", helpText: "Scans by state, all tenants.")
        for state in Set(ScanRecord.State.allCases.map(\.rawValue)).union(counts.scans.keys) {
            registry.makeGauge(descriptor: scans, labels: [("state", state)]).set(Double(counts.scans[state] ?? 0))
        }
        let findings = MetricNameDescriptor(
            namespace: "vega", metricName: "findings", unitName: "", helpText: "Tracked findings by severity and state, all tenants."
        )
        for severity in Severity.allCases {
            for state in FindingState.allCases {
                let count = counts.findings[.init(severity: severity, state: state)] ?? 0
                registry.makeGauge(descriptor: findings, labels: [("severity", severity.rawValue), ("state", state.rawValue)])
                    .set(Double(count))
            }
        }
        return registry.emitToString()
    }

    /// `GET /metrics`: outside /v1's API-key auth; behind the operator's token when one is set.
    @Sendable func respond(_ request: Request, context: VegaRequestContext) async throws -> Response {
        if let token {
            guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
                  token.matches(String(header.dropFirst("Bearer ".count)))
            else { throw APIError(.unauthorized, "unauthenticated", "send the metrics token as `Authorization: Bearer …`") }
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: try await exposition())))
    }
}

/// Times every request for `vega_http_request_duration_seconds`. Sits outside
/// `ProblemMiddleware`, so an error is counted with the status its problem+json answer has.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        metrics.observe(
            method: request.method, route: context.endpointPath.map(RouteLabel.pattern) ?? RouteLabel.unmatched,
            status: response.status, duration: ContinuousClock.now - started
        )
        return response
    }
}

/// The route a request matched, as the OpenAPI document writes it (`/v1/scans/{id}`).
enum RouteLabel {
    /// No route matched (a 404): one label for every such path.
    static let unmatched = "unmatched"

    /// Hummingbird's `/v1/scans/:id` as `/v1/scans/{id}`; its "NotFound" as `unmatched`.
    static func pattern(_ endpointPath: String) -> String {
        guard endpointPath.hasPrefix("/") else { return unmatched }
        return endpointPath.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
        }.joined(separator: "/")
    }
}
