import Foundation
import Hummingbird
import ServiceLifecycle
import VegaModel
import VegaStore

/// How a scan's event stream paces itself.
public struct ScanEventTiming: Sendable {
    /// How often the stream reads the scan's row (one read by primary key).
    public var poll: Duration
    /// How long the stream stays silent before it writes a comment line, so that proxies
    /// and clients keep an idle connection open.
    public var keepAlive: Duration
    /// How long a client waits before it reconnects (the stream's `retry:` field).
    public var retry: Duration

    public init(poll: Duration = .milliseconds(500), keepAlive: Duration = .seconds(15), retry: Duration = .seconds(2)) {
        self.poll = poll
        self.keepAlive = keepAlive
        self.retry = retry
    }
}

/// `GET /v1/scans/{id}/events`: a scan's state and progress as server-sent events.
extension APIRoutes {
    static let lastEventID = HTTPFields.Element.Name("Last-Event-ID")!
    /// nginx buffers responses unless told not to: an event would wait for the buffer to fill.
    static let accelBuffering = HTTPFields.Element.Name("X-Accel-Buffering")!

    /// A `scan` event at once (unless the client's `Last-Event-ID` says it saw this state
    /// last), another whenever the state or progress changes, an `end` event when the scan
    /// ends, then the stream closes. A client that reconnects after the `end` is answered
    /// 204, which tells a browser's EventSource to stop reconnecting.
    @Sendable func scanEvents(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let scope = try context.scope
        let id = try context.parameters.require("id")
        guard let scan = try await store.scan(id: id, in: scope) else { throw APIError.notFound("scan") }
        let stream = ScanEventStream(store: store, scope: scope, scanID: id, timing: scanEventTiming)
        let lastSeen = request.headers[Self.lastEventID]
        if ScanEventStream.isTerminal(scan.state), lastSeen == ScanEventStream.endID(scan) {
            return Response(status: .noContent)
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        headers[Self.accelBuffering] = "no"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await stream.run(from: scan, lastSeen: lastSeen, writer: &writer)
        })
    }
}

/// One client's stream of one scan. It holds nothing open between polls but a sleep, and
/// ends when the scan ends, when the server shuts down gracefully (within one poll), and
/// when the client has gone (the next write fails: within one keep-alive interval at most).
struct ScanEventStream: Sendable {
    let store: Store
    let scope: TenantScope
    let scanID: String
    let timing: ScanEventTiming

    static func isTerminal(_ state: ScanRecord.State) -> Bool {
        [.succeeded, .failed, .cancelled, .dead].contains(state)
    }

    /// What a client has seen, as an event id: the attempt, the state and the progress
    /// counts. A new event is sent exactly when it changes; a client reconnecting with it
    /// as `Last-Event-ID` is not sent that state again.
    static func eventID(_ scan: ScanRecord) -> String {
        var parts = ["\(scan.attempts)", scan.state.rawValue]
        if let progress = scan.progress {
            parts += [progress.phase.rawValue, "\(progress.filesScanned)", "\(progress.bytesScanned)"]
            if let findings = progress.findings { parts.append("\(findings)") }
        }
        return parts.joined(separator: ".")
    }

    /// The `end` event's id: the final state's, marked, so a reconnect after it is told apart
    /// from one that missed it.
    static func endID(_ scan: ScanRecord) -> String { eventID(scan) + ".end" }

    func run(from first: ScanRecord, lastSeen: String?, writer: inout any ResponseBodyWriter) async throws {
        var scan = first
        var sent = lastSeen
        try await writer.write(ByteBuffer(string: "retry: \(Int((timing.retry.seconds * 1_000).rounded()))\n\n"))
        var lastWrite = ContinuousClock.now
        while true {
            let id = Self.eventID(scan)
            if id != sent {
                try await writer.write(try Self.event("scan", id: id, data: JSONBody.encoder.encode(scan)))
                sent = id
                lastWrite = .now
            }
            if Self.isTerminal(scan.state) {
                let end = try JSONSerialization.data(withJSONObject: ["state": scan.state.rawValue])
                try await writer.write(Self.event("end", id: Self.endID(scan), data: end))
                break
            }
            try await Task.sleep(for: timing.poll)
            // The client reconnects (to another node, or to this one once it is back).
            if Task.isShuttingDownGracefully { break }
            guard let next = try await store.scan(id: scanID, in: scope) else { break }
            scan = next
            if ContinuousClock.now - lastWrite >= timing.keepAlive {
                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                lastWrite = .now
            }
        }
        try await writer.finish(nil)
    }

    /// One event: JSON has no raw newline, so `data` is one line.
    static func event(_ name: String, id: String, data: Data) -> ByteBuffer {
        var buffer = ByteBuffer(string: "event: \(name)\nid: \(id)\ndata: ")
        buffer.writeBytes(data)
        buffer.writeString("\n\n")
        return buffer
    }
}
