import Foundation
import Testing
@testable import VegaWorkspace

@Suite struct SubprocessTests {
    @Test func capturesOutputAndExitStatus() throws {
        let process = try Subprocess(["sh", "-c", "printf 'out'; printf ' err \\n' >&2; exit 3"])
        var output: [UInt8] = []
        let completion = try process.communicate { output += $0 }
        #expect(String(decoding: output, as: UTF8.self) == "out")
        #expect(completion.outcome == .exited(3))
        #expect(completion.stderr == "err")
    }

    @Test func timeoutKillsTheWholeProcessGroup() throws {
        // The background sleep keeps the pipes open: were only sh killed, it would live on
        // and the wait would last until the grace period after the kill runs out.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vega-subprocess-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pidFile = folder.appendingPathComponent("pid").path
        let process = try Subprocess(["sh", "-c", "sleep 30 & echo $! > '\(pidFile)'; sleep 30"])
        let clock = ContinuousClock()
        let start = clock.now
        let completion = try process.communicate(deadline: start + .milliseconds(300))
        #expect(completion.outcome == .timedOut)
        #expect(clock.now - start < .seconds(20), "far less than the children's 30 s")
        let pid = try #require(Int32(String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        // SIGKILL is delivered asynchronously: give the kernel a moment to finish it.
        let deadline = clock.now + .seconds(5)
        while Self.isAlive(pid), clock.now < deadline { usleep(10_000) }
        #expect(!Self.isAlive(pid), "the background child must be killed with its group")
    }

    /// Running or sleeping; a zombie waiting for a parent to reap it counts as gone.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first != "Z"
    }

    @Test func stdinIsEmpty() throws {
        let process = try Subprocess(["cat"])
        var output: [UInt8] = []
        let completion = try process.communicate(deadline: .now + .seconds(10)) { output += $0 }
        #expect(completion.outcome == .exited(0))
        #expect(output.isEmpty)
    }

    @Test func missingProgram() {
        #expect(throws: WorkspaceError.self) { try Subprocess(["vega-no-such-program"]) }
    }
}
