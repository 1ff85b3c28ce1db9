import Foundation
import Testing
import VegaModel
import VegaReports

@Suite struct BaselineTests {
    @Test func readsBackAJSONReport() throws {
        let report = Fixture.report()
        #expect(try Baseline.fingerprints(from: JSONReport.encode(report)) == Set(report.findings.map(\.fingerprint)))
        #expect(try Baseline.fingerprints(from: JSONReport.encode(Fixture.empty)).isEmpty)
    }

    @Test func readsBackASARIFLog() throws {
        let report = Fixture.report()
        #expect(try Baseline.fingerprints(from: SARIFReport.encode(report)) == Set(report.findings.map(\.fingerprint)))
        #expect(try Baseline.fingerprints(from: SARIFReport.encode(Fixture.empty)).isEmpty)
    }

    @Test func readsEveryRunAndSkipsOtherToolsResults() throws {
        let log: [String: Any] = [
            "version": "2.1.0",
            "runs": [
                ["tool": ["driver": ["name": "other"]], "results": [["partialFingerprints": ["primaryLocationLineHash": "x"]]]],
                ["results": [["partialFingerprints": ["vegaFingerprint/v1": "a"]], ["partialFingerprints": ["vegaFingerprint/v1": "b"]]]],
                ["tool": ["driver": ["name": "vega"]]],
            ],
        ]
        #expect(try Baseline.fingerprints(from: JSONSerialization.data(withJSONObject: log)) == ["a", "b"])
    }

    @Test(arguments: [
        "", "not json", "[1, 2]", "{}", #"{"version": "2.0.0", "runs": []}"#, #"{"findings": []}"#,
    ])
    func rejectsWhatIsNeitherFormat(text: String) throws {
        let error = try #require(throws: BaselineError.self) {
            try Baseline.fingerprints(from: Data(text.utf8), file: "old.json")
        }
        #expect(error.description.hasPrefix("baseline old.json is neither a Vega JSON report nor SARIF"))
        #expect(error.localizedDescription == error.description)
    }

    @Test func rejectsAnotherSchemaVersionOrAMalformedReport() throws {
        let newer = try #require(throws: BaselineError.self) {
            try Baseline.fingerprints(from: Data(#"{"schema_version": "2", "findings": []}"#.utf8))
        }
        #expect(newer.description.contains("schema_version 2"))
        #expect(throws: BaselineError.self) {
            try Baseline.fingerprints(from: Data(#"{"schema_version": "1", "findings": [{"rule_id": "x"}]}"#.utf8))
        }
        #expect(throws: BaselineError.self) {
            try Baseline.fingerprints(from: Data(#"{"schema_version": "1"}"#.utf8))
        }
    }
}
