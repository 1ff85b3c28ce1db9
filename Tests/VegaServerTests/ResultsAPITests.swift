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

/// A tenant with an owner key, a viewer key, one repository and a secrets finding in it.
private struct Site {
    let store: Store
    let scope: TenantScope
    let owner: String
    let viewer: String
    let repository: String

    static func make(_ store: Store, tenant name: String = "acme") async throws -> Site {
        let tenant = try await TestTenant.make(name, in: store)
        let viewer = try await tenant.key(.viewer).token
        let repository = try await tenant.addRepository()
        let scan = try await store.createScan(repositoryID: repository, ref: "main", engines: ["secrets"], by: tenant.owner)
        let secret = Finding(ruleId: "aws-access-token", title: "AWS access key ID", severity: .critical, cwe: "CWE-798", message: "AWS key",
                             location: Location(path: "config.py", startLine: 2, startColumn: 1, endLine: 2, endColumn: 20),
                             snippet: "AKIA****", engine: "secrets", fingerprint: "fp-secret")
        try await store.record(ScanObservation(scanID: scan, branch: "main", completeness: .complete, engines: ["secrets"], at: Date(),
                                               findings: [secret]), repositoryID: repository, in: tenant.scope)
        return Site(store: store, scope: tenant.scope, owner: tenant.ownerToken, viewer: viewer, repository: repository)
    }

    func states() async throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try await store.findings(repositoryID: repository, in: scope).map {
            ("\($0.finding.engine) \($0.finding.ruleId) \($0.finding.location.path)", $0.state.rawValue)
        })
    }
}

/// A Semgrep-shaped SARIF log: one result per (rule, path, line, code), plus `padding`
/// bytes in a property Vega ignores, and one result without a location.
private func semgrep(_ results: [(rule: String, path: String, line: Int, code: String)], padding: Int = 0) throws -> String {
    let run: [String: Any] = [
        "tool": ["driver": ["name": "Semgrep", "rules": [
            ["id": "sql-injection", "shortDescription": ["text": "SQL injection"], "defaultConfiguration": ["level": "error"],
             "properties": ["tags": ["CWE-89: SQL Injection"]]],
            ["id": "weak-hash", "shortDescription": ["text": "Weak hash"], "defaultConfiguration": ["level": "warning"]],
        ]]],
        "results": results.map { result in
            ["ruleId": result.rule, "message": ["text": "\(result.rule) here"],
             "locations": [["physicalLocation": ["artifactLocation": ["uri": result.path, "uriBaseId": "%SRCROOT%"],
                                                 "region": ["startLine": result.line, "snippet": ["text": result.code]]]]]]
        } + [["ruleId": "weak-hash", "message": ["text": "somewhere"]]],
        "properties": ["padding": String(repeating: "x", count: padding)],
    ]
    let data = try JSONSerialization.data(withJSONObject: ["version": "2.1.0", "runs": [run]])
    return String(decoding: data, as: UTF8.self)
}

