import Foundation
import Testing
import VegaModel
import VegaTestSupport
import VegaVersions
@testable import VegaAdvisories

/// The OSV evaluation rules, on hand-made records, with a plain dotted-number ordering.
@Suite struct RangeTests {
    private func affected(_ scratch: Scratch, _ version: String, name: String = "demo") throws -> [VulnerabilityMatch] {
        try AdvisoryMatcher.match([pkg(.pypi, name, version)], database: scratch.database, comparison: dottedNumbers)
    }

    @Test func introducedAndFixedPairs() throws {
        // Events deliberately out of order: evaluation orders them by version.
        let scratch = try Scratch(["r.json": osv("R-1", ranges: range("ECOSYSTEM",
            ("introduced", "2.0"), ("fixed", "2.3"), ("introduced", "1.0"), ("fixed", "1.2")))])
        defer { scratch.root.remove() }
        for (version, expected) in [("0.9", false), ("1.0", true), ("1.1.5", true), ("1.2", false), ("1.9", false),
                                    ("2.0", true), ("2.2.9", true), ("2.3", false), ("10.0", false)] {
            #expect(try !affected(scratch, version).isEmpty == expected, "version \(version)")
        }
        let match = try #require(try affected(scratch, "1.1").first)
        #expect(match.fixedVersions == ["1.2", "2.3"])
        #expect(match.nearestFixedVersion == "1.2")
        #expect(try affected(scratch, "2.1").first?.nearestFixedVersion == "2.3")
    }

    @Test func introducedZeroNeedsNoComparison() throws {
        let scratch = try Scratch(["r.json": osv("R-1", ranges: range("ECOSYSTEM", ("introduced", "0")))])
        defer { scratch.root.remove() }
        #expect(try affected(scratch, "0.0.1").count == 1)
        // Even a version no ordering understands is inside "every version".
        #expect(try affected(scratch, "not-a-version").count == 1)
        #expect(try affected(scratch, "0.0.1").first?.nearestFixedVersion == nil)
    }

    @Test func lastAffectedIncludesItsVersion() throws {
        let scratch = try Scratch(["r.json": osv("R-1", ranges: range("ECOSYSTEM", ("introduced", "0"), ("last_affected", "1.11.0")))])
        defer { scratch.root.remove() }
        #expect(try affected(scratch, "0.5").count == 1)
        #expect(try affected(scratch, "1.11.0").count == 1)
        #expect(try affected(scratch, "1.11.1").isEmpty)
        #expect(try affected(scratch, "1.11.0").first?.fixedVersions == [])
    }

    @Test func limitsBoundTheRange() throws {
        let scratch = try Scratch([
            "r.json": osv("R-1", ranges: range("ECOSYSTEM", ("introduced", "1.0"), ("limit", "2.0"))),
            "s.json": osv("S-1", name: "star", ranges: range("ECOSYSTEM", ("introduced", "1.0"), ("limit", "*"))),
            "t.json": osv("T-1", name: "two", ranges: range("ECOSYSTEM",
                ("introduced", "1.0"), ("fixed", "1.5"), ("introduced", "3.0"), ("limit", "2.0"), ("limit", "4.0"))),
        ])
        defer { scratch.root.remove() }
        #expect(try affected(scratch, "0.5").isEmpty)
        #expect(try affected(scratch, "1.5").count == 1)
        #expect(try affected(scratch, "2.0").isEmpty)
        #expect(try affected(scratch, "50.0", name: "star").count == 1)
        #expect(try affected(scratch, "1.2", name: "two").count == 1)
        #expect(try affected(scratch, "1.7", name: "two").isEmpty)
        #expect(try affected(scratch, "3.5", name: "two").count == 1)
        #expect(try affected(scratch, "4.0", name: "two").isEmpty)
    }

