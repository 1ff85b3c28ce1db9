import Foundation
import Testing
import VegaAdvisories
import VegaModel
import VegaScanner
import VegaTestSupport
@testable import VegaDeps

/// Real OSV exports from shared/sca/advisories, imported once per test process.
enum Advisories {
    static let shared = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/sca/advisories").path

    /// A data folder whose advisory database holds the PyPI and crates.io exports.
    static let dataDirectory: String = {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("vega-deps-tests-\(ProcessInfo.processInfo.processIdentifier)").path
        try? FileManager.default.removeItem(atPath: folder)
        let database = try! AdvisoryDatabase.open(at: DataDirectory.advisories(in: folder))
        for zip in ["pypa_advisory-database.zip", "rustsec.zip"] {
            _ = try! database.update(from: (shared as NSString).appendingPathComponent(zip))
        }
        return folder
    }()
}

private func scan(_ repo: TestRepo, dataDirectory: String = Advisories.dataDirectory, history: Bool = false) async throws -> ScanReport {
    try await Scanner.run(ScanRequest(source: repo.path, engines: ["deps"], history: history, dataDirectory: dataDirectory)).report
}

private let cargoLock = """
    version = 3

    [[package]]
    name = "smallvec"
    version = "1.6.0"
    source = "registry+https://github.com/rust-lang/crates.io-index"
    """

@Suite struct DependencyEngineTests {
    @Test func reportsVulnerablePackagesWithTheirFix() async throws {
        let repo = try TestRepo(git: false)
        defer { repo.remove() }
        try repo.write("requirements.txt", "django==3.2.0\nrequests==2.32.3\n")
        try repo.write("rust/Cargo.lock", cargoLock)
        let report = try await scan(repo)

        let django = try #require(report.findings.first { $0.ruleId == "CVE-2021-31542" })
        #expect(django.engine == "deps")
        #expect(django.cwe == "CWE-1395")
        #expect(django.location.path == "requirements.txt" && django.location.startLine == 1)
        #expect(django.snippet == "django@3.2.0")
        let vulnerability = try #require(django.vulnerability)
        #expect(vulnerability.package == "django" && vulnerability.installedVersion == "3.2.0")
        #expect(vulnerability.fixedVersion == "3.2.1")
        #expect(vulnerability.ids.contains("PYSEC-2021-7") && vulnerability.ids.contains("GHSA-rxjp-mfm9-w4wr"))
        #expect(django.message.contains("upgrade to 3.2.1"))

        // The CVSS vector decides: 9.8 is critical.
        let smallvec = try #require(report.findings.first { $0.vulnerability?.package == "smallvec" })
        #expect(smallvec.location.path == "rust/Cargo.lock" && smallvec.location.startLine == 4)
        #expect(smallvec.severity == .critical && smallvec.vulnerability?.cvssScore == 9.8)
        #expect(smallvec.vulnerability?.fixedVersion == "1.6.1")

        #expect(!report.findings.contains { $0.vulnerability?.package == "requests" }, "2.32.3 is past every fix")
        // Aliases merge: no id names two findings of one package.
        var seen = Set<String>()
        for finding in report.findings {
            for id in finding.vulnerability?.ids ?? [] {
                #expect(seen.insert("\(finding.vulnerability!.package)|\(id)").inserted, "\(id) reported twice")
            }
        }
        // Every matched advisory is a rule of the report, as SARIF needs.
        let ruleIDs = Set(report.rules.map(\.id))
        #expect(report.findings.allSatisfy { ruleIDs.contains($0.ruleId) })
        #expect(report.dependencies.map(\.source) == ["requirements.txt", "rust/Cargo.lock"])
    }

    @Test func fingerprintsSurviveShiftsAndUnfixedBumps() async throws {
        let repo = try TestRepo(git: false)
        defer { repo.remove() }
        try repo.write("requirements.txt", "django==3.2.0\n")
        let before = try await scan(repo)
        try repo.write("requirements.txt", "# pinned for the LTS\n\nflask==2.3.3\ndjango==3.2.4\n")
        let after = try await scan(repo)
        let cve = "CVE-2022-28346"  // affects 3.2.0 and 3.2.4 alike; fixed in 3.2.13
        let first = try #require(before.findings.first { $0.ruleId == cve })
        let second = try #require(after.findings.first { $0.ruleId == cve })
        #expect(second.location.startLine == 4)
        #expect(first.fingerprint == second.fingerprint)
        // Fixed by 3.2.4: gone after the bump.
        #expect(before.findings.contains { $0.ruleId == "CVE-2021-31542" })
        #expect(!after.findings.contains { $0.ruleId == "CVE-2021-31542" })
    }

    @Test func withoutADatabaseItSaysNothingWasChecked() async throws {
        let repo = try TestRepo(git: false)
        defer { repo.remove() }
        try repo.write("requirements.txt", "django==3.2.0\n")
        let empty = try TestRepo(git: false)
        defer { empty.remove() }
        let report = try await scan(repo, dataDirectory: empty.path)
        #expect(report.findings.isEmpty)
        let notes = report.engines.first { $0.engine == "deps" }?.coverage.notes ?? []
        #expect(notes.count == 1 && notes[0].contains("1 packages inventoried, none checked"))
        #expect(report.dependencies.first?.packages.map(\.name) == ["django"])
    }

    @Test func aMalformedLockfileWarnsAndTheRestGoesOn() async throws {
        let repo = try TestRepo(git: false)
        defer { repo.remove() }
        try repo.write("web/package-lock.json", "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\n")
        try repo.write("requirements.txt", "django==3.2.0\n")
        let report = try await scan(repo)
        let warning = try #require(report.warnings.first { $0.path == "web/package-lock.json" })
        #expect(warning.line != nil)
        #expect(report.findings.contains { $0.vulnerability?.package == "django" })
    }

    @Test func includesNeverLeaveTheScannedTree() async throws {
        let parent = try TestRepo(git: false)
        defer { parent.remove() }
        try parent.write("outside.txt", "flask==0.12.2\n")
        try parent.write("repo/requirements.txt", "-r ../outside.txt\n-r \(parent.path)/outside.txt\n-r base.txt\ndjango==3.2.0\n")
        try parent.write("repo/base.txt", "requests==2.19.0\n")
        let report = try await Scanner.run(ScanRequest(
            source: parent.root.appendingPathComponent("repo").path, engines: ["deps"], dataDirectory: Advisories.dataDirectory
        )).report
        let names = Set(report.dependencies.flatMap(\.packages).map(\.name))
        #expect(names.contains("requests"), "an include inside the tree is read")
        #expect(names.contains("django"))
        #expect(!names.contains("flask"), "an include outside the tree must not be read")
    }

    @Test func historyScansSayDependenciesNeedTheWorkingTree() async throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.write("requirements.txt", "django==3.2.0\n")
        try repo.commitAll("add requirements")
        let report = try await scan(repo, history: true)
        #expect(report.findings.isEmpty)
        #expect(report.engines.first?.coverage.notes?.first?.contains("not history") == true)
    }
}
