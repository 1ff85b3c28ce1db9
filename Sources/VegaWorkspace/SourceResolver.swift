import Foundation
import Glibc

/// A directory ready to scan.
public struct ResolvedSource: Sendable {
    /// Absolute, symlinks resolved.
    public let root: String
    /// What to show the user: the path as given, or the URL without credentials.
    public let display: String
    /// True for a clone or an extracted archive this process made; `cleanup()` removes it.
    public let isTemporary: Bool
    /// The commit a clone checked out (40 hex digits); nil for a directory the user named.
    public let commit: String?

    /// Removes a temporary clone or extraction; does nothing for a directory the user named.
    public func cleanup() {
        if isTemporary { try? FileManager.default.removeItem(atPath: root) }
    }
}

/// What can be checked out of a repository: a branch or tag name, or a full commit id.
public enum GitRef {
    /// `ref` if git would accept it as a ref name (the rules of `git check-ref-format`) or
    /// it is a full commit id; a leading '-', which git would read as an option, is refused
    /// too. A leading `refs/heads/` or `refs/tags/` is dropped and a commit id lowercased,
    /// since findings are tracked per ref as written.
    public static func validate(_ ref: String) throws -> String {
        func refuse(_ reason: String) -> WorkspaceError { WorkspaceError("invalid ref: \(reason)") }
        if isCommit(ref) { return ref.lowercased() }
        guard !ref.isEmpty else { throw refuse("it is empty") }
        guard ref.utf8.count <= 255 else { throw refuse("it is longer than 255 bytes") }
        guard !ref.hasPrefix("-") else { throw refuse("it begins with '-'") }
        // The ref is not echoed: control characters would garble a log line or a terminal.
        let forbidden = "~^:?*[\\".unicodeScalars
        guard !ref.unicodeScalars.contains(where: {
            $0.properties.generalCategory == .control || $0.properties.isWhitespace || forbidden.contains($0)
        }) else {
            throw refuse("it contains a space, a control character or one of ~ ^ : ? * [ \\")
        }
        guard !ref.contains(".."), !ref.contains("@{"), ref != "@" else { throw refuse("it contains '..' or '@{', or is '@'") }
        guard !ref.hasPrefix("/"), !ref.hasSuffix("/"), !ref.contains("//"), !ref.hasSuffix(".") else {
            throw refuse("it begins or ends with '/', ends with '.', or has an empty part")
        }
        guard !ref.split(separator: "/").contains(where: { $0.hasPrefix(".") || $0.hasSuffix(".lock") }) else {
            throw refuse("a part of it begins with '.' or ends with '.lock'")
        }
        for prefix in ["refs/heads/", "refs/tags/"] where ref.hasPrefix(prefix) {
            return String(ref.dropFirst(prefix.count))
        }
        return ref
    }

    /// A full SHA-1 commit id; an abbreviated one is read as a name (and not found).
    public static func isCommit(_ ref: String) -> Bool {
        ref.unicodeScalars.count == 40 && ref.unicodeScalars.allSatisfy { $0.isASCII && $0.properties.isASCIIHexDigit }
    }
}

public enum SourceResolver {
    /// Turns a command-line source into a directory: an existing local directory, a tar,
    /// tar.gz or zip file (told by its content) extracted safely into a fresh temporary
    /// directory (see `ArchiveExtractor`), or a
    /// git URL (`https://`, `ssh://`, `git@host:owner/repo`, `file://`) shallow-cloned into
    /// a fresh temporary directory. Anything that could make git run commands or read
    /// options is refused. `fullHistory` clones every commit (for history scans) instead
    /// of the latest one. `ref` (a branch, tag or full commit id; only for a URL) is
    /// checked out instead of the remote's default branch.
    public static func resolve(
        _ argument: String, cloneTimeout: Duration = .seconds(300), fullHistory: Bool = false, ref: String? = nil
    ) async throws -> ResolvedSource {
        try await resolve(argument, cloneTimeout: cloneTimeout, fullHistory: fullHistory, ref: ref, temporaryParent: defaultTemporaryParent)
    }

