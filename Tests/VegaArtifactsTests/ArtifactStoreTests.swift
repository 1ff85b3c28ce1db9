import Foundation
import Testing
import VegaTestSupport
@testable import VegaArtifacts

@Suite struct ArtifactStoreTests {
    @Test(arguments: TestArtifactStore.allCases)
    func putGetListDelete(_ kind: TestArtifactStore) async throws {
        try await kind.with { store in
            let report = Data(#"{"version":"2.1.0"}"#.utf8)
            try await store.put("ten_a/scn_1/report.sarif", data: report, contentType: "application/sarif+json")
            try await store.put("ten_a/scn_1/report.json", data: Data("{}".utf8), contentType: "application/json")
            try await store.put("ten_a/scn_2/report.json", data: Data("[]".utf8), contentType: "application/json")
            try await store.put("ten_b/scn_3/report.json", data: Data(), contentType: "application/json")
            #expect(try await store.get("ten_a/scn_1/report.sarif") == report)
            #expect(try await store.get("ten_b/scn_3/report.json") == Data(), "an empty file is still a file")
            #expect(try await store.get("ten_a/scn_9/report.sarif") == nil)

            // A second put replaces the object whole.
            try await store.put("ten_a/scn_2/report.json", data: Data("[1]".utf8), contentType: "application/json")
            #expect(try await store.get("ten_a/scn_2/report.json") == Data("[1]".utf8))

            #expect(try await store.list(prefix: "ten_a/") == ["ten_a/scn_1/report.json", "ten_a/scn_1/report.sarif", "ten_a/scn_2/report.json"])
            #expect(try await store.list(prefix: "ten_a/scn_1") == ["ten_a/scn_1/report.json", "ten_a/scn_1/report.sarif"])
            #expect(try await store.list(prefix: "").count == 4)
            #expect(try await store.list(prefix: "ten_z/").isEmpty)

            try await store.delete("ten_a/scn_1/report.sarif")
            try await store.delete("ten_a/scn_1/report.sarif")  // again: not an error
            #expect(try await store.get("ten_a/scn_1/report.sarif") == nil)
            #expect(try await store.list(prefix: "ten_a/") == ["ten_a/scn_1/report.json", "ten_a/scn_2/report.json"])
            try await store.checkReady()
        }
    }

    @Test(arguments: TestArtifactStore.allCases)
    func refusesKeysThatCouldEscape(_ kind: TestArtifactStore) async throws {
        try await kind.with { store in
            for key in ["../etc/passwd", "ten_a/../../x", "/etc/passwd", "ten_a//x", "ten_a/./x", "ten_a/.hidden", "", "ten_a/x/",
                        "ten a/x", "ten_a\\x", "ten_a/%2e%2e/x", "tén/x", String(repeating: "a", count: 1_025)] {
                await #expect(throws: ArtifactStoreError.self, "\(key)") {
                    try await store.put(key, data: Data("x".utf8), contentType: "text/plain")
                }
                await #expect(throws: ArtifactStoreError.self, "\(key)") { _ = try await store.get(key) }
                await #expect(throws: ArtifactStoreError.self, "\(key)") { try await store.delete(key) }
            }
            await #expect(throws: ArtifactStoreError.self) { _ = try await store.list(prefix: "../") }
            let written = try await store.list(prefix: "")
            #expect(written.isEmpty, "nothing was written")
        }
    }

    @Test func localStoreWritesUnderItsRootAndTidiesUp() async throws {
        let folder = try TestRepo(git: false)
        defer { folder.remove() }
        let store = LocalArtifactStore.inDataDirectory(folder.path)
        try await store.put("ten_a/scn_1/report.json", data: Data("{}".utf8), contentType: "application/json")
        // The same place reports have always been kept: <data>/artifacts/<tenant>/<scan>/<kind>.
        let file = folder.root.appendingPathComponent("artifacts/ten_a/scn_1/report.json")
        #expect(FileManager.default.contents(atPath: file.path) == Data("{}".utf8))
        // Readiness probes and atomic writes' temporary files are never listed as keys.
        try Data().write(to: folder.root.appendingPathComponent("artifacts/ten_a/scn_1/.tmp-write"))
        #expect(try await store.list(prefix: "") == ["ten_a/scn_1/report.json"])
        try FileManager.default.removeItem(at: folder.root.appendingPathComponent("artifacts/ten_a/scn_1/.tmp-write"))
        try await store.delete("ten_a/scn_1/report.json")
        #expect(!FileManager.default.fileExists(atPath: folder.root.appendingPathComponent("artifacts/ten_a").path), "empty folders go")
        #expect(FileManager.default.fileExists(atPath: folder.root.appendingPathComponent("artifacts").path), "the root stays")

        // A root under a regular file can never take a file.
        try folder.write("plain-file", "x")
        let blocked = LocalArtifactStore(root: folder.root.appendingPathComponent("plain-file/artifacts").path)
        await #expect(throws: (any Error).self) { try await blocked.checkReady() }
    }

