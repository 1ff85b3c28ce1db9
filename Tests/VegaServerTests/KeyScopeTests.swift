import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import SQLKit
import Testing
import VegaHTTPTestSupport
import VegaLifecycle
import VegaModel
import VegaStoreTestSupport
@testable import VegaServer
@testable import VegaStore

/// Issues a key over the API as `token`'s holder. `scopes` is the raw JSON of the member,
/// nil to leave it out.
private func mint(
    _ client: some TestClientProtocol, by token: String, role: Role, scopes: String?
) async throws -> (status: HTTPResponse.Status, json: [String: Any]) {
    let member = scopes.map { #","scopes":\#($0)"# } ?? ""
    return try await call(client, .post, "/v1/api-keys", token: token, body: #"{"name":"k","role":"\#(role.rawValue)"\#(member)}"#)
}

/// A key `mint` issued: its token and id.
private func issued(_ answer: (status: HTTPResponse.Status, json: [String: Any])) throws -> (token: String, id: String) {
    #expect(answer.status == .created, "\(answer.json)")
    let key = try #require(answer.json["key"] as? [String: Any])
    let token = try #require(answer.json["token"] as? String)
    return (token, try #require(key["id"] as? String))
}

/// An audit event's `after`, decoded.
private func afterState(_ text: String?) throws -> [String: Any] {
    let text = try #require(text)
    return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

/// 403 `insufficient_scope` naming `scope`.
private func lacksScope(_ answer: (status: HTTPResponse.Status, json: [String: Any]), _ scope: Scope) -> Bool {
    answer.status == .forbidden && answer.json["code"] as? String == "insufficient_scope"
        && (answer.json["detail"] as? String)?.contains("the \(scope.rawValue) scope") == true
}

/// The owner's tenant with a repository and one open finding (fingerprint `fp-aws`) from a recorded scan.
private struct Fixture {
    let tenant: TestTenant
    let repository: String
    let scan: String

    init(_ store: Store) async throws {
        tenant = try await TestTenant.make(in: store)
        repository = try await tenant.addRepository()
        scan = try await store.createScan(repositoryID: repository, ref: "main", engines: ["secrets"], by: tenant.owner)
        let finding = Finding(
            ruleId: "aws-access-token", title: "AWS access key ID", severity: .critical, cwe: "CWE-798", message: "AWS key",
            location: Location(path: "app.py", startLine: 3, startColumn: 1, endLine: 3, endColumn: 20),
            snippet: "AKIA****", engine: "secrets", fingerprint: "fp-aws"
        )
        try await store.record(
            ScanObservation(scanID: scan, branch: "main", completeness: .complete, engines: ["secrets"], at: Date(), findings: [finding]),
            repositoryID: repository, in: tenant.scope
        )
    }

    var findingPath: String { "/v1/repositories/\(repository)/findings/fp-aws" }
    var scanBody: String { #"{"repository_id":"\#(repository)"}"# }
    static let dismissal = #"{"state":"dismissed","reason":"used_in_tests","comment":"fixture"}"#
}

private func app(_ store: Store) -> some ApplicationProtocol {
    VegaServer.buildApplication(store: store, configuration: .init(port: 0), logger: Logger(label: "test"))
}

/// API key scopes over real HTTP: a key does at most what its role and its scopes allow.
@Suite struct KeyScopeTests {
    @Test(arguments: TestDatabase.all)
    func aReadKeyReadsEverythingAndChangesNothing(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let fixture = try await Fixture(store)
            try await app(store).test(.live) { client in
                // An admin's role, so every refusal below is the scope's, not the role's.
                let answer = try await mint(client, by: fixture.tenant.ownerToken, role: .admin, scopes: #"["read"]"#)
                #expect((answer.json["key"] as? [String: Any])?["scopes"] as? [String] == ["read"])
                let reader = try issued(answer).token

                let findings = try await call(client, .get, "/v1/findings", token: reader)
                #expect(findings.status == .ok && (findings.json["items"] as? [Any])?.count == 1)
                #expect(try await call(client, .get, fixture.findingPath, token: reader).status == .ok)
                #expect(try await call(client, .get, "/v1/scans", token: reader).status == .ok)
                #expect(try await call(client, .get, "/v1/scans/\(fixture.scan)", token: reader).status == .ok)
                #expect(try await call(client, .get, "/v1/events", token: reader).status == .ok)
                #expect(try await call(client, .get, "/v1/members", token: reader).status == .ok)
                #expect(try await call(client, .get, "/v1/me", token: reader).json["role"] as? String == "admin")

                #expect(lacksScope(try await call(client, .post, "/v1/scans", token: reader, body: fixture.scanBody), .scans))
                #expect(lacksScope(try await call(client, .post, "/v1/scans/\(fixture.scan)/cancel", token: reader), .scans))
                #expect(lacksScope(try await call(client, .patch, fixture.findingPath, token: reader, body: Fixture.dismissal), .triage))
                #expect(lacksScope(try await call(client, .post, "/v1/projects", token: reader, body: #"{"name":"new"}"#), .admin))
                #expect(lacksScope(try await mint(client, by: reader, role: .viewer, scopes: #"["read"]"#), .admin))
                let refused = try await send(client, .post, "/v1/scans", token: reader, body: fixture.scanBody)
                #expect(refused.headers[.contentType] == "application/problem+json")
            }
            // Nothing changed: one scan, the finding still open, no project but the fixture's.
            let scope = fixture.tenant.scope
            #expect(try await store.scans(matching: ScanFilter(), in: scope).items.map(\.id) == [fixture.scan])
            #expect(try await store.finding(repositoryID: fixture.repository, fingerprint: "fp-aws", in: scope)?.state == .open)
            #expect(try await store.projects(in: scope).count == 1)
        }
    }

    @Test(arguments: TestDatabase.all)
    func aScansKeySubmitsButCannotTriageAndTheEventsNameIt(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let fixture = try await Fixture(store)
            try await app(store).test(.live) { client in
                let ci = try issued(try await mint(client, by: fixture.tenant.ownerToken, role: .member, scopes: #"["scans"]"#))
                let submitted = try await call(client, .post, "/v1/scans", token: ci.token,
                                               body: #"{"repository_id":"\#(fixture.repository)","ref":"release","engines":["deps"]}"#)
                #expect(submitted.status == .accepted)
                let scan = try #require(submitted.json["id"] as? String)
                #expect(try await call(client, .post, "/v1/scans/\(scan)/cancel", token: ci.token).json["state"] as? String == "cancelled")
                #expect(lacksScope(try await call(client, .patch, fixture.findingPath, token: ci.token, body: Fixture.dismissal), .triage))
                #expect(lacksScope(try await call(client, .get, "/v1/scans/\(scan)", token: ci.token), .read))
                // Who am I is about the caller, not the tenant's data: any key may ask.
                #expect(try await call(client, .get, "/v1/me", token: ci.token).status == .ok)

                let triager = try issued(try await mint(client, by: fixture.tenant.ownerToken, role: .member, scopes: #"["triage","read"]"#))
                #expect(try await call(client, .patch, fixture.findingPath, token: triager.token, body: Fixture.dismissal).status == .ok)
                #expect(lacksScope(try await call(client, .post, "/v1/scans", token: triager.token, body: fixture.scanBody), .scans))

                let events = try await store.auditEvents(in: fixture.tenant.scope)
                let submittedEvent = try #require(events.first { $0.action == "scan.submitted" && $0.subject == "scan:\(scan)" })
                #expect(submittedEvent.actor == ci.id)
                let after = try afterState(submittedEvent.after)
                #expect(after["repository"] as? String == fixture.repository && after["ref"] as? String == "release")
                #expect(after["engines"] as? [String] == ["deps"])
                #expect(events.contains { $0.action == "scan.cancelled" && $0.actor == ci.id })
                #expect(events.contains { $0.action == "finding.state_changed" && $0.actor == triager.id })
            }
        }
    }

    @Test(arguments: TestDatabase.all)
    func aKeyWithoutScopesKeepsItsRolesPower(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let fixture = try await Fixture(store)
            try await app(store).test(.live) { client in
                let answer = try await mint(client, by: fixture.tenant.ownerToken, role: .member, scopes: nil)
                #expect((answer.json["key"] as? [String: Any])?["scopes"] as? [String] == [])
                let member = try issued(answer).token
                #expect(try await call(client, .get, "/v1/findings", token: member).status == .ok)
                #expect(try await call(client, .post, "/v1/scans", token: member, body: fixture.scanBody).status == .accepted)
                #expect(try await call(client, .patch, fixture.findingPath, token: member, body: Fixture.dismissal).status == .ok)
                // The role still limits it: refused as forbidden, not for a scope.
                let project = try await call(client, .post, "/v1/projects", token: member, body: #"{"name":"new"}"#)
                #expect(project.status == .forbidden && project.json["code"] as? String == "forbidden")

                let admin = try await fixture.tenant.key(.admin).token
                #expect(try await call(client, .post, "/v1/projects", token: admin, body: #"{"name":"new"}"#).status == .created)

                // A stored scope this version does not know grants nothing; the known one still works.
                let odd = try await fixture.tenant.key(.admin)
                let id = odd.key.id
                try await store.database.withConnection { db in
                    try await db.raw("UPDATE api_keys SET scopes = 'read deploy' WHERE id = \(bind: id)").run()
                }
                #expect(try await call(client, .get, "/v1/scans", token: odd.token).status == .ok)
                #expect(lacksScope(try await call(client, .post, "/v1/projects", token: odd.token, body: #"{"name":"other"}"#), .admin))
            }
        }
    }

    @Test(arguments: TestDatabase.all)
    func aScopedKeyCannotMintBroaderKeysAndUnknownScopesAreRefused(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let fixture = try await Fixture(store)
            let owner = fixture.tenant.ownerToken
            try await app(store).test(.live) { client in
                let keeper = try issued(try await mint(client, by: owner, role: .admin, scopes: #"["admin","read"]"#)).token
                func keys() async throws -> Int {
                    try await store.database.withConnection { db in
                        try await db.raw("SELECT COUNT(*) AS n FROM api_keys").first()?.decode(column: "n", as: Int.self) ?? -1
                    }
                }
                let before = try await keys()

                #expect(lacksScope(try await mint(client, by: keeper, role: .member, scopes: #"["read","scans"]"#), .scans))
                // Left out, the scopes would be unrestricted: more than the keeper has.
                #expect(lacksScope(try await mint(client, by: keeper, role: .member, scopes: nil), .scans))
                let higher = try await mint(client, by: keeper, role: .owner, scopes: #"["read"]"#)
                #expect(higher.status == .forbidden && higher.json["code"] as? String == "forbidden")

                let unknown = try await mint(client, by: owner, role: .member, scopes: #"["read","deploy"]"#)
                #expect(unknown.status == .unprocessableContent && unknown.json["code"] as? String == "invalid_scope")
                #expect((unknown.json["detail"] as? String)?.contains("deploy") == true)
                let empty = try await mint(client, by: owner, role: .member, scopes: "[]")
                #expect(empty.status == .unprocessableContent && empty.json["code"] as? String == "invalid_scope")
                #expect(try await mint(client, by: owner, role: .member, scopes: #""read""#).status == .badRequest)
                #expect(try await keys() == before)

                // Within its own scopes it may issue: the new key reads and does nothing else.
                let narrowed = try issued(try await mint(client, by: keeper, role: .admin, scopes: #"["read"]"#))
                #expect(try await call(client, .get, "/v1/findings", token: narrowed.token).status == .ok)
                #expect(lacksScope(try await mint(client, by: narrowed.token, role: .viewer, scopes: #"["read"]"#), .admin))
                let created = try #require(try await store.auditEvents(in: fixture.tenant.scope).last)
                #expect(created.action == "api_key.created" && created.subject == "api_key:\(narrowed.id)")
                let after = try afterState(created.after)
                #expect(after["scopes"] as? [String] == ["read"])
            }
        }
    }

    /// Creating through the API writes the events, with the caller as actor, and a
    /// repository's credentials reach neither the events nor any response.
    @Test(arguments: TestDatabase.all)
    func creationsOverHTTPAreAuditedWithoutCredentials(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let tenant = try await TestTenant.make(in: store)
            try await app(store).test(.live) { client in
                let token = tenant.ownerToken
                let newProject = try await call(client, .post, "/v1/projects", token: token, body: #"{"name":"pay"}"#)
                let project = try #require(newProject.json["id"] as? String)
                let created = try await call(client, .post, "/v1/repositories", token: token,
                                             body: #"{"project_id":"\#(project)","url":"https://ci:s3cr3t-t0ken@git.example.com/acme/api.git"}"#)
                let repository = try #require(created.json["id"] as? String)
                #expect(created.json["url"] as? String == "https://git.example.com/acme/api.git")
                let scan = try #require(try await call(client, .post, "/v1/scans", token: token,
                                                       body: #"{"repository_id":"\#(repository)"}"#).json["id"] as? String)

                let events = try #require(try await call(client, .get, "/v1/events", token: token).json["items"] as? [[String: Any]])
                let audited: Set = ["project.created", "repository.created", "scan.submitted"]
                let mine = events.filter { ($0["action"] as? String).map(audited.contains) == true }
                try #require(mine.count == 3)
                #expect(mine.map { $0["subject"] as? String } == ["project:\(project)", "repository:\(repository)", "scan:\(scan)"])
                #expect(mine.allSatisfy { $0["actor"] as? String == tenant.ownerKeyID })
                let after = try mine.map { try afterState($0["after"] as? String) }
                #expect(after[0]["name"] as? String == "pay")
                #expect(after[1]["url"] as? String == "https://git.example.com/acme/api.git" && after[1]["project"] as? String == project)
                #expect(after[2]["repository"] as? String == repository && after[2]["ref"] as? String == "main")
            }
            let rows = try await store.database.withConnection { db in try await db.raw("SELECT * FROM events").all() }
            for row in rows {
                for column in row.allColumns {
                    if let text = try? row.decode(column: column, as: String?.self) { #expect(!text.contains("s3cr3t"), "\(column)") }
                }
            }
            let verification = try await store.verifyAudit(in: tenant.scope)
            #expect(verification.isIntact && verification.events == rows.count)
        }
    }
}
