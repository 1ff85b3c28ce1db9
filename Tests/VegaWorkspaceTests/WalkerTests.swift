import Foundation
import Glibc
import Testing
import VegaModel
@testable import VegaWorkspace

@Suite struct WalkerTests {
    private func paths(_ root: String, _ options: WalkOptions = WalkOptions()) throws -> [String] {
        try Walker.walk(root: root, options: options).files.map(\.path)
    }

    @Test func nestedGitignoresApplyToTheirSubtree() throws {
        let dir = try TempDirectory()
        try dir.write(".gitignore", "*.md\n/only-root.txt\nbuild/\n")
        try dir.write("README.md", "x")
        try dir.write("only-root.txt", "x")
        try dir.write("keep.txt", "x")
        try dir.write("build/out.txt", "x")
        try dir.write("src/build/gen.txt", "x")
        try dir.write("src/only-root.txt", "x")
        try dir.write("sub/.gitignore", "!README.md\n/local.txt\n")
        try dir.write("sub/README.md", "x")
        try dir.write("sub/local.txt", "x")
        try dir.write("sub/deeper/local.txt", "x")
        try dir.write("sub/deeper/other.md", "x")
        try dir.write("other/local.txt", "x")

        #expect(try paths(dir.path) == [
            ".gitignore", "keep.txt", "other/local.txt", "src/only-root.txt",
            "sub/.gitignore", "sub/README.md", "sub/deeper/local.txt",
        ])
    }

    @Test func negationCannotReincludeInsideAnExcludedDirectory() throws {
        let dir = try TempDirectory()
        try dir.write(".gitignore", "logs/\n!logs/keep.txt\nassets/*\n!assets/keep.png\n")
        try dir.write("logs/keep.txt", "x")
        try dir.write("assets/keep.png", "x")
        try dir.write("assets/drop.png", "x")
        // `logs/` excludes the directory itself; `assets/*` only its entries.
        #expect(try paths(dir.path) == [".gitignore", "assets/keep.png"])
    }

    @Test func agreesWithGitOnATreeOfRules() throws {
        let dir = try TempDirectory()
        try makeRepository(dir)
        try dir.write(".gitignore", "*.tmp\n!important.tmp\n/top/\ndocs/**/*.pdf\n**/cache\nnode_modules/\n[Bb]in/\n")
        try dir.write("a.tmp", "x")
        try dir.write("important.tmp", "x")
        try dir.write("top/x.txt", "x")
        try dir.write("nested/top/x.txt", "x")
        try dir.write("docs/a.pdf", "x")
        try dir.write("docs/deep/er/b.pdf", "x")
        try dir.write("docs/deep/er/b.txt", "x")
        try dir.write("lib/cache/c.txt", "x")
        try dir.write("lib/cache.txt", "x")
        try dir.write("web/node_modules/m.js", "x")
        try dir.write("Bin/tool", "x")
        try dir.write("bin/tool", "x")
        try dir.write("obj/bin.txt", "x")
        try dir.write("pkg/.gitignore", "*.txt\n!keep.txt\n/gen/\n")
        try dir.write("pkg/keep.txt", "x")
        try dir.write("pkg/drop.txt", "x")
        try dir.write("pkg/gen/g.go", "x")
        try dir.write("pkg/sub/gen/g.go", "x")
        try dir.write("pkg/sub/x.txt", "x")
        try dir.write(".git/info/exclude", "excluded-locally\n")
        try dir.write("excluded-locally", "x")

        let fromGit = try git(["ls-files", "--others", "--exclude-standard"], in: dir.path)
            .split(separator: "\n").map(String.init).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(try paths(dir.path, WalkOptions(ignoreFileNames: [])) == fromGit)
        #expect(!fromGit.isEmpty)
    }

    @Test func gitignoresAboveTheRootApply() throws {
        let dir = try TempDirectory()
        try makeRepository(dir)
        try dir.write(".gitignore", "*.secret\n/project/anchored.txt\n")
        try dir.write("project/sub/.gitignore", "local.txt\n")
        try dir.write("project/sub/local.txt", "x")
        try dir.write("project/sub/kept.txt", "x")
        try dir.write("project/sub/a.secret", "x")
        try dir.write("project/anchored.txt", "x")
        try dir.write(".git/info/exclude", "*.private\n")
        try dir.write("project/sub/b.private", "x")

        #expect(try paths(dir.url("project")) == ["sub/.gitignore", "sub/kept.txt"])
        #expect(try paths(dir.url("project/sub")) == [".gitignore", "kept.txt"])
    }

    @Test func aRootInsideAnIgnoredDirectoryIsScannedWhole() throws {
        let dir = try TempDirectory()
        try makeRepository(dir)
        try dir.write(".gitignore", "/versions\n*.log\n")
        try dir.write("versions/3.11/lib/os.py", "x")
        try dir.write("versions/3.11/lib/debug.log", "x")
        try dir.write("versions/3.11/lib/.gitignore", "*.tmp\n")
        try dir.write("versions/3.11/lib/scratch.tmp", "x")
        // The enclosing work tree ignores versions/ entirely; named explicitly, it is scanned,
        // with only its own ignore files applied.
        #expect(try paths(dir.url("versions/3.11")) == ["lib/.gitignore", "lib/debug.log", "lib/os.py"])
        #expect(try paths(dir.path).isEmpty == false)
        #expect(!(try paths(dir.path)).contains { $0.hasPrefix("versions/") })
    }

    @Test func gitignoreCanBeTurnedOff() throws {
        let dir = try TempDirectory()
        try dir.write(".gitignore", "*.log\n")
        try dir.write(".vegaignore", "*.bak\n")
        try dir.write("a.log", "x")
        try dir.write("a.bak", "x")
        #expect(try paths(dir.path, WalkOptions(useGitignore: false)) == [".gitignore", ".vegaignore", "a.log"])
    }

    @Test func vegaignoreIsNestedAndOverridesGitignore() throws {
        let dir = try TempDirectory()
        try dir.write(".gitignore", "*.env\n")
        try dir.write(".vegaignore", "!prod.env\nfixtures/\n")
        try dir.write("prod.env", "x")
        try dir.write("dev.env", "x")
        try dir.write("fixtures/f.txt", "x")
        try dir.write("app/.vegaignore", "*.snap\n")
        try dir.write("app/a.snap", "x")
        try dir.write("b.snap", "x")
        #expect(try paths(dir.path) == [".gitignore", ".vegaignore", "app/.vegaignore", "b.snap", "prod.env"])
    }

    @Test func customIgnoreFileNames() throws {
        let dir = try TempDirectory()
        try dir.write(".scanignore", "skip.txt\n")
        try dir.write(".vegaignore", "kept.txt\n")
        try dir.write("skip.txt", "x")
        try dir.write("kept.txt", "x")
        #expect(try paths(dir.path, WalkOptions(ignoreFileNames: [".scanignore"])) == [".scanignore", ".vegaignore", "kept.txt"])
    }

    @Test func excludesAreAnchoredAtTheRootAndWinOverNegations() throws {
        let dir = try TempDirectory()
        try makeRepository(dir)
        try dir.write(".gitignore", "!vendor/\n")
        try dir.write("vendor/v.go", "x")
        try dir.write("a/vendor/v.go", "x")
        try dir.write("top.txt", "x")
        try dir.write("a/top.txt", "x")
        try dir.write("sub/.gitignore", "")
        let options = WalkOptions(excludes: ["vendor/", "/top.txt"])
        #expect(try paths(dir.path, options) == [".gitignore", "a/top.txt", "sub/.gitignore"])
        // Anchored at the scan root, not at the repository's top.
        #expect(try paths(dir.url("a"), options) == [])
    }

    @Test func gitDirectoriesAreNeverEntered() throws {
        let dir = try TempDirectory()
        try makeRepository(dir)
        try dir.write("a.txt", "x")
        try dir.write("nested/.git/config", "x")
        try dir.write("nested/b.txt", "x")
        #expect(try paths(dir.path) == ["a.txt", "nested/b.txt"])
    }

    @Test func sizeLimit() throws {
        let dir = try TempDirectory()
        try dir.write("small.txt", String(repeating: "a", count: 10))
        try dir.write("big.txt", String(repeating: "a", count: 11))
        let result = try Walker.walk(root: dir.path, options: WalkOptions(maxFileSize: 10))
        #expect(result.files.map(\.path) == ["small.txt"])
        #expect(result.files.first?.size == 10)
        #expect(result.files.first?.absolutePath == dir.path + "/small.txt")
        #expect(result.skipped == [SkippedFile(path: "big.txt", reason: .tooLarge)])
    }

    @Test func symlinkedFilesInsideAreScannedOnceAndOutsideAreRefused() throws {
        let outside = try TempDirectory()
        try outside.write("secret.txt", "x")
        let dir = try TempDirectory()
        try dir.write("real.txt", "x")
        try dir.write(".gitignore", "hidden/\n")
        try dir.write("hidden/only-via-link.txt", "x")
        try dir.symlink("link-to-real", to: "real.txt")
        try dir.symlink("link-to-hidden", to: "hidden/only-via-link.txt")
        try dir.symlink("second-link-to-hidden", to: "hidden/only-via-link.txt")
        try dir.symlink("escape", to: outside.url("secret.txt"))
        try dir.symlink("escape-relative", to: "../" + (outside.path as NSString).lastPathComponent + "/secret.txt")
        try dir.symlink("dangling", to: "nowhere.txt")

        let result = try Walker.walk(root: dir.path, options: WalkOptions())
        // real.txt is reached directly; the hidden file once, by the first link in path order.
        #expect(result.files.map(\.path) == [".gitignore", "link-to-hidden", "real.txt"])
        #expect(result.files.first { $0.path == "link-to-hidden" }?.absolutePath == dir.path + "/link-to-hidden")
        #expect(result.skipped == [
            SkippedFile(path: "dangling", reason: .unreadable),
            SkippedFile(path: "escape", reason: .symlinkOutsideRoot),
            SkippedFile(path: "escape-relative", reason: .symlinkOutsideRoot),
        ])
    }

    @Test func symlinkedDirectories() throws {
        let outside = try TempDirectory()
        try outside.write("o.txt", "x")
        let dir = try TempDirectory()
        try dir.write(".gitignore", "generated/\n")
        try dir.write("generated/g.txt", "x")
        try dir.write("src/s.txt", "x")
        try dir.symlink("gen-link", to: "generated")
        try dir.symlink("src-link", to: "src")
        try dir.symlink("src/loop", to: "..")
        try dir.symlink("self", to: ".")
        try dir.symlink("out-link", to: outside.path)
        try makeRepository(dir)
        try dir.symlink("git-link", to: ".git")

        let result = try Walker.walk(root: dir.path, options: WalkOptions())
        // src is walked directly, so src-link adds nothing; loop and self lead back to
        // directories already read; the ignored directory is reached only through its link.
        #expect(result.files.map(\.path) == [".gitignore", "gen-link/g.txt", "src/s.txt"])
        #expect(result.skipped == [SkippedFile(path: "out-link", reason: .symlinkOutsideRoot)])
    }

    @Test func symlinkCycleThroughLinksOnly() throws {
        let dir = try TempDirectory()
        try dir.write(".gitignore", "a/\nb/\n")
        try dir.write("a/in-a.txt", "x")
        try dir.write("b/in-b.txt", "x")
        try dir.symlink("a/to-b", to: "../b")
        try dir.symlink("b/to-a", to: "../a")
        try dir.symlink("entry", to: "a")
        let result = try Walker.walk(root: dir.path, options: WalkOptions())
        #expect(result.files.map(\.path) == [".gitignore", "entry/in-a.txt", "entry/to-b/in-b.txt"])
    }

    @Test func outputIsSortedByBytesAndRepeatable() throws {
        let dir = try TempDirectory()
        let names = ["b", "B", "a.txt", "a-b", "a/x", "a/b/c", "ä", "z", "_", "a0", "aa/y", "a b"]
        for name in names { try dir.write(name, "x") }
        for i in 0..<40 { try dir.write("many/d\(i % 7)/f\(i)", "x") }
        let first = try paths(dir.path)
        let expected = first.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(first == expected)
        #expect(first.count == names.count + 40)
        #expect(first.prefix(4) == ["B", "_", "a b", "a-b"])
        for _ in 0..<5 { #expect(try paths(dir.path) == first) }
    }

    @Test func nonUTF8NamesAreReportedNotScanned() throws {
        let dir = try TempDirectory()
        try dir.write("ok.txt", "x")
        let bad: [UInt8] = Array(dir.path.utf8) + [UInt8(ascii: "/"), 0x66, 0xFF, 0x2E, 0x74, 0x78, 0x74]
        let fd = bad.withUnsafeBufferPointer { buffer in
            (buffer.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
        }
        try #require(fd >= 0)
        close(fd)
        let result = try Walker.walk(root: dir.path, options: WalkOptions())
        #expect(result.files.map(\.path) == ["ok.txt"])
        #expect(result.skipped.map(\.reason) == [.unreadable])
    }

    /// Unreadable means unreadable to this process: root may read mode-000 entries, so
    /// under root (as in CI) they are scanned; anyone else gets them listed as skipped.
    @Test func unreadableEntriesFollowTheProcessPermissions() throws {
        let dir = try TempDirectory()
        try dir.write("locked/inside.txt", "x")
        try dir.write("secret.txt", "x")
        try dir.write("open.txt", "x")
        chmod(dir.url("locked"), 0)
        chmod(dir.url("secret.txt"), 0)
        defer { chmod(dir.url("locked"), 0o755) }
        let result = try Walker.walk(root: dir.path, options: WalkOptions())
        if geteuid() == 0 {
            #expect(result.files.map(\.path) == ["locked/inside.txt", "open.txt", "secret.txt"])
            #expect(result.skipped.isEmpty)
        } else {
            #expect(result.files.map(\.path) == ["open.txt"])
            #expect(result.skipped == [
                SkippedFile(path: "locked", reason: .unreadable),
                SkippedFile(path: "secret.txt", reason: .unreadable),
            ])
        }
    }

    @Test func missingRootThrows() throws {
        let dir = try TempDirectory()
        #expect(throws: WorkspaceError.self) { try Walker.walk(root: dir.url("missing"), options: WalkOptions()) }
        try dir.write("file.txt", "x")
        #expect(throws: WorkspaceError.self) { try Walker.walk(root: dir.url("file.txt"), options: WalkOptions()) }
    }

    @Test func fifosAreLeftOut() throws {
        let dir = try TempDirectory()
        try dir.write("a.txt", "x")
        #expect(mkfifo(dir.url("pipe"), 0o644) == 0)
        let result = try Walker.walk(root: dir.path, options: WalkOptions())
        #expect(result.files.map(\.path) == ["a.txt"])
        #expect(result.skipped.isEmpty)
    }
}
