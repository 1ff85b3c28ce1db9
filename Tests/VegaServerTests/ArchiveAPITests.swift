import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VegaHTTPTestSupport
import VegaRunner
import VegaStoreTestSupport
import VegaTestSupport
@testable import VegaServer
@testable import VegaStore
import VegaWorker

/// Archives uploaded over real HTTP: hostile ones are refused at once and nothing is
/// queued or kept; a good one is scanned by a worker and its secrets become findings of
/// the repository; one whose stored archive is gone fails clearly, without retries.
@Suite struct ArchiveAPITests {
    /// Archives made with the system's tar and Python's zipfile, in a folder of their own.
    struct Archives {
        let folder: TestRepo

        init() throws {
            folder = try TestRepo(git: false)
        }

        func remove() { folder.remove() }

        func bytes(_ name: String) throws -> ByteBuffer {
            ByteBuffer(bytes: try Data(contentsOf: folder.root.appendingPathComponent(name)))
        }

        func run(_ executable: String, _ arguments: [String]) throws {
            let result = try Run.command(executable, arguments, in: folder.path)
            guard result.status == 0 else { throw RunError(description: "\(arguments): \(result.stderr)") }
        }

        /// A tar.gz of `files` (relative paths) under `directory`, named as they are.
        func tarGz(_ name: String, of directory: String, _ files: [String], extra: [String] = []) throws -> ByteBuffer {
            try run("/usr/bin/env", ["tar", "-czf", name] + extra + ["-C", directory] + files)
            return try bytes(name)
        }

        /// A tar.gz whose entry is `../evil`: GNU tar keeps a leading `..` with -P.
        func parentEntry() throws -> ByteBuffer {
            try folder.write("tree/evil", "owned\n")
            try FileManager.default.createDirectory(atPath: folder.path + "/tree/sub", withIntermediateDirectories: true)
            return try tarGz("parent.tar.gz", of: folder.path + "/tree/sub", ["../evil"], extra: ["-P"])
        }

        /// A tar.gz with a file and a symbolic link leading two folders up, out of the archive.
        func escapingLink() throws -> ByteBuffer {
            try folder.write("links/ok.txt", "fine\n")
            try FileManager.default.createSymbolicLink(atPath: folder.path + "/links/link", withDestinationPath: "../../outside")
            return try tarGz("link.tar.gz", of: folder.path + "/links", ["ok.txt", "link"])
        }

        /// A zip of 32 MiB of zeros (deflated to about 32 KiB), streamed, never held in memory.
        func zipBomb() throws -> ByteBuffer {
            try run("/usr/bin/env", ["python3", "-c", """
                import zipfile
                with zipfile.ZipFile("bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
                    with z.open("zeros.bin", "w", force_zip64=True) as f:
                        for _ in range(32):
                            f.write(bytes(1 << 20))
                """])
            return try bytes("bomb.zip")
        }
    }

    static func upload(
        _ client: some TestClientProtocol, _ repository: String, _ body: ByteBuffer, token: String, query: String = "",
        contentType: String? = "application/gzip"
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if let contentType { headers[.contentType] = contentType }
        return try await client.execute(uri: "/v1/repositories/\(repository)/scans/archive\(query)", method: .post, headers: headers, body: body)
    }

    static func problem(_ response: TestResponse) throws -> (code: String?, detail: String) {
        let body = try json(response)
        return (body["code"] as? String, body["detail"] as? String ?? "")
    }

