import Foundation
import Glibc
import Testing
@testable import VegaWorkspace

@Suite struct SourceResolverTests {
    @Test func localDirectoryResolvesToItsRealPath() async throws {
        let dir = try TempDirectory()
        try dir.mkdir("real")
        try dir.symlink("link", to: "real")
        let source = try await SourceResolver.resolve(dir.url("link"))
        #expect(source.root == dir.url("real"))
        #expect(source.display == dir.url("link"))
        #expect(!source.isTemporary)
        source.cleanup()
        #expect(dir.exists("real"))
    }

    @Test func fileURLIsShallowClonedAndCleanedUp() async throws {
        let repo = try TempDirectory()
        try makeRepository(repo)
        try repo.write("first.txt", "one\n")
        try git(["add", "."], in: repo.path)
        try git(["commit", "-qm", "first"], in: repo.path)
        try repo.write("second.txt", "two\n")
        try git(["add", "."], in: repo.path)
        try git(["commit", "-qm", "second"], in: repo.path)

        let parent = try TempDirectory()
        let url = "file://" + repo.path
        let source = try await SourceResolver.resolve(url, cloneTimeout: .seconds(60), temporaryParent: parent.path)
        #expect(source.isTemporary)
        #expect(source.display == url)
        #expect(source.root.hasPrefix(parent.path + "/vega-clone-"))
        #expect(FileManager.default.fileExists(atPath: source.root + "/second.txt"))
        #expect(try git(["rev-list", "--count", "HEAD"], in: source.root).trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        source.cleanup()
        #expect(!FileManager.default.fileExists(atPath: source.root))
        #expect(try parent.contents().isEmpty)
    }

