import Foundation
import Testing
import VegaModel
@testable import VegaWorkspace

@Suite struct GitHistoryTests {
    private func commit(_ repo: TempDirectory, _ message: String, date: String, author: String = "Ann Author", email: String = "ann@example.com") throws {
        try git(["add", "-A"], in: repo.path)
        try git(["commit", "-qm", message], in: repo.path, environment: [
            "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
        ])
    }

    private func history(_ repo: String) throws -> [CommitPatch] {
        var patches: [CommitPatch] = []
        try GitHistory.forEachCommit(repo: repo) { patches.append($0) }
        return patches
    }

    private func lines(_ patch: CommitPatch, _ path: String) -> [AddedLine] {
        patch.files.first { $0.path == path }?.addedLines ?? []
    }

    @Test func threeCommits() throws {
        let repo = try TempDirectory()
        try makeRepository(repo)
        try repo.write("a.txt", "one\ntwo\nthree\n")
        try repo.write("gone.txt", "bye\n")
        try commit(repo, "first", date: "2024-01-02T03:04:05+00:00", author: "Zoë Ünicode", email: "zoe@example.com")
        try repo.write("a.txt", "one\ninserted\ntwo\nthree\nappended\n")
        try repo.write("dir with space/file name.txt", "spaced\n")
        try repo.write("q\"uote.txt", "quoted\n")
        try commit(repo, "second", date: "2024-02-03T04:05:06+01:00")
        try FileManager.default.removeItem(atPath: repo.url("gone.txt"))
        try repo.write("bin.dat", bytes: [0, 1, 2, 0, 0x2B, 0x0A])
        try repo.write("a.txt", "ONE\ninserted\ntwo\nthree\nappended\n+plus line\n")
        try commit(repo, "third", date: "2024-03-04T05:06:07-02:00")

        let patches = try history(repo.path)
        let shas = try git(["rev-list", "HEAD"], in: repo.path).split(separator: "\n").map(String.init)
        #expect(patches.map(\.commit.sha) == shas)
        try #require(patches.count == 3)
        let (third, second, first) = (patches[0], patches[1], patches[2])

        #expect(first.commit == CommitInfo(sha: shas[2], author: "Zoë Ünicode", email: "zoe@example.com", date: "2024-01-02T03:04:05+00:00"))
        #expect(lines(first, "a.txt") == [AddedLine(number: 1, text: "one"), AddedLine(number: 2, text: "two"), AddedLine(number: 3, text: "three")])
        #expect(lines(first, "gone.txt") == [AddedLine(number: 1, text: "bye")])

        #expect(second.commit.author == "Ann Author")
        #expect(second.commit.date == "2024-02-03T04:05:06+01:00")
        #expect(lines(second, "a.txt") == [AddedLine(number: 2, text: "inserted"), AddedLine(number: 5, text: "appended")])
        #expect(lines(second, "dir with space/file name.txt") == [AddedLine(number: 1, text: "spaced")])
        #expect(lines(second, "q\"uote.txt") == [AddedLine(number: 1, text: "quoted")])

        // The deletion and the binary file add nothing; "++plus line" is content, not a header.
        #expect(third.files.map(\.path) == ["a.txt"])
        #expect(lines(third, "a.txt") == [AddedLine(number: 1, text: "ONE"), AddedLine(number: 6, text: "+plus line")])
    }

    @Test func mergeReportsOnlyWhatTheMergeItselfAdded() throws {
        let repo = try TempDirectory()
        try makeRepository(repo)
        try repo.write("f.txt", "a\nb\n")
        try commit(repo, "base", date: "2024-01-01T00:00:00+00:00")
        try git(["checkout", "-qb", "side"], in: repo.path)
        try repo.write("f.txt", "a\nside\nb\n")
        try commit(repo, "side", date: "2024-01-02T00:00:00+00:00")
        try git(["checkout", "-q", "main"], in: repo.path)
        try repo.write("f.txt", "a\nb\nmain\n")
        try commit(repo, "main", date: "2024-01-03T00:00:00+00:00")
        try git(["merge", "-q", "--no-commit", "side"], in: repo.path)
        try repo.write("f.txt", "a\nside\nb\nmain\nevil\n")
        try commit(repo, "merge", date: "2024-01-04T00:00:00+00:00")

        let patches = try history(repo.path)
        #expect(patches.count == 4)
        let merge = try #require(patches.first)
        #expect(merge.files.map(\.path) == ["f.txt"])
        #expect(lines(merge, "f.txt") == [AddedLine(number: 5, text: "evil")])
        let side = try #require(patches.first { $0.files.first?.addedLines.first?.text == "side" })
        #expect(lines(side, "f.txt") == [AddedLine(number: 2, text: "side")])
    }

