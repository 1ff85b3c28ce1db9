import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VegaHTTPTestSupport
import VegaModel
import VegaStoreTestSupport
@testable import VegaServer
@testable import VegaStore

/// What a browser would send: the session cookie, the CSRF header and Origin when given.
private struct Browser {
    var cookie: String?
    var csrf: String?
    var origin: String?
}

/// `send` as `browser` does: its session cookie (beside another site's), CSRF header and Origin.
private func send(
    _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, as browser: Browser, body: String? = nil
) async throws -> TestResponse {
    var headers = HTTPFields()
    if let cookie = browser.cookie { headers[.cookie] = "theme=dark; \(SessionCookie.name)=\(cookie)" }
    if let csrf = browser.csrf { headers[CSRFCheck.header] = csrf }
    if let origin = browser.origin { headers[.origin] = origin }
    return try await send(client, method, uri, body: body, headers: headers)
}

/// Signs in over HTTP; the browser state it leaves (cookie and CSRF token).
private func signIn(
    _ client: some TestClientProtocol, email: String, password: String, tenant: String? = "acme"
) async throws -> Browser {
    let tenantField = tenant.map { #""tenant":"\#($0)","# } ?? ""
    let response = try await send(client, .post, "/v1/auth/login", body: #"{\#(tenantField)"email":"\#(email)","password":"\#(password)"}"#)
    #expect(response.status == .ok)
    let setCookie = try #require(response.headers[.setCookie])
    let value = try #require(setCookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last)
    return Browser(cookie: String(value), csrf: try json(response)["csrf_token"] as? String)
}

private func app(_ store: Store, secureCookies: Bool = true) -> some ApplicationProtocol {
    VegaServer.buildApplication(store: store, configuration: .init(port: 0, secureCookies: secureCookies), logger: Logger(label: "test"))
}

@Suite struct AuthTests {
    @Test(arguments: TestDatabase.all)
    func aSignedInBrowserUsesTheCookieAndMustSendTheCSRFToken(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await TestTenant.make(in: store)
            try await app(store).test(.live) { client in
                let login = try await send(client, .post, "/v1/auth/login",
                                           body: #"{"tenant":"acme","email":"owner@acme.test","password":"\#(TestTenant.password)"}"#)
                #expect(login.status == .ok)
                let setCookie = try #require(login.headers[.setCookie])
                let attributes = Set(setCookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
                #expect(attributes == ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200", "Secure"])
                let body = try json(login)
                let user = try #require(body["user"] as? [String: Any])
                #expect(user["id"] as? String == acme.owner.id && user["role"] as? String == "owner")
                #expect(body["tenant_id"] as? String == acme.scope.tenantID && body["expires_at"] is String)
                #expect(!String(buffer: login.body).contains(TestTenant.password))
                let csrf = try #require(body["csrf_token"] as? String)
                let cookie = String(try #require(setCookie.split(separator: ";").first?.dropFirst("vega_session=".count)))
                #expect(!String(buffer: login.body).contains(cookie))

                // The cookie authenticates reads by itself.
                let browser = Browser(cookie: cookie)
                let me = try await send(client, .get, "/v1/me", as: browser)
                #expect(me.status == .ok)
                #expect(try json(me)["kind"] as? String == "user" && json(me)["id"] as? String == acme.owner.id)
                let session = try json(try await send(client, .get, "/v1/auth/session", as: browser))
                #expect(session["csrf_token"] as? String == csrf && session["role"] as? String == "owner")
                #expect(try await send(client, .get, "/v1/auth/session", token: acme.ownerToken).status == .badRequest)

                // A change through the cookie needs the session's CSRF token, and an Origin, if
                // sent, that is this server.
                for refused in [browser, Browser(cookie: cookie, csrf: csrf + "x"), Browser(cookie: cookie, csrf: ""),
                                Browser(cookie: cookie, csrf: csrf, origin: "https://evil.example"),
                                Browser(cookie: cookie, csrf: csrf, origin: "http://localhost:4444"),
                                Browser(cookie: cookie, csrf: csrf, origin: "null")] {
                    let response = try await send(client, .post, "/v1/projects", as: refused, body: #"{"name":"web"}"#)
                    #expect(response.status == .forbidden, "\(refused)")
                    #expect(try json(response)["code"] as? String == "csrf_failed")
                }
                #expect(try await store.projects(in: acme.scope).isEmpty)
                let created = try await send(client, .post, "/v1/projects", as: Browser(cookie: cookie, csrf: csrf), body: #"{"name":"web"}"#)
                #expect(created.status == .created)
                let sameOrigin = Browser(cookie: cookie, csrf: csrf, origin: "http://localhost")
                #expect(try await send(client, .post, "/v1/projects", as: sameOrigin, body: #"{"name":"web2"}"#).status == .created)
                // A bearer key needs no CSRF token.
                #expect(try await send(client, .post, "/v1/projects", token: acme.ownerToken, body: #"{"name":"ci"}"#).status == .created)

                // Logging out is a change too; afterwards the cookie is worth nothing.
                #expect(try await send(client, .post, "/v1/auth/logout", as: browser).status == .forbidden)
                let logout = try await send(client, .post, "/v1/auth/logout", as: Browser(cookie: cookie, csrf: csrf))
                #expect(logout.status == .noContent)
                let cleared = try #require(logout.headers[.setCookie])
                #expect(cleared.hasPrefix("vega_session=;") && cleared.contains("Max-Age=0"))
                let after = try await send(client, .get, "/v1/me", as: browser)
                #expect(try after.status == .unauthorized && json(after)["code"] as? String == "unauthenticated")
            }
            let actions = try await store.auditEvents(in: acme.scope).map(\.action)
            #expect(actions.filter { $0.hasPrefix("user.") } == ["user.login", "user.logout"])

            // Served as plain HTTP to other hosts, the cookie can go without Secure.
            try await app(store, secureCookies: false).test(.live) { client in
                let login = try await send(client, .post, "/v1/auth/login",
                                           body: #"{"email":"owner@acme.test","password":"\#(TestTenant.password)"}"#)
                #expect(login.status == .ok)
                let setCookie = try #require(login.headers[.setCookie])
                #expect(setCookie.contains("HttpOnly") && !setCookie.contains("Secure"))
            }
        }
    }

    @Test(arguments: TestDatabase.all)
    func wrongCredentialsAllGetTheSameAnswerAndOldSessionsAreRefused(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await TestTenant.make(in: store)
            // Signed in long ago: one past its 12 hours, one idle for over 2.
            let expired = try await store.login(tenant: "acme", email: "owner@acme.test", password: TestTenant.password,
                                                now: Date() - SessionLifetime.absolute - 60)
            let idle = try await store.login(tenant: "acme", email: "owner@acme.test", password: TestTenant.password,
                                             now: Date() - SessionLifetime.idle - 60)
            try await app(store).test(.live) { client in
                var bodies = Set<[String: String]>()
                for body in [#"{"tenant":"acme","email":"owner@acme.test","password":"wrong password!"}"#,
                             #"{"tenant":"acme","email":"nobody@acme.test","password":"\#(TestTenant.password)"}"#,
                             #"{"tenant":"globex","email":"owner@acme.test","password":"\#(TestTenant.password)"}"#,
                             #"{"email":"nobody@acme.test","password":"\#(TestTenant.password)"}"#] {
                    let response = try await send(client, .post, "/v1/auth/login", body: body)
                    #expect(response.status == .unauthorized, "\(body)")
                    #expect(response.headers[.setCookie] == nil)
                    #expect(try json(response)["code"] as? String == "invalid_credentials")
                    // The same answer each time, but for the request's own id.
                    bodies.insert(try json(response).filter { $0.key != "request_id" }.mapValues { "\($0)" })
                }
                #expect(bodies.count == 1)
                let unknownField = try await send(client, .post, "/v1/auth/login",
                                                  body: #"{"email":"owner@acme.test","password":"x","remember":true}"#)
                #expect(try unknownField.status == .badRequest && json(unknownField)["code"] as? String == "unknown_field")

                #expect(try await send(client, .get, "/v1/me", as: Browser(cookie: expired.token)).status == .unauthorized)
                #expect(try await send(client, .get, "/v1/me", as: Browser(cookie: idle.token)).status == .unauthorized)
                #expect(try await send(client, .get, "/v1/me", as: Browser(cookie: "made-up")).status == .unauthorized)
            }
            let failed = try await store.auditEvents(in: acme.scope).filter { $0.action == "user.login_failed" }
            #expect(failed.map(\.subject) == ["user:\(acme.owner.id)", "user:unknown"])
            #expect(try await store.verifyAudit(in: acme.scope).isIntact)
        }
    }

    @Test(arguments: TestDatabase.all)
    func adminsManageMembersWithinTheirRoleAndTenant(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await TestTenant.make(in: store)
            let globex = try await TestTenant.make("globex", in: store)
            try await app(store).test(.live) { client in
                let owner = acme.ownerToken
                let tenant = try json(try await send(client, .get, "/v1/tenant", token: owner))
                #expect(tenant["id"] as? String == acme.scope.tenantID && tenant["name"] as? String == "acme" && tenant["created_at"] is String)

                // The owner adds an admin with a chosen password; the admin signs in.
                let added = try await send(client, .post, "/v1/members", token: owner,
                                           body: #"{"email":"ada@acme.test","name":"Ada","role":"admin","password":"ada's long password"}"#)
                #expect(added.status == .created)
                #expect(try json(added)["generated_password"] == nil)
                let adaMember = try #require(try json(added)["member"] as? [String: Any])
                let adaID = try #require(adaMember["id"] as? String)
                let ada = try await signIn(client, email: "ada@acme.test", password: "ada's long password")

                // The admin (through the cookie) adds a member with a generated password, shown once.
                let generated = try await send(client, .post, "/v1/members", as: ada,
                                               body: #"{"email":"max@acme.test","name":"Max","role":"member"}"#)
                #expect(generated.status == .created)
                let maxPassword = try #require(try json(generated)["generated_password"] as? String)
                let maxMember = try #require(try json(generated)["member"] as? [String: Any])
                let maxID = try #require(maxMember["id"] as? String)
                let list = try await send(client, .get, "/v1/members", as: ada)
                let emails = try #require(try json(list)["items"] as? [[String: Any]]).compactMap { $0["email"] as? String }
                #expect(emails == ["ada@acme.test", "max@acme.test", "owner@acme.test"])
                #expect(!String(buffer: list.body).contains(maxPassword) && !String(buffer: list.body).contains("password"))
                let max = try await signIn(client, email: "max@acme.test", password: maxPassword, tenant: nil)

                // Refusals: an admin making an owner, a member adding anyone, a short password,
                // bad input, and the last owner's demotion or removal.
                let ownerByAdmin = try await send(client, .post, "/v1/members", as: ada,
                                                  body: #"{"email":"eve@acme.test","name":"Eve","role":"owner","password":"long enough password"}"#)
                #expect(ownerByAdmin.status == .forbidden)
                let byMember = try await send(client, .post, "/v1/members", as: max,
                                              body: #"{"email":"eve@acme.test","name":"Eve","role":"viewer","password":"long enough password"}"#)
                #expect(try byMember.status == .forbidden && json(byMember)["code"] as? String == "forbidden")
                let viewerKey = try await store.createAPIKey(name: "ro", role: .viewer, by: acme.owner)
                #expect(try await send(client, .get, "/v1/members", token: viewerKey.token).status == .ok)
                #expect(try await send(client, .post, "/v1/members", token: viewerKey.token,
                                       body: #"{"email":"eve@acme.test","name":"Eve","role":"viewer"}"#).status == .forbidden)
                let short = try await send(client, .post, "/v1/members", token: owner,
                                           body: #"{"email":"eve@acme.test","name":"Eve","role":"viewer","password":"elevenchars"}"#)
                #expect(try short.status == .unprocessableContent && json(short)["code"] as? String == "invalid_password")
                for (body, code) in [(#"{"email":"not-an-email","name":"Eve","role":"viewer"}"#, "invalid_email"),
                                     (#"{"email":"eve@acme.test","name":"  ","role":"viewer"}"#, "invalid_name")] {
                    let response = try await send(client, .post, "/v1/members", token: owner, body: body)
                    #expect(try response.status == .unprocessableContent && json(response)["code"] as? String == code)
                }
                let badRole = try await send(client, .post, "/v1/members", token: owner, body: #"{"email":"e@acme.test","name":"E","role":"god"}"#)
                #expect(badRole.status == .badRequest)
                let duplicate = try await send(client, .post, "/v1/members", token: owner,
                                               body: #"{"email":"MAX@acme.test","name":"Max","role":"viewer"}"#)
                #expect(duplicate.status == .conflict)
                for response in [try await send(client, .patch, "/v1/members/\(acme.owner.id)", token: owner, body: #"{"role":"admin"}"#),
                                 try await send(client, .delete, "/v1/members/\(acme.owner.id)", token: owner)] {
                    #expect(try response.status == .conflict && json(response)["code"] as? String == "last_owner")
                }
                #expect(try await send(client, .patch, "/v1/members/\(acme.owner.id)", as: ada, body: #"{"role":"viewer"}"#).status == .forbidden)
                #expect(try await send(client, .patch, "/v1/members/\(maxID)", token: owner, body: #"{"role":"viewer","x":1}"#).status == .badRequest)

                // Another tenant's admin: 404, never 403.
                for response in [try await send(client, .patch, "/v1/members/\(maxID)", token: globex.ownerToken, body: #"{"role":"viewer"}"#),
                                 try await send(client, .delete, "/v1/members/\(maxID)", token: globex.ownerToken)] {
                    #expect(response.status == .notFound)
                }
                let globexMembers = try json(try await send(client, .get, "/v1/members", token: globex.ownerToken))
                #expect((globexMembers["items"] as? [[String: Any]])?.compactMap { $0["email"] as? String } == ["owner@globex.test"])

                // Demoted: the member's open session has the new role at once. Removed: 401 at once.
                let demoted = try await send(client, .patch, "/v1/members/\(maxID)", as: ada, body: #"{"role":"viewer"}"#)
                #expect(try demoted.status == .ok && json(demoted)["role"] as? String == "viewer")
                #expect(try json(try await send(client, .get, "/v1/me", as: max))["role"] as? String == "viewer")
                let scan = try await send(client, .post, "/v1/scans", as: max, body: #"{"repository_id":"rep_x"}"#)
                #expect(try scan.status == .forbidden && json(scan)["code"] as? String == "forbidden")
                #expect(try await send(client, .delete, "/v1/members/\(maxID)", as: ada).status == .noContent)
                #expect(try await send(client, .get, "/v1/me", as: max).status == .unauthorized)
                #expect(try await send(client, .delete, "/v1/members/\(maxID)", as: ada).status == .notFound)
                #expect(try await send(client, .get, "/v1/me", as: ada).status == .ok)

                // The audit log, over the API: who did what, with before and after.
                let events = try #require(try json(try await send(client, .get, "/v1/events", token: owner))["items"] as? [[String: Any]])
                func event(_ action: String) -> [String: Any]? { events.first { $0["action"] as? String == action } }
                #expect(event("user.login")?["actor"] as? String == adaID)
                #expect(event("member.added")?["actor"] as? String == acme.ownerKeyID)
                #expect(events.filter { $0["action"] as? String == "member.added" }.last?["actor"] as? String == adaID)
                let roleChanged = try #require(event("member.role_changed"))
                #expect(roleChanged["actor"] as? String == adaID && roleChanged["subject"] as? String == "user:\(maxID)")
                #expect(roleChanged["before"] as? String == #"{"role":"member"}"# && roleChanged["after"] as? String == #"{"role":"viewer"}"#)
                let removed = try #require(event("member.removed"))
                #expect(removed["actor"] as? String == adaID && (removed["before"] as? String)?.contains("max@acme.test") == true)
                #expect(!events.contains { "\($0)".contains(maxPassword) || "\($0)".contains("ada's long password") })
            }
            #expect(try await store.verifyAudit(in: acme.scope).isIntact)
            #expect(try await store.verifyAudit(in: globex.scope).isIntact)
        }
    }

    @Test func originsAreComparedWithTheHostAsBrowsersMeanThem() {
        #expect(CSRFCheck.isSameOrigin("https://vega.example", host: "vega.example"))
        #expect(CSRFCheck.isSameOrigin("https://vega.example", host: "vega.example:443"))
        #expect(CSRFCheck.isSameOrigin("http://LOCALHOST:8080", host: "localhost:8080"))
        #expect(!CSRFCheck.isSameOrigin("http://localhost:8080", host: "localhost"))
        #expect(!CSRFCheck.isSameOrigin("https://vega.example.evil.test", host: "vega.example"))
        #expect(!CSRFCheck.isSameOrigin("https://vega.example", host: nil))
        #expect(!CSRFCheck.isSameOrigin("null", host: "vega.example"))
        #expect(!CSRFCheck.isSameOrigin("ftp://vega.example", host: "vega.example"))
    }
}
