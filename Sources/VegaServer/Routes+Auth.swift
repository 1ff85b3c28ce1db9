import Foundation
import Hummingbird
import VegaModel
import VegaStore

/// The cookie a signed-in browser carries: the session's token, which only the browser and
/// (as a hash) the store know. HttpOnly keeps page scripts from reading it; SameSite=Strict
/// keeps other sites' pages from sending it.
enum SessionCookie {
    static let name = "vega_session"

    static func issued(_ token: String, secure: Bool) -> Cookie {
        Cookie(name: name, value: token, maxAge: Int(SessionLifetime.absolute), path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }

    /// Replaces the cookie with an empty one that expires at once.
    static func cleared(secure: Bool) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }
}

extension APIRoutes {
    /// Signing in: mounted where no credentials are needed.
    func registerSignIn(on router: RouterGroup<VegaRequestContext>) {
        router.post("auth/login", use: login)
    }

    func registerAuth(on router: RouterGroup<VegaRequestContext>) {
        router.post("auth/logout", use: logout)
        router.get("auth/session", use: session)
    }

    struct LoginInput: Decodable {
        var tenant: String?
        var email: String
        var password: String
    }

    struct SignedIn: Encodable {
        var user: User
        var tenantId: String
        /// Send it back as `X-CSRF-Token` with every change made through the cookie.
        var csrfToken: String
        var expiresAt: Date
    }

    @Sendable func login(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let input = try await JSONBody.decode(LoginInput.self, allowing: ["tenant", "email", "password"], from: request, context: context)
        let session = try await store.login(tenant: input.tenant, email: input.email, password: input.password)
        var response = try JSONBody.response(SignedIn(
            user: session.user, tenantId: session.tenantID, csrfToken: session.csrfToken, expiresAt: session.expiresAt
        ))
        response.setCookie(SessionCookie.issued(session.token, secure: secureCookies))
        return response
    }

    /// Ends the session the cookie names and clears the cookie. A caller with an API key has
    /// no session: the answer is the same, and nothing changes.
    @Sendable func logout(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.viewer, nil)
        if context.session != nil, let token = request.cookies[SessionCookie.name]?.value {
            try await store.logout(sessionToken: token, by: principal)
        }
        var response = Response(status: .noContent)
        response.setCookie(SessionCookie.cleared(secure: secureCookies))
        return response
    }

    struct SessionInfo: Encodable {
        var userId: String
        var tenantId: String
        var role: Role
        var csrfToken: String
        var expiresAt: Date
    }

    /// The signed-in browser's session, with its CSRF token: how a freshly opened page of
    /// the web UI, which cannot read the HttpOnly cookie, gets the token it must send.
    @Sendable func session(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.viewer, nil)
        guard let session = context.session else {
            throw APIError(.badRequest, "no_session", "this request is authenticated by an API key, not a signed-in session")
        }
        return try JSONBody.response(SessionInfo(
            userId: principal.id, tenantId: principal.tenantID, role: principal.role, csrfToken: session.csrfToken,
            expiresAt: session.expiresAt
        ))
    }
}
