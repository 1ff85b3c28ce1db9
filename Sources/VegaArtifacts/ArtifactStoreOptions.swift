import Foundation

/// `--artifacts DIR|s3://bucket/prefix` with `--s3-endpoint` and `--s3-region`, and the
/// credentials from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional
/// AWS_SESSION_TOKEN), read in one place and turned into a store.
public struct ArtifactStoreOptions: Sendable {
    /// nil: the data folder's `artifacts`.
    public var location: String?
    public var s3Endpoint: String?
    public var s3Region: String

    public init(location: String? = nil, s3Endpoint: String? = nil, s3Region: String? = nil) {
        self.location = location
        self.s3Endpoint = s3Endpoint
        self.s3Region = s3Region ?? "us-east-1"
    }

    public func makeStore(dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any ArtifactStore {
        guard let location, !location.isEmpty else {
            guard s3Endpoint == nil else { throw ArtifactStoreError("--s3-endpoint needs --artifacts s3://bucket/prefix") }
            return LocalArtifactStore.inDataDirectory(dataDirectory)
        }
        guard location.hasPrefix("s3://") else {
            guard s3Endpoint == nil else { throw ArtifactStoreError("--s3-endpoint needs --artifacts s3://bucket/prefix") }
            return LocalArtifactStore(root: location)
        }
        let path = location.dropFirst("s3://".count)
        let bucket = String(path.prefix { $0 != "/" })
        let prefix = String(path.dropFirst(bucket.count)).split(separator: "/").joined(separator: "/")
        guard Self.isBucketName(bucket) else {
            throw ArtifactStoreError("--artifacts: \(bucket.isEmpty ? "no bucket" : "bucket \(bucket) is not a valid name") (s3://bucket/prefix; 3 to 63 of a-z, 0-9, '.', '-')")
        }
        if !prefix.isEmpty { try ArtifactKey.validate(prefix) }
        let endpoint = try s3Endpoint.map(Self.endpoint)
        func variable(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        guard let keyID = variable("AWS_ACCESS_KEY_ID"), let secret = variable("AWS_SECRET_ACCESS_KEY") else {
            throw ArtifactStoreError("S3 artifacts need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")
        }
        guard s3Region.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }), !s3Region.isEmpty else {
            throw ArtifactStoreError("--s3-region must be a region name such as us-east-1")
        }
        return S3ArtifactStore(.init(
            bucket: bucket, prefix: prefix, endpoint: endpoint, region: s3Region,
            credentials: .init(accessKeyID: keyID, secretAccessKey: secret, sessionToken: variable("AWS_SESSION_TOKEN"))
        ))
    }

    /// http(s), a host, nothing else: credentials go in the environment, not in a URL that
    /// would be logged.
    static func endpoint(_ text: String) throws -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host?.isEmpty == false, url.query == nil, url.fragment == nil else {
            throw ArtifactStoreError("--s3-endpoint must be an http:// or https:// URL such as https://s3.example.com:9000")
        }
        guard url.user == nil, url.password == nil else {
            throw ArtifactStoreError("--s3-endpoint cannot hold credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        return url
    }

    static func isBucketName(_ name: String) -> Bool {
        (3...63).contains(name.count) && name.first != "." && name.first != "-"
            && name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" }
    }
}
