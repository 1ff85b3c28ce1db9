import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import VegaHTTPTestSupport
import VegaRunner
import VegaStoreTestSupport
import VegaTestSupport
@testable import VegaServer
@testable import VegaStore
import VegaWorker

/// `GET /v1/scans/{id}/events` read over real HTTP as it streams, while a worker runs the scan.
@Suite struct ScanEventsTests {
    /// One block of the stream: an event, a comment (keep-alive) or a field alone (`retry:`).
    struct Block: Sendable {
        var event: String?
        var id: String?
        var data: String?
        var retry: String?
        var comment: String?

        var json: [String: Any] {
            (data.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any]) ?? [:]
        }
    }

    /// Parses `text/event-stream` blocks off a response body as the bytes arrive.
    struct StreamReader {
        var body: HTTPClientResponse.Body.AsyncIterator
        var pending = ""

        init(_ response: HTTPClientResponse) {
            body = response.body.makeAsyncIterator()
        }

        /// The next block; nil once the server closed the stream.
        mutating func next() async throws -> Block? {
            while true {
                if let end = pending.range(of: "\n\n") {
                    let text = String(pending[..<end.lowerBound])
                    pending = String(pending[end.upperBound...])
                    return Self.parse(text)
                }
                guard let chunk = try await body.next() else { return nil }
                pending += String(buffer: chunk)
            }
        }

        static func parse(_ text: String) -> Block {
            var block = Block()
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") {
                    block.comment = line.dropFirst().trimmingCharacters(in: .whitespaces)
                    continue
                }
                let parts = line.split(separator: ":", maxSplits: 1)
                let value = parts.count > 1 ? String(parts[1].dropFirst(parts[1].hasPrefix(" ") ? 1 : 0)) : ""
                switch parts.first {
                case "event": block.event = value
                case "id": block.id = value
                case "data": block.data = value
                case "retry": block.retry = value
                default: break
                }
            }
            return block
        }
    }

    /// A repository of the tenant on a real local git repository with a planted secret, and
    /// the server (no worker: the tests start it when they want the scan to run).
    static func withServer(
        _ kind: TestDatabase, _ body: @escaping @Sendable (_ client: any TestClientProtocol, _ tenant: TestTenant, _ repository: String, _ worker: ScanWorker) async throws -> Void
    ) async throws {
        try await kind.withStore { store in
            let tenant = try await TestTenant.make(in: store)
            let repo = try TestRepo()
            defer { repo.remove() }
            try repo.write("config/settings.py", "AWS_ACCESS_KEY_ID = \"\(PlantedSecrets.awsKeyID)\"\n")
            try repo.commitAll("a secret")
            let project = try await store.createProject(name: "app", by: tenant.owner)
            let repository = try await store.addRepository("file://\(repo.path)", project: project, by: tenant.owner)
            let data = try TestRepo(git: false)
            defer { data.remove() }
            let worker = ScanWorker(
                store: store, dataDirectory: data.path, pollInterval: .milliseconds(50), progressInterval: .milliseconds(50),
                runner: RunnerConfiguration(executable: try vegaPath(), workspaceRoot: RunnerConfiguration.workspaces(in: data.path)),
                logger: Logger(label: "test")
            )
            let timing = ScanEventTiming(poll: .milliseconds(50), keepAlive: .milliseconds(300), retry: .seconds(1))
            let app = VegaServer.buildApplication(
                store: store, configuration: .init(port: 0, dataDirectory: data.path, scanEvents: timing), logger: Logger(label: "test")
            )
            try await app.test(.live) { client in try await body(client, tenant, repository, worker) }
        }
    }

    static func submit(_ client: some TestClientProtocol, _ repository: String, token: String) async throws -> String {
        let submitted = try await call(client, .post, "/v1/scans", token: token, body: #"{"repository_id":"\#(repository)","engines":["secrets"]}"#)
        #expect(submitted.status == .accepted)
        return try #require(submitted.json["id"] as? String)
    }

    static func open(_ client: some TestClientProtocol, _ scan: String, token: String, lastEventID: String? = nil) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: "http://localhost:\(try #require(client.port))/v1/scans/\(scan)/events")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: lastEventID) }
        return try await HTTPClient.shared.execute(request, timeout: .seconds(60))
    }

    @Test(arguments: TestDatabase.all)
    func aScanIsFollowedFromQueuedToSucceeded(_ kind: TestDatabase) async throws {
        try await Self.withServer(kind) { client, tenant, repository, worker in
            let token = tenant.ownerToken
            let scanID = try await Self.submit(client, repository, token: token)
            let response = try await Self.open(client, scanID, token: token)
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "Content-Type") == "text/event-stream")
            #expect(response.headers.first(name: "Cache-Control") == "no-cache")
            var reader = StreamReader(response)
            #expect(try await reader.next()?.retry == "1000")
            let queued = try #require(try await reader.next())
            #expect(queued.event == "scan" && queued.id == "0.queued", "\(queued)")
            #expect(queued.json["id"] as? String == scanID && queued.json["state"] as? String == "queued")
            // Nothing changes while no worker runs: the stream keeps itself alive.
            #expect(try await reader.next()?.comment == "keep-alive")

            let running = Task { try await worker.run() }
            defer { running.cancel() }
            var events: [Block] = [queued]
            while let block = try await reader.next() {
                if block.event != nil { events.append(block) }
            }
            running.cancel()
            _ = await running.result

            let scans = events.filter { $0.event == "scan" }
            let states = scans.compactMap { $0.json["state"] as? String }
            #expect(states.first == "queued" && states.contains("running") && states.last == "succeeded", "\(states)")
            #expect(Set(scans.compactMap(\.id)).count == scans.count, "each event says something new: \(scans.map(\.id))")
            let progress = scans.compactMap { $0.json["progress"] as? [String: Any] }
            #expect(progress.contains { $0["phase"] as? String == "cloning" || $0["phase"] as? String == "scanning" }, "\(progress)")
            let last = try #require(scans.last?.json)
            #expect(last["id"] as? String == scanID && last["completeness"] as? String == "complete")
            let done = try #require(last["progress"] as? [String: Any])
            #expect(done["phase"] as? String == "done" && done["files_scanned"] as? Int == 1 && done["findings"] as? Int == 1, "\(done)")
            // The same JSON as GET /v1/scans/{id}.
            let read = try await send(client, .get, "/v1/scans/\(scanID)", token: token)
            #expect(scans.last?.data == String(buffer: read.body))
            let end = try #require(events.last)
            #expect(end.event == "end" && end.json["state"] as? String == "succeeded" && end.id == (scans.last?.id ?? "") + ".end", "\(end)")
        }
    }

    @Test(arguments: TestDatabase.all)
    func aReconnectingClientIsNotSentWhatItSawLast(_ kind: TestDatabase) async throws {
        try await Self.withServer(kind) { client, tenant, repository, worker in
            let token = tenant.ownerToken
            let scanID = try await Self.submit(client, repository, token: token)
            let running = Task { try await worker.run() }
            defer { running.cancel() }
            var state = "queued"
            for _ in 0..<600 where state == "queued" || state == "running" {
                try await Task.sleep(for: .milliseconds(100))
                state = try await call(client, .get, "/v1/scans/\(scanID)", token: token).json["state"] as? String ?? "?"
            }
            running.cancel()
            _ = await running.result
            #expect(state == "succeeded")

            func blocks(lastEventID: String?) async throws -> (HTTPResponse.Status, [Block]) {
                var headers: HTTPFields = [.authorization: "Bearer \(token)"]
                if let lastEventID { headers[APIRoutes.lastEventID] = lastEventID }
                let response = try await client.execute(uri: "/v1/scans/\(scanID)/events", method: .get, headers: headers, body: nil)
                let text = String(buffer: response.body)
                return (response.status, text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map(StreamReader.parse))
            }
            // A new client: the final state, then the end.
            let (status, fresh) = try await blocks(lastEventID: nil)
            #expect(status == .ok)
            #expect(fresh.map { $0.event ?? "-" } == ["-", "scan", "end"], "\(fresh)")
            let finalID = try #require(fresh[1].id)
            #expect(finalID.hasPrefix("1.succeeded.done."))
            // One that saw an earlier state gets the final one; one that saw the final state only the end.
            #expect(try await blocks(lastEventID: "0.queued").1.map { $0.event ?? "-" } == ["-", "scan", "end"])
            let resumed = try await blocks(lastEventID: finalID).1
            #expect(resumed.map { $0.event ?? "-" } == ["-", "end"], "\(resumed)")
            // One that saw the end is told there is nothing more: 204 stops EventSource reconnecting.
            let after = try await blocks(lastEventID: finalID + ".end")
            #expect(after.0 == .noContent && after.1.isEmpty)

            // Only the tenant's own scans, and only with credentials.
            #expect(try await send(client, .get, "/v1/scans/scn_nope/events", token: token).status == .notFound)
            let rival = try await TestTenant.make("rival", in: tenant.store)
            #expect(try await send(client, .get, "/v1/scans/\(scanID)/events", token: rival.ownerToken).status == .notFound)
            #expect(try await send(client, .get, "/v1/scans/\(scanID)/events").status == .unauthorized)
        }
    }

    @Test(arguments: TestDatabase.all)
    func aStreamEndsWhenTheServerShutsDown(_ kind: TestDatabase) async throws {
        let reading = Handed<Task<[Block], any Error>>()
        try await Self.withServer(kind) { client, tenant, repository, _ in
            let scanID = try await Self.submit(client, repository, token: tenant.ownerToken)
            let response = try await Self.open(client, scanID, token: tenant.ownerToken)
            var reader = StreamReader(response)
            #expect(try await reader.next()?.retry == "1000")
            #expect(try await reader.next()?.json["state"] as? String == "queued")
            // Still reading when the test's server begins its graceful shutdown.
            let task = Task { [reader] in
                var reader = reader
                var rest: [Block] = []
                while let block = try await reader.next() { rest.append(block) }
                return rest
            }
            reading.hand(task)
        }
        // The shutdown finished, so the stream ended: without an end event, since the scan did not.
        let rest = try await #require(reading.value).value
        #expect(!rest.contains { $0.event != nil }, "\(rest)")
    }
}

/// A value handed out of a closure that cannot return it.
final class Handed<T: Sendable>: Sendable {
    private let box = Mutex<T?>(nil)

    func hand(_ value: T) { box.withLock { $0 = value } }
    var value: T? { box.withLock { $0 } }
}
