import Foundation
import Glibc
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VegaHTTPTestSupport
import VegaRunner
import VegaStoreTestSupport
import VegaTestSupport
import VegaWorker
@testable import VegaServer
@testable import VegaStore

/// Cancelling a running scan over the API: the scan is cancelled at once, its runner's
/// whole process group is killed (it ignores SIGTERM and would run for a minute), and
/// nothing of it is stored.
@Suite struct CancelRunningScanTests {
    @Test(arguments: TestDatabase.all)
    func cancellingARunningScanStopsItsRunner(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await TestTenant.make("acme", in: store)
            let repo = try TestRepo()
            defer { repo.remove() }
            try PlantedSecrets.plant(in: repo)
            try repo.commitAll("secrets")
            let data = try TestRepo(git: false)
            defer { data.remove() }
            // A runner that would take a minute and ignores SIGTERM, so only the hard kill
            // after the grace ends it. It records its pids to be checked afterwards.
            let pids = data.root.appendingPathComponent("runner-pids").path
            let script = data.root.appendingPathComponent("slow-runner").path
            try Data("#!/bin/sh\ntrap '' TERM\nsleep 60 &\necho $$ $! > \(pids)\nwait\n".utf8).write(to: URL(fileURLWithPath: script))
            chmod(script, 0o755)
            let worker = ScanWorker(
                store: store, dataDirectory: data.path, pollInterval: .milliseconds(50), progressInterval: .milliseconds(200),
                runner: RunnerConfiguration(executable: script, workspaceRoot: RunnerConfiguration.workspaces(in: data.path), isolation: .process),
                logger: Logger(label: "test")
            )
            let app = VegaServer.buildApplication(
                store: store, configuration: .init(port: 0, dataDirectory: data.path, allowFileRepositories: true), services: [worker],
                logger: Logger(label: "test")
            )
            try await app.test(.live) { client in
                let token = acme.ownerToken
                let project = try #require(try await call(client, .post, "/v1/projects", token: token, body: #"{"name":"shop"}"#).json["id"] as? String)
                let repository = try #require(try await call(client, .post, "/v1/repositories", token: token,
                                                             body: #"{"project_id":"\#(project)","url":"file://\#(repo.path)"}"#).json["id"] as? String)
                let submitted = try await call(client, .post, "/v1/scans", token: token, body: #"{"repository_id":"\#(repository)"}"#)
                let id = try #require(submitted.json["id"] as? String)
                var started: [pid_t] = []
                for _ in 0..<300 where started.count < 2 {
                    try await Task.sleep(for: .milliseconds(50))
                    started = ((try? String(contentsOfFile: pids, encoding: .utf8)) ?? "").split(whereSeparator: \.isWhitespace).compactMap { pid_t($0) }
                }
                try #require(started.count == 2, "the runner never started")
                #expect(try await call(client, .get, "/v1/scans/\(id)", token: token).json["state"] as? String == "running")

                let cancelledAt = ContinuousClock.now
                let cancelled = try await call(client, .post, "/v1/scans/\(id)/cancel", token: token)
                #expect(cancelled.status == .ok)
                #expect(cancelled.json["state"] as? String == "cancelled")
                while started.contains(where: isProcessRunning), ContinuousClock.now - cancelledAt < .seconds(5) {
                    try await Task.sleep(for: .milliseconds(20))
                }
                // By design a second and a half (a lease check every 0.5 s here 0.2 s, then 1 s of grace);
                // the bound leaves room for a loaded machine and still fails if the runner ran on.
                #expect(ContinuousClock.now - cancelledAt < .seconds(10), "the runner outlived the cancel")
                for pid in started { #expect(!isProcessRunning(pid), "runner process \(pid) survived") }
                // The workspace goes once the worker has stopped the runner.
                let workspaces = RunnerConfiguration.workspaces(in: data.path)
                for _ in 0..<100 where !((try? FileManager.default.contentsOfDirectory(atPath: workspaces)) ?? []).isEmpty {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(try FileManager.default.contentsOfDirectory(atPath: workspaces).isEmpty)

                let scan = try await call(client, .get, "/v1/scans/\(id)", token: token).json
                #expect(scan["state"] as? String == "cancelled")
                #expect(try await store.artifacts(scanID: id, in: acme.scope).isEmpty)
                let findings = try await call(client, .get, "/v1/findings?repository_id=\(repository)", token: token).json["items"] as? [Any]
                #expect(findings?.isEmpty == true)
                // A cancelled scan cannot be cancelled again.
                #expect(try await call(client, .post, "/v1/scans/\(id)/cancel", token: token).status == .conflict)
            }
        }
    }
}
