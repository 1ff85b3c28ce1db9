import Foundation
import Glibc

/// A temporary directory that tests fill with files and, when asked, turn into a real git
/// repository. Removed by `remove()`.
public final class TestRepo: @unchecked Sendable {
    public let root: URL
    public var path: String { root.path }

    public init(git: Bool = true) throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("vega-test-\(UUID().uuidString)")
            .resolvingSymlinksInPath()
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        if git {
            try self.git("init", "-q", "-b", "main")
            try self.git("config", "user.email", "dev@example.test")
            try self.git("config", "user.name", "Test Dev")
            try self.git("config", "commit.gpgsign", "false")
        }
    }

    public func remove() { try? FileManager.default.removeItem(at: root) }

    public func write(_ relativePath: String, _ contents: String) throws {
        let url = root.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
    }

    public func delete(_ relativePath: String) throws {
        try FileManager.default.removeItem(at: root.appendingPathComponent(relativePath))
    }

    public func commitAll(_ message: String) throws {
        try git("add", "-A")
        try git("commit", "-q", "-m", message)
    }

    @discardableResult
    public func git(_ arguments: String...) throws -> String {
        let result = try Run.command("/usr/bin/env", ["git", "-C", path] + arguments)
        guard result.status == 0 else {
            throw RunError(description: "git \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result.stdout
    }
}

public struct RunError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Runs a program to completion, capturing its output.
public enum Run {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    public static func command(
        _ executable: String, _ arguments: [String], in directory: String? = nil, environment: [String: String]? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self)
        )
    }
}

/// Credentials in real formats, made up for tests (not valid anywhere), so tests state
/// exactly which values must never appear in output.
public enum PlantedSecrets {
    public static let awsKeyID = "AKIAZ7QW3RT5YU2IO4PL"
    public static let githubToken = "ghp_" + "Zq8Xr2Lm5Nv7Bc1Df4Gh6Jk9Pw3Ty0Ua2Se5"
    public static let stripeKey = "sk_live_" + "51HqX9bK2mN7pQ4rT6vW8yZ0aC3eG5iL"
    public static let slackToken = "xoxb-" + "2837461920-4958271036482-Qk7Rm2Xp9Lw4Nz6Vb8Tc1Hd"

    public static var all: [String] { [awsKeyID, githubToken, stripeKey, slackToken] }

    /// A small app with four secrets in four files.
    public static func plant(in repo: TestRepo) throws {
        try repo.write("config/settings.py", """
        import os

        DEBUG = False
        AWS_ACCESS_KEY_ID = "\(awsKeyID)"
        DATABASE_URL = os.environ["DATABASE_URL"]
        """)
        try repo.write("deploy/ci.sh", """
        #!/bin/sh
        export GITHUB_TOKEN=\(githubToken)
        ./deploy.sh
        """)
        try repo.write("src/billing.js", """
        const stripe = require('stripe')('\(stripeKey)');
        module.exports = stripe;
        """)
        try repo.write("src/notify.go", """
        package notify

        const slackToken = "\(slackToken)"
        """)
        try repo.write("README.md", "# demo\nNothing secret here: set API_KEY=${API_KEY} in your environment.\n")
    }
}

/// The real `vega` executable, built beside the test bundle.
public func vegaPath() throws -> String {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    // The test binary may sit inside a bundle directory; walk up to the build folder.
    while !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("vega").path), dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    let path = dir.appendingPathComponent("vega").path
    guard FileManager.default.isExecutableFile(atPath: path) else { throw RunError(description: "vega is not built") }
    return path
}

/// Whether `pid` is alive and not a zombie (an orphan's zombie may wait for a reaper that
/// never comes in a container).
public func isProcessRunning(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    return stat.split(separator: ")").last?.split(separator: " ").first != "Z"
}
