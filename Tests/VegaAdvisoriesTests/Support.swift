import Foundation
import Testing
import VegaModel
import VegaTestSupport
@testable import VegaAdvisories

/// The real OSV exports in shared/sca/advisories, beside the repository root.
enum RealData {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/sca/advisories").path
    static let zips = ["pypa_advisory-database.zip", "golang_vulndb.zip", "rustsec.zip"]
        .map { (folder as NSString).appendingPathComponent($0) }

    /// Records in the three exports, and how many are withdrawn, by ecosystem.
    static let records = ["PyPI": 2661, "Go": 4291, "crates.io": 1206]
    static let withdrawn = ["PyPI": 10, "Go": 17, "crates.io": 13]

    /// One import of the three zips, shared by the tests that only read it; a test that writes
    /// takes a copy (`copy()`).
    static let imported: Imported = {
        // A test process cannot remove shared fixtures when it exits, so each run removes those
        // of earlier runs that are no longer running.
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("vega-advisories-tests")
        let mine = String(ProcessInfo.processInfo.processIdentifier)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? [] where name != mine {
            if let pid = Int32(name), kill(pid, 0) != 0 { try? FileManager.default.removeItem(at: base.appendingPathComponent(name)) }
        }
        let directory = base.appendingPathComponent(mine).appendingPathComponent("advisories").path
        let database = try! AdvisoryDatabase.open(at: directory)
        let clock = ContinuousClock()
        var summaries: [UpdateSummary] = []
        let elapsed = try! clock.measure {
            for zip in zips { summaries.append(try database.update(from: zip)) }
        }
        print("import of \(records.values.reduce(0, +)) real OSV records: \(elapsed)")
        return Imported(directory: directory, database: database, summaries: summaries)
    }()

    struct Imported: Sendable {
        var directory: String
        var database: AdvisoryDatabase
        var summaries: [UpdateSummary]

        /// A private copy of the imported database, for tests that update it.
        func copy() throws -> (database: AdvisoryDatabase, directory: String, root: TestRepo) {
            let root = try TestRepo(git: false)
            let target = root.root.appendingPathComponent("advisories").path
            try FileManager.default.copyItem(atPath: directory, toPath: target)
            return (try AdvisoryDatabase.open(at: target), target, root)
        }
    }
}

/// Hand-made OSV records written to a temporary folder and imported into a fresh database.
struct Scratch {
    let root: TestRepo
    let database: AdvisoryDatabase

    init(_ records: [String: String]) throws {
        root = try TestRepo(git: false)
        for (name, json) in records { try root.write("osv/\(name)", json) }
        database = try AdvisoryDatabase.open(at: root.root.appendingPathComponent("db").path)
        if !records.isEmpty { _ = try database.update(from: root.root.appendingPathComponent("osv").path) }
    }

    var osvFolder: String { root.root.appendingPathComponent("osv").path }
}

/// A record with one affected package; `extra` is spliced into the affected entry.
func osv(
    _ id: String, ecosystem: String = "PyPI", name: String = "demo", modified: String = "2024-01-01T00:00:00Z",
    aliases: [String] = [], ranges: String = "", versions: [String] = [], top: String = ""
) -> String {
    let aliasList = aliases.map { "\"\($0)\"" }.joined(separator: ",")
    let versionList = versions.map { "\"\($0)\"" }.joined(separator: ",")
    return """
    {"id": "\(id)", "modified": "\(modified)", "aliases": [\(aliasList)], "summary": "\(id) summary", \
    "details": "Details of \(id).", \(top.isEmpty ? "" : top + ",")
    "affected": [{"package": {"ecosystem": "\(ecosystem)", "name": "\(name)"}, "ranges": [\(ranges)], "versions": [\(versionList)]}],
    "references": [{"type": "ADVISORY", "url": "https://example.test/\(id)"}]}
    """
}

func range(_ type: String = "ECOSYSTEM", _ events: (String, String)...) -> String {
    let list = events.map { "{\"\($0.0)\": \"\($0.1)\"}" }.joined(separator: ",")
    return "{\"type\": \"\(type)\", \"events\": [\(list)]}"
}

/// Dotted numbers only ("1.10.2"), nil for anything else: lets the range logic be tested apart
/// from VegaVersions.
let dottedNumbers = VersionComparison { a, b, _ in
    func parts(_ s: String) -> [Int]? {
        let p = s.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        return p.contains(nil) ? nil : p.map { $0! }
    }
    guard var x = parts(a), var y = parts(b) else { return nil }
    let n = max(x.count, y.count)
    x += Array(repeating: 0, count: n - x.count)
    y += Array(repeating: 0, count: n - y.count)
    return x == y ? 0 : x.lexicographicallyPrecedes(y) ? -1 : 1
}

func pkg(_ ecosystem: Ecosystem, _ name: String, _ version: String) -> Package {
    Package(ecosystem: ecosystem, name: name, version: version, purl: "pkg:test/\(name)@\(version)")
}
