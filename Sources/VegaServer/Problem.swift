import Foundation
import Hummingbird
import VegaLifecycle
import VegaModel
import VegaReports
import VegaStore

/// An API error with a stable code, written as RFC 9457 problem+json.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    /// Stable, machine-readable: clients branch on it, never on `detail`.
    public var code: String
    public var detail: String

    public init(_ status: HTTPResponse.Status, _ code: String, _ detail: String) {
        self.status = status
        self.code = code
        self.detail = detail
    }

    static func unauthorized() -> APIError {
        APIError(.unauthorized, "unauthenticated", "sign in, or send a valid API key as `Authorization: Bearer vega_…`")
    }

    static func forbidden(_ needed: String) -> APIError {
        APIError(.forbidden, "forbidden", "this needs the \(needed) role or higher")
    }

    static func insufficientScope(_ needed: Scope) -> APIError {
        APIError(.forbidden, "insufficient_scope", "this API key lacks the \(needed.rawValue) scope")
    }

    static func notFound(_ what: String) -> APIError { APIError(.notFound, "not_found", "\(what) not found") }
}

/// The one place errors become HTTP: every error a handler throws leaves as problem+json,
/// and an unexpected one is logged in full but answered without internals.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let problem = Self.problem(for: error)
            if problem.status.code >= 500 {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            }
            // The id the response header carries too, for a user to quote when reporting it.
            return Self.response(problem, requestID: context.logger[metadataKey: "request_id"].map { "\($0)" })
        }
    }

    static func problem(for error: any Error) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as Store.NotFound: return APIError(.notFound, "not_found", error.description)
        case let error as TriageError: return APIError(.unprocessableContent, "invalid_state_change", error.description)
        case let error as SARIFImportError:
            return switch error.code {
            case .notJSON: APIError(.badRequest, "invalid_body", error.description)
            case .tooLarge: APIError(.contentTooLarge, "body_too_large", error.description)
            case .tooManyResults: APIError(.unprocessableContent, "too_many_results", error.description)
            default: APIError(.unprocessableContent, "invalid_sarif", error.description)
            }
        case let error as Store.InvalidCursor: return APIError(.badRequest, "invalid_cursor", error.description)
        case let error as Store.AlreadyExists: return APIError(.conflict, "already_exists", error.description)
        case let error as Store.ScanNotCancellable: return APIError(.conflict, "not_cancellable", error.description)
        case let error as Store.ScanNotRetryable: return APIError(.conflict, "not_retryable", error.description)
        case let error as Store.InvalidCredentials: return APIError(.unauthorized, "invalid_credentials", error.description)
        case let error as Store.RoleNotAllowed: return APIError(.forbidden, "forbidden", error.description)
        case let error as Store.ScopeNotAllowed: return APIError(.forbidden, "insufficient_scope", error.description)
        case let error as Store.LastOwner: return APIError(.conflict, "last_owner", error.description)
        case let error as Store.InvalidPassword: return APIError(.unprocessableContent, "invalid_password", error.description)
        case let error as HTTPError:
            // Hummingbird's own: no route, body too large, unreadable body, …
            let code = switch error.status {
            case .notFound: "not_found"
            case .contentTooLarge: "body_too_large"
            case .methodNotAllowed: "method_not_allowed"
            default: error.status.code < 500 ? "bad_request" : "internal_error"
            }
            return APIError(error.status, code, error.body ?? error.status.reasonPhrase)
        case is DecodingError: return APIError(.badRequest, "invalid_body", "the body is not valid JSON of the expected shape")
        default: return APIError(.internalServerError, "internal_error", "the server failed to handle this request")
        }
    }

    static func response(_ problem: APIError, requestID: String? = nil) -> Response {
        var body: [String: Any] = [
            "type": "https://vega.dev/problems/\(problem.code)", "title": problem.status.reasonPhrase,
            "status": problem.status.code, "code": problem.code, "detail": problem.detail,
        ]
        if let requestID { body["request_id"] = requestID }
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        if problem.status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: problem.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
