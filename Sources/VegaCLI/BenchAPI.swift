import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import VegaLifecycle
import VegaModel
import VegaServer
import VegaStore

extension BenchCommand {
    /// The findings list endpoint under a realistic load: a tenant with many findings,
    /// requests with filters over real loopback HTTP, latency percentiles.
    struct API: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "api",
            abstract: "Load findings into a fresh tenant and time GET /v1/findings with filters (p50/p99).",
            discussion: "Uses a new SQLite file unless --database-url names a PostgreSQL database (a new tenant is made there)."
        )

        @Option(help: "Findings to load.")
        var findings = 100_000

        @Option(help: "Requests to time (after 50 warm-up requests).")
        var requests = 1_000

        @Option(name: .customLong("database-url"), help: "postgres://… to measure PostgreSQL; default: a temporary SQLite file.")
        var databaseURL: String?

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        func validate() throws {
            if findings < 100 || requests < 10 { throw ValidationError("--findings must be at least 100 and --requests at least 10") }
        }

        func run() async throws {
            let logger = Logger(label: "vega.bench")
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vega-bench-api-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let url = databaseURL ?? folder.appendingPathComponent("vega.sqlite").path
            let database = try await DatabaseConnector.open(url: url, logger: logger)
            do {
                let result = try await measure(database, logger: logger)
                try await database.shutdown()
                if json {
                    let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print(String(
                        format: "%@: %d findings loaded in %.1f s; GET /v1/findings × %d: p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                        result["database"] as? String ?? "?", findings, result["load_seconds"] as? Double ?? 0, requests,
                        result["p50_ms"] as? Double ?? 0, result["p99_ms"] as? Double ?? 0, result["max_ms"] as? Double ?? 0
                    ))
                    for filter in result["filters"] as? [[String: Any]] ?? [] {
                        let name = (filter["filter"] as? String ?? "?").padding(toLength: 40, withPad: " ", startingAt: 0)
                        print("  " + name + String(
                            format: " p50 %6.2f ms  p99 %6.2f ms", filter["p50_ms"] as? Double ?? 0, filter["p99_ms"] as? Double ?? 0
                        ))
                    }
                }
            } catch {
                try? await database.shutdown()
                throw error
            }
        }

        private func measure(_ database: any StoreDatabase, logger: Logger) async throws -> [String: Any] {
            try await Migrator.migrate(database)
            let store = Store(database: database)
            let tenant = try await store.createTenant(name: "bench-\(UUID().uuidString.prefix(8))")
            let owner = Principal(kind: .user, id: "usr_bench", tenantID: tenant.tenantID, role: .owner)
            let token = try await store.createAPIKey(name: "bench", role: .viewer, by: owner).token
            let project = try await store.createProject(name: "bench", by: owner)

            // Ten repositories, each one scan: the real write path (lifecycle, upserts, audit).
            let severities = Severity.allCases
            let rules = ["aws-access-token", "generic-api-key", "github-pat", "CVE-2021-44228", "slack-bot-token"]
            var repositories: [String] = []
            let loadStart = ContinuousClock.now
            for r in 0..<10 {
                let url = "https://git.example.com/bench/r\(r).git"
                let repository = try await store.createRepository(projectID: project, url: url, maskedURL: url, defaultBranch: "main", by: owner)
                repositories.append(repository)
                let scan = try await store.createScan(repositoryID: repository, ref: "main", engines: [], by: owner)
                let count = findings / 10
                let batch = (0..<count).map { i in
                    Finding(
                        // Severity varies apart from the rule, so no filter finds its matches only deep in the list.
                        ruleId: rules[i % rules.count], title: "Finding \(i) of r\(r)", severity: severities[(i / 7) % severities.count],
                        cwe: "CWE-798", message: "bench",
                        location: Location(path: "src/module\(i % 500)/file\(i).py", startLine: i % 200 + 1, startColumn: 1, endLine: i % 200 + 1, endColumn: 20),
                        snippet: "AKIA****", engine: i % 5 == 3 ? "deps" : "secrets", fingerprint: String(format: "%064x", r * 1_000_000 + i)
                    )
                }
                try await store.record(
                    ScanObservation(scanID: scan, branch: "main", completeness: .complete, engines: ["secrets", "deps"], at: Date(), findings: batch),
                    repositoryID: repository, in: tenant
                )
            }
            let loadSeconds = (ContinuousClock.now - loadStart).seconds

            let port = Int.random(in: 20_000...60_000)
            // Quiet: request logs would time the terminal, and stopping the server at the end
            // reports the cancelled listener as an error.
            var serverLogger = Logger(label: "vega.bench.server")
            serverLogger.logLevel = .critical
            let app = VegaServer.buildApplication(store: store, configuration: .init(port: port), logger: serverLogger)
            let server = Task { try await app.runService() }
            defer { server.cancel() }

            let filters = [
                "limit=100", "severity=critical", "state=open&severity=high,critical", "repository_id=\(repositories[3])",
                "rule_id=github-pat&limit=50", "engine=deps", "q=module42", "q=file12*", "severity=medium&repository_id=\(repositories[7])",
            ]
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                let timings = try await time(filters, port: port, token: token, client: client)
                try await client.shutdown()
                let shown = filters.map {
                    $0.replacingOccurrences(of: repositories[3], with: "R3").replacingOccurrences(of: repositories[7], with: "R7")
                }
                return timings.merging([
                    "database": database.kind.rawValue, "findings": findings, "load_seconds": loadSeconds,
                    "filters": zip(shown, timings["filters"] as? [[String: Any]] ?? []).map { $1.merging(["filter": $0]) { $1 } },
                ]) { $1 }
            } catch {
                try? await client.shutdown()
                throw error
            }
        }

        /// Times `requests` requests round the filters, after a warm-up; overall and per filter.
        private func time(_ filters: [String], port: Int, token: String, client: HTTPClient) async throws -> [String: Any] {
            func get(_ query: String) async throws -> Double {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/findings?\(query)")
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
                let start = ContinuousClock.now
                let response = try await client.execute(request, timeout: .seconds(30))
                _ = try await response.body.collect(upTo: 64 << 20)
                let elapsed = (ContinuousClock.now - start).seconds * 1000
                guard response.status == .ok else {
                    throw ValidationError("GET /v1/findings?\(query) answered \(response.status.code)")
                }
                return elapsed
            }
            // The server needs a moment to listen.
            var ready = false
            for _ in 0..<100 where !ready {
                ready = (try? await get("limit=1")) != nil
                if !ready { try await Task.sleep(for: .milliseconds(50)) }
            }
            guard ready else { throw ValidationError("the server did not start on port \(port)") }
            for i in 0..<50 { _ = try await get(filters[i % filters.count]) }
            var times: [Double] = []
            var byFilter = [[Double]](repeating: [], count: filters.count)
            for i in 0..<requests {
                let elapsed = try await get(filters[i % filters.count])
                times.append(elapsed)
                byFilter[i % filters.count].append(elapsed)
            }
            func percentile(_ p: Double, of values: [Double]) -> Double {
                let sorted = values.sorted()
                return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
            }
            // Per filter too: one slow filter hides in the overall p50 but sets the p99.
            let perFilter: [[String: Any]] = byFilter.map { values in
                ["p50_ms": percentile(0.50, of: values), "p99_ms": percentile(0.99, of: values)]
            }
            return [
                "requests": requests, "p50_ms": percentile(0.50, of: times), "p99_ms": percentile(0.99, of: times),
                "max_ms": times.max() ?? 0, "filters": perFilter,
            ]
        }
    }
}
