import Foundation
import Testing
import VegaModel
import VegaReports
import VegaTestSupport
@testable import VegaScanner

@Suite struct ScannerTests {
    private func scan(_ repo: TestRepo, _ configure: (inout ScanRequest) -> Void = { _ in }) async throws -> ScanReport {
        var request = ScanRequest(source: repo.path)
        configure(&request)
        return try await Scanner.run(request).report
    }

    @Test func findsPlantedSecretsInEveryFile() async throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try PlantedSecrets.plant(in: repo)
        let report = try await scan(repo)
        let paths = Set(report.findings.map(\.location.path))
        #expect(paths == ["config/settings.py", "deploy/ci.sh", "src/billing.js", "src/notify.go"])
        let aws = try #require(report.findings.first { $0.location.path == "config/settings.py" })
        #expect(aws.location.startLine == 4)
        #expect(aws.engine == "secrets")
        #expect(aws.severity >= .high)
        #expect(report.engines.first { $0.engine == "secrets" }?.coverage.filesScanned == 5)
        for encoded in [try JSONReport.encode(report), try SARIFReport.encode(report)] {
            let text = String(decoding: encoded, as: UTF8.self)
            for secret in PlantedSecrets.all { #expect(!text.contains(secret), "a full secret leaked into a report") }
        }
        #expect(report.findings == report.findings.sorted { $0.location < $1.location }, "deterministic order")
    }

    @Test func fingerprintsSurviveRescansAndLineShifts() async throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try PlantedSecrets.plant(in: repo)
        let first = try await scan(repo)
        let second = try await scan(repo)
        #expect(first.findings.map(\.fingerprint) == second.findings.map(\.fingerprint))

        // Insert lines above every secret and edit unrelated code.
        try repo.write("config/settings.py", """
        # Settings for production.
        # Reviewed 2026-11.
        import os
        import sys

        DEBUG = sys.argv.count("--debug") > 0
        AWS_ACCESS_KEY_ID = "\(PlantedSecrets.awsKeyID)"
        """)
        let shifted = try await scan(repo)
        #expect(Set(shifted.findings.map(\.fingerprint)) == Set(first.findings.map(\.fingerprint)))
        let moved = try #require(shifted.findings.first { $0.location.path == "config/settings.py" })
        #expect(moved.location.startLine == 7)
    }

    @Test func baselineHidesKnownFindingsOnly() async throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try PlantedSecrets.plant(in: repo)
        let first = try await scan(repo)
        let baselineDir = try TestRepo(git: false)
        defer { baselineDir.remove() }
        for (name, data) in [("base.json", try JSONReport.encode(first)), ("base.sarif", try SARIFReport.encode(first))] {
            let path = baselineDir.root.appendingPathComponent(name).path
            try data.write(to: URL(fileURLWithPath: path))
            let again = try await scan(repo) { $0.baselinePath = path }
            #expect(again.findings.isEmpty)
            #expect(again.suppressedByBaseline == first.findings.count)
        }
        try repo.write("new.env", "GITHUB_TOKEN=ghp_Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1Ef3Hi5\n")
        let path = baselineDir.root.appendingPathComponent("base.json").path
        let withNew = try await scan(repo) { $0.baselinePath = path }
        #expect(withNew.findings.map(\.location.path) == ["new.env"])
    }

    @Test func configAddsRulesExcludesAndDisables() async throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try PlantedSecrets.plant(in: repo)
        try repo.write("internal/keys.txt", "acme = ACME-7f3a9c2e1b4d\n")
        try repo.write(".vega.yaml", """
        fail_on: critical
        exclude: ["deploy/"]
        secrets:
          rules:
            - id: acme-internal-key
              title: ACME internal key
              description: Internal ACME service key.
              severity: critical
              regex: 'ACME-[0-9a-f]{12}'
              keywords: [acme-]
        """)
        let outcome = try await Scanner.run(ScanRequest(source: repo.path))
        let paths = Set(outcome.report.findings.map(\.location.path))
        #expect(paths.contains("internal/keys.txt"))
        #expect(!paths.contains("deploy/ci.sh"))
        #expect(outcome.config.failOn == .critical)
        #expect(outcome.report.rules.contains { $0.id == "acme-internal-key" })
    }

    @Test func invalidConfigIsAClearError() async throws {
        let repo = try TestRepo(git: false)
        defer { repo.remove() }
        try repo.write(".vega.yaml", "max_file_size: lots\n")
        await #expect { try await Scanner.run(ScanRequest(source: repo.path)) } throws: { "\($0)".contains(".vega.yaml") }
    }

    @Test func historyFindsSecretsRemovedFromTheTree() async throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.write("app.py", "print('hello')\n")
        try repo.commitAll("initial")
        try repo.write("app.py", "print('hello')\nTOKEN = '\(PlantedSecrets.githubToken)'\n")
        try repo.commitAll("add token")
        try repo.write("app.py", "print('hello')\n")
        try repo.commitAll("remove token")

        #expect(try await scan(repo).findings.isEmpty)
        let history = try await scan(repo) { $0.history = true }
        let finding = try #require(history.findings.first)
        #expect(history.findings.count == 1)
        #expect(finding.location.path == "app.py" && finding.location.startLine == 2)
        let commit = try #require(finding.commit)
        #expect(commit.sha == (try repo.git("rev-parse", "HEAD~1").trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(commit.author == "Test Dev" && commit.email == "dev@example.test")
        #expect(history.engines.first { $0.engine == "secrets" }?.coverage.commitsScanned == 3)

        // A git URL is cloned with its whole history for a history scan.
        let cloned = try await Scanner.run(ScanRequest(source: "file://" + repo.path, history: true)).report
        #expect(cloned.findings.map(\.fingerprint) == history.findings.map(\.fingerprint))
        #expect(cloned.engines.first { $0.engine == "secrets" }?.coverage.commitsScanned == 3)
    }

    @Test func cancellationStopsTheScan() async throws {
        let repo = try TestRepo(git: false)
        defer { repo.remove() }
        for i in 0..<200 { try repo.write("f\(i).txt", String(repeating: "token = abc\n", count: 200)) }
        let scan = Task { try await Scanner.run(ScanRequest(source: repo.path)) }
        scan.cancel()
        await #expect(throws: CancellationError.self) { try await scan.value }
    }

    @Test func scansAGitURL() async throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try PlantedSecrets.plant(in: repo)
        try repo.commitAll("app")
        let report = try await Scanner.run(ScanRequest(source: "file://" + repo.path)).report
        #expect(report.findings.count == 4)
        #expect(report.source.hasPrefix("file://"))
    }
}
