import Foundation
import Testing
import VegaTestSupport

/// Runs `vega` as a user would.
func vega(_ arguments: String..., environment: [String: String] = [:]) throws -> Run.Result {
    try Run.command(try vegaPath(), arguments, environment: environment)
}

@Suite struct CLITests {
    @Test func exitCodesFollowThePolicy() throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try PlantedSecrets.plant(in: repo)
        #expect(try vega("scan", repo.path).status == 1, "default policy is high; planted secrets are high or critical")
        #expect(try vega("scan", repo.path, "--fail-on", "none").status == 0)
        let clean = try TestRepo(git: false)
        defer { clean.remove() }
        try clean.write("main.py", "print('hello')\n")
        #expect(try vega("scan", clean.path, "--fail-on", "low").status == 0)
    }

    @Test func usageAndRuntimeErrorsExitTwo() throws {
        let bad = try vega("scan", "--format", "xml", ".")
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("xml"))
        let missing = try vega("scan", "/no/such/dir/vega")
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/no/such/dir/vega"))
        let injected = try vega("scan", "--", "--upload-pack=touch /tmp/pwned")
        #expect(injected.status == 2)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/pwned"))
        #expect(try vega("scan", "ext::sh -c touch% /tmp/pwned").status == 2)
        #expect(try vega("scan", ".", "--max-file-size", "huge").status == 2)
        #expect(try vega("scan", ".", "--engines", "nope").status == 2)
    }

    @Test func formatsAndOutputFile() throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try PlantedSecrets.plant(in: repo)
        let json = try vega("scan", repo.path, "--fail-on", "none")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["schema_version"] as? String == "1")
        #expect((object["findings"] as? [Any])?.count == 4)

        let out = repo.root.appendingPathComponent("report.sarif").path
        let sarif = try vega("scan", repo.path, "--output", out, "--fail-on", "none")
        #expect(sarif.status == 0 && sarif.stdout.isEmpty)
        let log = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        #expect(log["version"] as? String == "2.1.0")

        let table = try vega("scan", repo.path, "--format", "table", "--fail-on", "none")
        #expect(table.stdout.contains("config/settings.py"))
        #expect(!table.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
        for result in [json, table] {
            for secret in PlantedSecrets.all { #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret)) }
        }
        #expect(json.stderr.isEmpty, "no progress when stderr is not a terminal")
    }

    @Test func rulesList() throws {
        let result = try vega("rules", "list")
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("aws-access-token ") && $0.contains("critical") })
        #expect(lines.count > 150)
    }

    @Test func benchPrintsThroughputAndMemory() throws {
        let repo = try TestRepo(git: false)
        defer { repo.remove() }
        try PlantedSecrets.plant(in: repo)
        let result = try vega("bench", "scan", repo.path, "--runs", "1", "--json")
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["files"] as? Int == 5)
        #expect((object["peak_rss_mb"] as? Double ?? 0) > 0)
        #expect(object["findings"] as? Int == 4)
    }
}

@Suite struct OutputTargetTests {
    /// Writing a report to a device must not replace the device with a file.
    @Test func outputToDevNullKeepsTheDevice() throws {
        let repo = try TestRepo(git: false)
        defer { repo.remove() }
        try repo.write("a.txt", "hello\n")
        let result = try vega("scan", repo.path, "--output", "/dev/null", "--fail-on", "none")
        #expect(result.status == 0)
        var info = stat()
        #expect(stat("/dev/null", &info) == 0)
        #expect((info.st_mode & S_IFMT) == S_IFCHR)
    }
}

/// On a terminal (a pseudo-terminal from util-linux `script`) the table is coloured and
/// progress is drawn on stderr; NO_COLOR turns colour off.
@Suite struct TerminalTests {
    private func onTerminal(_ command: String, environment: [String: String] = [:]) throws -> String {
        try Run.command("/usr/bin/script", ["-qec", command, "/dev/null"], environment: environment).stdout
    }

    @Test func colourAndProgressOnATerminalOnly() throws {
        let repo = try TestRepo(git: false)
        defer { repo.remove() }
        try PlantedSecrets.plant(in: repo)
        let binary = try vegaPath()
        // The test runner may itself run with NO_COLOR set.
        let coloured = try onTerminal("env -u NO_COLOR \(binary) scan \(repo.path) --fail-on none")
        #expect(coloured.contains("\u{1B}[1;31mcritical"))
        #expect(coloured.contains("scanning: "))
        let plain = try onTerminal("\(binary) scan \(repo.path) --fail-on none", environment: ["NO_COLOR": "1"])
        #expect(plain.contains("critical"))
        #expect(!plain.contains("\u{1B}[1;31m"))
        let quiet = try onTerminal("\(binary) scan \(repo.path) --fail-on none --no-progress")
        #expect(!quiet.contains("scanning: "))
    }
}
