import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Artifacts as objects in an S3-compatible bucket, key `k` at `<prefix>/k`, every request
/// signed with SigV4 (payload included). Path-style addressing (`<endpoint>/<bucket>/…`)
/// when an endpoint is given, as S3-compatible servers (MinIO, Ceph, R2, moto) expect;
/// virtual-hosted (`<bucket>.s3.<region>.amazonaws.com`) for AWS itself.
public struct S3ArtifactStore: ArtifactStore {
    public struct Configuration: Sendable {
        public var bucket: String
        /// Without leading or trailing `/`; empty for the bucket's root.
        public var prefix: String
        /// nil: AWS (`https://s3.<region>.amazonaws.com`).
        public var endpoint: URL?
        public var region: String
        public var credentials: SigV4Signer.Credentials

        public init(bucket: String, prefix: String = "", endpoint: URL? = nil, region: String = "us-east-1", credentials: SigV4Signer.Credentials) {
            self.bucket = bucket
            self.prefix = prefix.split(separator: "/").joined(separator: "/")
            self.endpoint = endpoint
            self.region = region
            self.credentials = credentials
        }
    }

    public let configuration: Configuration
    let client: HTTPClient
    let signer: SigV4Signer
    /// Per request; reports are small, but a slow bucket must not hold a worker for ever.
    let timeout: TimeAmount
    /// What `get` reads at most: larger than any report, small enough not to exhaust memory.
    static let maxObjectSize = 512 * 1024 * 1024

    public init(_ configuration: Configuration, client: HTTPClient = .shared, timeout: TimeAmount = .seconds(60)) {
        self.configuration = configuration
        self.client = client
        self.timeout = timeout
        signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region, service: "s3")
    }

    public var description: String {
        let at = configuration.endpoint.map { " at \($0.absoluteString)" } ?? ""
        return "s3://\(configuration.bucket)/\(configuration.prefix)\(at)"
    }

    public func put(_ key: String, data: Data, contentType: String) async throws {
        let response = try await send("PUT", object: try ArtifactKey.validate(key), body: data, headers: [("content-type", contentType)])
        guard response.status == .ok else { throw failure("PUT", key, response) }
    }

    public func get(_ key: String) async throws -> Data? {
        let response = try await send("GET", object: try ArtifactKey.validate(key))
        switch response.status {
        case .ok: return response.body
        case .notFound: return nil
        default: throw failure("GET", key, response)
        }
    }

    public func delete(_ key: String) async throws {
        let response = try await send("DELETE", object: try ArtifactKey.validate(key))
        // S3 answers 204 whether or not the key existed; some compatible servers say 404.
        guard [.noContent, .ok, .notFound].contains(response.status) else { throw failure("DELETE", key, response) }
    }

    /// ListObjectsV2, a page (up to 1000 keys) at a time.
    public func list(prefix: String) async throws -> [String] {
        try ArtifactKey.validatePrefix(prefix)
        let root = configuration.prefix.isEmpty ? "" : configuration.prefix + "/"
        var keys: [String] = []
        var token: String?
        repeat {
            var query = [(name: "list-type", value: "2"), (name: "prefix", value: root + prefix)]
            if let token { query.append((name: "continuation-token", value: token)) }
            let response = try await send("GET", object: nil, query: query)
            guard response.status == .ok else { throw failure("LIST", prefix, response) }
            let xml = String(decoding: response.body, as: UTF8.self)
            keys += Self.elements("Key", in: xml).compactMap { $0.hasPrefix(root) ? String($0.dropFirst(root.count)) : nil }
            token = Self.elements("IsTruncated", in: xml).first == "true" ? Self.elements("NextContinuationToken", in: xml).first : nil
        } while token != nil
        return keys.sorted()
    }

    /// HEAD of the bucket: it exists and these credentials may use it.
    public func checkReady() async throws {
        let response = try await send("HEAD", object: nil)
        guard response.status == .ok else { throw failure("HEAD", nil, response) }
    }

    /// Makes the bucket (the tests make theirs; an operator usually has one already).
    func createBucket() async throws {
        let response = try await send("PUT", object: nil)
        guard response.status == .ok else { throw failure("CREATE", nil, response) }
    }

    // MARK: Requests

    struct Answer {
        var status: HTTPResponseStatus
        var body: Data
    }

    /// One signed request to the bucket (`object` nil) or to an object of it.
    func send(
        _ method: String, object key: String?, query: [(name: String, value: String)] = [], body: Data = Data(),
        headers extra: [(name: String, value: String)] = []
    ) async throws -> Answer {
        let endpoint = configuration.endpoint ?? URL(string: "https://s3.\(configuration.region).amazonaws.com")!
        let scheme = endpoint.scheme ?? "https"
        var host = endpoint.host ?? ""
        if let port = endpoint.port { host += ":\(port)" }
        var path = endpoint.path.hasSuffix("/") ? String(endpoint.path.dropLast()) : endpoint.path
        if configuration.endpoint == nil {
            host = configuration.bucket + "." + host
        } else {
            path += "/" + configuration.bucket
        }
        if let key { path += "/" + (configuration.prefix.isEmpty ? key : configuration.prefix + "/" + key) }
        if path.isEmpty { path = "/" }

        let payload = SigV4Signer.sha256Hex(body)
        let unsigned = SigV4Signer.Request(
            method: method, path: path, query: query,
            headers: [("host", host), ("x-amz-content-sha256", payload)] + extra, payloadSHA256: payload
        )
        var request = HTTPClientRequest(url: "\(scheme)://\(host)\(unsigned.encodedPathAndQuery)")
        request.method = HTTPMethod(rawValue: method)
        for header in unsigned.headers + signer.sign(unsigned, at: Date()) {
            request.headers.add(name: header.name, value: header.value)
        }
        if !body.isEmpty || method == "PUT" {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await client.execute(request, timeout: timeout)
            let received = method == "HEAD" ? ByteBuffer() : try await response.body.collect(upTo: Self.maxObjectSize)
            return Answer(status: response.status, body: Data(received.readableBytesView))
        } catch {
            // Transport errors name the endpoint, never the request's headers.
            throw ArtifactStoreError("S3 \(method) to \(scheme)://\(host) (bucket \(configuration.bucket)) failed: \(error)")
        }
    }

    /// The server's answer as an operator can act on it: status, S3's error code and message.
    func failure(_ operation: String, _ key: String?, _ answer: Answer) -> ArtifactStoreError {
        let xml = String(decoding: answer.body, as: UTF8.self)
        let code = Self.elements("Code", in: xml).first
        let message = Self.elements("Message", in: xml).first
        var text = "S3 \(operation) \(key.map { "of \($0) " } ?? "")in bucket \(configuration.bucket) answered \(answer.status.code)"
        if let code { text += " \(code)" }
        if let message { text += ": \(message)" }
        switch (answer.status, code) {
        case (.forbidden, "SignatureDoesNotMatch"), (.forbidden, "InvalidAccessKeyId"), (.forbidden, nil):
            text += " (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        case (.notFound, nil), (_, "NoSuchBucket"):
            text += " (does the bucket exist?)"
        default:
            break
        }
        return ArtifactStoreError(text)
    }

    /// The text of every `<name>…</name>` in an S3 XML answer, entities decoded. S3's
    /// answers are flat and fixed in shape; a reader for the few elements used is enough.
    static func elements(_ name: String, in xml: String) -> [String] {
        var found: [String] = []
        var rest = xml[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex) {
            found.append(unescape(String(rest[open.upperBound..<close.lowerBound])))
            rest = rest[close.upperBound...]
        }
        return found
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