    @Test func unorderableVersionsFallBackToTheVersionsList() throws {
        let scratch = try Scratch(["r.json": osv("R-1", ranges: range("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.0")),
                                                 versions: ["weird-1"])])
        defer { scratch.root.remove() }
        #expect(try affected(scratch, "weird-1").count == 1)
        #expect(try affected(scratch, "weird-2").isEmpty)
        #expect(try affected(scratch, "0.9").count == 1)
        #expect(try affected(scratch, "weird-1").first?.nearestFixedVersion == nil)
    }

    @Test func gitRangesCountOnlyThroughTheirVersionsList() throws {
        let commit = String(repeating: "a", count: 40)
        let scratch = try Scratch(["r.json": osv("R-1", ranges: range("GIT", ("introduced", "0"), ("fixed", commit)), versions: ["1.0"])])
        defer { scratch.root.remove() }
        #expect(try affected(scratch, "1.0").count == 1)
        #expect(try affected(scratch, "1.1").isEmpty)
        #expect(try affected(scratch, "1.0").first?.fixedVersions == [])
    }

    @Test func semverRangesIgnoreGoStyleVPrefix() throws {
        let scratch = try Scratch(["r.json": osv("GO-2024-0001", ecosystem: "Go", name: "example.com/mod",
                                                 ranges: range("SEMVER", ("introduced", "1.2.0"), ("fixed", "1.4.1")))])
        defer { scratch.root.remove() }
        let matches = try AdvisoryMatcher.match(
            [pkg(.go, "example.com/mod", "v1.3.0"), pkg(.go, "example.com/mod", "v1.4.1"), pkg(.go, "example.com/Mod", "v1.3.0")],
            database: scratch.database, comparison: dottedNumbers
        )
        #expect(matches.map(\.package.version) == ["v1.3.0"])
        #expect(matches.first?.package.name == "example.com/mod")
        #expect(matches.first?.nearestFixedVersion == "1.4.1")
    }

    @Test func withdrawnRecordsNeverMatch() throws {
        let scratch = try Scratch(["r.json": osv("R-1", ranges: range("ECOSYSTEM", ("introduced", "0")),
                                                 top: #""withdrawn": "2024-02-01T00:00:00Z""#)])
        defer { scratch.root.remove() }
        #expect(try affected(scratch, "1.0").isEmpty)
        #expect(try scratch.database.status().withdrawn == 1)
    }

    @Test func ecosystemSuffixesScopeTheMatch() throws {
        let scratch = try Scratch(["r.json": osv("DSA-1", ecosystem: "Debian:11", name: "openssl",
                                                 ranges: range("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.1")))])
        defer { scratch.root.remove() }
        func match(_ ecosystem: String) throws -> Int {
            try AdvisoryMatcher.match([pkg(Ecosystem(ecosystem), "openssl", "1.0")], database: scratch.database,
                                      comparison: dottedNumbers).count
        }
        #expect(try match("Debian") == 1)
        #expect(try match("Debian:11") == 1)
        #expect(try match("Debian:12") == 0)
    }
}

/// Merging aliases, choosing ids, severity and the text of a match.
@Suite struct MergeTests {
    @Test func aliasesOfOneVulnerabilityBecomeOneMatch() throws {
        let v31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
        let v40 = "CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N"
        let scratch = try Scratch([
            "ghsa.json": osv("GHSA-aaaa-bbbb-cccc", aliases: ["CVE-2024-0001"],
                             ranges: range("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.5")),
                             top: #""severity": [{"type": "CVSS_V3", "score": "\#(v31)"}]"#),
            "pysec.json": osv("PYSEC-2024-1", aliases: ["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"],
                              ranges: range("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.4")),
                              top: #""severity": [{"type": "CVSS_V4", "score": "\#(v40)"}]"#),
            "other.json": osv("PYSEC-2024-2", ranges: range("ECOSYSTEM", ("introduced", "0"), ("fixed", "2.0")),
                              top: #""database_specific": {"severity": "HIGH"}"#),
        ])
        defer { scratch.root.remove() }
        let matches = try AdvisoryMatcher.match([pkg(.pypi, "demo", "1.0")], database: scratch.database, comparison: dottedNumbers)
        #expect(matches.count == 2)
        // The HIGH one sorts before the low one.
        #expect(matches.map(\.id) == ["PYSEC-2024-2", "CVE-2024-0001"])
        let merged = try #require(matches.last)
        #expect(merged.ids == ["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc", "PYSEC-2024-1"])
        // A v4.0 vector is preferred to a v3.1 one, even with a lower score.
        #expect(merged.cvssVector == v40)
        #expect(merged.score == 2.3)
        #expect(merged.severity == .low)
        #expect(merged.fixedVersions == ["1.4", "1.5"])
        #expect(merged.nearestFixedVersion == "1.4")
        #expect(merged.summary == "GHSA-aaaa-bbbb-cccc summary")
        #expect(merged.references == ["https://example.test/GHSA-aaaa-bbbb-cccc", "https://example.test/PYSEC-2024-1"])
        #expect(matches.first?.severity == .high)
        #expect(matches.first?.score == nil)
        // Past the first fix only the other fixed version is ahead.
        let later = try AdvisoryMatcher.match([pkg(.pypi, "demo", "1.4.5")], database: scratch.database, comparison: dottedNumbers)
        #expect(later.first { $0.id == "CVE-2024-0001" }?.nearestFixedVersion == "1.5")
    }

    @Test func primaryIdPrefersCVEThenGHSA() throws {
        let scratch = try Scratch([
            "a.json": osv("RUSTSEC-2024-0001", ecosystem: "crates.io", name: "c", aliases: ["GHSA-zzzz-yyyy-xxxx"],
                          ranges: range("SEMVER", ("introduced", "0"))),
            "b.json": osv("RUSTSEC-2024-0002", ecosystem: "crates.io", name: "c", ranges: range("SEMVER", ("introduced", "0"))),
        ])
        defer { scratch.root.remove() }
        let matches = try AdvisoryMatcher.match([pkg(.cratesIO, "c", "1.0.0")], database: scratch.database, comparison: dottedNumbers)
        #expect(Set(matches.map(\.ids)) == [["GHSA-zzzz-yyyy-xxxx", "RUSTSEC-2024-0001"], ["RUSTSEC-2024-0002"]])
    }

    @Test func severityWithoutAVectorComesFromTheDatabaseElseMedium() throws {
        let scratch = try Scratch([
            "a.json": osv("A-1", name: "a", ranges: range("ECOSYSTEM", ("introduced", "0")), top: #""database_specific": {"severity": "MODERATE"}"#),
            "b.json": osv("B-1", name: "b", ranges: range("ECOSYSTEM", ("introduced", "0")), top: #""database_specific": {"severity": "CRITICAL"}"#),
            "c.json": osv("C-1", name: "c", ranges: range("ECOSYSTEM", ("introduced", "0"))),
            "d.json": osv("D-1", name: "d", ranges: range("ECOSYSTEM", ("introduced", "0")),
                          top: #""severity": [{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}], "database_specific": {"severity": "LOW"}"#),
        ])
        defer { scratch.root.remove() }
        let matches = try AdvisoryMatcher.match(["a", "b", "c", "d"].map { pkg(.pypi, $0, "1.0") }, database: scratch.database,
                                                comparison: dottedNumbers)
        #expect(matches.map(\.severity) == [.medium, .critical, .medium, .low])
        #expect(matches.allSatisfy { $0.score == nil && $0.cvssVector == nil })
    }

    @Test func eachPackageGetsItsOwnMatchesInInputOrder() throws {
        let scratch = try Scratch(["r.json": osv("R-1", ranges: range("ECOSYSTEM", ("introduced", "0"), ("fixed", "2.0")))])
        defer { scratch.root.remove() }
        var first = pkg(.pypi, "Demo", "1.0")
        first.location = Location(path: "a/requirements.txt", startLine: 3, startColumn: 1, endLine: 3, endColumn: 9)
        var second = pkg(.pypi, "demo", "1.0")
        second.location = Location(path: "b/poetry.lock", startLine: 9, startColumn: 1, endLine: 9, endColumn: 9)
        let matches = try AdvisoryMatcher.match([first, pkg(.pypi, "demo", "3.0"), second], database: scratch.database,
                                                comparison: dottedNumbers)
        #expect(matches.map(\.package) == [first, second])
    }
}

/// Matching against the real exports, with VegaVersions' orderings.
@Suite struct RealDataMatchTests {
    private func matches(_ ecosystem: Ecosystem, _ name: String, _ version: String) throws -> [VulnerabilityMatch] {
        try AdvisoryMatcher.match([pkg(ecosystem, name, version)], database: RealData.imported.database)
    }

    @Test func pypiRecordsSharingACVEAreOneMatch() throws {
        let found = try matches(.pypi, "distributed", "2021.9.1")
        let match = try #require(found.first { $0.ids.contains("CVE-2021-42343") })
        #expect(match.ids == ["CVE-2021-42343", "GHSA-hwqr-f3v9-hwxr", "GHSA-j8fq-86c5-5v2r", "PYSEC-2021-871", "PYSEC-2021-872"])
        #expect(match.nearestFixedVersion == "2021.10.0")
        #expect(match.fixedVersions == ["2021.10.0"])
        #expect(found.filter { $0.ids.contains("PYSEC-2021-871") || $0.ids.contains("PYSEC-2021-872") }.count == 1)
        #expect(try !matches(.pypi, "distributed", "2021.10.0").contains { $0.ids.contains("CVE-2021-42343") })
        #expect(try !matches(.pypi, "Distributed", "2021.9.1").isEmpty)
    }

    @Test func goModuleRangesWithSeveralFixes() throws {
        let found = try matches(.go, "github.com/coder/coder/v2", "v2.15.1")
        let match = try #require(found.first { $0.ids.contains("GO-2024-3228") })
        #expect(match.ids == ["GHSA-wcx9-ccpj-hx3c", "GO-2024-3228"])
        #expect(match.fixedVersions == ["2.14.4", "2.15.3", "2.16.1"])
        #expect(match.nearestFixedVersion == "2.15.3")
        #expect(match.severity == .medium && match.score == nil)
        #expect(try !matches(.go, "github.com/coder/coder/v2", "v2.15.3").contains { $0.ids.contains("GO-2024-3228") })
        #expect(try !matches(.go, "github.com/coder/coder/v2", "v2.3.0").contains { $0.ids.contains("GO-2024-3228") })
        // The v1 module path is affected from the beginning, with no fix.
        let v1 = try matches(.go, "github.com/coder/coder", "v0.27.0").first { $0.ids.contains("GO-2024-3228") }
        #expect(v1?.nearestFixedVersion == nil)
    }

    @Test func crateWithACVSSVector() throws {
        let found = try matches(.cratesIO, "wasmtime", "6.0.0")
        let match = try #require(found.first { $0.ids.contains("RUSTSEC-2023-0090") })
        #expect(match.ids == ["CVE-2023-26489", "GHSA-ff4p-7xrq-q5r8", "RUSTSEC-2023-0090"])
        #expect(match.cvssVector == "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H")
        #expect(match.score == 9.9)
        #expect(match.severity == .critical)
        #expect(match.nearestFixedVersion == "6.0.1")
        #expect(match.fixedVersions == ["4.0.1", "5.0.1", "6.0.1"])
        #expect(try !matches(.cratesIO, "wasmtime", "6.0.1").contains { $0.ids.contains("RUSTSEC-2023-0090") })
    }

    @Test func withdrawnRealRecordIsIgnored() throws {
        // PYSEC-2023-141 (withdrawn) covers every pynetbox version.
        let found = try matches(.pypi, "pynetbox", "7.0.1")
        #expect(!found.contains { $0.ids.contains("PYSEC-2023-141") || $0.ids.contains("CVE-2023-37625") })
    }

    @Test func measureMatchingManyPackages() throws {
        let database = RealData.imported.database
        let state = try #require(database.currentState)
        var packages: [Package] = []
        for (ecosystem, file) in state.indexes.sorted(by: { $0.key < $1.key }) {
            let index = try NameIndex.load(path: (database.directory as NSString).appendingPathComponent(file))
            for name in index.locations.keys.sorted() {
                for version in ["0.1.0", "1.0.0", "2.3.4"] {
                    packages.append(pkg(Ecosystem(ecosystem), name, ecosystem == "Go" ? "v" + version : version))
                }
            }
        }
        let known = packages.count
        while packages.count < 50_000 {
            packages.append(pkg(.npm, "unknown-\(packages.count)", "1.0.0"))
        }
        let clock = ContinuousClock()
        var found: [VulnerabilityMatch] = []
        let elapsed = try clock.measure {
            let fresh = try AdvisoryDatabase.open(at: database.directory)
            found = try AdvisoryMatcher.match(packages, database: fresh)
        }
        print("matched \(packages.count) packages (\(known) with advisories) in \(elapsed): \(found.count) matches")
        #expect(!found.isEmpty)
    }
}