    @Test func failedCloneRemovesItsDirectoryAndReportsGit() async throws {
        let parent = try TempDirectory()
        let error = await #expect(throws: WorkspaceError.self) {
            try await SourceResolver.resolve("file:///nonexistent/vega/repo", cloneTimeout: .seconds(60), temporaryParent: parent.path)
        }
        #expect(error?.description.contains("cloning file:///nonexistent/vega/repo failed") == true)
        #expect(error?.description.contains("does not appear to be a git repository") == true)
        #expect(try parent.contents().isEmpty)
    }

    @Test func credentialsNeverReachMessages() async throws {
        let parent = try TempDirectory()
        // Port 1 on loopback refuses at once.
        let error = await #expect(throws: WorkspaceError.self) {
            try await SourceResolver.resolve(
                "https://alice:s3kr1t-token@127.0.0.1:1/x.git", cloneTimeout: .seconds(60), temporaryParent: parent.path)
        }
        let message = try #require(error?.description)
        #expect(message.contains("https://127.0.0.1:1/x.git"))
        #expect(!message.contains("s3kr1t"))
        #expect(!message.contains("alice"))
        #expect(try parent.contents().isEmpty)
    }

    @Test func cloneTimesOut() async throws {
        let server = try SilentServer()
        let parent = try TempDirectory()
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: WorkspaceError.self) {
            try await SourceResolver.resolve(
                "https://127.0.0.1:\(server.port)/x.git", cloneTimeout: .milliseconds(500), temporaryParent: parent.path)
        }
        #expect(error?.description == "cloning https://127.0.0.1:\(server.port)/x.git timed out after 0.5s")
        // The server never answers, so without the timeout git would wait forever. The bound
        // is loose on purpose: the whole suite runs in parallel on 2 shared cores.
        #expect(clock.now - start < .seconds(60))
        #expect(try parent.contents().isEmpty)
    }

    @Test func cancellingStopsTheClone() async throws {
        let server = try SilentServer()
        let parent = try TempDirectory()
        let url = "https://127.0.0.1:\(server.port)/x.git"
        let parentPath = parent.path
        let task = Task {
            try await SourceResolver.resolve(url, cloneTimeout: .seconds(120), temporaryParent: parentPath)
        }
        try await Task.sleep(for: .milliseconds(300))
        let clock = ContinuousClock()
        let start = clock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // Well inside the 120 s clone timeout, loosely: the suite runs on 2 shared cores.
        #expect(clock.now - start < .seconds(60))
        #expect(try parent.contents().isEmpty)
    }

    static let refusals: [(argument: String, message: String)] = [
        ("--upload-pack=touch /tmp/pwned", "begins with '-'"),
        ("-oProxyCommand=x", "begins with '-'"),
        ("ext::sh -c touch% /tmp/pwned", "refusing 'ext::' source"),
        ("fd::17", "refusing 'fd::' source"),
        ("http://example.com/repo.git", "use https://"),
        ("git://example.com/repo.git", "use https://"),
        ("ftp://example.com/repo.git", "unsupported URL scheme 'ftp://'"),
        ("https://example.com/a repo.git", "whitespace or control characters"),
        ("https://example.com/a\nrepo.git", "whitespace or control characters"),
        ("ssh://-oProxyCommand=x/repo", "host begins with '-'"),
        ("https:///repo", "has no host"),
        ("/nonexistent/vega/dir", "no such directory: /nonexistent/vega/dir"),
        ("", "no source given"),
    ]

    @Test(arguments: refusals)
    func refuses(_ argument: String, _ message: String) async throws {
        let error = await #expect(throws: WorkspaceError.self) { try await SourceResolver.resolve(argument) }
        #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
    }

    @Test func refusesAFile() async throws {
        let dir = try TempDirectory()
        let file = try dir.write("a.txt", "x")
        let error = await #expect(throws: WorkspaceError.self) { try await SourceResolver.resolve(file) }
        #expect(error?.description == "\(file) is a file; pass a directory")
    }

    @Test func urlForms() throws {
        let https = try #require(try GitURL.parse("https://user:tok@github.com/o/r.git"))
        #expect(https.display == "https://github.com/o/r.git")
        #expect(https.transport == "https")
        let tokenOnly = try #require(try GitURL.parse("https://ghp_abc@github.com/o/r"))
        #expect(tokenOnly.display == "https://github.com/o/r")
        #expect(tokenOnly.redacting("fatal: https://ghp_abc@github.com/o/r") == "fatal: https://***@github.com/o/r")
        let ssh = try #require(try GitURL.parse("ssh://git:pw@host:22/o/r.git"))
        #expect(ssh.display == "ssh://git@host:22/o/r.git")
        #expect(ssh.transport == "ssh")
        let scp = try #require(try GitURL.parse("git@github.com:owner/repo.git"))
        #expect(scp.display == "git@github.com:owner/repo.git")
        #expect(scp.transport == "ssh")
        #expect(try GitURL.parse("file:///srv/repo")?.transport == "file")
        #expect(try GitURL.parse("GIT+SSH://h/r")?.transport == "ssh")
        // Local-looking paths are not URLs.
        #expect(try GitURL.parse("./dir:with/colon") == nil)
        #expect(try GitURL.parse("relative/dir") == nil)
    }

    // MARK: Refs

    /// main: "first" (tagged v1, annotated v1-notes) → "second" → "third"; feature: off
    /// "second", with feature.txt. Returns the commits by message.
    static func repositoryWithRefs(_ repo: TempDirectory) throws -> [String: String] {
        try makeRepository(repo)
        var commits: [String: String] = [:]
        func commit(_ name: String) throws {
            try repo.write("\(name).txt", "\(name)\n")
            try git(["add", "."], in: repo.path)
            try git(["commit", "-qm", name], in: repo.path)
            commits[name] = try git(["rev-parse", "HEAD"], in: repo.path).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try commit("first")
        try git(["tag", "v1"], in: repo.path)
        try git(["tag", "-a", "v1-notes", "-m", "annotated"], in: repo.path)
        try commit("second")
        try git(["checkout", "-qb", "feature"], in: repo.path)
        try commit("feature")
        try git(["checkout", "-q", "main"], in: repo.path)
        try commit("third")
        return commits
    }

    static func count(_ root: String) throws -> String {
        try git(["rev-list", "--count", "HEAD"], in: root).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func branchesTagsAndCommitsAreCheckedOutShallow() async throws {
        let repo = try TempDirectory()
        let commits = try Self.repositoryWithRefs(repo)
        let parent = try TempDirectory()
        let url = "file://" + repo.path
        let expectations: [(ref: String, commit: String?, file: String)] = [
            ("feature", commits["feature"], "feature.txt"), ("v1", commits["first"], "first.txt"),
            ("refs/tags/v1-notes", commits["first"], "first.txt"), ("refs/heads/main", commits["third"], "third.txt"),
            // Named by no branch or tag: fetched by id.
            (try #require(commits["second"]).uppercased(), commits["second"], "second.txt"),
        ]
        for (ref, commit, file) in expectations {
            let source = try await SourceResolver.resolve(url, cloneTimeout: .seconds(60), ref: ref, temporaryParent: parent.path)
            #expect(source.commit == commit, "\(ref)")
            #expect(FileManager.default.fileExists(atPath: source.root + "/" + file), "\(ref)")
            #expect(try Self.count(source.root) == "1", "\(ref) is cloned at depth 1")
            source.cleanup()
        }
        #expect(try parent.contents().isEmpty)
        // Without a ref: the default branch, and its commit too.
        let head = try await SourceResolver.resolve(url, cloneTimeout: .seconds(60), temporaryParent: parent.path)
        #expect(head.commit == commits["third"])
        head.cleanup()
    }

    @Test func aServerThatRefusesCommitsByIdGetsAFullClone() async throws {
        let repo = try TempDirectory()
        let commits = try Self.repositoryWithRefs(repo)
        let parent = try TempDirectory()
        let second = try #require(commits["second"])
        // git's first protocol only hands out commits a branch or tag names.
        let source = try await SourceResolver.resolve(
            "file://" + repo.path, cloneTimeout: .seconds(60), ref: second, temporaryParent: parent.path,
            gitEnvironment: ["GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "protocol.version", "GIT_CONFIG_VALUE_0": "0"]
        )
        #expect(source.commit == second)
        #expect(FileManager.default.fileExists(atPath: source.root + "/second.txt"))
        #expect(!FileManager.default.fileExists(atPath: source.root + "/third.txt"))
        #expect(try Self.count(source.root) == "2", "the full clone, checked out at the commit")
        source.cleanup()
        #expect(try parent.contents().isEmpty)
    }

    @Test func historyScansGetTheRefsWholeHistory() async throws {
        let repo = try TempDirectory()
        let commits = try Self.repositoryWithRefs(repo)
        let parent = try TempDirectory()
        for (ref, expected) in [("feature", "3"), ("v1", "1"), (try #require(commits["second"]), "2")] {
            let source = try await SourceResolver.resolve(
                "file://" + repo.path, cloneTimeout: .seconds(60), fullHistory: true, ref: ref, temporaryParent: parent.path
            )
            #expect(try Self.count(source.root) == expected, "\(ref)")
            source.cleanup()
        }
    }

    @Test func unknownRefsFailClearlyAndLeaveNothing() async throws {
        let repo = try TempDirectory()
        _ = try Self.repositoryWithRefs(repo)
        let parent = try TempDirectory()
        for ref in ["no-such-branch", String(repeating: "ab", count: 20)] {
            let error = await #expect(throws: WorkspaceError.self) {
                try await SourceResolver.resolve("file://" + repo.path, cloneTimeout: .seconds(60), ref: ref, temporaryParent: parent.path)
            }
            #expect(error?.description == "ref \(ref) not found in the repository")
            #expect(try parent.contents().isEmpty)
        }
    }

    static let invalidRefs = [
        "", "-upload-pack=x", "--output=/tmp/x", "a..b", "a b", "a\tb", "a\u{7F}b", "x@{1}", "@", "a~1", "a^", "a:b", "a?", "a*",
        "a[b", "a\\b", "/a", "a/", "a//b", "a.", ".hidden", "a/.b", "a.lock", "a/b.lock/c", String(repeating: "a", count: 256),
    ]

    @Test(arguments: invalidRefs)
    func invalidRefsAreRefusedBeforeGitRuns(_ ref: String) async throws {
        let error = await #expect(throws: WorkspaceError.self) {
            try await SourceResolver.resolve("file:///nonexistent/vega/repo", ref: ref)
        }
        #expect(error?.description.hasPrefix("invalid ref: ") == true, "\(error?.description ?? "")")
    }

    @Test func validRefsAreNormalised() throws {
        #expect(try GitRef.validate("main") == "main")
        #expect(try GitRef.validate("feature/login-v2") == "feature/login-v2")
        #expect(try GitRef.validate("refs/heads/release/1.0") == "release/1.0")
        #expect(try GitRef.validate("refs/tags/v1.2.3") == "v1.2.3")
        #expect(try GitRef.validate("ünïcode") == "ünïcode")
        #expect(try GitRef.validate(String(repeating: "A", count: 40)) == String(repeating: "a", count: 40))
        #expect(try GitRef.validate(String(repeating: "a", count: 255)).count == 255)
        #expect(GitRef.isCommit(String(repeating: "f", count: 40)) && !GitRef.isCommit("abc1234") && !GitRef.isCommit(String(repeating: "g", count: 40)))
    }

    @Test func aRefNeedsAGitURL() async throws {
        let dir = try TempDirectory()
        let error = await #expect(throws: WorkspaceError.self) { try await SourceResolver.resolve(dir.path, ref: "main") }
        #expect(error?.description == "a ref can only be checked out of a git URL; \(dir.path) is a local path")
    }

    @Test func durationFormatting() {
        #expect(SourceResolver.format(.seconds(300)) == "300s")
        #expect(SourceResolver.format(.milliseconds(1500)) == "1.5s")
    }
}

/// A loopback TCP port that accepts connections (through the kernel's backlog) but
/// never answers, so a client waits until it gives up.
final class SilentServer {
    let fd: Int32
    let port: UInt16

    init() throws {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw TestFailure("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, length) }
        }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        guard bound == 0, named == 0, listen(socketFD, 16) == 0 else {
            close(socketFD)
            throw TestFailure("cannot listen on loopback")
        }
        fd = socketFD
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }
}
