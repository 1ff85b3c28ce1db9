import Foundation
import Hummingbird
import VegaModel
import VegaStore

/// Per-request state: who is calling, once `AuthMiddleware` has said.
public struct VegaRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?
    /// The signed-in browser's session, when the cookie (not an API key) authenticated.
    public var session: Session?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// API bodies are small JSON documents; anything bigger is refused before it is read.
    public var maxUploadSize: Int { 1 << 20 }

    /// The caller, who must hold at least `role` and, when it is a scoped API key, `scope`.
    /// The one place both are checked. `scope` is nil only for routes about the caller
    /// itself (who am I, my session), which any key may call.
    func require(_ role: Role, _ scope: Scope?) throws -> Principal {
        guard let principal else { throw APIError.unauthorized() }
        guard principal.role >= role else { throw APIError.forbidden(role.rawValue) }
        if let scope, !principal.allows(scope) { throw APIError.insufficientScope(scope) }
        return principal
    }

    /// The caller's tenant, for reading it: every GET of tenant data goes through here.
    var scope: TenantScope {
        get throws { TenantScope(tenantID: try require(.viewer, .read).tenantID) }
    }
}

/// Resolves the caller — a machine's `Authorization: Bearer vega_…`, else a signed-in
/// browser's session cookie — to a principal, or answers 401. A browser sends its cookie
/// by itself, whoever made the page, so a cookie request that changes something must
/// also pass `CSRFCheck`; a bearer token is only ever sent on purpose and needs no check.
struct AuthMiddleware: RouterMiddleware {
    let store: Store

    func handle(
        _ request: Request, context: VegaRequestContext, next: (Request, VegaRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        let principal: Principal
        if let header = request.headers[.authorization] {
            guard header.hasPrefix("Bearer "), let key = try await store.authenticate(token: String(header.dropFirst("Bearer ".count)))
            else { throw APIError.unauthorized() }
            principal = key
        } else if let token = request.cookies[SessionCookie.name]?.value {
            guard let session = try await store.authenticate(sessionToken: token) else { throw APIError.unauthorized() }
            try CSRFCheck.verify(request, session: session)
            principal = session.principal
            context.session = session
        } else {
            throw APIError.unauthorized()
        }
        context.principal = principal
        context.logger[metadataKey: "tenant_id"] = .string(principal.tenantID)
        return try await next(request, context)
    }
}

/// Cross-site request forgery: another site's page can make the browser send a request
/// with Vega's cookie, but it cannot read the CSRF token (it came in a JSON response to
/// Vega's own page) and it cannot forge the Origin header.
enum CSRFCheck {
    static let header = HTTPFields.Element.Name("X-CSRF-Token")!

    /// For a cookie-authenticated request that may change something (any method but GET,
    /// HEAD, OPTIONS): the session's CSRF token in `X-CSRF-Token`, and an Origin header,
    /// when sent, naming the host the request was sent to.
    static func verify(_ request: Request, session: Session) throws {
        guard ![.get, .head, .options].contains(request.method) else { return }
        guard let sent = request.headers[header], session.acceptsCSRFToken(sent) else {
            throw APIError(.forbidden, "csrf_failed", "a change made with the session cookie needs the session's X-CSRF-Token header")
        }
        if let origin = request.headers[.origin], !isSameOrigin(origin, host: request.head.authority) {
            throw APIError(.forbidden, "csrf_failed", "the request's Origin is not this server")
        }
    }

    /// Whether `origin` (`scheme://host[:port]`, as browsers send it; `null` from sandboxed
    /// pages) names `host`, the request's Host header. Ports are compared with the scheme's
    /// default filled in, so `https://vega.example` matches `vega.example:443`.
    static func isSameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host, let sent = URLComponents(string: origin), let scheme = sent.scheme?.lowercased(),
              ["http", "https"].contains(scheme), let sentHost = sent.host?.lowercased(), sent.path.isEmpty,
              let target = URLComponents(string: "\(scheme)://\(host)"), let targetHost = target.host?.lowercased()
        else { return false }
        let defaultPort = scheme == "https" ? 443 : 80
        return sentHost == targetHost && (sent.port ?? defaultPort) == (target.port ?? defaultPort)
    }
}

/// JSON in and out, snake_case, with unknown members refused: a typo in a field name is
/// an error, not a silently ignored request.
enum JSONBody {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    static func decode<T: Decodable>(_ type: T.Type, allowing members: Set<String>, from request: Request, context: VegaRequestContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw APIError(.contentTooLarge, "body_too_large", "the body is larger than \(context.maxUploadSize / 1024) KiB")
        }
        let data = Data(buffer.readableBytesView)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw APIError(.badRequest, "invalid_body", "the body must be a JSON object")
        }
        let unknown = Set(object.keys).subtracting(members)
        guard unknown.isEmpty else {
            throw APIError(.badRequest, "unknown_field", "unknown field(s): \(unknown.sorted().joined(separator: ", "))")
        }
        do {
            return try decoder.decode(T.self, from: data)
        } catch {
            throw APIError(.badRequest, "invalid_body", "the body does not have the expected fields and types: \(Self.describe(error))")
        }
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// Which field was wrong, without echoing the value.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "unreadable" }
        let path: (DecodingError.Context) -> String = { $0.codingPath.map(\.stringValue).joined(separator: ".") }
        return switch error {
        case .keyNotFound(let key, _): "missing field \(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): "wrong type at \(path(context))"
        case .dataCorrupted(let context): "invalid value at \(path(context))"
        @unknown default: "unreadable"
        }
    }
}
