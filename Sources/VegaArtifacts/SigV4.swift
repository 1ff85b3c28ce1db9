import Crypto
import Foundation
import VegaModel

/// AWS Signature Version 4, as the AWS General Reference specifies it ("Create a signed AWS
/// API request"): a canonical request, a string to sign over its SHA-256, a signing key
/// derived by HMAC-SHA256 from the secret through date, region and service, and the
/// `Authorization` header. The payload is always signed by its SHA-256: no UNSIGNED-PAYLOAD.
public struct SigV4Signer: Sendable {
    public struct Credentials: Sendable, CustomStringConvertible {
        public var accessKeyID: String
        public var secretAccessKey: String
        /// Temporary credentials (STS) come with one; it is sent as X-Amz-Security-Token.
        public var sessionToken: String?

        public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }

        /// The key id only: interpolating credentials into a log or an error shows no secret.
        public var description: String { "access key \(accessKeyID)" }
    }

    public var credentials: Credentials
    public var region: String
    public var service: String

    public init(credentials: Credentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// A request as it is signed. `path` is not yet encoded (it is encoded once, as S3
    /// wants); `query` holds names and values not yet encoded; `headers` must include
    /// `host` and every other header to sign.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String)]
        public var headers: [(name: String, value: String)]
        /// Lowercase hex SHA-256 of the body (of nothing, for a GET).
        public var payloadSHA256: String

        public init(
            method: String, path: String, query: [(name: String, value: String)] = [], headers: [(name: String, value: String)],
            payloadSHA256: String
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadSHA256 = payloadSHA256
        }

        /// The path and query as they must be sent, encoded exactly as they were signed.
        public var encodedPathAndQuery: String {
            let query = SigV4Signer.canonicalQuery(query)
            return SigV4Signer.encode(path, keepingSlashes: true) + (query.isEmpty ? "" : "?" + query)
        }
    }

    /// The headers to add to the request: `x-amz-date`, `x-amz-security-token` when there
    /// is a session token, and `authorization`.
    public func sign(_ request: Request, at date: Date) -> [(name: String, value: String)] {
        var request = request
        let timestamp = Self.timestamp(date)
        var added: [(name: String, value: String)] = [("x-amz-date", timestamp)]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        request.headers += added
        let scope = "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
        let signature = HMAC<SHA256>.authenticationCode(
            for: Data(stringToSign(request, timestamp: timestamp, scope: scope).utf8),
            using: signingKey(day: String(timestamp.prefix(8)))
        ).hexString
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(Self.signedHeaders(request.headers)), Signature=\(signature)"
        return added + [("authorization", authorization)]
    }

    // MARK: The steps, each as the specification names it

    func canonicalRequest(_ request: Request) -> String {
        let headers = Self.canonicalHeaders(request.headers)
        return [
            request.method, Self.encode(request.path, keepingSlashes: true), Self.canonicalQuery(request.query),
            headers.map { "\($0.name):\($0.value)\n" }.joined(), Self.signedHeaders(request.headers), request.payloadSHA256,
        ].joined(separator: "\n")
    }

    func stringToSign(_ request: Request, timestamp: String, scope: String) -> String {
        ["AWS4-HMAC-SHA256", timestamp, scope, Self.sha256Hex(Data(canonicalRequest(request).utf8))].joined(separator: "\n")
    }

    /// kSecret → kDate → kRegion → kService → kSigning.
    func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    /// Names lowercased, values trimmed with inner runs of spaces made one, sorted by name.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        headers.map { header in
            let value = header.value.trimmingCharacters(in: .whitespaces)
                .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            return (header.name.lowercased(), value)
        }
        .sorted { $0.name < $1.name }
    }

    static func signedHeaders(_ headers: [(name: String, value: String)]) -> String {
        canonicalHeaders(headers).map(\.name).joined(separator: ";")
    }

    /// Each name and value encoded, sorted by name then value.
    static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { pair in
            (encode(pair.name, keepingSlashes: false), encode(pair.value, keepingSlashes: false))
        }
        let sorted = encoded.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
    }

    /// RFC 3986 percent-encoding of every byte but the unreserved `A–Z a–z 0–9 - _ . ~`
    /// (and `/` in a path), hex in capitals, as SigV4 requires.
    static func encode(_ text: String, keepingSlashes: Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            if unreserved.contains(byte) || (keepingSlashes && byte == UInt8(ascii: "/")) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".utf8)

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    static func sha256Hex(_ data: Data) -> String { SHA256.hash(data: data).hexString }
}