    @Test func s3ListsPageByPage() async throws {
        // moto pages ListObjectsV2 at 1000 keys, like S3: 1005 keys take two pages.
        let store = try await TestArtifactStore.freshS3()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for batch in stride(from: 0, to: 1_005, by: 67) {
                group.addTask {
                    for index in batch..<min(batch + 67, 1_005) {
                        try await store.put(String(format: "ten_a/scn_%04d/report.json", index), data: Data("{}".utf8), contentType: "application/json")
                    }
                }
            }
            try await group.waitForAll()
        }
        let keys = try await store.list(prefix: "ten_a/")
        #expect(keys.count == 1_005 && keys.first == "ten_a/scn_0000/report.json" && keys.last == "ten_a/scn_1004/report.json")
    }

    @Test func s3WrongSecretIsAClearErrorWithoutTheSecret() async throws {
        let secret = "wrong-secret-\(UUID().uuidString)"
        let store = try await TestArtifactStore.freshS3(secret: secret)
        do {
            try await store.put("ten_a/scn_1/report.json", data: Data("{}".utf8), contentType: "application/json")
            Issue.record("a request signed with the wrong secret was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("403") && text.contains("SignatureDoesNotMatch"), "\(text)")
            #expect(text.contains("AWS_SECRET_ACCESS_KEY"), "it says what to check: \(text)")
            #expect(!text.contains(secret))
        }
        do {
            try await store.checkReady()
            Issue.record("readiness passed with the wrong secret")
        } catch {
            #expect("\(error)".contains("403") && !"\(error)".contains(secret), "\(error)")
        }
        #expect(!"\(store)".contains(secret) && !"\(store.configuration.credentials)".contains(secret))
    }

    @Test func s3MissingBucketIsNotReady() async throws {
        let server = try TestArtifactStore.s3Server()
        let store = S3ArtifactStore(.init(bucket: "vega-test-no-such-bucket", endpoint: server.endpoint, credentials: server.credentials))
        await #expect(throws: ArtifactStoreError.self) { try await store.checkReady() }
    }

    @Test func optionsPickTheStore() throws {
        let environment = ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-value", "AWS_SESSION_TOKEN": "token"]
        let local = try ArtifactStoreOptions().makeStore(dataDirectory: "/srv/vega", environment: environment)
        #expect((local as? LocalArtifactStore)?.root.path == "/srv/vega/artifacts")
        let folder = try ArtifactStoreOptions(location: "/mnt/reports").makeStore(dataDirectory: "/srv/vega", environment: environment)
        #expect((folder as? LocalArtifactStore)?.root.path == "/mnt/reports")

        let s3 = try #require(try ArtifactStoreOptions(location: "s3://vega-reports/prod/scans/", s3Endpoint: "http://127.0.0.1:9000", s3Region: "eu-west-1")
            .makeStore(dataDirectory: "/srv/vega", environment: environment) as? S3ArtifactStore)
        #expect(s3.configuration.bucket == "vega-reports" && s3.configuration.prefix == "prod/scans")
        #expect(s3.configuration.region == "eu-west-1" && s3.configuration.endpoint?.absoluteString == "http://127.0.0.1:9000")
        #expect(s3.configuration.credentials.sessionToken == "token")
        #expect(!"\(s3)".contains("secret-value"))
        let aws = try #require(try ArtifactStoreOptions(location: "s3://vega-reports").makeStore(dataDirectory: "/d", environment: environment) as? S3ArtifactStore)
        #expect(aws.configuration.region == "us-east-1" && aws.configuration.endpoint == nil && aws.configuration.prefix.isEmpty)

        func refusal(_ options: ArtifactStoreOptions, _ environment: [String: String]) -> String {
            do {
                _ = try options.makeStore(dataDirectory: "/d", environment: environment)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal(ArtifactStoreOptions(location: "s3://vega-reports"), [:]).contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"))
        #expect(refusal(ArtifactStoreOptions(location: "s3://"), environment).contains("no bucket"))
        #expect(refusal(ArtifactStoreOptions(location: "s3://Bad_Bucket"), environment).contains("not a valid name"))
        #expect(refusal(ArtifactStoreOptions(location: "s3://b-1/../x"), environment).contains("artifact key"))
        let withCredentials = refusal(ArtifactStoreOptions(location: "s3://vega-reports", s3Endpoint: "http://k:hunter22@127.0.0.1:9000"), environment)
        #expect(withCredentials.contains("cannot hold credentials") && !withCredentials.contains("hunter22"))
        #expect(refusal(ArtifactStoreOptions(s3Endpoint: "http://127.0.0.1:9000"), environment).contains("needs --artifacts s3://"))
    }
}
