import Foundation
import Testing
import VegaModel
@testable import VegaSecrets

/// gitleaks' own rule-test samples (../shared/secrets): every true positive should be
/// found and no false-positive sample should produce a finding. Each sample is a real
/// file scanned by the real engine.
@Suite struct ConformanceTests {
    struct Case: Decodable {
        let id: Int
        let rule_id: String
        let label: String
        let text: String
    }

    static let casesPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/secrets/gitleaks-cases.jsonl").path

    @Test func gitleaksSamplesMeetTheBar() async throws {
        let data = try #require(FileManager.default.contents(atPath: Self.casesPath), "missing \(Self.casesPath)")
        let cases = try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try JSONDecoder().decode(Case.self, from: Data($0.utf8))
        }
        #expect(cases.count > 6000)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vega-conformance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var files: [SourceFile] = []
        for sample in cases {
            let name = "sample-\(sample.id).txt"
            let path = dir.appendingPathComponent(name).path
            try Data(sample.text.utf8).write(to: URL(fileURLWithPath: path))
            files.append(SourceFile(path: name, absolutePath: path, size: sample.text.utf8.count))
        }

        let engine = SecretsEngine(ruleSet: try RuleSet.load())
        let result = try await engine.scan(ScanTarget(root: dir.path, files: files), progress: { _ in })
        let hitFiles = Set(result.detections.map(\.location.path))

        var tp = 0, tpFound = 0, fp = 0, fpFired = 0
        var missesByRule: [String: Int] = [:], totalByRule: [String: Int] = [:]
        for sample in cases {
            let fired = hitFiles.contains("sample-\(sample.id).txt")
            if sample.label == "tp" {
                tp += 1
                totalByRule[sample.rule_id, default: 0] += 1
                if fired { tpFound += 1 } else { missesByRule[sample.rule_id, default: 0] += 1 }
            } else {
                fp += 1
                if fired { fpFired += 1 }
            }
        }
        let recall = Double(tpFound) / Double(tp)
        let fpRate = Double(fpFired) / Double(fp)
        print(String(format: "secrets conformance: recall %.4f (%d/%d), false positives %.4f (%d/%d), %d rules",
                     recall, tpFound, tp, fpRate, fpFired, fp, engine.rules.count))
        for (rule, misses) in missesByRule.sorted(by: { $0.value > $1.value }).prefix(15) {
            print("  missed \(misses)/\(totalByRule[rule]!) of \(rule)")
        }
        #expect(recall >= 0.97)
        #expect(fpRate <= 0.03)
    }
}
