import Foundation
import Testing
import VegaModel
@testable import VegaLockfiles

/// osv-scalibr's own extractor fixtures (../shared/sca/fixtures) with the packages its
/// tests expect. Every fixture whose format a registered parser claims must come out as
/// the same multiset of (ecosystem, name, version) — and commit where one is expected;
/// a fixture scalibr rejects must make the parser throw `LockfileError`.
@Suite struct ConformanceTests {
    @Test func scalibrFixturesParseAsScalibrExpects() throws {
        let fixtures = try Fixture.all()
        #expect(fixtures.count > 250)

        var passed: [String: Int] = [:], total: [String: Int] = [:], unsupported: [String: Int] = [:]
        var failures: [String] = [], absent: [String] = []
        for fixture in fixtures {
            guard let parser = Fixture.parser(for: fixture.format) else {
                unsupported[fixture.format, default: 0] += 1
                continue
            }
            // Listed in expected.jsonl but not shipped in ../shared: nothing to compare.
            guard let bytes = FileManager.default.contents(atPath: fixture.path) else {
                absent.append(fixture.file)
                continue
            }
            total[fixture.format, default: 0] += 1
            if let problem = fixture.check(with: parser, contents: [UInt8](bytes)) {
                failures.append("\(fixture.file): \(problem)")
            } else {
                passed[fixture.format, default: 0] += 1
            }
        }

        print("lockfile conformance (osv-scalibr fixtures):")
        for format in total.keys.sorted() {
            print("  \(format): \(passed[format, default: 0])/\(total[format]!)")
        }
        if !unsupported.isEmpty {
            print("  unsupported: " + unsupported.keys.sorted().map { "\($0) (\(unsupported[$0]!))" }.joined(separator: ", "))
        }
        if !absent.isEmpty { print("  fixture files missing from ../shared (not counted): " + absent.joined(separator: ", ")) }
        for failure in failures { print("  FAIL \(failure)") }
        #expect(failures.isEmpty, "\(failures.count) fixtures differ from osv-scalibr's expectations")
    }
}

/// One line of expected.jsonl.
struct Fixture: Decodable {
    struct Expected: Decodable {
        let name: String
        let version: String
        /// nil where scalibr maps the package type to no OSV ecosystem (CocoaPods): not compared.
        let ecosystem: String?
        let commit: String?
        let groups: [String]?
    }

    let file: String
    let format: String
    let packages: [Expected]
    let expect_error: String?

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/sca/fixtures").path

    static func all() throws -> [Fixture] {
        let path = directory + "/expected.jsonl"
        let data = try #require(FileManager.default.contents(atPath: path), "missing \(path)")
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try JSONDecoder().decode(Fixture.self, from: Data($0.utf8))
        }
    }

    /// The parser for a fixture is chosen by its `format`, not its file name: fixture
    /// files are not named like real lockfiles.
    static func parser(for format: String) -> (any LockfileParser)? {
        Lockfiles.parsers.first { $0.format == format }
    }

    /// The absolute path, so parsers that read files beside the lockfile find them.
    var path: String { Self.directory + "/" + file }

    /// nil when the parser does what scalibr expects, else what differs.
    func check(with parser: any LockfileParser, contents: [UInt8]) -> String? {
        let result: ParsedLockfile
        do {
            result = try parser.parse(contents, path: path)
        } catch let error as LockfileError {
            return expect_error == nil ? "unexpected error: \(error)" : nil
        } catch {
            return "threw \(type(of: error)) instead of LockfileError: \(error)"
        }
        if expect_error != nil { return "expected an error, got \(result.graph.packages.count) packages" }

        var unmatched = result.graph.packages
        var missing: [String] = []
        // Entries that name a commit first, so a commit-less entry cannot take their package.
        for want in packages.sorted(by: { ($0.commit != nil ? 0 : 1) < ($1.commit != nil ? 0 : 1) }) {
            let found = unmatched.firstIndex {
                (want.ecosystem == nil || $0.ecosystem.rawValue == want.ecosystem) && $0.name == want.name && $0.version == want.version
                    && (want.commit == nil || ($0.commit ?? "") == want.commit)
            }
            if let found { unmatched.remove(at: found) } else {
                missing.append("\(want.ecosystem ?? "?")/\(want.name)@\(want.version)" + (want.commit.map { " #\($0)" } ?? ""))
            }
        }
        guard !missing.isEmpty || !unmatched.isEmpty else { return nil }
        let extra = unmatched.map { "\($0.ecosystem)/\($0.name)@\($0.version)" + ($0.commit.map { " #\($0)" } ?? "") }
        return "missing [\(missing.joined(separator: ", "))], unexpected [\(extra.joined(separator: ", "))]"
    }
}