private let sqlResult = (rule: "sql-injection", path: "app/db.py", line: 12, code: #"db.execute("SELECT " + uid)"#)
private let hashResult = (rule: "weak-hash", path: "app/auth.py", line: 3, code: "hashlib.md5(password)")

private func withServer(
    _ kind: TestDatabase, _ body: @Sendable @escaping (Store, any TestClientProtocol) async throws -> Void
) async throws {
    try await kind.withStore { store in
        let app = VegaServer.buildApplication(store: store, configuration: .init(port: 0), logger: Logger(label: "test"))
        try await app.test(.live) { client in try await body(store, client) }
    }
}

@Suite struct ResultsAPITests {
    @Test(arguments: TestDatabase.all)
    func uploadedResultsBecomeFindingsAndOnlyThatToolsAreFixed(_ kind: TestDatabase) async throws {
        try await withServer(kind) { store, client in
            let site = try await Site.make(store)
            let upload = "/v1/repositories/\(site.repository)/results"
            let both = try semgrep([sqlResult, hashResult])

            let first = try await send(client, .post, upload, token: site.owner, body: both, headers: [.contentType: "application/sarif+json"])
            #expect(first.status == .created)
            let created = try json(first)
            let scan = try #require(created["scan"] as? [String: Any])
            #expect(scan["state"] as? String == "succeeded" && scan["ref"] as? String == "main", "the default branch")
            #expect(scan["engines"] as? [String] == ["sarif:semgrep"])
            #expect(created["findings"] as? Int == 2 && created["new"] as? Int == 2 && created["fixed"] as? Int == 0)
            #expect(created["skipped_results"] as? Int == 1)
            #expect((created["skipped"] as? [[String: Any]])?.first?["reason"] as? String == "no file location")

            let listed = try json(try await send(client, .get, "/v1/findings?engine=sarif:semgrep", token: site.viewer))
            let items = try #require(listed["items"] as? [[String: Any]])
            #expect(Set(items.compactMap { $0["path"] as? String }) == ["app/db.py", "app/auth.py"])
            #expect(items.allSatisfy { $0["engine"] as? String == "sarif:semgrep" && $0["state"] as? String == "open" })
            let sql = try #require(items.first { $0["rule_id"] as? String == "sql-injection" })
            #expect(sql["severity"] as? String == "high" && sql["snippet"] as? String == sqlResult.code)

            // The same file again: another scan, but no finding changes state.
            let statesBefore = try await site.states()
            let changesBefore = try await store.auditEvents(in: site.scope).filter { $0.action == "finding.state_changed" }.count
            let again = try json(try await send(client, .post, upload, token: site.owner, body: both))
            #expect(again["new"] as? Int == 0 && again["fixed"] as? Int == 0 && again["reopened"] as? Int == 0)
            #expect(try await site.states() == statesBefore)
            #expect(try await store.auditEvents(in: site.scope).filter { $0.action == "finding.state_changed" }.count == changesBefore)

            // The weak hash is gone from the next upload (lines moved too): only it is fixed;
            // the secrets engine's finding is not Semgrep's to fix.
            let moved = (rule: sqlResult.rule, path: sqlResult.path, line: 40, code: sqlResult.code)
            let fixed = try json(try await send(client, .post, upload + "?ref=main&commit=ABCDEF1234567", token: site.owner,
                                                body: try semgrep([moved])))
            #expect(fixed["fixed"] as? Int == 1 && fixed["new"] as? Int == 0 && fixed["commit"] as? String == "abcdef1234567")
            #expect(try await site.states() == [
                "sarif:semgrep sql-injection app/db.py": "open", "sarif:semgrep weak-hash app/auth.py": "fixed",
                "secrets aws-access-token config.py": "open",
            ])

            // A feature branch's upload is its own: nothing on main is fixed by it.
            let feature = try json(try await send(client, .post, upload + "?ref=feature/login", token: site.owner, body: try semgrep([])))
            #expect((feature["scan"] as? [String: Any])?["ref"] as? String == "feature/login" && feature["fixed"] as? Int == 0)

            let events = try await store.auditEvents(in: site.scope).filter { $0.action == "scan.results_uploaded" }
            #expect(events.count == 4 && events.allSatisfy { $0.actor.hasPrefix("key_") }, "the uploading key is the actor")
            #expect(events[2].after?.contains(#""fixed":"1""#) == true)

            // One finding with how it got there.
            let fingerprint = try #require(sql["fingerprint"] as? String)
            let detail = try await send(client, .get, "/v1/repositories/\(site.repository)/findings/\(fingerprint)", token: site.viewer)
            #expect(detail.status == .ok)
            let history = try #require(try json(detail)["history"] as? [[String: Any]])
            #expect(history.count == 1 && (history[0]["after"] as? String)?.contains("appeared") == true)
            #expect(try await send(client, .get, "/v1/repositories/\(site.repository)/findings/nope", token: site.viewer).status == .notFound)
        }
    }

    @Test(arguments: TestDatabase.all)
    func aLargeSARIFFileIsAcceptedWhileOtherBodiesKeepTheirLimit(_ kind: TestDatabase) async throws {
        try await withServer(kind) { store, client in
            let site = try await Site.make(store)
            let upload = "/v1/repositories/\(site.repository)/results"
            let large = try semgrep([sqlResult], padding: 5 << 20)
            #expect(large.utf8.count > 5 << 20)
            let accepted = try await send(client, .post, upload, token: site.owner, body: large)
            #expect(accepted.status == .created)
            #expect(try json(accepted)["findings"] as? Int == 1)

            let json2MiB = #"{"name":""# + String(repeating: "x", count: 2 << 20) + #""}"#
            let refused = try await send(client, .post, "/v1/projects", token: site.owner, body: json2MiB)
            #expect(refused.status == .contentTooLarge)

            let tooLarge = try await send(client, .post, upload, token: site.owner, body: try semgrep([sqlResult], padding: 33 << 20))
            #expect(tooLarge.status == .contentTooLarge)
            #expect(try json(tooLarge)["code"] as? String == "body_too_large")
        }
    }

    @Test(arguments: TestDatabase.all)
    func badUploadsAreRefusedAndChangeNothing(_ kind: TestDatabase) async throws {
        try await withServer(kind) { store, client in
            let site = try await Site.make(store)
            let other = try await Site.make(store, tenant: "globex")
            let upload = "/v1/repositories/\(site.repository)/results"
            let good = try semgrep([sqlResult])
            for (body, status, code) in [
                ("{not json", HTTPResponse.Status.badRequest, "invalid_body"),
                (#"{"version":"2.0.0","runs":[]}"#, .unprocessableContent, "invalid_sarif"),
                (#"{"version":"2.1.0","runs":[{"results":[]}]}"#, .unprocessableContent, "invalid_sarif"),
            ] {
                let response = try await send(client, .post, upload, token: site.owner, body: body)
                #expect(response.status == status, "\(body)")
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(try json(response)["code"] as? String == code, "\(body)")
            }
            let plainText = try await send(client, .post, upload, token: site.owner, body: good, headers: [.contentType: "text/plain"])
            #expect(plainText.status == .unsupportedMediaType)
            #expect(try await send(client, .post, upload + "?commit=xyz", token: site.owner, body: good).status == .badRequest)
            #expect(try await send(client, .post, upload + "?ref=-x", token: site.owner, body: good).status == .badRequest)
            #expect(try await send(client, .post, upload, token: site.viewer, body: good).status == .forbidden)
            #expect(try await send(client, .post, upload, token: other.owner, body: good).status == .notFound, "another tenant's repository")
            #expect(try await send(client, .post, "/v1/repositories/rep_nope/results", token: site.owner, body: good).status == .notFound)
            #expect(try await send(client, .post, upload, token: nil, body: good).status == .unauthorized)
            #expect(try await site.states() == ["secrets aws-access-token config.py": "open"])
            #expect(try await store.auditEvents(in: site.scope).allSatisfy { $0.action != "scan.results_uploaded" })
        }
    }

    @Test(arguments: TestDatabase.all)
    func findingsAreTriagedInBulkAllOrNothing(_ kind: TestDatabase) async throws {
        try await withServer(kind) { store, client in
            let site = try await Site.make(store)
            let other = try await Site.make(store, tenant: "globex")
            _ = try await send(client, .post, "/v1/repositories/\(site.repository)/results", token: site.owner,
                               body: try semgrep([sqlResult, hashResult]))
            let fingerprints = try await store.findings(repositoryID: site.repository, in: site.scope).map(\.fingerprint)
            #expect(fingerprints.count == 3)
            func items(_ fingerprints: [String]) -> String {
                fingerprints.map { #"{"repository_id":"\#(site.repository)","fingerprint":"\#($0)"}"# }.joined(separator: ",")
            }
            let dismiss = #"{"items":[\#(items(fingerprints))],"state":"dismissed","reason":"false_positive","comment":"scanner test data"}"#
            let eventsBefore = try await store.auditEvents(in: site.scope).count

            // Refusals first: nothing may change.
            let unknown = #"{"items":[\#(items(fingerprints + ["fp-unknown"]))],"state":"dismissed","reason":"wont_fix"}"#
            let missing = try await send(client, .post, "/v1/findings/state", token: site.owner, body: unknown)
            #expect(missing.status == .notFound)
            #expect((try json(missing)["detail"] as? String)?.contains("fp-unknown") == true)
            #expect(try await send(client, .post, "/v1/findings/state", token: site.viewer, body: dismiss).status == .forbidden)
            #expect(try await send(client, .post, "/v1/findings/state", token: other.owner, body: dismiss).status == .notFound)
            let empty = try await send(client, .post, "/v1/findings/state", token: site.owner, body: #"{"items":[],"state":"open"}"#)
            #expect(empty.status == .unprocessableContent)
            let fixed = #"{"items":[\#(items(fingerprints))],"state":"fixed"}"#
            #expect(try await send(client, .post, "/v1/findings/state", token: site.owner, body: fixed).status == .unprocessableContent)
            let extra = #"{"items":[\#(items(fingerprints))],"state":"open","severity":"low"}"#
            #expect(try await send(client, .post, "/v1/findings/state", token: site.owner, body: extra).status == .badRequest)
            #expect(Set(try await site.states().values) == ["open"])
            #expect(try await store.auditEvents(in: site.scope).count == eventsBefore)

            let done = try await send(client, .post, "/v1/findings/state", token: site.owner, body: dismiss)
            #expect(done.status == .ok)
            let updated = try #require(try json(done)["items"] as? [[String: Any]])
            #expect(updated.count == 3 && updated.allSatisfy { $0["state"] as? String == "dismissed" })
            let events = Array(try await store.auditEvents(in: site.scope).dropFirst(eventsBefore))
            #expect(events.count == 3 && events.allSatisfy { $0.action == "finding.state_changed" })
            #expect(events.allSatisfy { $0.after?.contains(#""comment":"scanner test data""#) == true })

            // The single PATCH keeps its comment in the audit log too, both ways.
            let patch = "/v1/repositories/\(site.repository)/findings/\(fingerprints[0])"
            let reopened = try await send(client, .patch, patch, token: site.owner, body: #"{"state":"open","comment":"real after all"}"#)
            #expect(reopened.status == .ok)
            #expect(try json(reopened)["state"] as? String == "open")
            #expect(try await store.auditEvents(in: site.scope).last?.after?.contains(#""comment":"real after all""#) == true)
            let history = try json(try await send(client, .get, patch, token: site.viewer))["history"] as? [[String: Any]]
            #expect(history?.compactMap { $0["after"] as? String }.last?.contains("restored") == true)
        }
    }
}
