import VegaModel

public struct AddedLine: Sendable, Hashable {
    /// 1-based line number in the file as of the commit.
    public var number: Int
    public var text: String

    public init(number: Int, text: String) {
        self.number = number
        self.text = text
    }
}

public struct PatchFile: Sendable {
    /// Relative to the directory given to `forEachCommit`, '/'-separated.
    public var path: String
    public var addedLines: [AddedLine]

    public init(path: String, addedLines: [AddedLine]) {
        self.path = path
        self.addedLines = addedLines
    }
}

public struct CommitPatch: Sendable {
    public var commit: CommitInfo
    /// Files with at least one added line, in git's order.
    public var files: [PatchFile]

    public init(commit: CommitInfo, files: [PatchFile]) {
        self.commit = commit
        self.files = files
    }
}

public enum GitHistory {
    /// Calls `body` once per commit reachable from any ref, newest first, with the lines
    /// each commit added (binary files and deletions contribute none). Output is parsed
    /// as git writes it, so memory stays flat however long the history. If `body`
    /// throws, git is stopped and the error rethrown.
    ///
    /// Merge commits are diffed with `--cc`, and only lines that match none of the
    /// parents are reported: that is what the merge itself introduced (a conflict
    /// resolution or an "evil merge"). Lines brought in from a branch were already
    /// reported with the commit that added them there; plain `-p` (as gitleaks runs it)
    /// would miss the merge's own lines entirely.
    public static func forEachCommit(repo: String, _ body: (CommitPatch) throws -> Void) throws {
        let arguments = [
            "git", "-C", repo, "-c", "core.quotePath=false",
            "log", "--all", "--full-history", "--root", "-p", "--cc", "-U0",
            // When `repo` is a subdirectory of the work tree: only changes under it, with
            // paths relative to it, as the walker reports them.
            "--relative",
            "--no-color", "--no-ext-diff", "--no-textconv", "--no-show-signature",
            // Fixed prefixes whatever diff.noprefix / diff.mnemonicPrefix say.
            "--src-prefix=a/", "--dst-prefix=b/",
            "--format=\(GitLogParser.headerFormat)",
        ]
        let process = try Subprocess(arguments, environment: ["GIT_TERMINAL_PROMPT": "0"])
        try withoutActuallyEscaping(body) { body in
            var parser = GitLogParser(emit: body)
            let completion = try process.communicate { chunk in try parser.consume(chunk) }
            guard completion.outcome == .exited(0) else {
                throw WorkspaceError("git log failed in \(repo) (\(completion.outcome))"
                    + (completion.stderr.isEmpty ? "" : ": " + completion.stderr))
            }
            try parser.finish()
        }
    }
}