    @Test func otherBranchesAreIncludedAndEmptyCommitsReported() throws {
        let repo = try TempDirectory()
        try makeRepository(repo)
        try repo.write("a.txt", "a\n")
        try commit(repo, "a", date: "2024-01-01T00:00:00+00:00")
        try git(["commit", "-q", "--allow-empty", "-m", "empty"], in: repo.path)
        try git(["checkout", "-qb", "feature"], in: repo.path)
        try repo.write("feature.txt", "token\n")
        try commit(repo, "feature", date: "2024-01-02T00:00:00+00:00")
        try git(["checkout", "-q", "main"], in: repo.path)

        let patches = try history(repo.path)
        #expect(patches.count == 3)
        #expect(patches.contains { $0.files.isEmpty })
        #expect(patches.contains { lines($0, "feature.txt") == [AddedLine(number: 1, text: "token")] })
    }

    @Test func subdirectoryPathsAreRelativeToIt() throws {
        let repo = try TempDirectory()
        try makeRepository(repo)
        try repo.write("app/src/main.txt", "inside\n")
        try repo.write("other.txt", "outside\n")
        try commit(repo, "both", date: "2024-01-01T00:00:00+00:00")
        let patches = try history(repo.url("app"))
        #expect(patches.count == 1)
        #expect(patches.first?.files.map(\.path) == ["src/main.txt"])
    }

    @Test func errorsFromTheBodyStopTheWalk() throws {
        let repo = try TempDirectory()
        try makeRepository(repo)
        for i in 0..<3 {
            try repo.write("f\(i).txt", "\(i)\n")
            try commit(repo, "c\(i)", date: "2024-01-0\(i + 1)T00:00:00+00:00")
        }
        struct Stop: Error {}
        var seen = 0
        #expect(throws: Stop.self) {
            try GitHistory.forEachCommit(repo: repo.path) { _ in
                seen += 1
                throw Stop()
            }
        }
        #expect(seen == 1)
    }

    @Test func emptyRepositoryHasNoCommits() throws {
        let repo = try TempDirectory()
        try makeRepository(repo)
        #expect(try history(repo.path).isEmpty)
    }

    @Test func notARepository() throws {
        let dir = try TempDirectory()
        let error = #expect(throws: WorkspaceError.self) { try history(dir.path) }
        #expect(error?.description.contains("not a git repository") == true)
    }

    @Test func parsesAcrossArbitraryChunkBoundaries() throws {
        let output = Array(("\u{0}abc\u{0}N\u{0}e@x\u{0}2024-01-01T00:00:00+00:00\n\n"
            + "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -0,0 +1,2 @@\n+l1\n+l2\n"
            + "diff --git \"a/t\\tab\" \"b/t\\tab\"\n--- /dev/null\n+++ \"b/t\\tab\\303\\251\"\n@@ -0,0 +7 @@\n+x\n").utf8)
        for chunkSize in [1, 2, 3, 7, 64, output.count] {
            var patches: [CommitPatch] = []
            var parser = GitLogParser { patches.append($0) }
            var start = 0
            while start < output.count {
                let end = min(start + chunkSize, output.count)
                try output[start..<end].withUnsafeBytes { try parser.consume($0) }
                start = end
            }
            try parser.finish()
            try #require(patches.count == 1)
            #expect(patches[0].commit.sha == "abc")
            #expect(patches[0].files.map(\.path) == ["x", "t\tabé"])
            #expect(patches[0].files.last?.addedLines == [AddedLine(number: 7, text: "x")])
        }
    }
}
