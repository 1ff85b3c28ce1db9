import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import VegaHTTPTestSupport
import VegaLifecycle
import VegaModel
import VegaStoreTestSupport
import VegaTestSupport
@testable import VegaServer
@testable import VegaStore

/// What an operator runs the platform with: /metrics, /readyz, request ids, JSON logs.
@Suite struct OperationsTests {
    /// A tenant with an owner's API key and one repository.
    struct Tenant {
        let scope: TenantScope
        let token: String
        let repository: String

        static func make(_ name: String, in store: Store) async throws -> Tenant {
            let tenant = try await TestTenant.make(name, in: store)
            return Tenant(scope: tenant.scope, token: tenant.ownerToken, repository: try await tenant.addRepository())
        }

        func record(_ scan: String, _ findings: [(String, Severity)], in store: Store) async throws {
            let findings = findings.map { fingerprint, severity in
                Finding(ruleId: "rule", title: "t", severity: severity, cwe: nil, message: "m",
                        location: Location(path: "a.py", startLine: 1, startColumn: 1, endLine: 1, endColumn: 2),
                        snippet: "x", engine: "secrets", fingerprint: fingerprint)
            }
            try await store.record(ScanObservation(scanID: scan, branch: "main", completeness: .complete, engines: ["secrets"],
                                                   at: Date(), findings: findings), repositoryID: repository, in: scope)
        }
    }

    /// Log lines the JSON handler wrote, kept in memory.
    final class CapturedLog: Sendable {
        private let lines = Mutex<[Data]>([])

        var output: JSONLogHandler.Output { JSONLogHandler.Output { line in self.lines.withLock { $0.append(line) } } }

        func logger() -> Logger {
            let output = output
            return Logger(label: "vega.test") { JSONLogHandler(label: $0, level: .debug, output: output) }
        }

        /// Every line as a JSON object; a line that is not one fails the test.
        func objects() throws -> [[String: Any]] {
            try lines.withLock { $0 }.map { line in
                #expect(line.last == UInt8(ascii: "\n") && line.dropLast().firstIndex(of: UInt8(ascii: "\n")) == nil)
                return try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
            }
        }
    }

    /// A GET of `uri`, sending `requestID` as the request's id when given.
    static func get(
        _ client: some TestClientProtocol, _ uri: String, token: String? = nil, requestID: String? = nil
    ) async throws -> TestResponse {
        try await send(client, .get, uri, token: token, headers: requestID.map { [RequestIDMiddleware<VegaRequestContext>.header: $0] } ?? [:])
    }

    /// An id the server made: 32 lowercase hex digits.
    static func isGenerated(_ id: String) -> Bool {
        id.utf8.count == 32 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    /// Prometheus text as `series → value` (`name{labels}` exactly as written).
    static func series(_ text: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            values[String(line[..<space])] = value
        }
        return values
    }

