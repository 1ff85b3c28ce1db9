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
        // The background sleep keeps the pipes open: were only sh killed, the wait would
        // last until the 2 s grace period after the kill runs out.
        let process = try Subprocess(["sh", "-c", "sleep 30 & sleep 30"])
        let clock = ContinuousClock()
        let start = clock.now
        let completion = try process.communicate(deadline: start + .milliseconds(300))
        #expect(completion.outcome == .timedOut)
        #expect(clock.now - start < .milliseconds(2200))
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
