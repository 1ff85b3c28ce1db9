import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VegaHTTPTestSupport
import VegaModel
import VegaStoreTestSupport
@testable import VegaServer
@testable import VegaStore

/// Runs `body` against a server with `quota` and no worker (submitted scans stay queued),
/// for a tenant with one repository.
private func withServer(
    _ kind: TestDatabase, quota: ScanQuota = ScanQuota(),
    _ body: @Sendable @escaping (TestTenant, String, any TestClientProtocol) async throws -> Void
) async throws {
    try await kind.withStore { store in
        let tenant = try await TestTenant.make(in: store)
        let repository = try await tenant.addRepository()
        let app = VegaServer.buildApplication(store: store, configuration: .init(port: 0, scanQuota: quota), logger: Logger(label: "test"))
        try await app.test(.live) { client in try await body(tenant, repository, client) }
    }
}

private func submit(
    _ client: some TestClientProtocol, _ tenant: TestTenant, _ body: String, key: String...
) async throws -> TestResponse {
    var headers = HTTPFields()
    for value in key { headers.append(HTTPFields.Element(name: APIRoutes.idempotencyKeyHeader, value: value)) }
    return try await send(client, .post, "/v1/scans", token: tenant.ownerToken, body: body, headers: headers)
}

private func id(_ response: TestResponse) throws -> String {
    try #require(try json(response)["id"] as? String)
}

/// Seconds from now to the next midnight UTC, rounded up.
private func secondsToMidnight() -> Int {
    let now = Date().timeIntervalSince1970
    return Int(((now / 86_400).rounded(.down) * 86_400 + 86_400 - now).rounded(.up))
}

