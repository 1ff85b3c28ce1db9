import Foundation
import Testing
import VegaModel
import VegaReports

@Suite struct SARIFReportTests {
    /// The official OASIS schema, kept outside the repository next to it.
    static let schema = "../shared/formats/sarif-schema-2.1.0.json"

    @Test(arguments: [Fixture.report(), Fixture.withDependency, Fixture.empty])
    func validatesAgainstOfficialSchema(report: ScanReport) throws {
        let result = try validate(try SARIFReport.encode(report), against: Self.schema)
        #expect(result.status == 0, "\(result.output)")
    }

    private func run(_ report: ScanReport = Fixture.report()) throws -> [String: Any] {
        let log = try jsonObject(try SARIFReport.encode(report))
        #expect(log["version"] as? String == "2.1.0")
        #expect(log["$schema"] as? String == SARIFReport.schemaURI)
        let runs = try #require(log["runs"] as? [[String: Any]])
        #expect(runs.count == 1)
        return try #require(runs.first)
    }

    @Test func describesEveryRuleForGitHub() throws {
        let report = Fixture.report()
        let driver = try #require((try run()["tool"] as? [String: Any])?["driver"] as? [String: Any])
        #expect(driver["name"] as? String == "vega")
        #expect(driver["semanticVersion"] as? String == "0.1.0")
        #expect(driver["informationUri"] as? String == SARIFReport.informationURI)
        let rules = try #require(driver["rules"] as? [[String: Any]])
        #expect(rules.map { $0["id"] as? String } == report.rules.map(\.id))

        for (rule, descriptor) in zip(rules, report.rules) {
            #expect((rule["shortDescription"] as? [String: String])?["text"] == descriptor.title)
            let help = try #require(rule["help"] as? [String: String])
            #expect(help["text"]?.isEmpty == false && help["markdown"]?.isEmpty == false)
            let properties = try #require(rule["properties"] as? [String: Any])
            let score = try #require(properties["security-severity"] as? String)
            #expect(Double(score) == descriptor.severity.securityScore)
            #expect(score.contains("."))
            let tags = try #require(properties["tags"] as? [String])
            #expect(tags.first == "security")
            #expect(properties["precision"] as? String == "high")
            if descriptor.cwe != nil { #expect(tags.contains("external/cwe/cwe-798")) }
        }
        let aws = try #require(rules.first { $0["id"] as? String == "aws-access-token" })
        #expect(aws["name"] as? String == "AwsAccessToken")
        #expect((aws["fullDescription"] as? [String: String])?["text"] == Fixture.secretRule.description)
        #expect((aws["help"] as? [String: String])?["markdown"] == Fixture.secretRule.help)
        #expect((aws["defaultConfiguration"] as? [String: String])?["level"] == "error")
        #expect(((aws["properties"] as? [String: Any])?["tags"] as? [String]) == ["security", "external/cwe/cwe-798", "secret", "aws"])
        #expect(((aws["properties"] as? [String: Any])?["security-severity"] as? String) == "9.5")
        let pem = try #require(rules.first { $0["id"] as? String == "private-key.pem" })
        #expect(pem["name"] as? String == "PrivateKeyPem")
        #expect((pem["defaultConfiguration"] as? [String: String])?["level"] == "warning")
        let todo = try #require(rules.first { $0["id"] as? String == "todo_marker" })
        #expect((todo["defaultConfiguration"] as? [String: String])?["level"] == "note")
        #expect(((todo["properties"] as? [String: Any])?["security-severity"] as? String) == "0.0")
    }

    @Test func resultsPointAtTheirRuleAndLocation() throws {
        let report = Fixture.report()
        let run = try run(report)
        let ruleIDs = try #require(((run["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]])
            .map { $0["id"] as? String }
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.count == report.findings.count)

        for (result, finding) in zip(results, report.findings) {
            let index = try #require(result["ruleIndex"] as? Int)
            #expect(ruleIDs[index] == finding.ruleId)
            #expect(result["ruleId"] as? String == finding.ruleId)
            #expect((result["message"] as? [String: String])?["text"] == finding.message)
            #expect((result["partialFingerprints"] as? [String: String]) == ["vegaFingerprint/v1": finding.fingerprint])
            let physical = try #require(((result["locations"] as? [[String: Any]])?.first)?["physicalLocation"] as? [String: Any])
            let artifact = try #require(physical["artifactLocation"] as? [String: String])
            #expect(artifact["uriBaseId"] == "%SRCROOT%")
            #expect(artifact["uri"]?.removingPercentEncoding == finding.location.path)
            let region = try #require(physical["region"] as? [String: Any])
            #expect(region["startLine"] as? Int == finding.location.startLine)
            #expect(region["startColumn"] as? Int == finding.location.startColumn)
            #expect(region["endColumn"] as? Int == finding.location.endColumn + 1)
            #expect((region["snippet"] as? [String: String])?["text"] == finding.snippet)
        }

        let uris = results.compactMap { ((($0["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])?["artifactLocation"] as? [String: String])?["uri"] }
        #expect(uris.contains("src/my%20config/%C3%BCber.env"))
        #expect(uris.contains("weird/100%25%231%20%5Bx%5D%3F.pem"))

        let levels = Dictionary(zip(results.compactMap { $0["ruleId"] as? String }, results.compactMap { $0["level"] as? String }), uniquingKeysWith: { a, _ in a })
        #expect(levels == ["aws-access-token": "error", "generic-api-key": "error", "private-key.pem": "warning", "todo_marker": "note"])

        let history = try #require(results.first { $0["properties"] != nil })
        #expect(((history["properties"] as? [String: Any])?["commit"] as? [String: String])?["sha"] == Fixture.commit.sha)
        #expect(results.filter { $0["properties"] != nil }.count == 1)
    }

    @Test func runCarriesAutomationDetailsAndSourceRoot() throws {
        let run = try run()
        #expect((run["automationDetails"] as? [String: String])?["id"] == "vega/secrets/2024-05-01T12:00:00Z")
        #expect((run["originalUriBaseIds"] as? [String: [String: String]]) == ["%SRCROOT%": ["uri": "file:///home/dev/my%20project/"]])
        #expect(run["versionControlProvenance"] == nil)
        let invocation = try #require((run["invocations"] as? [[String: Any]])?.first)
        #expect(invocation["executionSuccessful"] as? Bool == true)
        #expect(invocation["startTimeUtc"] as? String == "2024-05-01T12:00:00.000Z")
        #expect(invocation["endTimeUtc"] as? String == "2024-05-01T12:00:01.250Z")
    }

    @Test func remoteSourceGivesProvenanceNotAFileRoot() throws {
        let run = try run(Fixture.empty)
        #expect(run["originalUriBaseIds"] == nil)
        let provenance = try #require((run["versionControlProvenance"] as? [[String: Any]])?.first)
        #expect(provenance["repositoryUri"] as? String == "https://github.com/example/repo.git")
        #expect((run["results"] as? [Any])?.isEmpty == true)
    }

    @Test func relativeSourceGivesNoFileRoot() throws {
        #expect(try run(Fixture.report(source: "."))["originalUriBaseIds"] == nil)
    }

    @Test func findingOfAnUnlistedRuleHasNoRuleIndex() throws {
        let run = try run(Fixture.report(rules: [Fixture.genericRule]))
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.filter { $0["ruleIndex"] != nil }.map { $0["ruleId"] as? String } == ["generic-api-key"])
    }
}
