import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import SQLKit
import Testing
import VegaModel
import VegaStore
import VegaStoreTestSupport
import VegaTestSupport

/// `vega worker` processes on one database, SQLite file and PostgreSQL: never a scan run
/// twice, a `kill -9` mid-scan recovered by another worker with one set of results, and
/// dead scans re-driven over the API of a `vega serve --no-worker` node.
@Suite(.serialized) struct WorkerCommandTests {
    @Test(arguments: TestDatabase.all)
    func twoWorkerProcessesDrainThousandsOfScansRunningEachOnce(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let data = try TestRepo(git: false)
            defer { data.remove() }
            let url = try await Self.url(of: store.database)
            let site = try await Site(store)
            // The hidden test hook: each scan is claimed, heartbeaten and finished, not run.
            let workers = try (0..<2).map { _ in
                try WorkerProcess(url: url, data: data, "--concurrency", "4", "--poll-interval", "100ms", "--test-trivial-jobs")
            }
            defer { for worker in workers { worker.kill() } }
            for worker in workers { try await worker.waitFor("worker started") }

            let total = 2_000
            for _ in 0..<total { _ = try await site.submit() }
            try await Self.waitUntil(seconds: 240) {
                try await site.count("SELECT COUNT(*) AS n FROM scans WHERE state = 'succeeded'") == total
            }
            var ran: [Int] = []
            for worker in workers { ran.append(try await worker.stop()) }
            #expect(ran.reduce(0, +) == total && ran.allSatisfy { $0 > 0 }, "both processes took part, \(ran) scans each")
            // Any second claim of a scan would have counted a second attempt.
            #expect(try await site.count("SELECT COUNT(*) AS n FROM scans WHERE state = 'succeeded' AND attempts = 1") == total)
            #expect(try await store.queueDepth() == (queued: 0, running: 0))
        }
    }

    @Test(arguments: TestDatabase.all)
    func aWorkerKilledMidScanIsReplacedAndTheResultsAreStoredOnce(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let data = try TestRepo(git: false)
            defer { data.remove() }
            let repo = try TestRepo()
            defer { repo.remove() }
            try PlantedSecrets.plant(in: repo)
            // Enough clean text that the scan is still running when it is killed.
            let filler = String(repeating: "let value = compute(index) + offset // nothing secret on this line\n", count: 700)
            for i in 0..<300 { try repo.write("src/module\(i)/file.swift", filler) }
            try repo.commitAll("app")
            let url = try await Self.url(of: store.database)
            let site = try await Site(store, repository: "file://\(repo.path)")
            let id = try await site.submit()

            let doomed = try WorkerProcess(url: url, data: data, "--lease", "2s", "--poll-interval", "200ms")
            defer { doomed.kill() }
            try await Self.waitUntil(seconds: 60) { try await site.scan(id).state == .running }
            doomed.kill()
            let orphaned = try await site.scan(id)
            #expect(orphaned.state == .running && orphaned.attempts == 1, "killed mid-scan")

            let rescuer = try WorkerProcess(url: url, data: data, "--lease", "2s", "--poll-interval", "200ms")
            defer { rescuer.kill() }
            try await Self.waitUntil(seconds: 120) { try await site.scan(id).state == .succeeded }
            #expect(try await rescuer.stop() == 1)

            let done = try await site.scan(id)
            #expect(done.attempts == 2 && done.error == nil && done.progress?.findings == 4)
            #expect(try await site.count("SELECT COUNT(*) AS n FROM findings") == 4)
            #expect(try await site.count("SELECT COUNT(*) AS n FROM finding_occurrences WHERE scan_id = \(bind: id)") == 4)
            let opened = try await store.auditEvents(in: site.scope).filter { $0.action == "finding.state_changed" }
            #expect(opened.count == 4, "one appearance per finding, not one per attempt")
            #expect(try await site.count("SELECT COUNT(*) AS n FROM artifacts WHERE scan_id = \(bind: id) AND kind = 'report.json'") == 1)
        }
    }

    @Test(arguments: TestDatabase.all)
    func anAPIOnlyNodeLeavesScansToWorkersAndReDrivesDeadOnes(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let data = try TestRepo(git: false)
            defer { data.remove() }
            let repo = try TestRepo()
            defer { repo.remove() }
            try PlantedSecrets.plant(in: repo)
            try repo.commitAll("app")
            let url = try await Self.url(of: store.database)
            let site = try await Site(store, repository: "file://\(repo.path)")
            let member = try await store.createAPIKey(name: "ci", role: .member, by: site.owner).token
            let viewer = try await store.createAPIKey(name: "ro", role: .viewer, by: site.owner).token

            // Below Linux's ephemeral range, so no outgoing connection holds the port; another try if a test server does.
            var started: (server: WorkerProcess, port: Int)?
            for _ in 0..<5 where started == nil {
                let port = Int.random(in: 20_000...32_000)
                let candidate = try WorkerProcess(url: url, data: data, command: "serve", "--port", String(port), "--no-worker")
                try await WorkerCommandTests.waitUntil(seconds: 60) {
                    !candidate.process.isRunning || candidate.lines.contains { ($0["msg"] as? String)?.hasPrefix("Server started") == true }
                }
                if candidate.process.isRunning { started = (candidate, port) } else { candidate.kill() }
            }
            let (server, port) = try #require(started)
            defer { server.kill() }
            let api = API(port: port)

            // Submitted over the API, it waits: this node runs no scans.
            let submitted = try await api.call("POST", "/v1/scans", token: member, body: ["repository_id": site.repository, "engines": ["secrets"]])
            let id = try #require(submitted.json["id"] as? String)
            try await Task.sleep(for: .seconds(2))
            #expect(try await site.scan(id).state == .queued)

            // Its workers keep dying (the store's calls, as a dying worker leaves them): dead after three.
            var now = Date()
            for _ in 1...3 {
                _ = try #require(try await store.claimNextScan(now: now, lease: .seconds(1)))
                now += 600
                _ = try await store.reclaimExpiredLeases(now: now)
                now += 600  // past the retry's backoff
            }
            let dead = try await api.call("GET", "/v1/scans?state=dead", token: viewer)
            let items = try #require(dead.json["items"] as? [[String: Any]])
            #expect(items.map { $0["id"] as? String } == [id] && items.first?["attempts"] as? Int == 3)
            #expect((items.first?["error"] as? String)?.contains("worker lost (lease expired) after 3 attempts") == true)

            #expect(try await api.call("POST", "/v1/scans/\(id)/retry", token: viewer).status == 403)
            let retried = try await api.call("POST", "/v1/scans/\(id)/retry", token: member)
            #expect(retried.status == 200 && retried.json["state"] as? String == "queued" && retried.json["attempts"] as? Int == 0)
            let again = try await api.call("POST", "/v1/scans/\(id)/retry", token: member)
            #expect(again.status == 409 && again.json["code"] as? String == "not_retryable")
            let events = try await store.auditEvents(in: site.scope).filter { $0.action == "scan.retried" }
            #expect(events.count == 1 && events.first?.subject == "scan:\(id)")

            // A worker process takes it from there.
            let worker = try WorkerProcess(url: url, data: data, "--poll-interval", "200ms")
            defer { worker.kill() }
            try await Self.waitUntil(seconds: 120) { try await site.scan(id).state == .succeeded }
            let report = try await api.call("GET", "/v1/scans/\(id)", token: viewer)
            #expect(report.json["state"] as? String == "succeeded" && report.json["attempts"] as? Int == 1)
            #expect(try await worker.stop() == 1)
            #expect(try await server.stop(expectScans: false) == 0)
        }
    }

    // MARK: Helpers

    /// The URL worker processes open `database` by: the SQLite file, or the fresh PostgreSQL database's own URL.
    static func url(of database: any StoreDatabase) async throws -> String {
        if let sqlite = database as? SQLiteBackend { return sqlite.path }
        let name = try await database.withConnection { db in
            try await db.raw("SELECT current_database() AS name").first()!.decode(column: "name", as: String.self)
        }
        let base = try #require(TestDatabase.postgresURL)
        var components = try #require(URLComponents(string: base))
        components.path = "/" + name
        return try #require(components.string)
    }

    static func waitUntil(seconds: Double, _ condition: () async throws -> Bool) async throws {
        let deadline = Date() + seconds
        while try await !condition() {
            guard Date() < deadline else { throw RunError(description: "not done within \(seconds) s") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// A tenant with one repository, and scans of it submitted as the API would.
private struct Site {
    let store: Store
    let scope: TenantScope
    let owner: Principal
    let repository: String

    init(_ store: Store, repository url: String = "https://git.example.com/app.git") async throws {
        self.store = store
        scope = try await store.createTenant(name: "acme")
        owner = Principal(kind: .user, id: "usr_owner", tenantID: scope.tenantID, role: .owner)
        let project = try await store.createProject(name: "app", by: owner)
        repository = try await store.addRepository(url, project: project, by: owner)
    }

    func submit() async throws -> String {
        try await store.createScan(repositoryID: repository, ref: "main", engines: ["secrets"], by: owner)
    }

    func scan(_ id: String) async throws -> ScanRecord { try #require(try await store.scan(id: id, in: scope)) }

    func count(_ sql: SQLQueryString) async throws -> Int {
        try await store.database.withConnection { db in try await db.raw(sql).first()!.decode(column: "n", as: Int.self) }
    }
}

/// A `vega worker` (or other long-running command) on the test's database, its JSON log
/// lines written to a file the test reads.
final class WorkerProcess: @unchecked Sendable {
    let process = Process()
    let log: URL

    init(url: String, data: TestRepo, command: String = "worker", _ arguments: String...) throws {
        log = data.root.appendingPathComponent("\(command)-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else { throw RunError(description: "cannot create \(log.path)") }
        process.executableURL = URL(fileURLWithPath: try vegaPath())
        process.arguments = [command, "--database-url", url, "--data-dir", data.path, "--log-format", "json"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
    }

    var lines: [[String: Any]] {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func waitFor(_ message: String) async throws {
        try await WorkerCommandTests.waitUntil(seconds: 60) { lines.contains { $0["msg"] as? String == message } }
    }

    /// SIGTERM, and the scans it ran, from its last log line.
    func stop(expectScans: Bool = true) async throws -> Int {
        process.terminate()
        try await WorkerCommandTests.waitUntil(seconds: 60) { !process.isRunning }
        #expect(process.terminationStatus == 0, "a SIGTERM is a clean stop")
        guard expectScans else { return 0 }
        let stopped = try #require(lines.last { $0["msg"] as? String == "worker stopped" })
        return try #require(Int(stopped["scans_run"] as? String ?? ""))
    }

    /// `kill -9`: no chance to release anything.
    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Plain HTTP to a `vega serve` on loopback.
private struct API {
    let port: Int

    func call(_ method: String, _ path: String, token: String, body: [String: Any]? = nil) async throws -> (status: Int, json: [String: Any]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        for attempt in 0..<100 {  // the listener may open a moment after the log line
            do {
                let (data, response) = try await URLSession.shared.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
            } catch where attempt < 99 {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        throw RunError(description: "no answer from 127.0.0.1:\(port)")
    }
}
