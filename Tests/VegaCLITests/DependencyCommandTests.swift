import Foundation
import Testing
import VegaTestSupport

/// `vega db update|status`, and `vega scan` with the deps engine, as a user runs them.
@Suite struct DependencyCommandTests {
    static let advisories = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/sca/advisories").path

    @Test func updateIsIncrementalAndStatusSaysWhatItHolds() throws {
        let data = try TestRepo(git: false)
        defer { data.remove() }
        let env = ["VEGA_DATA_DIR": data.path]
        let rustsec = Self.advisories + "/rustsec.zip"

        let empty = try vega("db", "status", environment: env)
        #expect(empty.status == 0 && empty.stdout.contains("is empty"))

        let first = try vega("db", "update", "--from", rustsec, environment: env)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("1206 added, 0 updated, 0 unchanged"))
        let again = try vega("db", "update", "--from", rustsec, "--json", environment: env)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        let total = try #require(summary["total"] as? [String: Int])
        #expect(total["unchanged"] == 1206 && total["added"] == 0 && summary["files_written"] as? Int == 0)

        let status = try vega("db", "status", "--data-dir", data.path)
        #expect(status.stdout.contains("records: 1206 (13 withdrawn)"))
        #expect(status.stdout.contains("crates.io"))
        #expect(status.stdout.contains("last updated:"))

        let missing = try vega("db", "update", "--from", data.path + "/nope", environment: env)
        #expect(missing.status == 2 && missing.stderr.contains("no such file"))
    }

    @Test func scanFailsOnAVulnerableDependencyAndWritesValidSARIF() throws {
        let data = try TestRepo(git: false)
        defer { data.remove() }
        let env = ["VEGA_DATA_DIR": data.path]
        #expect(try vega("db", "update", "--from", Self.advisories + "/rustsec.zip", environment: env).status == 0)
        let repo = try TestRepo(git: false)
        defer { repo.remove() }
        try repo.write("Cargo.lock", """
            version = 3

            [[package]]
            name = "smallvec"
            version = "1.6.0"
            source = "registry+https://github.com/rust-lang/crates.io-index"
            """)
        let sarifPath = repo.root.appendingPathComponent("out.sarif").path
        let scan = try vega("scan", repo.path, "--format", "sarif", "--output", sarifPath, "--fail-on", "critical", environment: env)
        #expect(scan.status == 1, "CVE-2021-25900 is critical (CVSS 9.8): \(scan.stderr)")
        let sarif = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sarifPath))) as? [String: Any]
        let results = try #require((sarif?["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]])
        let result = try #require(results.first { $0["ruleId"] as? String == "CVE-2021-25900" })
        let vulnerability = (result["properties"] as? [String: Any])?["vulnerability"] as? [String: Any]
        #expect(vulnerability?["fixed_version"] as? String == "1.6.1")

        // With no database the scan still works, and says nothing was checked.
        let bare = try vega("scan", repo.path, "--format", "json", "--fail-on", "low", environment: ["VEGA_DATA_DIR": repo.path + "/none"])
        #expect(bare.status == 0)
        #expect(bare.stderr.contains("1 packages inventoried, none checked"))
    }

    @Test func benchDepsMeasuresEveryStep() throws {
        let fixtures = URL(fileURLWithPath: Self.advisories).deletingLastPathComponent().appendingPathComponent("fixtures").path
        let run = try vega("bench", "deps", "--fixtures", fixtures, "--advisories", Self.advisories + "/rustsec.zip",
                           "--packages", "300", "--runs", "1", "--json")
        #expect(run.status == 0, "\(run.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let parsed = try #require(result["fixtures"] as? [String: Any])
        #expect((parsed["files"] as? Int ?? 0) > 250, "every supported fixture is parsed")
        let generated = try #require(result["generated"] as? [[String: Any]])
        #expect(generated.map { $0["packages"] as? Int } == [300, 300, 301, 300], "go.mod adds the toolchain as stdlib")
        let match = try #require(result["match"] as? [String: Any])
        #expect(match["packages"] as? Int == 1201)
        #expect((match["vulnerable_packages"] as? Int ?? 0) > 0, "real crate names at old versions are affected")
        #expect((result["advisory_import"] as? [String: Any])?["records"] as? Int == 1206)
    }
}
