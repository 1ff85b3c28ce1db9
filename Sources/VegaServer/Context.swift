import Foundation
import Hummingbird
import VegaModel
import VegaStore

/// Per-request state: who is calling, once `AuthMiddleware` has said.
public struct VegaRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// API bodies are small JSON documents; anything bigger is refused before it is read.
    public var maxUploadSize: Int { 1 << 20 }

    /// The caller, who must hold at least `role`.
    func require(_ role: Role) throws -> Principal {
        guard let principal else { throw APIError.unauthorized() }
        guard principal.role >= role else { throw APIError.forbidden(role.rawValue) }
        return principal
    }

    var scope: TenantScope {
        get throws { TenantScope(tenantID: try require(.viewer).tenantID) }
    }
}

/// Resolves `Authorization: Bearer vega_…` to a principal, or answers 401.
struct AuthMiddleware: RouterMiddleware {
    let store: Store

    func handle(
        _ request: Request, context: VegaRequestContext, next: (Request, VegaRequestContext) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
              let principal = try await store.authenticate(token: String(header.dropFirst("Bearer ".count)))
        else { throw APIError.unauthorized() }
        var context = context
        context.principal = principal
        context.logger[metadataKey: "tenant_id"] = .string(principal.tenantID)
        return try await next(request, context)
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
