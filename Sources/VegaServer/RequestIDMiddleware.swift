import Foundation
import Hummingbird
import Logging
import Synchronization
import VegaModel

/// Gives every request an id — the caller's `X-Request-Id` when it is short and plain,
/// else a new one — puts it in the request's logger (`request_id`) and echoes it in the
/// response, and writes the request's one log line when the response is ready. Outermost,
/// so problem+json answers carry the id too.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPFields.Element.Name { HTTPFields.Element.Name("X-Request-Id")! }

    /// Probes and scrapes that succeed are logged at debug, so they do not drown the rest.
    static var quietRoutes: Set<String> { ["/healthz", "/readyz", "/metrics"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = request.headers[Self.header].flatMap(Self.accepted) ?? UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        var context = context
        context.logger[metadataKey: "request_id"] = .string(id)
        let started = ContinuousClock.now
        let record = RequestLogRecord()
        var response = try await RequestLogRecord.$current.withValue(record) { try await next(request, context) }
        response.headers[Self.header] = id

        let route = context.endpointPath.map(RouteLabel.pattern) ?? RouteLabel.unmatched
        let status = Int(response.status.code)
        let logger = record.logger ?? context.logger
        logger.log(level: Self.quietRoutes.contains(route) && status < 400 ? .debug : .info, "request", metadata: [
            "method": .string(request.method.rawValue), "path": .string(request.uri.path), "route": .string(route),
            "status": .stringConvertible(status), "duration_ms": .string(String(format: "%.3f", (ContinuousClock.now - started).seconds * 1_000)),
        ])
        return response
    }

    /// An incoming id is kept only when it cannot smuggle anything into logs or headers.
    static func accepted(_ value: String) -> String? {
        let plain = value.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
        return plain && (1...64).contains(value.utf8.count) ? value : nil
    }
}

/// What the layers inside learnt of a request that its log line, written outside, should
/// say: a context only travels inwards, so `LogContextMiddleware` hands its logger (with
/// `tenant_id`, once `AuthMiddleware` has set it) back through this.
final class RequestLogRecord: Sendable {
    @TaskLocal static var current: RequestLogRecord?

    private let inner = Mutex<Logger?>(nil)

    var logger: Logger? {
        get { inner.withLock { $0 } }
        set { inner.withLock { $0 = newValue } }
    }
}

/// Placed after authentication: the request's log line then carries the tenant.
struct LogContextMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        RequestLogRecord.current?.logger = context.logger
        return try await next(request, context)
    }
}
