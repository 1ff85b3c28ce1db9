import Foundation
import Logging
import SQLKit
import Testing
import VegaModel
import VegaStore
import VegaStoreTestSupport
import VegaTestSupport

/// PostgreSQL stops and comes back in the middle of a burst of submissions that two
/// `vega worker` processes drain: no scan is lost, none is finished twice, and the
/// workers and their LISTEN connections recover on their own. The server is a private
/// cluster of the test's own (`scripts/postgres` with its own folder and port), so the
/// shared test server other suites use stays up.
@Suite(.serialized) struct PostgresRestartTests {
    @Test(.enabled(if: TestDatabase.postgresURL != nil, "needs the PostgreSQL that scripts/postgres runs"))
    func aRestartDuringABurstLosesNoScan() async throws {
        let cluster = try PrivateCluster()
        defer { cluster.remove() }
        let logger = Logger(label: "vega.tests.restart")
        let database = try await DatabaseConnector.open(url: cluster.url, logger: logger)
        do {
            try await Self.burst(Store(database: database), cluster: cluster)
        } catch {
            try? await database.shutdown()
            throw error
        }
        try await database.shutdown()
    }

    private static func burst(_ store: Store, cluster: PrivateCluster) async throws {
        try await Migrator.migrate(store.database)
        let scope = try await store.createTenant(name: "acme")
        let owner = Principal(kind: .user, id: "usr_owner", tenantID: scope.tenantID, role: .owner)
        let project = try await store.createProject(name: "app", by: owner)
        let repository = try await store.addRepository("https://git.example.com/app.git", project: project, by: owner)
        let data = try TestRepo(git: false)
        defer { data.remove() }

        // A 30 s poll: scans are taken because workers are woken, and a scan stranded by
        // the restart (its finish lost; lease 2 s) is reaped and retried.
        let workers = try (0..<2).map { _ in
            try WorkerProcess(url: cluster.url, data: data, "--concurrency", "4", "--lease", "2s", "--poll-interval", "30s", "--test-trivial-jobs")
        }
        defer { for worker in workers { worker.kill() } }
        for worker in workers { try await worker.waitFor("worker started") }

        let total = 500, submitters = 5
        let ledger = Ledger()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<submitters {
                group.addTask {
                    for _ in 0..<(total / submitters) {
                        // A failed submission is visible to its submitter, who tries again.
                        while true {
                            do {
                                let id = try await store.createScan(repositoryID: repository, ref: "main", engines: ["secrets"], by: owner)
                                await ledger.stored(id)
                                break
                            } catch {
                                await ledger.failed()
                                try await Task.sleep(for: .milliseconds(100))
                            }
                        }
                    }
                }
            }
            group.addTask {
                try await WorkerCommandTests.waitUntil(seconds: 120) { await ledger.ids.count >= total / 4 }
                try cluster.stop()
                try await Task.sleep(for: .seconds(2))
                try cluster.start()
            }
            try await group.waitForAll()
        }
        let stored = await ledger.ids, failures = await ledger.failures
        #expect(stored.count == total)
        #expect(failures > 0, "the restart cut off some submissions")

        try await WorkerCommandTests.waitUntil(seconds: 240) {
            try await Self.count(store, "SELECT COUNT(*) AS n FROM scans WHERE state <> 'succeeded'") == 0
        }
        let succeeded = try await store.database.withConnection { db in
            try await db.raw("SELECT id, attempts FROM scans WHERE state = 'succeeded'").all().map {
                (try $0.decode(column: "id", as: String.self), try $0.decode(column: "attempts", as: Int.self))
            }
        }
        let succeededIDs = Set(succeeded.map(\.0))
        #expect(succeededIDs.isSuperset(of: stored), "every submission that returned is done")
        // A failed submission whose commit got through before the connection broke is stored
        // too (and done): never more of those than failures.
        #expect(succeeded.count - stored.count <= failures)
        // Only scans in flight when the server went down (at most the 8 slots) ran again,
        // after their lease expired; each succeeded once, under the one claim that held it.
        let retried = succeeded.filter { $0.1 > 1 }
        #expect(retried.count <= 8 && retried.allSatisfy { $0.1 == 2 }, "attempts of retried scans: \(retried.map(\.1))")
        #expect(try await Self.count(store, "SELECT COUNT(*) AS n FROM scans WHERE lease_token IS NOT NULL") == 0)

        // The listeners are back: a new scan is taken at once, not at the next 30 s poll.
        for worker in workers {
            #expect(worker.lines.contains { $0["msg"] as? String == "listening for queued scans again" }, "the listener reconnected")
        }
        let submitted = ContinuousClock.now
        let last = try await store.createScan(repositoryID: repository, ref: "main", engines: ["secrets"], by: owner)
        try await WorkerCommandTests.waitUntil(seconds: 60) { try await store.scan(id: last, in: scope)?.state == .succeeded }
        let waited = ContinuousClock.now - submitted
        #expect(waited < .seconds(5), "taken \(waited) after it was queued")

        var ran = 0
        for worker in workers { ran += try await worker.stop() }
        // Every claim that reached a worker ran once; a retried scan's first claim may have been lost with the server.
        #expect(ran >= succeeded.count + 1 && ran <= succeeded.count + 1 + retried.count, "\(ran) runs")
    }

    private static func count(_ store: Store, _ sql: SQLQueryString) async throws -> Int {
        try await store.database.withConnection { db in try await db.raw(sql).first()!.decode(column: "n", as: Int.self) }
    }
}

/// What the submitters got back: the ids of stored scans, and how many submissions failed.
private actor Ledger {
    private(set) var ids: Set<String> = []
    private(set) var failures = 0

    func stored(_ id: String) { ids.insert(id) }
    func failed() { failures += 1 }
}

/// A PostgreSQL cluster of the test's own, run by `scripts/postgres` in a fresh folder on
/// a port below Linux's ephemeral range (so no outgoing connection holds it).
private struct PrivateCluster {
    let folder: String
    let port: Int
    let url: String

    init() throws {
        var refusal = ""
        for _ in 0..<3 {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vega-pg-restart-\(UUID().uuidString.prefix(8))").path
            let port = Int.random(in: 15_000...19_999)
            let started = try Self.script("start", folder: folder, port: port)
            if started.status == 0 {
                (self.folder, self.port) = (folder, port)
                url = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                return
            }
            refusal = started.stderr
            try? FileManager.default.removeItem(atPath: folder)
        }
        throw RunError(description: "cannot start a private PostgreSQL: \(refusal)")
    }

    func start() throws {
        let result = try Self.script("start", folder: folder, port: port)
        guard result.status == 0 else { throw RunError(description: "PostgreSQL did not start again: \(result.stderr)") }
    }

    /// A fast shutdown: every session is cut off, open transactions roll back.
    func stop() throws {
        let result = try Self.script("stop", folder: folder, port: port)
        guard result.status == 0 else { throw RunError(description: "PostgreSQL did not stop: \(result.stderr)") }
    }

    func remove() {
        _ = try? Self.script("stop", folder: folder, port: port)
        try? FileManager.default.removeItem(atPath: folder)
    }

    private static func script(_ command: String, folder: String, port: Int) throws -> Run.Result {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try Run.command(
            root.appendingPathComponent("scripts/postgres").path, [command],
            environment: ["VEGA_PG_DIR": folder, "VEGA_PG_PORT": String(port)]
        )
    }
}
