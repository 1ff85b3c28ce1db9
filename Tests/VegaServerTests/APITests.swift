import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VegaHTTPTestSupport
import VegaLifecycle
import VegaModel
import VegaStoreTestSupport
@testable import VegaServer
@testable import VegaStore

@Suite struct APITests {
    @Test(arguments: TestDatabase.all)
    func projectsRepositoriesAndFindingsOverHTTP(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let world = try await TestTenant.make(in: store)
            let app = VegaServer.buildApplication(store: world.store, configuration: .init(port: 0), logger: Logger(label: "test"))
            try await app.test(.live) { client in
                let token = world.ownerToken
                let health = try await send(client, .get, "/healthz", token: nil)
                #expect(health.status == .ok)
                #expect(try await send(client, .get, "/readyz", token: nil).status == .ok)

                let me = try json(try await send(client, .get, "/v1/me", token: token))
                #expect(me["role"] as? String == "owner" && me["tenant_id"] as? String == world.scope.tenantID)

                let created = try await send(client, .post, "/v1/projects", token: token, body: #"{"name":"payments"}"#)
                #expect(created.status == .created)
                let project = try #require(try json(created)["id"] as? String)
                #expect(try await send(client, .post, "/v1/projects", token: token, body: #"{"name":"payments"}"#).status == .conflict)

                let repo = try await send(client, .post, "/v1/repositories", token: token,
                                          body: #"{"project_id":"\#(project)","url":"https://git.example.com/acme/pay.git"}"#)
                #expect(repo.status == .created)
                let repository = try #require(try json(repo)["id"] as? String)
                #expect(try json(repo)["default_branch"] as? String == "main")
                // Credentials in a URL are kept for cloning but never shown; local paths and
                // (by default) file:// are refused.
                let withToken = try await send(client, .post, "/v1/repositories", token: token,
                                               body: #"{"project_id":"\#(project)","url":"https://ci:s3cr3t-t0ken@git.example.com/acme/api.git"}"#)
                #expect(withToken.status == .created)
                #expect(try json(withToken)["url"] as? String == "https://git.example.com/acme/api.git")
                let listed = try await send(client, .get, "/v1/repositories", token: token)
                #expect(!String(buffer: listed.body).contains("s3cr3t"))
                for url in ["/etc", "file:///etc", "ext::sh -c id", "http://git.example.com/x.git"] {
                    let refused = try await send(client, .post, "/v1/repositories", token: token,
                                                 body: #"{"project_id":"\#(project)","url":"\#(url)"}"#)
                    #expect(refused.status == .unprocessableContent, "\(url)")
                }

                // A scan's results, recorded as the worker will.
                let scan = try await world.store.createScan(repositoryID: repository, ref: "main", engines: ["secrets"], by: .tester(in: world.scope))
                let finding = Finding(ruleId: "aws-access-token", title: "AWS access key ID", severity: .critical, cwe: "CWE-798",
                                      message: "AWS key", location: Location(path: "app.py", startLine: 3, startColumn: 1, endLine: 3, endColumn: 20),
                                      snippet: "AKIA****", engine: "secrets", fingerprint: "fp-aws")
                try await world.store.record(ScanObservation(scanID: scan, branch: "main", completeness: .complete, engines: ["secrets"], at: Date(), findings: [finding]),
                                             repositoryID: repository, in: world.scope)

                let list = try json(try await send(client, .get, "/v1/findings?severity=critical,high&state=open", token: token))
                let items = try #require(list["items"] as? [[String: Any]])
                #expect(items.count == 1 && items[0]["fingerprint"] as? String == "fp-aws" && items[0]["snippet"] as? String == "AKIA****")

                let dismissed = try await send(client, .patch, "/v1/repositories/\(repository)/findings/fp-aws", token: token,
                                               body: #"{"state":"dismissed","reason":"used_in_tests","comment":"fixture"}"#)
                #expect(dismissed.status == .ok)
                #expect(try json(dismissed)["state"] as? String == "dismissed")
                let noReason = try await send(client, .patch, "/v1/repositories/\(repository)/findings/fp-aws", token: token,
                                              body: #"{"state":"dismissed"}"#)
                #expect(noReason.status == .unprocessableContent)
                #expect(noReason.headers[.contentType] == "application/problem+json")

                let events = try json(try await send(client, .get, "/v1/events", token: token))
                let actions = try #require(events["items"] as? [[String: Any]]).compactMap { $0["action"] as? String }
                #expect(actions.contains("finding.state_changed"))
            }
        }
    }

    @Test(arguments: TestDatabase.all)
    func tenantsRolesAndBadInputAreRefusedCleanly(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let alice = try await TestTenant.make("alice", in: store)
            let bob = try await TestTenant.make("bob", in: store)
            let project = try await alice.store.createProject(name: "secret-project", by: .tester(in: alice.scope))
            let repository = try await alice.store.addRepository("https://git.example.com/a.git", project: project, by: .tester(in: alice.scope))
            let viewer = try await alice.store.createAPIKey(name: "ro", role: .viewer, by: alice.owner)
            let app = VegaServer.buildApplication(store: alice.store, configuration: .init(port: 0), logger: Logger(label: "test"))
            try await app.test(.live) { client in
                // Bob's key sees none of Alice's things: 404, never 403 (which would confirm they exist).
                let patch = try await send(client, .patch, "/v1/repositories/\(repository)/findings/fp", token: bob.ownerToken,
                                           body: #"{"state":"open"}"#)
                #expect(patch.status == .notFound)
                let repositories = try json(try await send(client, .get, "/v1/repositories", token: bob.ownerToken))
                #expect((repositories["items"] as? [Any])?.isEmpty == true)
                let cross = try await send(client, .post, "/v1/repositories", token: bob.ownerToken,
                                           body: #"{"project_id":"\#(project)","url":"https://git.example.com/b.git"}"#)
                #expect(cross.status == .notFound)

                // No key, a forged key, a revoked key: 401.
                #expect(try await send(client, .get, "/v1/me", token: nil).status == .unauthorized)
                #expect(try await send(client, .get, "/v1/me", token: "vega_0000000000_" + String(repeating: "a", count: 40)).status == .unauthorized)
                try await alice.store.revokeAPIKey(id: viewer.key.id, by: alice.owner)
                #expect(try await send(client, .get, "/v1/me", token: viewer.token).status == .unauthorized)

                // A viewer reads but cannot change.
                let reader = try await alice.store.createAPIKey(name: "ro2", role: .viewer, by: alice.owner)
                #expect(try await send(client, .get, "/v1/projects", token: reader.token).status == .ok)
                let forbidden = try await send(client, .post, "/v1/projects", token: reader.token, body: #"{"name":"x"}"#)
                #expect(forbidden.status == .forbidden)
                #expect(try json(forbidden)["code"] as? String == "forbidden")

                // Malformed JSON, unknown fields, wrong types, oversized bodies, bad filters: 4xx problem+json.
                let token = alice.ownerToken
                for (body, code) in [("{not json", "invalid_body"), (#"{"name":"x","owner":"me"}"#, "unknown_field"),
                                     (#"{"name":42}"#, "invalid_body"), ("[]", "invalid_body")] {
                    let response = try await send(client, .post, "/v1/projects", token: token, body: body)
                    #expect(response.status == .badRequest, "\(body)")
                    #expect(try json(response)["code"] as? String == code, "\(body)")
                }
                let huge = try await send(client, .post, "/v1/projects", token: token,
                                          body: #"{"name":""# + String(repeating: "x", count: 2 << 20) + #""}"#)
                #expect(huge.status == .contentTooLarge)
                #expect(try await send(client, .get, "/v1/findings?severity=catastrophic", token: token).status == .badRequest)
                #expect(try await send(client, .get, "/v1/findings?cursor=%%%", token: token).status == .badRequest)
                #expect(try await send(client, .get, "/v1/findings?limit=0", token: token).status == .badRequest)
                #expect(try await send(client, .get, "/v1/nothing-here", token: token).status == .notFound)
            }
        }
    }

    @Test func everyRouteIsInTheOpenAPIDocumentAndBack() async throws {
        let document = try #require(try JSONSerialization.jsonObject(with: VegaServer.openAPIDocument) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, operations in
            operations.keys.filter { $0 != "parameters" }.map { "\($0.uppercased()) \(path)" }
        })
        try await TestDatabase.sqlite.withFresh { database in
            let router = VegaServer.buildRouter(store: Store(database: database), configuration: .init())
            let routed = Set(router.routes.map { route in
                let path = route.path.description.split(separator: "/").map { part in
                    part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
                }.joined(separator: "/")
                return "\(route.method) /\(path)"
            })
            #expect(routed == documented)
        }
    }
}
