import Foundation
import Testing
import VegaTestSupport
@testable import VegaArtifacts

/// The artifact stores every store test runs on: a temporary folder, and a bucket on the
/// S3-compatible server that `scripts/test` starts (`scripts/s3`, moto) and names in
/// VEGA_TEST_S3_URL, `http://KEY_ID:SECRET@127.0.0.1:PORT`. Unlike PostgreSQL the S3 case is
/// never left out: without the variable its tests fail, saying how to get one.
enum TestArtifactStore: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case local, s3

    var testDescription: String { rawValue }

    static let s3URL = ProcessInfo.processInfo.environment["VEGA_TEST_S3_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// The test server's endpoint (no credentials in it) and its access key.
    static func s3Server() throws -> (endpoint: URL, credentials: SigV4Signer.Credentials) {
        guard let s3URL else {
            throw TestS3Error("VEGA_TEST_S3_URL is not set: run scripts/test, or `export VEGA_TEST_S3_URL=$(scripts/s3 start)`")
        }
        guard var components = URLComponents(string: s3URL), let user = components.user, let password = components.password else {
            throw TestS3Error("VEGA_TEST_S3_URL must be http://KEY_ID:SECRET@host:port, as scripts/s3 start prints")
        }
        components.user = nil
        components.password = nil
        guard let endpoint = components.url else { throw TestS3Error("VEGA_TEST_S3_URL has no usable host") }
        return (endpoint, SigV4Signer.Credentials(accessKeyID: user, secretAccessKey: password))
    }

    /// A fresh bucket of its own, made on the test server.
    static func freshS3(prefix: String = "vega", secret: String? = nil) async throws -> S3ArtifactStore {
        let server = try s3Server()
        let bucket = "vega-test-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        let store = S3ArtifactStore(.init(bucket: String(bucket), prefix: prefix, endpoint: server.endpoint, credentials: server.credentials))
        try await store.createBucket()
        guard let secret else { return store }
        var wrong = server.credentials
        wrong.secretAccessKey = secret
        return S3ArtifactStore(.init(bucket: String(bucket), prefix: prefix, endpoint: server.endpoint, credentials: wrong))
    }

    /// Runs `body` with an empty store of this kind.
    func with(_ body: (any ArtifactStore) async throws -> Void) async throws {
        switch self {
        case .local:
            let folder = try TestRepo(git: false)
            defer { folder.remove() }
            try await body(LocalArtifactStore(root: folder.root.appendingPathComponent("artifacts").path))
        case .s3:
            try await body(try await Self.freshS3())
        }
    }
}

struct TestS3Error: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
