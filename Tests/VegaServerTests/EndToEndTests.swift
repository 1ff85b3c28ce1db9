import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VegaHTTPTestSupport
import VegaStoreTestSupport
import VegaTestSupport
@testable import VegaServer
@testable import VegaStore
import VegaRunner
import VegaWorker

/// The whole path over real HTTP: tenant → key → project → repository (a local git
/// repository) → scan → findings; fix a secret, re-scan → fixed; dismiss another,
/// re-scan → it stays dismissed.
@Suite struct EndToEndTests {
    @Test(arguments: TestDatabase.all)
    func scansTrackFindingsAcrossCommits(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            guard let first = try await store.bootstrapIfEmpty() else { Issue.record("no bootstrap"); return }
            let token = first.ownerToken
            let repo = try TestRepo()
            defer { repo.remove() }
            try PlantedSecrets.plant(in: repo)
            try repo.write("requirements.txt", "django==3.2.0\n")
            try repo.commitAll("app with secrets")
            let data = try TestRepo(git: false)
            defer { data.remove() }
            let worker = ScanWorker(
                store: store, dataDirectory: data.path, pollInterval: .milliseconds(50),
                runner: RunnerConfiguration(executable: try vegaPath(), workspaceRoot: RunnerConfiguration.workspaces(in: data.path)), logger: Logger(label: "test")
            )
            let app = VegaServer.buildApplication(
                store: store, configuration: .init(port: 0, dataDirectory: data.path, allowFileRepositories: true), services: [worker], logger: Logger(label: "test")
            )

            try await app.test(.live) { client in
                let project = try await call(client, .post, "/v1/projects", token: token, body: #"{"name":"shop"}"#)
                let projectID = try #require(project.json["id"] as? String)
                let repository = try await call(client, .post, "/v1/repositories", token: token,
                                                body: #"{"project_id":"\#(projectID)","url":"file://\#(repo.path)"}"#)
                let repositoryID = try #require(repository.json["id"] as? String)

                func scan() async throws -> String {
                    let submitted = try await call(client, .post, "/v1/scans", token: token,
                                                   body: #"{"repository_id":"\#(repositoryID)","engines":["secrets","deps"]}"#)
                    #expect(submitted.status == .accepted)
                    let id = try #require(submitted.json["id"] as? String)
                    var state = submitted.json["state"] as? String
                    for _ in 0..<600 where state == "queued" || state == "running" {
                        try await Task.sleep(for: .milliseconds(100))
                        state = try await call(client, .get, "/v1/scans/\(id)", token: token).json["state"] as? String
                    }
                    #expect(state == "succeeded")
                    return id
                }
                func states() async throws -> [String: String] {
                    let list = try await call(client, .get, "/v1/findings?repository_id=\(repositoryID)&limit=1000", token: token)
                    let items = try #require(list.json["items"] as? [[String: Any]])
                    return Dictionary(items.map { ($0["path"] as? String ?? "?", $0["state"] as? String ?? "?") }, uniquingKeysWith: { a, _ in a })
                }

                let firstScan = try await scan()
                #expect(try await states() == ["config/settings.py": "open", "deploy/ci.sh": "open", "src/billing.js": "open", "src/notify.go": "open"])

                // The CI token is removed; the AWS key is dismissed as a test fixture.
                try repo.delete("deploy/ci.sh")
                try repo.commitAll("remove the token")
                let list = try await call(client, .get, "/v1/findings?repository_id=\(repositoryID)&q=settings.py", token: token)
                let aws = try #require((list.json["items"] as? [[String: Any]])?.first?["fingerprint"] as? String)
                let dismissed = try await call(client, .patch, "/v1/repositories/\(repositoryID)/findings/\(aws)", token: token,
                                               body: #"{"state":"dismissed","reason":"used_in_tests"}"#)
                #expect(dismissed.status == .ok)

                _ = try await scan()
                #expect(try await states() == ["config/settings.py": "dismissed", "deploy/ci.sh": "fixed", "src/billing.js": "open", "src/notify.go": "open"])
                // Reports download over the API; a finished scan cannot be cancelled.
                let downloaded = try await send(client, .get, "/v1/scans/\(firstScan)/report.sarif", token: token)
                #expect(downloaded.status == .ok && downloaded.headers[.contentType] == "application/sarif+json")
                let document = try JSONSerialization.jsonObject(with: Data(buffer: downloaded.body)) as? [String: Any]
                #expect(document?["version"] as? String == "2.1.0")
                #expect(try await call(client, .post, "/v1/scans/\(firstScan)/cancel", token: token).status == .conflict)
                #expect(try await call(client, .get, "/v1/scans/scn_nope/report.json", token: token).status == .notFound)

                // The inventory answers "who uses django 3.2.0" across the tenant.
                let usage = try await call(client, .get, "/v1/components?ecosystem=PyPI&name=django&version=3.2.0", token: token)
                let users = try #require(usage.json["items"] as? [[String: Any]])
                #expect(users.map { $0["repository_id"] as? String } == [repositoryID])
                #expect(users.first?["lockfile"] as? String == "requirements.txt")
                // The worker kept the reports and the SBOM; no secret is in them in full.
                let artifacts = data.root.appendingPathComponent("artifacts").appendingPathComponent(first.tenant.tenantID)
                let scans = try FileManager.default.contentsOfDirectory(atPath: artifacts.path)
                #expect(scans.count == 2)
                let sarif = try String(contentsOf: artifacts.appendingPathComponent(scans[0]).appendingPathComponent("report.sarif"), encoding: .utf8)
                for secret in PlantedSecrets.all { #expect(!sarif.contains(secret)) }
                let sbom = try String(contentsOf: artifacts.appendingPathComponent(scans[0]).appendingPathComponent("sbom.cdx.json"), encoding: .utf8)
                #expect(sbom.contains("pkg:pypi/django@3.2.0"))
                let recorded = try await store.artifacts(scanID: scans[0], in: first.tenant)
                #expect(recorded.map(\.kind) == ["debug.log", "report.json", "report.sarif", "runner-summary.json", "sbom.cdx.json"])
                #expect(recorded.allSatisfy { $0.size > 0 && $0.sha256.count == 64 })
                // The runner ran sandboxed (scripts/setup installs bubblewrap) and said how it went.
                let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: artifacts.appendingPathComponent(scans[0]).appendingPathComponent("runner-summary.json"))) as? [String: Any]
                #expect(summary?["isolation"] as? String == "bubblewrap")
                #expect(summary?["exit"] as? String == "exit status 0")
                #expect((summary?["files"] as? Int ?? 0) > 0)
                #expect((summary?["commit"] as? String)?.count == 40)
                #expect(((summary?["timings"] as? [String: Any])?["scan_seconds"] as? Double ?? 0) > 0)
                let log = try String(contentsOf: artifacts.appendingPathComponent(scans[0]).appendingPathComponent("debug.log"), encoding: .utf8)
                #expect(log.contains("runner: scan done"))
                // The same over the API: the list, and one artifact by kind.
                let listed = try await call(client, .get, "/v1/scans/\(scans[0])/artifacts", token: token)
                let items = try #require(listed.json["items"] as? [[String: Any]])
                #expect(items.compactMap { $0["kind"] as? String } == recorded.map(\.kind))
                #expect(items.allSatisfy { $0["downloadable"] as? Bool == true })
                let served = try await send(client, .get, "/v1/scans/\(scans[0])/artifacts/runner-summary.json", token: token)
                #expect(served.status == .ok && served.headers[.contentType] == "application/json")
                #expect(Data(buffer: served.body) == (try Data(contentsOf: artifacts.appendingPathComponent(scans[0]).appendingPathComponent("runner-summary.json"))))
                let debugLog = try await send(client, .get, "/v1/scans/\(scans[0])/artifacts/debug.log", token: token)
                #expect(String(buffer: debugLog.body) == log)
                #expect(try await send(client, .get, "/v1/scans/\(scans[0])/artifacts/vega.sqlite", token: token).status == .notFound)
                #expect(try await send(client, .get, "/v1/scans/scn_missing/artifacts", token: token).status == .notFound)
                // The workspaces are gone.
                #expect(try FileManager.default.contentsOfDirectory(atPath: data.root.appendingPathComponent("workspaces").path).isEmpty)
            }
        }
    }
}