    @Test(arguments: TestDatabase.all)
    func metricsShowRoutePatternsAndEveryTenantsScansAndFindings(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await Tenant.make("acme", in: store)
            var queued: [String] = []
            for second in 0..<3 {  // a second apart, so the queue's order is theirs
                queued.append(try await store.createScan(repositoryID: acme.repository, ref: "main", engines: ["secrets"], by: .tester(in: acme.scope),
                                                         now: Date(timeIntervalSinceNow: Double(second - 60))))
            }
            let scans = queued
            // The oldest two are taken: one finishes, one keeps running; the third waits.
            let oldest = try #require(try await store.claimNextScan())
            #expect(oldest.scanID == scans[0])
            try await store.finishScan(oldest, state: .succeeded)
            #expect(try await store.claimNextScan()?.scanID == scans[1])
            // fp-2 disappears from a complete scan: fixed.
            try await acme.record(scans[0], [("fp-1", .critical), ("fp-2", .high)], in: store)
            try await acme.record(scans[1], [("fp-1", .critical)], in: store)
            let globex = try await Tenant.make("globex", in: store)
            let globexScan = try await store.createScan(repositoryID: globex.repository, ref: "main", engines: ["secrets"], by: .tester(in: globex.scope))
            try await globex.record(globexScan, [("fp-9", .critical), ("fp-8", .low)], in: store)

            let app = VegaServer.buildApplication(store: store, configuration: .init(port: 0), logger: Logger(label: "test"))
            try await app.test(.live) { client in
                #expect(try await Self.get(client, "/v1/scans/\(scans[0])", token: acme.token).status == .ok)
                #expect(try await Self.get(client, "/v1/scans/\(scans[2])", token: acme.token).status == .ok)
                #expect(try await Self.get(client, "/v1/scans/scn_missing", token: acme.token).status == .notFound)
                #expect(try await Self.get(client, "/v1/scans/\(scans[0])").status == .unauthorized)
                #expect(try await Self.get(client, "/no/such/\(scans[1])").status == .notFound)

                let response = try await Self.get(client, "/metrics")
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                let text = String(buffer: response.body)
                let values = Self.series(text)
                let duration = "vega_http_request_duration_seconds"
                #expect(text.contains("# TYPE \(duration) histogram"))
                #expect(values[#"\#(duration)_count{method="GET",route="/v1/scans/{id}",status="200"}"#] == 2)
                #expect(values[#"\#(duration)_count{method="GET",route="/v1/scans/{id}",status="404"}"#] == 1)
                #expect(values[#"\#(duration)_count{method="GET",route="/v1/scans/{id}",status="401"}"#] == 1)
                #expect(values[#"\#(duration)_count{method="GET",route="unmatched",status="404"}"#] == 1)
                #expect(values[#"\#(duration)_bucket{method="GET",route="/v1/scans/{id}",status="200",le="+Inf"}"#] == 2)
                // Raw paths never become labels: no id, no unrouted path.
                for id in scans + ["scn_missing", "/no/such"] { #expect(!text.contains(id), "\(id)") }

                #expect(values[#"vega_scans{state="queued"}"#] == 2)
                #expect(values[#"vega_scans{state="running"}"#] == 1)
                #expect(values[#"vega_scans{state="succeeded"}"#] == 1)
                #expect(values[#"vega_scans{state="failed"}"#] == 0)
                #expect(values[#"vega_findings{severity="critical",state="open"}"#] == 2)
                #expect(values[#"vega_findings{severity="high",state="fixed"}"#] == 1)
                #expect(values[#"vega_findings{severity="high",state="open"}"#] == 0)
                #expect(values[#"vega_findings{severity="low",state="open"}"#] == 1)
                #expect(values[#"vega_findings{severity="medium",state="reopened"}"#] == 0)

                // Counts are read at scrape time: a newly queued scan shows on the next scrape.
                _ = try await store.createScan(repositoryID: globex.repository, ref: "main", engines: ["secrets"], by: .tester(in: globex.scope))
                let again = Self.series(String(buffer: try await Self.get(client, "/metrics").body))
                #expect(again[#"vega_scans{state="queued"}"#] == 3)
            }
        }
    }

