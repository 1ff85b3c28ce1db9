import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VegaHTTPTestSupport
import VegaModel
import VegaStoreTestSupport
import VegaTestSupport
@testable import VegaServer
@testable import VegaStore
import VegaRunner
import VegaWorker

/// Scans of refs over real HTTP with the in-process worker and a real git repository:
/// main has an AWS key; the feature branch drops it and adds a GitHub token; v1 tags
/// main's first commit.
@Suite struct ScanAPITests {
    @Test(arguments: TestDatabase.all)
    func scansOfBranchesTagsAndCommitsListedAndCounted(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await TestTenant.make("acme", in: store)
            let viewer = try await acme.key(.viewer).token
            let rival = try await TestTenant.make("rival", in: store)

            let repo = try TestRepo()
            defer { repo.remove() }
            try repo.write("config/settings.py", "AWS_ACCESS_KEY_ID = \"\(PlantedSecrets.awsKeyID)\"\n")
            try repo.write("README.md", "# demo\n")
            try repo.commitAll("first")
            let first = try repo.git("rev-parse", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)
            try repo.git("tag", "v1")
            try repo.git("checkout", "-q", "-b", "feature")
            try repo.delete("config/settings.py")
            try repo.write("deploy/ci.sh", "export GITHUB_TOKEN=\(PlantedSecrets.githubToken)\n")
            try repo.commitAll("feature: a token instead")
            let feature = try repo.git("rev-parse", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)
            try repo.git("checkout", "-q", "main")
            try repo.write("notes.txt", "later\n")
            try repo.commitAll("second")
            let head = try repo.git("rev-parse", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)

            let data = try TestRepo(git: false)
            defer { data.remove() }
            let worker = ScanWorker(store: store, dataDirectory: data.path, pollInterval: .milliseconds(50),
                                    progressInterval: .milliseconds(50),
                                    runner: RunnerConfiguration(executable: try vegaPath(), workspaceRoot: RunnerConfiguration.workspaces(in: data.path)),
                                    logger: Logger(label: "test"))
            let app = VegaServer.buildApplication(
                store: store, configuration: .init(port: 0, dataDirectory: data.path, allowFileRepositories: true), services: [worker],
                logger: Logger(label: "test")
            )
            try await app.test(.live) { client in
                let token = acme.ownerToken
                let project = try #require(try await call(client, .post, "/v1/projects", token: token, body: #"{"name":"shop"}"#).json["id"] as? String)
                let repository = try #require(try await call(client, .post, "/v1/repositories", token: token,
                                                             body: #"{"project_id":"\#(project)","url":"file://\#(repo.path)"}"#).json["id"] as? String)

                /// Submits a scan of `ref` (none: the default branch) and waits for its end.
                func scan(_ ref: String?) async throws -> [String: Any] {
                    let field = ref.map { #","ref":"\#($0)""# } ?? ""
                    let submitted = try await call(client, .post, "/v1/scans", token: token,
                                                   body: #"{"repository_id":"\#(repository)","engines":["secrets"]\#(field)}"#)
                    #expect(submitted.status == .accepted)
                    let id = try #require(submitted.json["id"] as? String)
                    var scan = submitted.json
                    for _ in 0..<600 where ["queued", "running"].contains(scan["state"] as? String) {
                        try await Task.sleep(for: .milliseconds(100))
                        scan = try await call(client, .get, "/v1/scans/\(id)", token: token).json
                    }
                    return scan
                }
                func states() async throws -> [String: String] {
                    let list = try await call(client, .get, "/v1/findings?repository_id=\(repository)", token: token)
                    let items = try #require(list.json["items"] as? [[String: Any]])
                    return Dictionary(items.map { ($0["path"] as? String ?? "?", $0["state"] as? String ?? "?") }, uniquingKeysWith: { a, _ in a })
                }

                let onMain = try await scan(nil)
                #expect(onMain["state"] as? String == "succeeded" && onMain["ref"] as? String == "main" && onMain["commit"] as? String == head)
                #expect(try await states() == ["config/settings.py": "open"])

                // The feature branch's token is found; main's key, absent there, is still open on main.
                let onFeature = try await scan("feature")
                #expect(onFeature["state"] as? String == "succeeded" && onFeature["ref"] as? String == "feature")
                #expect(onFeature["commit"] as? String == feature && onFeature["completeness"] as? String == "complete")
                let progress = try #require(onFeature["progress"] as? [String: Any])
                #expect(progress["phase"] as? String == "done" && progress["findings"] as? Int == 1)
                #expect((progress["files_scanned"] as? Int ?? 0) >= 2 && (progress["bytes_scanned"] as? Int ?? 0) > 0)
                #expect((onFeature["queue_seconds"] as? Double ?? -1) >= 0 && (onFeature["run_seconds"] as? Double ?? -1) >= 0)
                #expect(onFeature["started_at"] is String && onFeature["finished_at"] is String)
                #expect(try await states() == ["config/settings.py": "open", "deploy/ci.sh": "open"])

                // A tag and a commit id record the commit they name.
                let onTag = try await scan("v1")
                #expect(onTag["state"] as? String == "succeeded" && onTag["commit"] as? String == first)
                let onCommit = try await scan(first.uppercased())
                #expect(onCommit["state"] as? String == "succeeded" && onCommit["ref"] as? String == first && onCommit["commit"] as? String == first)

                // An unknown ref fails the scan with a clear error and changes nothing.
                let unknown = try await scan("no-such-branch")
                #expect(unknown["state"] as? String == "failed" && unknown["completeness"] as? String == "failed")
                #expect(unknown["error"] as? String == "ref no-such-branch not found in the repository")
                #expect(unknown["commit"] == nil && (unknown["progress"] as? [String: Any])?["phase"] as? String == "cloning", "it stopped cloning")
                #expect(try await states() == ["config/settings.py": "open", "deploy/ci.sh": "open"])

                // A ref git would not accept, or would read as an option, never reaches the queue.
                for ref in ["--upload-pack=touch /tmp/x", "a..b", "has space", "x@{1}", "", String(repeating: "r", count: 256)] {
                    let refused = try await call(client, .post, "/v1/scans", token: token,
                                                 body: #"{"repository_id":"\#(repository)","ref":"\#(ref)"}"#)
                    #expect(refused.status == .unprocessableContent && refused.json["code"] as? String == "invalid_ref", "\(ref)")
                }

                // Lists: newest first, filtered, paged by cursor.
                let ids = [onMain, onFeature, onTag, onCommit, unknown].compactMap { $0["id"] as? String }
                let all = try await call(client, .get, "/v1/scans", token: viewer)
                #expect(try #require(all.json["items"] as? [[String: Any]]).compactMap { $0["id"] as? String } == ids.reversed())
                #expect(all.json["next_cursor"] == nil)
                var paged: [String] = []
                var cursor: String?
                repeat {
                    let page = try await call(client, .get, "/v1/scans?repository_id=\(repository)&state=succeeded,failed&limit=2"
                                              + (cursor.map { "&cursor=\($0)" } ?? ""), token: token)
                    paged += try #require(page.json["items"] as? [[String: Any]]).compactMap { $0["id"] as? String }
                    cursor = page.json["next_cursor"] as? String
                } while cursor != nil
                #expect(paged == ids.reversed())
                let onlyFeature = try await call(client, .get, "/v1/scans?ref=feature", token: token)
                #expect((onlyFeature.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[1]])
                let failed = try await call(client, .get, "/v1/scans?state=failed", token: token)
                #expect((failed.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[4]])
                for (query, code) in [("state=finished", "invalid_filter"), ("cursor=%25%25", "invalid_cursor"), ("limit=0", "invalid_limit"),
                                      ("limit=1001", "invalid_limit")] {
                    let bad = try await call(client, .get, "/v1/scans?\(query)", token: token)
                    #expect(bad.status == .badRequest && bad.json["code"] as? String == code, "\(query)")
                }

                // Usage: five scans today (the failed one too), what they read, what the tenant holds.
                let usage = try await call(client, .get, "/v1/usage", token: viewer)
                #expect(usage.status == .ok)
                let totals = try #require(usage.json["totals"] as? [String: Any])
                #expect(totals["scans"] as? Int == 5 && totals["findings"] as? Int == 4)
                #expect((totals["files"] as? Int ?? 0) >= 8 && (totals["bytes"] as? Int ?? 0) > 0)
                #expect((usage.json["days"] as? [[String: Any]])?.count == 30)
                let current = try #require(usage.json["current"] as? [String: Any])
                #expect(current["repositories"] as? Int == 1 && current["open_findings"] as? Int == 2)
                let today = CalendarDay(Date())
                let range = try await call(client, .get, "/v1/usage?from=\(today.adding(days: -1))&to=\(today)", token: token)
                #expect((range.json["days"] as? [[String: Any]])?.compactMap { $0["day"] as? String } == ["\(today.adding(days: -1))", "\(today)"])
                for (query, code) in [("from=2025-02-30", "invalid_date"), ("to=tomorrow", "invalid_date"),
                                      ("from=2025-03-02&to=2025-03-01", "invalid_range"), ("from=2024-01-01&to=2025-01-01", "invalid_range")] {
                    let bad = try await call(client, .get, "/v1/usage?\(query)", token: token)
                    #expect(bad.status == .badRequest && bad.json["code"] as? String == code, "\(query)")
                }
                #expect(try await call(client, .get, "/v1/usage?from=2024-01-01&to=2024-12-31", token: token).status == .ok, "366 days")

                // A viewer reads but cannot scan; another tenant sees nothing of these.
                let viewerScan = try await call(client, .post, "/v1/scans", token: viewer, body: #"{"repository_id":"\#(repository)"}"#)
                #expect(viewerScan.status == .forbidden)
                #expect((try await call(client, .get, "/v1/scans", token: rival.ownerToken).json["items"] as? [Any])?.isEmpty == true)
                let rivalFiltered = try await call(client, .get, "/v1/scans?repository_id=\(repository)", token: rival.ownerToken)
                #expect((rivalFiltered.json["items"] as? [Any])?.isEmpty == true)
                #expect(try await call(client, .get, "/v1/scans/\(ids[0])", token: rival.ownerToken).status == .notFound)
                let rivalSubmit = try await call(client, .post, "/v1/scans", token: rival.ownerToken, body: #"{"repository_id":"\#(repository)"}"#)
                #expect(rivalSubmit.status == .notFound)
                let rivalUsage = try await call(client, .get, "/v1/usage", token: rival.ownerToken)
                #expect((rivalUsage.json["totals"] as? [String: Any])?["scans"] as? Int == 0)
                #expect((rivalUsage.json["current"] as? [String: Any])?["repositories"] as? Int == 0)
            }
        }
    }
}