    @Test(arguments: TestDatabase.all)
    func unsafeArchivesAreRefusedAtOnceAndNothingIsKept(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let tenant = try await TestTenant.make(in: store)
            let repository = try await tenant.addRepository()
            let data = try TestRepo(git: false)
            defer { data.remove() }
            let archives = try Archives()
            defer { archives.remove() }
            let app = VegaServer.buildApplication(
                store: store, configuration: .init(port: 0, dataDirectory: data.path, maxUploadBytes: 1 << 20), logger: Logger(label: "test")
            )
            let token = tenant.ownerToken
            try await app.test(.live) { client in
                let parent = try await Self.upload(client, repository, try archives.parentEntry(), token: token)
                #expect(parent.status == .unprocessableContent)
                let parentProblem = try Self.problem(parent)
                #expect(parentProblem.code == "unsafe_archive")
                #expect(parentProblem.detail == "archive entry '../evil' refused: its path contains '..'", "\(parentProblem.detail)")

                let link = try await Self.upload(client, repository, try archives.escapingLink(), token: token)
                #expect(link.status == .unprocessableContent)
                let linkProblem = try Self.problem(link)
                #expect(linkProblem.code == "unsafe_archive")
                #expect(linkProblem.detail.hasPrefix("archive entry 'link' refused:"), "\(linkProblem.detail)")
                #expect(linkProblem.detail.contains("symbolic link that leads outside the archive"), "\(linkProblem.detail)")

                let bomb = try await Self.upload(client, repository, try archives.zipBomb(), token: token, contentType: "application/zip")
                #expect(bomb.status == .unprocessableContent)
                let bombProblem = try Self.problem(bomb)
                #expect(bombProblem.code == "unsafe_archive")
                #expect(bombProblem.detail.contains("'zeros.bin'") && bombProblem.detail.contains("more than 100 times"), "\(bombProblem.detail)")

                // Damaged, not an archive, or too large.
                var good = try archives.tarGz("good.tar.gz", of: archives.folder.path + "/links", ["ok.txt"])
                let cut = good.readSlice(length: good.readableBytes / 2)!
                let corrupt = try await Self.upload(client, repository, cut, token: token)
                #expect(corrupt.status == .unprocessableContent)
                #expect(try Self.problem(corrupt).code == "invalid_archive")
                let text = ByteBuffer(string: "just some text, not an archive\n")
                #expect(try await Self.upload(client, repository, text, token: token, contentType: "application/octet-stream").status == .unsupportedMediaType)
                #expect(try await Self.upload(client, repository, text, token: token, contentType: nil).status == .unsupportedMediaType)
                #expect(try await Self.upload(client, repository, cut, token: token, contentType: "application/json").status == .unsupportedMediaType)
                let huge = ByteBuffer(repeating: 0x1F, count: (1 << 20) + 1)
                let tooLarge = try await Self.upload(client, repository, huge, token: token)
                #expect(tooLarge.status == .contentTooLarge)
                #expect(try Self.problem(tooLarge).code == "body_too_large")

                // Who may upload, where, and what they may ask for.
                let viewer = try await tenant.key(.viewer).token
                #expect(try await Self.upload(client, repository, cut, token: viewer).status == .forbidden)
                let reader = try await store.createAPIKey(name: "ci", role: .member, scopes: [.read], by: tenant.owner).token
                #expect(try Self.problem(try await Self.upload(client, repository, cut, token: reader)).code == "insufficient_scope")
                #expect(try await Self.upload(client, "rep_nope", cut, token: token).status == .notFound)
                let engines = try await Self.upload(client, repository, cut, token: token, query: "?engines=secrets,nope")
                #expect(try Self.problem(engines).code == "invalid_engines")
                let ref = try await Self.upload(client, repository, cut, token: token, query: "?ref=a..b")
                #expect(try Self.problem(ref).code == "invalid_ref")

                // Nothing was queued and nothing kept.
                let scans = try await call(client, .get, "/v1/scans", token: token)
                #expect((scans.json["items"] as? [Any])?.isEmpty == true, "\(scans.json)")
                let kept = FileManager.default.enumerator(atPath: data.path + "/artifacts")?.allObjects ?? []
                #expect(kept.isEmpty, "\(kept)")
            }
        }
    }

    @Test(arguments: TestDatabase.all)
    func aGoodArchiveIsScannedAndAMissingOneFailsClearly(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let tenant = try await TestTenant.make(in: store)
            let repository = try await tenant.addRepository()
            let data = try TestRepo(git: false)
            defer { data.remove() }
            let archives = try Archives()
            defer { archives.remove() }
            let app = VegaServer.buildApplication(store: store, configuration: .init(port: 0, dataDirectory: data.path), logger: Logger(label: "test"))
            let token = tenant.ownerToken
            let source = try TestRepo(git: false)
            defer { source.remove() }
            try PlantedSecrets.plant(in: source)
            let tarGz = try archives.tarGz("app.tar.gz", of: source.path, ["."])
            try archives.run("/usr/bin/env", ["python3", "-c", "import shutil, sys; shutil.make_archive('app', 'zip', sys.argv[1])", source.path])

            try await app.test(.live) { client in
                // Queued while no worker runs, so the second archive can be lost before it is run.
                let first = try await Self.upload(client, repository, tarGz, token: token, query: "?engines=secrets")
                #expect(first.status == .accepted)
                let scan = try json(first)
                let scanID = try #require(scan["id"] as? String)
                #expect(scan["state"] as? String == "queued" && scan["ref"] as? String == "archive" && scan["engines"] as? [String] == ["secrets"])
                let artifacts = try await store.artifacts(scanID: scanID, in: tenant.scope)
                #expect(artifacts.map(\.kind) == ["source.tar.gz"])
                #expect(artifacts.first?.size == tarGz.readableBytes)

                let second = try await Self.upload(client, repository, try archives.bytes("app.zip"), token: token, query: "?ref=release-2",
                                                   contentType: "application/zip")
                #expect(second.status == .accepted)
                let lostID = try #require(try json(second)["id"] as? String)
                let lost = try #require(try await store.artifacts(scanID: lostID, in: tenant.scope).first)
                #expect(lost.kind == "source.zip")
                // Quotas apply as to any submission: refused, and the archive is not kept.
                try await store.setQuota(maxActiveScans: .limit(2), maxScansPerDay: nil, in: tenant.scope)
                let over = try await Self.upload(client, repository, tarGz, token: token)
                #expect(over.status == .tooManyRequests && over.headers[.retryAfter] != nil)
                let stored = FileManager.default.enumerator(atPath: data.path + "/artifacts")?.allObjects.compactMap { $0 as? String }
                #expect(stored?.filter { $0.hasSuffix("/source.tar.gz") || $0.hasSuffix("/source.zip") }.count == 2, "\(stored ?? [])")
                try FileManager.default.removeItem(atPath: data.path + "/artifacts/" + lost.key)

                let worker = ScanWorker(
                    store: store, dataDirectory: data.path, pollInterval: .milliseconds(50),
                    runner: RunnerConfiguration(executable: try vegaPath(), workspaceRoot: RunnerConfiguration.workspaces(in: data.path)),
                    logger: Logger(label: "test")
                )
                let running = Task { try await worker.run() }
                func finished(_ id: String) async throws -> [String: Any] {
                    var scan: [String: Any] = [:]
                    for _ in 0..<600 {
                        scan = try await call(client, .get, "/v1/scans/\(id)", token: token).json
                        if let state = scan["state"] as? String, !["queued", "running"].contains(state) { break }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    return scan
                }
                let scanned = try await finished(scanID)
                let gone = try await finished(lostID)
                running.cancel()
                _ = await running.result

                #expect(scanned["state"] as? String == "succeeded", "\(scanned)")
                let list = try await call(client, .get, "/v1/findings?repository_id=\(repository)", token: token)
                let findings = try #require(list.json["items"] as? [[String: Any]])
                #expect(Set(findings.compactMap { $0["path"] as? String }) == ["config/settings.py", "deploy/ci.sh", "src/billing.js", "src/notify.go"])
                #expect(findings.allSatisfy { $0["state"] as? String == "open" && $0["engine"] as? String == "secrets" })
                for secret in PlantedSecrets.all {
                    #expect(!findings.contains { ($0["snippet"] as? String ?? "").contains(secret) }, "secrets are redacted")
                }

                // Gone from the store before it ran: failed at once, no retry, with why.
                #expect(gone["state"] as? String == "failed", "\(gone)")
                #expect(gone["attempts"] as? Int == 1)
                #expect((gone["error"] as? String)?.contains("the uploaded archive (source.zip) is no longer in the artifact store") == true, "\(gone)")
            }
        }
    }
}