    @Test(arguments: TestDatabase.all)
    func aMetricsTokenGuardsMetricsOnly(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await Tenant.make("acme", in: store)
            let token = "metrics-" + UUID().uuidString
            let app = VegaServer.buildApplication(store: store, configuration: .init(port: 0, metricsToken: token), logger: Logger(label: "test"))
            try await app.test(.live) { client in
                let bare = try await Self.get(client, "/metrics")
                #expect(bare.status == .unauthorized)
                #expect(bare.headers[.contentType] == "application/problem+json")
                #expect(try await Self.get(client, "/metrics", token: token + "x").status == .unauthorized)
                // A tenant's API key is not the operator's token.
                #expect(try await Self.get(client, "/metrics", token: acme.token).status == .unauthorized)
                let allowed = try await Self.get(client, "/metrics", token: token)
                #expect(allowed.status == .ok)
                #expect(String(buffer: allowed.body).contains("vega_scans{"))
                #expect(try await Self.get(client, "/healthz").status == .ok)
            }
        }
    }

    @Test(arguments: TestDatabase.all)
    func requestIDsAreEchoedOrMadeAlsoOnProblems(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let app = VegaServer.buildApplication(store: store, configuration: .init(port: 0), logger: Logger(label: "test"))
            let header = RequestIDMiddleware<VegaRequestContext>.header
            try await app.test(.live) { client in
                let given = try await Self.get(client, "/healthz", requestID: "trace-42.a_B")
                #expect(given.headers[header] == "trace-42.a_B")

                let made = try #require(try await Self.get(client, "/healthz").headers[header])
                #expect(Self.isGenerated(made))
                let other = try #require(try await Self.get(client, "/healthz").headers[header])
                #expect(other != made)

                // A problem carries it in the header and in the body.
                let missing = try await Self.get(client, "/v1/nothing-here", requestID: "lost-1")
                #expect(missing.status == .notFound)
                #expect(missing.headers[header] == "lost-1")
                let problem = try json(missing)
                #expect(problem["request_id"] as? String == "lost-1")
                let unauthenticated = try await Self.get(client, "/v1/me")
                let unauthenticatedID = try #require(unauthenticated.headers[header])
                let unauthenticatedBody = try json(unauthenticated)
                #expect(unauthenticatedBody["request_id"] as? String == unauthenticatedID)

                // Anything long or outside [A-Za-z0-9._-] is replaced, not echoed.
                for bad in [String(repeating: "a", count: 65), "two words", "a;b=c", "{\"json\":1}", "%0d%0a", "ünï"] {
                    let answer = try #require(try await Self.get(client, "/healthz", requestID: bad).headers[header], "\(bad)")
                    #expect(answer != bad && Self.isGenerated(answer), "\(bad)")
                }
                #expect(try await Self.get(client, "/healthz", requestID: String(repeating: "b", count: 64)).headers[header]
                        == String(repeating: "b", count: 64))
            }
        }
    }

    @Test(arguments: TestDatabase.all)
    func requestLogLinesAreJSONWithRequestAndTenant(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await Tenant.make("acme", in: store)
            let log = CapturedLog()
            let app = VegaServer.buildApplication(store: store, configuration: .init(port: 0), logger: log.logger())
            try await app.test(.live) { client in
                let authenticated = try await Self.get(client, "/v1/me", token: acme.token, requestID: "req-authenticated")
                #expect(authenticated.status == .ok)
                let anonymous = try await Self.get(client, "/v1/me", requestID: "req-anonymous")
                #expect(anonymous.status == .unauthorized)
            }
            let requests = try log.objects().filter { $0["msg"] as? String == "request" }
            let authenticated = try #require(requests.first { $0["request_id"] as? String == "req-authenticated" })
            #expect(authenticated["tenant_id"] as? String == acme.scope.tenantID)
            #expect(authenticated["route"] as? String == "/v1/me" && authenticated["status"] as? String == "200")
            #expect(authenticated["method"] as? String == "GET" && authenticated["level"] as? String == "info")
            #expect(authenticated["label"] as? String == "vega.test")
            #expect((authenticated["ts"] as? String)?.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil)
            #expect(Double(authenticated["duration_ms"] as? String ?? "") != nil)
            // Before authentication there is no tenant to name, and the key never shows.
            let anonymous = try #require(requests.first { $0["request_id"] as? String == "req-anonymous" })
            #expect(anonymous["tenant_id"] == nil && anonymous["status"] as? String == "401")
            #expect(try !log.objects().contains { String(describing: $0).contains(acme.token) })
        }
    }

    @Test func jsonLogLinesSurviveOddMetadata() throws {
        let log = CapturedLog()
        var logger = log.logger()
        logger[metadataKey: "request_id"] = "r-1"
        logger.warning("quote \" backslash \\ newline \n nul \u{0} done", metadata: [
            "msg": "a metadata key named like a field",
            "nested": ["list": ["1", "two", ["deep": "yes"]], "url": "https://x.test/a/b"],
            "number": .stringConvertible(42),
            "emoji": "🔑 ключ",
        ])
        let line = try #require(try log.objects().first)
        #expect(line["msg"] as? String == "quote \" backslash \\ newline \n nul \u{0} done")
        #expect(line["meta.msg"] as? String == "a metadata key named like a field")
        #expect(line["request_id"] as? String == "r-1" && line["level"] as? String == "warning")
        let nested = try #require(line["nested"] as? [String: Any])
        #expect((nested["list"] as? [Any])?.count == 3 && nested["url"] as? String == "https://x.test/a/b")
        #expect(((nested["list"] as? [Any])?.last as? [String: String]) == ["deep": "yes"])
        #expect(line["number"] as? String == "42" && line["emoji"] as? String == "🔑 ключ")
        #expect(line["source"] as? String == "VegaServerTests")
    }

    @Test(arguments: TestDatabase.all)
    func readyzChecksTheArtifactStore(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let folder = try TestRepo(git: false)
            defer { folder.remove() }

            let ready = VegaServer.buildApplication(store: store, configuration: .init(port: 0, dataDirectory: folder.path), logger: Logger(label: "test"))
            try await ready.test(.live) { client in
                let response = try await Self.get(client, "/readyz")
                #expect(response.status == .ok)
            }
            let artifacts = folder.root.appendingPathComponent("artifacts")
            #expect(try FileManager.default.contentsOfDirectory(atPath: artifacts.path).isEmpty, "the probe file is removed")

            // A data folder under a regular file can never hold artifacts (and root cannot get round it).
            try folder.write("not-a-folder", "x")
            let blocked = folder.root.appendingPathComponent("not-a-folder/data").path
            let notReady = VegaServer.buildApplication(store: store, configuration: .init(port: 0, dataDirectory: blocked), logger: Logger(label: "test"))
            try await notReady.test(.live) { client in
                let response = try await Self.get(client, "/readyz")
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.contentType] == "application/problem+json")
                let problem = try json(response)
                #expect(problem["code"] as? String == "not_ready")
                #expect((problem["detail"] as? String)?.contains("artifact store") == true)
                #expect(!String(buffer: response.body).contains(folder.path))
                #expect(try await Self.get(client, "/healthz").status == .ok)
            }
        }
    }
}
