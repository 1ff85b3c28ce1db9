import Foundation
import VegaTestSupport
import Testing
import VegaModel

/// Reports the tests share: every field filled in, paths that need URI encoding, a
/// history finding, a rule without a CWE, a dependency finding, and a finding whose rule is
/// not listed.
enum Fixture {
    static let secretRule = RuleDescriptor(
        id: "aws-access-token", title: "AWS access key ID", description: "An AWS access key ID was found.",
        severity: .critical, cwe: "CWE-798", engine: "secrets",
        help: "Revoke the key in IAM and **rotate** it.", tags: ["secret", "aws"]
    )
    static let genericRule = RuleDescriptor(
        id: "generic-api-key", title: "Generic API key", description: "A high-entropy string assigned to a key-like name.",
        severity: .high, cwe: "CWE-798", engine: "secrets", help: "Move the value to a secret store.", tags: ["secret"]
    )
    static let noteRule = RuleDescriptor(
        id: "private-key.pem", title: "Private key file", description: "",
        severity: .medium, cwe: nil, engine: "secrets", help: ""
    )
    static let infoRule = RuleDescriptor(
        id: "todo_marker", title: "Security TODO", description: "A TODO mentions security.",
        severity: .info, cwe: nil, engine: "secrets", help: "Resolve it."
    )

    static let advisoryRule = RuleDescriptor(
        id: "CVE-2021-25900", title: "Buffer overflow in SmallVec::insert_many", description: "Buffer overflow in SmallVec::insert_many",
        severity: .critical, cwe: "CWE-1395", engine: "deps", help: "Upgrade smallvec to 1.6.1.",
        tags: ["dependency", "vulnerability", "crates.io"]
    )
    static let vulnerability = Vulnerability(
        ecosystem: .cratesIO, package: "smallvec", installedVersion: "1.6.0", purl: "pkg:cargo/smallvec@1.6.0",
        ids: ["CVE-2021-25900", "GHSA-43w2-9j62-hq99", "RUSTSEC-2021-0003"], fixedVersion: "1.6.1", cvssScore: 9.8,
        cvssVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", references: ["https://rustsec.org/advisories/RUSTSEC-2021-0003"]
    )

    static let commit = CommitInfo(
        sha: "4b825dc642cb6eb9a060e54bf8d69288fbee4904", author: "Zoë Müller", email: "zoe@example.com",
        date: "2024-03-01T09:30:00Z"
    )

    static func finding(
        _ rule: RuleDescriptor, _ path: String, line: Int, snippet: String, commit: CommitInfo? = nil, occurrence: Int = 0,
        vulnerability: Vulnerability? = nil
    ) -> Finding {
        Finding(
            ruleId: rule.id, title: rule.title, severity: rule.severity, cwe: rule.cwe,
            message: "\(rule.title) in \(path)",
            location: Location(path: path, startLine: line, startColumn: 5, endLine: line, endColumn: 24),
            snippet: snippet, engine: rule.engine,
            fingerprint: Fingerprint.compute(ruleId: rule.id, path: path, identity: snippet, occurrence: occurrence),
            commit: commit, vulnerability: vulnerability
        )
    }

    static var findings: [Finding] {
        [
            finding(genericRule, "app/settings.json", line: 3, snippet: "\"api_key\": \"sk_l****\""),
            finding(secretRule, "src/my config/über.env", line: 12, snippet: "AWS_KEY=AKIA****"),
            finding(secretRule, "docs/日本語 ファイル.md", line: 7, snippet: "key: AKIA****", commit: commit),
            finding(noteRule, "weird/100%#1 [x]?.pem", line: 1, snippet: "-----BEGIN RSA PRIVATE KEY-----"),
            finding(infoRule, "a/b.swift", line: 40, snippet: "// TODO security: \u{1B}[31mfix\u{1B}[0m\tnow"),
        ].sorted { $0.location < $1.location }
    }

    static func report(
        findings: [Finding] = findings, source: String = "/home/dev/my project",
        rules: [RuleDescriptor] = [secretRule, genericRule, infoRule, noteRule], suppressed: Int = 2
    ) -> ScanReport {
        ScanReport(
            toolVersion: "0.1.0", source: source, startedAt: "2024-05-01T12:00:00Z", durationSeconds: 1.25,
            engines: [
                EngineRun(
                    engine: "secrets",
                    coverage: Coverage(
                        filesScanned: 120, bytesScanned: 48_213,
                        skipped: [SkippedFile(path: "bin/tool", reason: .binary), SkippedFile(path: "big.sql", reason: .tooLarge)],
                        commitsScanned: 15
                    ),
                    durationSeconds: 0.75
                ),
            ],
            rules: rules.sorted { $0.id < $1.id }, findings: findings, suppressedByBaseline: suppressed
        )
    }

    /// The full report plus a dependency finding (engine "deps", with its `vulnerability`).
    static var withDependency: ScanReport {
        report(
            findings: (findings + [finding(advisoryRule, "rust/Cargo.lock", line: 4, snippet: "smallvec@1.6.0", vulnerability: vulnerability)])
                .sorted { $0.location < $1.location },
            rules: [secretRule, genericRule, infoRule, noteRule, advisoryRule]
        )
    }

    static let empty = ScanReport(
        toolVersion: "0.1.0", source: "https://github.com/example/repo.git", startedAt: "2024-05-01T12:00:00.250Z",
        durationSeconds: 0.5, engines: [EngineRun(engine: "secrets", coverage: Coverage(), durationSeconds: 0.1)],
        rules: [secretRule], findings: []
    )
}

/// The repository root, found from this file's path so tests run from any directory.
let repoRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Runs scripts/validate-json.py; returns its exit status and everything it printed.
func validate(_ document: Data, against schema: String) throws -> (status: Int32, output: String) {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("vega-\(UUID().uuidString).json")
    try document.write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let result = try Run.command("/usr/bin/env", [
        "python3", repoRoot.appendingPathComponent("scripts/validate-json.py").path,
        repoRoot.appendingPathComponent(schema).standardizedFileURL.path, file.path,
    ])
    return (result.status, result.stdout + result.stderr)
}

func jsonObject(_ data: Data) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}
