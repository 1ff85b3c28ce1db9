import ArgumentParser
import Foundation
import Logging
import VegaModel
import VegaStore
import VegaWorker

extension BenchCommand {
    /// The scan queue's own cost, without the scans: trivial jobs through the real store
    /// calls (claim, finish) by concurrent workers, and how long a job whose worker stopped
    /// heartbeating takes to be finished by another.
    struct Queue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "queue",
            abstract: "Queue throughput (claim → finish with 1, 4 and 16 workers) and the recovery time of a lost worker's job.",
            discussion: """
                Uses a new SQLite file unless --database-url names a PostgreSQL database, which must have no queued or running \
                scan (the workers here take every tenant's). Jobs are scans of a fresh tenant, finished without being run.
                """
        )

        @Option(help: "Jobs per run.")
        var jobs = 2_000

        @Option(help: "Comma-separated worker counts, one run each.")
        var workers = "1,4,16"

        @Option(help: "Jobs each worker claims per statement (`claimNextScans`), as a worker with that many free slots would.")
        var batch = 1

        @Option(help: "The lease of the recovery run: how long the lost worker's claim holds its job.")
        var lease = Interval(.seconds(5))

        @Option(name: .customLong("database-url"), help: "postgres://… to measure PostgreSQL; default: a temporary SQLite file.")
        var databaseURL: String?

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        var workerCounts: [Int] { workers.split(separator: ",").compactMap { Int($0) } }

        func validate() throws {
            if jobs < 10 { throw ValidationError("--jobs must be at least 10") }
            if !(1...100).contains(batch) { throw ValidationError("--batch must be from 1 to 100") }
            if workerCounts.isEmpty || workerCounts.contains(where: { !(1...64).contains($0) }) {
                throw ValidationError("--workers must be a comma-separated list of counts from 1 to 64")
            }
        }

        func run() async throws {
            let logger = Logger(label: "vega.bench")
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vega-bench-queue-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let database = try await DatabaseConnector.open(url: databaseURL ?? folder.appendingPathComponent("vega.sqlite").path, logger: logger)
            do {
                try await Migrator.migrate(database)
                let store = Store(database: database)
                let depth = try await store.queueDepth()
                guard depth.queued == 0 && depth.running == 0 else {
                    throw ValidationError("the database has \(depth.queued) queued and \(depth.running) running scans; bench an idle database")
                }
                var runs: [[String: Any]] = []
                for count in workerCounts {
                    let run = try await throughput(store, workers: count)
                    runs.append(run)
                    if !json {
                        print(String(
                            format: "%@, %2d worker%@, batch %d: %d jobs in %.2f s = %.0f jobs/s (enqueued at %.0f/s)",
                            database.kind.rawValue, count, count == 1 ? " " : "s", batch, jobs, run["seconds"] as? Double ?? 0,
                            run["jobs_per_second"] as? Double ?? 0, run["enqueued_per_second"] as? Double ?? 0
                        ))
                    }
                }
                let recovery = try await recovery(store, logger: logger)
                try await database.shutdown()
                if json {
                    let object: [String: Any] = [
                        "database": database.kind.rawValue, "jobs": jobs, "batch": batch, "runs": runs, "recovery": recovery,
                    ]
                    print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                } else {
                    print(String(
                        format: "%@, recovery: lease %@, poll 1s, retry backoff 5s base: the lost worker's job was finished by another %.2f s after it was claimed; its late finish was %@",
                        database.kind.rawValue, lease.description, recovery["seconds"] as? Double ?? 0,
                        recovery["late_finish_refused"] as? Bool == true ? "refused" : "NOT refused"
                    ))
                }
            } catch {
                try? await database.shutdown()
                throw error
            }
        }

        /// A fresh tenant with one repository, and `count` scans of it queued through the API's path.
        private func enqueue(_ count: Int, in store: Store) async throws -> (scope: TenantScope, seconds: Double) {
            let scope = try await store.createTenant(name: "bench-\(UUID().uuidString.prefix(8))")
            let owner = Principal(kind: .user, id: "usr_bench", tenantID: scope.tenantID, role: .owner)
            let project = try await store.createProject(name: "bench", by: owner)
            let url = "https://git.example.com/bench.git"
            let repository = try await store.createRepository(projectID: project, url: url, maskedURL: url, defaultBranch: "main", by: owner)
            let start = ContinuousClock.now
            for _ in 0..<count { _ = try await store.createScan(repositoryID: repository, ref: "main", engines: ["secrets"], by: owner) }
            return (scope, (ContinuousClock.now - start).seconds)
        }

        /// `workers` tasks, each claiming (`batch` at a time) and finishing until the queue is
        /// empty. No heartbeat: a worker's first comes a sixth of the lease (10 s) after the
        /// claim, and a trivial job has ended long before.
        private func throughput(_ store: Store, workers: Int) async throws -> [String: Any] {
            let enqueued = try await enqueue(jobs, in: store)
            let start = ContinuousClock.now
            let finished = try await withThrowingTaskGroup(of: Int.self) { [batch] group in
                for _ in 0..<workers {
                    group.addTask {
                        var done = 0
                        while case let claims = try await store.claimNextScans(limit: batch), !claims.isEmpty {
                            for claimed in claims {
                                try await store.finishScan(claimed, state: .succeeded, completeness: .complete)
                                done += 1
                            }
                        }
                        return done
                    }
                }
                return try await group.reduce(0, +)
            }
            let seconds = (ContinuousClock.now - start).seconds
            guard finished == jobs else { throw ValidationError("\(finished) jobs finished of \(jobs): the queue lost or repeated some") }
            return [
                "workers": workers, "batch": batch, "seconds": seconds, "jobs_per_second": Double(jobs) / seconds,
                "enqueued_per_second": Double(jobs) / enqueued.seconds,
            ]
        }

        /// One job claimed by a worker that then goes silent, and a real worker (trivial
        /// jobs, poll 1 s) that reaps and finishes it: seconds from the claim to the finish.
        private func recovery(_ store: Store, logger: Logger) async throws -> [String: Any] {
            let enqueued = try await enqueue(1, in: store)
            guard let lost = try await store.claimNextScan(lease: lease.duration) else { throw ValidationError("the job was not claimed") }
            let start = ContinuousClock.now
            let worker = ScanWorker(
                store: store, dataDirectory: FileManager.default.temporaryDirectory.path, lease: lease.duration, trivialJobs: true,
                logger: logger
            )
            let running = Task { try await worker.run() }
            defer { running.cancel() }
            while try await store.scan(id: lost.scanID, in: enqueued.scope)?.state != .succeeded {
                guard ContinuousClock.now - start < lease.duration * 4 + .seconds(60) else { throw ValidationError("the job was never recovered") }
                try await Task.sleep(for: .milliseconds(20))
            }
            let seconds = (ContinuousClock.now - start).seconds
            running.cancel()
            _ = try? await running.value
            var refused = false
            do { try await store.finishScan(lost, state: .failed, error: "late") } catch is Store.LeaseLost { refused = true }
            return ["lease_seconds": lease.duration.seconds, "seconds": seconds, "late_finish_refused": refused]
        }
    }
}