    /// As `resolve(_:cloneTimeout:fullHistory:ref:)`, cloning or extracting under
    /// `temporaryParent`, with `gitEnvironment` added to git's environment (tests use it to
    /// speak an old protocol) and `archiveLimits` for archives.
    public static func resolve(
        _ argument: String, cloneTimeout: Duration, fullHistory: Bool = false, ref: String? = nil, temporaryParent: String,
        gitEnvironment: [String: String] = [:], archiveLimits: ArchiveLimits = ArchiveLimits()
    ) async throws -> ResolvedSource {
        guard !argument.isEmpty else { throw WorkspaceError("no source given") }
        if argument.hasPrefix("-") {
            throw WorkspaceError("refusing '\(argument)': it begins with '-' and git would read it as an option; for a directory, write ./\(argument)")
        }
        let ref = try ref.map(GitRef.validate)
        if let url = try GitURL.parse(argument) {
            let clone = Clone(url: url, ref: ref, fullHistory: fullHistory, timeout: cloneTimeout, environment: gitEnvironment)
            return try await clone.run(under: temporaryParent)
        }
        if ref != nil { throw WorkspaceError("a ref can only be checked out of a git URL; \(argument) is a local path") }
        if FileManager.default.fileExists(atPath: argument), try ArchiveFormat.detect(path: argument) != nil {
            if fullHistory { throw WorkspaceError("\(argument) is an archive, which has no git history to scan") }
            return try await extract(argument, under: temporaryParent, limits: archiveLimits)
        }
        return try local(argument)
    }

    /// Extracts an archive into a fresh temporary directory, removed again on refusal or cancellation.
    private static func extract(_ archive: String, under parent: String, limits: ArchiveLimits) async throws -> ResolvedSource {
        let directory = try temporaryDirectory(under: parent, prefix: "vega-archive-")
        do {
            _ = try await BlockingWork.cancellable { flag in
                try ArchiveExtractor(limits: limits).extract(archive, into: directory, cancellation: flag)
            }
            return ResolvedSource(root: directory, display: archive, isTemporary: true, commit: nil)
        } catch let error as ArchiveError {
            try? FileManager.default.removeItem(atPath: directory)
            throw WorkspaceError("\(archive): \(error)")
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// A new directory of this process's own (mode 0700) under `parent`, its path resolved.
    static func temporaryDirectory(under parent: String, prefix: String) throws -> String {
        var template = Array((parent.hasSuffix("/") ? parent : parent + "/").utf8CString.dropLast()) + Array("\(prefix)XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw WorkspaceError("cannot create a temporary directory in \(parent): \(Posix.errorMessage())")
        }
        return Posix.realPath(String(cString: made)) ?? String(cString: made)
    }

    private static func local(_ path: String) throws -> ResolvedSource {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw WorkspaceError(errno == ENOENT ? "no such directory: \(path)" : "cannot read \(path): \(Posix.errorMessage())")
        }
        if Posix.isRegular(info) { throw WorkspaceError("\(path) is a file; pass a directory") }
        guard Posix.isDirectory(info) else { throw WorkspaceError("\(path) is not a directory") }
        guard let real = Posix.realPath(path) else {
            throw WorkspaceError("cannot read \(path): \(Posix.errorMessage())")
        }
        return ResolvedSource(root: real, display: path, isTemporary: false, commit: nil)
    }

    private static var defaultTemporaryParent: String {
        let parent = ProcessInfo.processInfo.environment["TMPDIR"] ?? ""
        return parent.isEmpty ? "/tmp" : parent
    }

    /// A timeout as messages state it: "300s", "1.5s".
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return "\(seconds)s" }
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return String(format: "%.1fs", value)
    }
}

/// One clone of a URL into a fresh temporary directory, as shallow as the ref allows:
/// a branch or tag is cloned alone at depth 1; a commit is fetched alone at depth 1, or,
/// when the server refuses to hand out an unadvertised commit, found in a full clone.
private struct Clone {
    let url: GitURL
    let ref: String?
    let fullHistory: Bool
    let timeout: Duration
    let environment: [String: String]