@Suite struct SubmissionAPITests {
    @Test(arguments: TestDatabase.all)
    func aDuplicateSubmissionAnswersTheQueuedScanWith200(_ kind: TestDatabase) async throws {
        try await withServer(kind) { tenant, repository, client in
            let first = try await submit(client, tenant, #"{"repository_id":"\#(repository)","engines":["secrets","deps"]}"#)
            #expect(first.status == .accepted && first.headers[APIRoutes.duplicateOfHeader] == nil)
            let scan = try id(first)

            let again = try await submit(client, tenant, #"{"repository_id":"\#(repository)","ref":"main","engines":["deps","secrets"]}"#)
            #expect(again.status == .ok)
            #expect(try again.headers[APIRoutes.duplicateOfHeader] == scan && id(again) == scan)
            #expect(try json(again)["state"] as? String == "queued")

            // Another engine set is another scan.
            let other = try await submit(client, tenant, #"{"repository_id":"\#(repository)","engines":["deps"]}"#)
            #expect(try other.status == .accepted && id(other) != scan)
            let list = try await call(client, .get, "/v1/scans", token: tenant.ownerToken)
            #expect((list.json["items"] as? [Any])?.count == 2)
            let events = try await tenant.store.auditEvents(in: tenant.scope).filter { $0.action == "scan.submitted" }
            #expect(events.count == 2)
        }
    }

    @Test(arguments: TestDatabase.all)
    func anIdempotencyKeyReplaysTheFirstAnswerAndRefusesAnotherRequest(_ kind: TestDatabase) async throws {
        try await withServer(kind) { tenant, repository, client in
            let body = #"{"repository_id":"\#(repository)","ref":"release"}"#
            let first = try await submit(client, tenant, body, key: "ci-run-7")
            #expect(first.status == .accepted && first.headers[APIRoutes.replayedHeader] == nil)
            let scan = try id(first)
            #expect(try await call(client, .post, "/v1/scans/\(scan)/cancel", token: tenant.ownerToken).status == .ok)

            // The same request, written differently, after the scan ended: its scan, as it now is.
            let replay = try await submit(client, tenant, #"{ "ref": "refs/heads/release", "repository_id": "\#(repository)" }"#, key: "ci-run-7")
            #expect(replay.status == .ok && replay.headers[APIRoutes.replayedHeader] == "true")
            #expect(try id(replay) == scan && json(replay)["state"] as? String == "cancelled")

            // Another request with the key: 422, and nothing queued.
            let reused = try await submit(client, tenant, #"{"repository_id":"\#(repository)","ref":"hotfix"}"#, key: "ci-run-7")
            #expect(reused.status == .unprocessableContent && reused.headers[.contentType] == "application/problem+json")
            #expect(try json(reused)["code"] as? String == "idempotency_key_reused")
            let list = try await call(client, .get, "/v1/scans", token: tenant.ownerToken)
            #expect((list.json["items"] as? [Any])?.count == 1)

            // Keys must be one header of 1 to 255 printable ASCII characters.
            for bad in [[String(repeating: "k", count: 256)], ["clé"], ["one", "two"]] {
                var headers = HTTPFields()
                for value in bad { headers.append(HTTPFields.Element(name: APIRoutes.idempotencyKeyHeader, value: value)) }
                let refused = try await send(client, .post, "/v1/scans", token: tenant.ownerToken, body: body, headers: headers)
                #expect(try refused.status == .badRequest && json(refused)["code"] as? String == "invalid_idempotency_key", "\(bad)")
            }
            let longest = String(repeating: "a b~", count: 63) + "xyz"
            #expect(try await submit(client, tenant, #"{"repository_id":"\#(repository)","ref":"long"}"#, key: longest).status == .accepted)
        }
    }

    @Test(arguments: TestDatabase.all)
    func quotasAnswer429WithRetryAfterAndTheOperatorsOverrideApplies(_ kind: TestDatabase) async throws {
        try await withServer(kind, quota: ScanQuota(maxActiveScans: 2, maxScansPerDay: 3)) { tenant, repository, client in
            let viewer = try await tenant.key(.viewer).token
            func scan(_ ref: String) -> String { #"{"repository_id":"\#(repository)","ref":"\#(ref)"}"# }
            func quotas() async throws -> (active: [String: Any], daily: [String: Any]) {
                let answer = try await call(client, .get, "/v1/quotas", token: viewer)
                #expect(answer.status == .ok)
                return (try #require(answer.json["active_scans"] as? [String: Any]), try #require(answer.json["scans_per_day"] as? [String: Any]))
            }
            let fresh = try await quotas()
            #expect(fresh.active["limit"] as? Int == 2 && fresh.active["used"] as? Int == 0 && fresh.active["source"] as? String == "default")
            #expect(fresh.daily["limit"] as? Int == 3 && fresh.daily["day"] as? String == CalendarDay(Date()).description)
            #expect((fresh.daily["resets_at"] as? String)?.hasSuffix("T00:00:00Z") == true)

            let a = try id(try await submit(client, tenant, scan("a")))
            #expect(try await submit(client, tenant, scan("b")).status == .accepted)
            let busy = try await submit(client, tenant, scan("c"))
            #expect(busy.status == .tooManyRequests && busy.headers[.retryAfter] == "30")
            #expect(busy.headers[.contentType] == "application/problem+json")
            let problem = try json(busy)
            #expect(problem["code"] as? String == "quota_exceeded" && problem["quota"] as? String == "active_scans")
            #expect(problem["limit"] as? Int == 2 && problem["used"] as? Int == 2 && problem["retry_after"] as? Int == 30)
            #expect(problem["status"] as? Int == 429 && problem["request_id"] is String)
            // The same scan again is answered, not refused.
            #expect(try await submit(client, tenant, scan("a")).status == .ok)

            #expect(try await call(client, .post, "/v1/scans/\(a)/cancel", token: tenant.ownerToken).status == .ok)
            #expect(try await submit(client, tenant, scan("c")).status == .accepted)
            for item in try #require(try await call(client, .get, "/v1/scans?state=queued", token: viewer).json["items"] as? [[String: Any]]) {
                #expect(try await call(client, .post, "/v1/scans/\(try #require(item["id"] as? String))/cancel", token: tenant.ownerToken).status == .ok)
            }
            let before = secondsToMidnight()
            let spent = try await submit(client, tenant, scan("d"))
            let after = secondsToMidnight()
            #expect(try spent.status == .tooManyRequests && json(spent)["quota"] as? String == "scans_per_day")
            let wait = try #require(spent.headers[.retryAfter].flatMap { Int($0) })
            #expect((after...before + 1).contains(wait), "until midnight UTC: \(wait) s")

            // Uploaded results are not submissions: they count in neither quota.
            let sarif = #"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Semgrep"}},"results":[]}]}"#
            let upload = try await send(client, .post, "/v1/repositories/\(repository)/results", token: tenant.ownerToken, body: sarif)
            #expect(upload.status == .created)
            let spentQuotas = try await quotas()
            #expect(spentQuotas.daily["used"] as? Int == 3 && spentQuotas.active["used"] as? Int == 0)

            // The operator raises this tenant's daily limit (`vega admin set-quota`) and lifts the active one.
            try await tenant.store.setQuota(maxActiveScans: .limit(0), maxScansPerDay: .limit(10), in: tenant.scope)
            #expect(try await submit(client, tenant, scan("d")).status == .accepted)
            let raised = try await quotas()
            #expect(raised.daily["limit"] as? Int == 10 && raised.daily["used"] as? Int == 4 && raised.daily["source"] as? String == "tenant")
            #expect(raised.active["limit"] is NSNull && raised.active["used"] as? Int == 1 && raised.active["source"] as? String == "tenant")

            // Reading quotas is a viewer's; submitting is not.
            #expect(try await call(client, .post, "/v1/scans", token: viewer, body: scan("e")).status == .forbidden)
            #expect(try await call(client, .get, "/v1/quotas", token: nil).status == .unauthorized)
        }
    }
}
