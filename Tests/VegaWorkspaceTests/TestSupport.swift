import Foundation
import Glibc
import Testing
import VegaTestSupport

/// A scratch directory, removed when the test is done with it.
final class TempDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/vega-ws-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        // Resolved, so it compares equal to what the walker reports.
        path = URL(fileURLWithPath: String(cString: made)).resolvingSymlinksInPath().path
    }

    deinit {
        // Restores permissions a test may have taken away, so removal cannot fail.
        _ = try? run("/bin/chmod", ["-R", "u+rwx", path])
        try? FileManager.default.removeItem(atPath: path)
    }

    func url(_ relative: String) -> String { path + "/" + relative }

    @discardableResult
    func write(_ relative: String, _ contents: String) throws -> String {
        try write(relative, bytes: Array(contents.utf8))
    }

    @discardableResult
    func write(_ relative: String, bytes: [UInt8]) throws -> String {
        let full = url(relative)
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        return full
    }

    func mkdir(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: url(relative), withIntermediateDirectories: true)
    }

    func symlink(_ relative: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: url(relative), withDestinationPath: target)
    }

    func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: url(relative))
    }

    func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program to completion; throws when it fails. Output is stdout then stderr.
@discardableResult
func run(_ executable: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]) throws -> String {
    let result = try Run.command(executable, arguments, in: directory, environment: environment)
    let text = result.stdout + result.stderr
    guard result.status == 0 else {
        throw TestFailure("\(executable) \(arguments.joined(separator: " ")) failed: \(text)")
    }
    return text
}

/// Runs git with the user's own configuration shut out, so tests behave the same anywhere.
@discardableResult
func git(_ arguments: [String], in directory: String, environment: [String: String] = [:]) throws -> String {
    let isolated = [
        // A path that cannot be created: git reads it as empty and can never write to it.
        "GIT_CONFIG_GLOBAL": "/nonexistent/vega-test/gitconfig", "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Committer", "GIT_COMMITTER_EMAIL": "committer@example.com",
    ]
    return try run("/usr/bin/env", ["git"] + arguments, in: directory, environment: isolated.merging(environment) { _, new in new })
}

/// A fresh repository with a `main` branch.
func makeRepository(_ directory: TempDirectory) throws {
    try git(["init", "-q", "-b", "main", "."], in: directory.path)
}