    func run(under parent: String) async throws -> ResolvedSource {
        let directory = try SourceResolver.temporaryDirectory(under: parent, prefix: "vega-clone-")
        let deadline = ContinuousClock.now + timeout
        do {
            try await checkOut(into: directory, deadline: deadline)
            let head = try await git(["-C", directory, "rev-parse", "--verify", "HEAD"], deadline: deadline)
            guard head.status == .exited(0) else { throw failure(head) }
            return ResolvedSource(
                root: directory, display: url.display, isTemporary: true,
                commit: head.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            )
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    private func checkOut(into directory: String, deadline: ContinuousClock.Instant) async throws {
        let depth = fullHistory ? [] : ["--depth", "1"]
        guard let ref else {
            try await clone(depth + (fullHistory ? [] : ["--single-branch"]), into: directory, deadline: deadline)
            return
        }
        guard GitRef.isCommit(ref) else {
            // --single-branch also for full history: with --no-tags, a tag is fetched only so.
            try await clone(depth + ["--single-branch", "--branch=\(ref)"], into: directory, deadline: deadline)
            return
        }
        if !fullHistory {
            try await git(["init", "--quiet", directory], deadline: deadline).check(self)
            let fetched = try await git(["-C", directory, "fetch", "--no-tags", "--quiet", "--depth", "1", "--", url.url, ref], deadline: deadline)
            if fetched.status == .exited(0) {
                try await git(["-C", directory, "checkout", "--quiet", "--detach", ref], deadline: deadline).check(self)
                return
            }
            if fetched.status == .timedOut { throw failure(fetched) }
            // Servers speaking git's first protocol refuse commits no branch or tag names;
            // a full clone has them all.
            try FileManager.default.removeItem(atPath: directory + "/.git")
        }
        try await clone(["--no-checkout"], into: directory, deadline: deadline)
        let checkedOut = try await git(["-C", directory, "checkout", "--quiet", "--detach", ref], deadline: deadline)
        guard checkedOut.status == .exited(0) else {
            throw checkedOut.stderr.contains("reference is not a tree") || checkedOut.stderr.contains("did not match")
                ? notFound : failure(checkedOut)
        }
    }

    private func clone(_ options: [String], into directory: String, deadline: ContinuousClock.Instant) async throws {
        let cloned = try await git(["clone", "--no-tags", "--quiet"] + options + ["--", url.url, directory], deadline: deadline)
        guard cloned.status == .exited(0) else {
            throw cloned.stderr.contains("not found in upstream") ? notFound : failure(cloned)
        }
    }

    private var notFound: WorkspaceError { WorkspaceError("ref \(ref ?? "HEAD") not found in the repository") }

    fileprivate func failure(_ run: GitRun) -> WorkspaceError {
        if run.status == .timedOut { return WorkspaceError("cloning \(url.display) timed out after \(SourceResolver.format(timeout))") }
        let detail = run.stderr.isEmpty ? "" : ": " + url.redacting(run.stderr)
        return WorkspaceError("cloning \(url.display) failed (git \(run.status))\(detail)")
    }

    /// Runs git with the same hygiene for every step, and its standard output.
    private func git(_ arguments: [String], deadline: ContinuousClock.Instant) async throws -> GitRun {
        let arguments = [
            "git",
            // Only the transport this URL names may be used, so nothing in the remote
            // can redirect git to another; ext:: (runs commands) is never allowed.
            "-c", "protocol.allow=never", "-c", "protocol.ext.allow=never", "-c", "protocol.\(url.transport).allow=always",
            "-c", "advice.detachedHead=false",
        ] + arguments
        let variables = [
            "GIT_TERMINAL_PROMPT": "0",
            // LFS objects are large binaries the scanner would skip; fetching them only costs time.
            "GIT_LFS_SKIP_SMUDGE": "1",
        ].merging(environment) { _, new in new }
        let process = try Subprocess(arguments, environment: variables)
        let run = try await withTaskCancellationHandler {
            try await BlockingWork.run {
                var output = Data()
                let completion = try process.communicate(deadline: deadline) { output.append(contentsOf: $0) }
                return GitRun(status: completion.outcome, stdout: String(decoding: output, as: UTF8.self), stderr: completion.stderr)
            }
        } onCancel: {
            process.terminate()
        }
        try Task.checkCancellation()
        return run
    }
}

private struct GitRun: Sendable {
    var status: Subprocess.Outcome
    var stdout: String
    var stderr: String

    func check(_ clone: Clone) throws {
        guard status == .exited(0) else { throw clone.failure(self) }
    }
}
