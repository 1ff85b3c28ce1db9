import Foundation
import Testing
import VegaModel
import VegaVersions

/// OSV's version-ordering vectors (osv-scalibr semantic/testdata), in /work/shared beside the
/// project: every comparison of every file, in both directions.
struct VectorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let file: String
        let ecosystem: Ecosystem
        /// Comparisons in the file, so that a file that stops parsing cannot pass unnoticed.
        let count: Int
        var testDescription: String { "\(file) as \(ecosystem)" }
    }

    static let cases: [Case] = [
        Case(file: "semver-versions.txt", ecosystem: .npm, count: 86),
        Case(file: "semver-versions.txt", ecosystem: .cratesIO, count: 86),
        Case(file: "semver-versions.txt", ecosystem: .go, count: 86),
        Case(file: "semver-versions.txt", ecosystem: .hex, count: 86),
        Case(file: "rubygems-versions.txt", ecosystem: .rubyGems, count: 25),
        Case(file: "rubygems-versions-generated.txt", ecosystem: .rubyGems, count: 4098),
        Case(file: "nuget-versions.txt", ecosystem: .nuget, count: 35),
        Case(file: "packagist-versions.txt", ecosystem: .packagist, count: 95),
        Case(file: "packagist-versions-generated.txt", ecosystem: .packagist, count: 10630),
        Case(file: "maven-versions.txt", ecosystem: .maven, count: 102),
        Case(file: "maven-versions-generated.txt", ecosystem: .maven, count: 14752),
        Case(file: "pypi-versions.txt", ecosystem: .pypi, count: 37),
        Case(file: "pypi-versions-generated.txt", ecosystem: .pypi, count: 12375),
        Case(file: "debian-versions.txt", ecosystem: .debian, count: 30),
        Case(file: "debian-versions-generated.txt", ecosystem: .debian, count: 14442),
        Case(file: "cran-versions.txt", ecosystem: .cran, count: 21),
        Case(file: "cran-versions-generated.txt", ecosystem: .cran, count: 57),
        Case(file: "alpine-versions.txt", ecosystem: .alpine, count: 778),
        Case(file: "alpine-versions-generated.txt", ecosystem: .alpine, count: 13979),
        Case(file: "redhat-versions.txt", ecosystem: .redHat, count: 165),
        Case(file: "hackage-versions.txt", ecosystem: .hackage, count: 11),
        Case(file: "pub-versions.txt", ecosystem: .pub, count: 100),
    ]

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/sca/versions", isDirectory: true).standardized

    @Test("Every vector holds, and its mirror", arguments: cases)
    func vectors(_ test: Case) throws {
        let text = try String(contentsOf: Self.directory.appendingPathComponent(test.file), encoding: .utf8)
        var count = 0
        var failures: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            // The harness's comment syntax: blank, "# " and "// " lines.
            if line.isEmpty || line.hasPrefix("# ") || line.hasPrefix("// ") { continue }
            let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            try #require(fields.count == 3, "malformed vector: \(line)")
            let expected = try #require(["<": -1, "=": 0, ">": 1][fields[1]], "unknown operator: \(line)")
            count += 1
            let forward = VersionOrder.compare(fields[0], fields[2], in: test.ecosystem).map { $0.signum() }
            let backward = VersionOrder.compare(fields[2], fields[0], in: test.ecosystem).map { $0.signum() }
            if forward != expected || backward != -expected {
                failures.append("\(line)  (got \(forward.map(String.init) ?? "nil"), mirrored \(backward.map(String.init) ?? "nil"))")
            }
        }
        #expect(count == test.count)
        #expect(failures.isEmpty, "\(failures.count) of \(count) failed:\n\(failures.prefix(40).joined(separator: "\n"))")
    }
}
