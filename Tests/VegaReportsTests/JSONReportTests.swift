import Foundation
import Testing
import VegaModel
import VegaReports

@Suite struct JSONReportTests {
    static let schema = "docs/schemas/vega-report-v1.schema.json"

    @Test(arguments: [Fixture.report(), Fixture.withDependency, Fixture.empty])
    func validatesAgainstPublishedSchema(report: ScanReport) throws {
        let result = try validate(try JSONReport.encode(report), against: Self.schema)
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func validatorRejectsADocumentThatBreaksTheSchema() throws {
        var object = try jsonObject(try JSONReport.encode(Fixture.report()))
        object["unexpected"] = true
        object["schema_version"] = 1
        let result = try validate(try JSONSerialization.data(withJSONObject: object), against: Self.schema)
        #expect(result.status == 1)
        #expect(result.output.contains("$.schema_version"))
        #expect(result.output.contains("unexpected"))
    }

    @Test func documentedExampleIsValid() throws {
        let page = try String(contentsOf: repoRoot.appendingPathComponent("docs/json-report.md"), encoding: .utf8)
        let example = try #require(page.components(separatedBy: "## Example\n\n```json\n").dropFirst().first?
            .components(separatedBy: "```").first)
        let result = try validate(Data(example.utf8), against: Self.schema)
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func schemaIdMatchesTheEncoder() throws {
        let schema = try jsonObject(try Data(contentsOf: repoRoot.appendingPathComponent(Self.schema)))
        #expect(schema["$id"] as? String == JSONReport.schemaURI)
        #expect(JSONReport.schemaVersion == "1")
    }

    @Test func writesEveryField() throws {
        let report = Fixture.report()
        let object = try jsonObject(try JSONReport.encode(report))
        #expect(object["$schema"] as? String == JSONReport.schemaURI)
        #expect(object["schema_version"] as? String == "1")
        #expect(object["tool"] as? [String: String] == ["name": "vega", "version": "0.1.0"])

        let scan = try #require(object["scan"] as? [String: Any])
        #expect(scan["source"] as? String == report.source)
        #expect(scan["started_at"] as? String == report.startedAt)
        #expect(scan["duration_seconds"] as? Double == 1.25)
        #expect(scan["suppressed_by_baseline"] as? Int == 2)
        let engine = try #require((scan["engines"] as? [[String: Any]])?.first)
        #expect(engine["engine"] as? String == "secrets")
        let coverage = try #require(engine["coverage"] as? [String: Any])
        #expect(coverage["files_scanned"] as? Int == 120)
        #expect(coverage["commits_scanned"] as? Int == 15)
        #expect((coverage["skipped"] as? [[String: String]])?.first == ["path": "bin/tool", "reason": "binary"])

        let summary = try #require(object["summary"] as? [String: Any])
        #expect(summary["total"] as? Int == 5)
        #expect(summary["by_severity"] as? [String: Int] == ["critical": 2, "high": 1, "medium": 1, "low": 0, "info": 1])

        let findings = try #require(object["findings"] as? [[String: Any]])
        #expect(findings.map { $0["fingerprint"] as? String } == report.findings.map(\.fingerprint))
        let history = try #require(findings.first { $0["commit"] != nil })
        #expect(history["commit"] as? [String: String] == [
            "sha": Fixture.commit.sha, "author": Fixture.commit.author, "email": Fixture.commit.email, "date": Fixture.commit.date,
        ])
        let location = try #require(history["location"] as? [String: Any])
        #expect(Set(location.keys) == ["path", "start_line", "start_column", "end_line", "end_column"])
        #expect(location["path"] as? String == "docs/日本語 ファイル.md")
        #expect(location["start_line"] as? Int == 7 && location["end_line"] as? Int == 7)
        #expect(location["start_column"] as? Int == 5 && location["end_column"] as? Int == 24)
        #expect(findings.filter { $0["commit"] != nil }.count == 1)
        // cwe is always present, null when the rule has none.
        let pem = try #require(findings.first { $0["rule_id"] as? String == "private-key.pem" })
        #expect(pem["cwe"] is NSNull)

        let rules = try #require(object["rules"] as? [[String: Any]])
        #expect(rules.map { $0["id"] as? String } == report.rules.map(\.id))
        #expect(rules.first { $0["id"] as? String == "todo_marker" }?["cwe"] is NSNull)
    }

    @Test func outputIsDeterministicAndSnakeCase() throws {
        let first = try JSONReport.encode(Fixture.report())
        #expect(first == (try JSONReport.encode(Fixture.report())))
        let text = String(decoding: first, as: UTF8.self)
        #expect(text.hasPrefix("{\n  \"$schema\""))
        #expect(text.hasSuffix("}\n"))
        #expect(!text.contains("ruleId") && !text.contains("startLine"))
    }
}

@Suite struct DependencyFindingReportTests {
    @Test func jsonAndSARIFCarryThePackageAndItsFix() throws {
        let report = Fixture.withDependency
        let json = try #require(try JSONSerialization.jsonObject(with: JSONReport.encode(report)) as? [String: Any])
        let findings = try #require(json["findings"] as? [[String: Any]])
        let dependency = try #require(findings.first { $0["engine"] as? String == "deps" })
        let vulnerability = try #require(dependency["vulnerability"] as? [String: Any])
        #expect(vulnerability["package"] as? String == "smallvec")
        #expect(vulnerability["installed_version"] as? String == "1.6.0")
        #expect(vulnerability["fixed_version"] as? String == "1.6.1")
        #expect(vulnerability["ids"] as? [String] == ["CVE-2021-25900", "GHSA-43w2-9j62-hq99", "RUSTSEC-2021-0003"])
        #expect(findings.filter { $0["vulnerability"] != nil }.count == 1, "only dependency findings carry one")

        let sarif = try #require(try JSONSerialization.jsonObject(with: SARIFReport.encode(report)) as? [String: Any])
        let results = try #require(((sarif["runs"] as? [[String: Any]])?.first?["results"]) as? [[String: Any]])
        let result = try #require(results.first { $0["ruleId"] as? String == "CVE-2021-25900" })
        let properties = try #require(result["properties"] as? [String: Any])
        #expect((properties["vulnerability"] as? [String: Any])?["purl"] as? String == "pkg:cargo/smallvec@1.6.0")
    }
}
