import Foundation
import Glibc

/// A directory ready to scan.
public struct ResolvedSource: Sendable {
    /// Absolute, symlinks resolved.
    public let root: String
    /// What to show the user: the path as given, or the URL without credentials.
    public let display: String
    /// True for a clone this process made; `cleanup()` removes it.
    public let isTemporary: Bool

    /// Removes a temporary clone; does nothing for a directory the user named.
    public func cleanup() {
        if isTemporary { try? FileManager.default.removeItem(atPath: root) }
    }
}

public enum SourceResolver {
    /// Turns a command-line source into a directory: an existing local directory, or a
    /// git URL (`https://`, `ssh://`, `git@host:owner/repo`, `file://`) shallow-cloned into
    /// a fresh temporary directory. Anything that could make git run commands or read
    /// options is refused. `fullHistory` clones every commit (for history scans) instead
    /// of the latest one.
    public static func resolve(
        _ argument: String, cloneTimeout: Duration = .seconds(300), fullHistory: Bool = false
    ) async throws -> ResolvedSource {
        try await resolve(argument, cloneTimeout: cloneTimeout, fullHistory: fullHistory, temporaryParent: defaultTemporaryParent)
    }

    /// As `resolve(_:cloneTimeout:fullHistory:)`, cloning under `temporaryParent`.
    static func resolve(
        _ argument: String, cloneTimeout: Duration, fullHistory: Bool = false, temporaryParent: String
    ) async throws -> ResolvedSource {
        guard !argument.isEmpty else { throw WorkspaceError("no source given") }
        if argument.hasPrefix("-") {
            throw WorkspaceError("refusing '\(argument)': it begins with '-' and git would read it as an option; for a directory, write ./\(argument)")
        }
        if let url = try GitURL.parse(argument) {
            return try await clone(url, timeout: cloneTimeout, fullHistory: fullHistory, under: temporaryParent)
        }
        return try local(argument)
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
        return ResolvedSource(root: real, display: path, isTemporary: false)
    }

    private static var defaultTemporaryParent: String {
        let parent = ProcessInfo.processInfo.environment["TMPDIR"] ?? ""
        return parent.isEmpty ? "/tmp" : parent
    }

    private static func clone(_ url: GitURL, timeout: Duration, fullHistory: Bool, under parent: String) async throws -> ResolvedSource {
        var template = Array((parent.hasSuffix("/") ? parent : parent + "/").utf8CString.dropLast()) + Array("vega-clone-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw WorkspaceError("cannot create a temporary directory in \(parent): \(Posix.errorMessage())")
        }
        let directory = Posix.realPath(String(cString: made)) ?? String(cString: made)
        let source = ResolvedSource(root: directory, display: url.display, isTemporary: true)
        do {
            try await runClone(url, into: directory, timeout: timeout, fullHistory: fullHistory)
            return source
        } catch {
            source.cleanup()
            throw error
        }
    }

    private static func runClone(_ url: GitURL, into directory: String, timeout: Duration, fullHistory: Bool) async throws {
        let arguments = [
            "git",
            // Only the transport this URL names may be used, so nothing in the remote
            // can redirect git to another; ext:: (runs commands) is never allowed.
            "-c", "protocol.allow=never", "-c", "protocol.ext.allow=never", "-c", "protocol.\(url.transport).allow=always",
            "clone", "--no-tags", "--quiet",
        ] + (fullHistory ? [] : ["--depth", "1", "--single-branch"]) + [
            "--", url.url, directory,
        ]
        let environment = [
            "GIT_TERMINAL_PROMPT": "0",
            // LFS objects are large binaries the scanner would skip; fetching them only costs time.
            "GIT_LFS_SKIP_SMUDGE": "1",
        ]
        let process = try Subprocess(arguments, environment: environment)
        let deadline = ContinuousClock.now + timeout
        let completion = try await withTaskCancellationHandler {
            try await BlockingWork.run { try process.communicate(deadline: deadline) }
        } onCancel: {
            process.terminate()
        }
        try Task.checkCancellation()
        switch completion.outcome {
        case .exited(0):
            return
        case .timedOut:
            throw WorkspaceError("cloning \(url.display) timed out after \(format(timeout))")
        default:
            let detail = completion.stderr.isEmpty ? "" : ": " + url.redacting(completion.stderr)
            throw WorkspaceError("cloning \(url.display) failed (git \(completion.outcome))\(detail)")
        }
    }

    /// Runs blocking work on a thread of its own rather than tie up one of the few
    /// threads Swift concurrency shares.
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return "\(seconds)s" }
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return String(format: "%.1fs", value)
    }
}
