import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VegaHTTPTestSupport
import VegaStoreTestSupport
import VegaTestSupport
@testable import VegaArtifacts
@testable import VegaCLI
@testable import VegaServer
@testable import VegaStore
import VegaModel
import VegaRunner
import VegaWorker

/// The platform with its reports in a bucket: a scan run by the worker stores them on the
/// S3-compatible test server, the API serves them from there, and retention removes them.
@Suite struct ArtifactsEndToEndTests {
    static let logger = Logger(label: "test")

    @Test(arguments: TestDatabase.all)
    func scanReportsLiveInTheBucketUntilRetention(_ database: TestDatabase) async throws {
        try await database.withStore { store in
            guard let first = try await store.bootstrapIfEmpty() else { Issue.record("no bootstrap"); return }
            let token = first.ownerToken
            let repo = try TestRepo()
            defer { repo.remove() }
            try PlantedSecrets.plant(in: repo)
            try repo.write("requirements.txt", "django==3.2.0\n")
            try repo.commitAll("app with secrets")
            let data = try TestRepo(git: false)
            defer { data.remove() }
            let bucket = try await TestArtifactStore.freshS3(prefix: "reports")
            let worker = ScanWorker(
                store: store, dataDirectory: data.path, artifacts: bucket, pollInterval: .milliseconds(50),
                runner: RunnerConfiguration(executable: try vegaPath(), workspaceRoot: RunnerConfiguration.workspaces(in: data.path)), logger: Self.logger
            )
            let app = VegaServer.buildApplication(
                store: store, configuration: .init(port: 0, dataDirectory: data.path, artifacts: bucket, allowFileRepositories: true),
                services: [worker], logger: Self.logger
            )
            try await app.test(.live) { client in
                #expect(try await send(client, .get, "/readyz").status == .ok, "a HEAD of the bucket succeeds")
                let project = try await call(client, .post, "/v1/projects", token: token, body: #"{"name":"shop"}"#)
                let projectID = try #require(project.json["id"] as? String)
                let repository = try await call(client, .post, "/v1/repositories", token: token,
                                                body: #"{"project_id":"\#(projectID)","url":"file://\#(repo.path)"}"#)
                let repositoryID = try #require(repository.json["id"] as? String)
                let submitted = try await call(client, .post, "/v1/scans", token: token,
                                               body: #"{"repository_id":"\#(repositoryID)","engines":["secrets","deps"]}"#)
                let scanID = try #require(submitted.json["id"] as? String)
                var state = submitted.json["state"] as? String
                for _ in 0..<600 where state == "queued" || state == "running" {
                    try await Task.sleep(for: .milliseconds(100))
                    state = try await call(client, .get, "/v1/scans/\(scanID)", token: token).json["state"] as? String
                }
                try #require(state == "succeeded")

                // The reports are objects in the bucket under <prefix>/<tenant>/<scan>/, and nothing went to the data folder.
                let tenant = first.tenant.tenantID
                let kinds = ["debug.log", "report.json", "report.sarif", "runner-summary.json", "sbom.cdx.json"]
                #expect(try await bucket.list(prefix: "\(tenant)/") == kinds.map { "\(tenant)/\(scanID)/\($0)" })
                #expect(!FileManager.default.fileExists(atPath: data.root.appendingPathComponent("artifacts").path))
                let recorded = try await store.artifacts(scanID: scanID, in: first.tenant)
                #expect(recorded.map(\.location) == kinds.map { "\(tenant)/\(scanID)/\($0)" })

                let sarif = try await send(client, .get, "/v1/scans/\(scanID)/report.sarif", token: token)
                #expect(sarif.status == .ok && sarif.headers[.contentType] == "application/sarif+json")
                let document = try JSONSerialization.jsonObject(with: Data(buffer: sarif.body)) as? [String: Any]
                #expect(document?["version"] as? String == "2.1.0")
                #expect(Data(buffer: sarif.body) == (try await bucket.get("\(tenant)/\(scanID)/report.sarif")))
                for secret in PlantedSecrets.all { #expect(!String(buffer: sarif.body).contains(secret)) }
                #expect(try await send(client, .get, "/v1/scans/\(scanID)/report.json", token: token).status == .ok)

                // Retention of 30 days, run 31 days on: the objects, the rows and the downloads go.
                let summary = try await MaintenanceCommand.expireArtifacts(
                    olderThan: 30, store: store, artifacts: bucket, now: Date().addingTimeInterval(31 * 86_400), logger: Self.logger
                )
                #expect(summary.artifacts == kinds.count && summary.scans == 1 && summary.failure == nil)
                #expect(try await bucket.list(prefix: "").isEmpty)
                #expect(try await store.artifacts(scanID: scanID, in: first.tenant).isEmpty)
                let expired = try await send(client, .get, "/v1/scans/\(scanID)/report.sarif", token: token)
                #expect(expired.status == .gone)
                #expect(try json(expired)["code"] as? String == "artifact_expired")
                let event = try await store.auditEvents(in: first.tenant).last
                #expect(event?.action == "scan.artifacts_expired" && event?.subject == "scan:\(scanID)" && event?.actor == "system")
                #expect(try await store.verifyAudit(in: first.tenant).firstBroken == nil)
            }
        }
    }

    @Test(arguments: TestDatabase.all, TestArtifactStore.allCases)
    func retentionKeepsWhatIsYoungerAndWhatItCannotRemove(_ database: TestDatabase, _ kind: TestArtifactStore) async throws {
        try await database.withStore { store in
            let tenant = try await store.createTenant(name: "acme")
            let actor = Principal.tester(in: tenant)
            let project = try await store.createProject(name: "app", by: actor)
            let repository = try await store.addRepository("https://git.example.com/acme/app.git", project: project, by: actor)
            let now = Date()
            let old = try await store.createScan(repositoryID: repository, ref: "main", engines: [], by: actor)
            let young = try await store.createScan(repositoryID: repository, ref: "main", engines: [], by: actor)
            try await kind.with { artifacts in
                for (scan, age) in [(old, 40.0), (young, 2.0)] {
                    for kind in ["report.json", "report.sarif"] {
                        let key = try ArtifactKey.make(tenant: tenant.tenantID, scan: scan, kind: kind)
                        try await artifacts.put(key, data: Data(kind.utf8), contentType: "application/json")
                        _ = try await store.recordArtifact(scanID: scan, kind: kind, location: key, contents: Data(kind.utf8), in: tenant,
                                                           now: now.addingTimeInterval(-age * 86_400))
                    }
                }
                // Batches of one: the loop goes on until the old scan's artifacts are all gone.
                let summary = try await MaintenanceCommand.expireArtifacts(olderThan: 30, store: store, artifacts: artifacts, now: now, batch: 1,
                                                                           logger: Self.logger)
                #expect(summary.artifacts == 2 && summary.scans == 1 && summary.failure == nil)
                #expect(try await artifacts.list(prefix: "") == ["report.json", "report.sarif"].map { "\(tenant.tenantID)/\(young)/\($0)" })
                #expect(try await store.artifacts(scanID: old, in: tenant).isEmpty)
                #expect(try await store.artifactsExpired(scanID: old, in: tenant))
                #expect(try await store.artifacts(scanID: young, in: tenant).count == 2)
                #expect(try await !store.artifactsExpired(scanID: young, in: tenant))
                // Run again: nothing more to do.
                let again = try await MaintenanceCommand.expireArtifacts(olderThan: 30, store: store, artifacts: artifacts, now: now, logger: Self.logger)
                #expect(again.artifacts == 0)
            }

            // A store that refuses: the rows stay (tried again next run) and the failure is reported.
            let refusing = RefusingStore()
            let failed = try await MaintenanceCommand.expireArtifacts(olderThan: 1, store: store, artifacts: refusing, now: now, logger: Self.logger)
            #expect(failed.artifacts == 0 && failed.failure?.contains("the bucket is down") == true)
            #expect(try await store.artifacts(scanID: young, in: tenant).count == 2)
        }
    }

    @Test func legacyLocationsReadThroughTheFolderStore() {
        // Rows written before the artifact store hold `artifacts/<key>`, relative to the data folder.
        let legacy = Artifact(id: "art_1", scanID: "scn_1", kind: "report.json", location: "artifacts/ten_1/scn_1/report.json", size: 2,
                              sha256: "", createdAt: Date())
        #expect(legacy.key == "ten_1/scn_1/report.json")
        var current = legacy
        current.location = "ten_1/scn_1/report.json"
        #expect(current.key == "ten_1/scn_1/report.json")
    }

    /// `vega maintenance` as an operator runs it, on the default folder store.
    @Test func maintenanceCommandExpiresTheDataFoldersArtifacts() async throws {
        let data = try TestRepo(git: false)
        defer { data.remove() }
        let database = try await DatabaseConnector.open(url: data.root.appendingPathComponent("vega.sqlite").path, logger: Self.logger)
        let store = Store(database: database)
        let scan: String
        let tenant: TenantScope
        do {
            try await Migrator.migrate(database)
            tenant = try await store.createTenant(name: "acme")
            let actor = Principal.tester(in: tenant)
            let repository = try await store.addRepository("https://git.example.com/a.git", project: try await store.createProject(name: "p", by: actor), by: actor)
            scan = try await store.createScan(repositoryID: repository, ref: "main", engines: [], by: actor)
            let key = try ArtifactKey.make(tenant: tenant.tenantID, scan: scan, kind: "report.json")
            try await LocalArtifactStore.inDataDirectory(data.path).put(key, data: Data("{}".utf8), contentType: "application/json")
            _ = try await store.recordArtifact(scanID: scan, kind: "report.json", location: key, contents: Data("{}".utf8), in: tenant,
                                               now: Date().addingTimeInterval(-10 * 86_400))
            try await database.shutdown()
        } catch {
            try? await database.shutdown()
            throw error
        }
        #expect(await VegaCommandLine.run(["maintenance", "--data-dir", data.path]) == 0, "every run removes expired Idempotency-Keys")
        #expect(FileManager.default.fileExists(atPath: data.root.appendingPathComponent("artifacts/\(tenant.tenantID)/\(scan)/report.json").path))
        #expect(await VegaCommandLine.run(["maintenance", "--data-dir", data.path, "--artifact-retention-days", "30"]) == 0)
        #expect(FileManager.default.fileExists(atPath: data.root.appendingPathComponent("artifacts/\(tenant.tenantID)/\(scan)/report.json").path))
        #expect(await VegaCommandLine.run(["maintenance", "--data-dir", data.path, "--artifact-retention-days", "7"]) == 0)
        #expect(!FileManager.default.fileExists(atPath: data.root.appendingPathComponent("artifacts/\(tenant.tenantID)").path))
    }
}

/// An artifact store whose every call fails, as a bucket that is down.
struct RefusingStore: ArtifactStore {
    var description: String { "refusing" }
    func put(_ key: String, data: Data, contentType: String) async throws { throw ArtifactStoreError("the bucket is down") }
    func get(_ key: String) async throws -> Data? { throw ArtifactStoreError("the bucket is down") }
    func delete(_ key: String) async throws { throw ArtifactStoreError("the bucket is down") }
    func list(prefix: String) async throws -> [String] { throw ArtifactStoreError("the bucket is down") }
    func checkReady() async throws { throw ArtifactStoreError("the bucket is down") }
}
