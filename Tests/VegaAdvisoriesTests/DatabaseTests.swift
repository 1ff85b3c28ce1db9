import Foundation
import Testing
import VegaModel
import VegaTestSupport
@testable import VegaAdvisories

@Suite struct DatabaseTests {
    @Test func importOfTheRealExportsCountsEveryRecord() throws {
        let imported = RealData.imported
        for (summary, ecosystem) in zip(imported.summaries, ["PyPI", "Go", "crates.io"]) {
            #expect(summary.ecosystems.keys.sorted() == [ecosystem])
            #expect(summary.total.added == RealData.records[ecosystem])
            #expect(summary.total.withdrawn == RealData.withdrawn[ecosystem])
            #expect(summary.total.updated == 0 && summary.total.unchanged == 0 && summary.total.skipped == 0)
            #expect(summary.skipped.isEmpty)
        }
        let status = try imported.database.status()
        #expect(status.records == 8158)
        #expect(status.withdrawn == 40)
        #expect(status.ecosystems.map(\.ecosystem) == ["Go", "PyPI", "crates.io"])
        for entry in status.ecosystems {
            #expect(entry.records == RealData.records[entry.ecosystem])
            #expect(entry.withdrawn == RealData.withdrawn[entry.ecosystem])
            #expect(entry.packages > 100)
        }
        let byName = Dictionary(uniqueKeysWithValues: status.ecosystems.map { ($0.ecosystem, $0) })
        // state.json keeps whole seconds.
        let pypi = try #require(byName["PyPI"]?.newestModified)
        #expect(abs(pypi.timeIntervalSince(Timestamp.parse("2024-10-10T17:22:00.587279Z")!)) < 1)
        #expect(byName["crates.io"]?.newestModified == Timestamp.parse("2026-08-21T06:28:40Z"))
        // The Go export writes the zero time for every record: no date is better than year 1.
        #expect(byName["Go"]?.newestModified == nil)
        #expect(status.newestModified == byName["crates.io"]?.newestModified)
        #expect(status.sources.map(\.path) == RealData.zips.sorted())
        #expect(status.sources.map(\.records).reduce(0, +) == 8158)
        #expect(status.lastUpdated != nil)
    }

    @Test func reimportReportsEverythingUnchangedAndWritesNoDataFile() throws {
        let copy = try RealData.imported.copy()
        defer { copy.root.remove() }
        let before = try dataFiles(copy.directory)
        // The folder holding the three zips this time: the same records by another route.
        let summary = try copy.database.update(from: RealData.folder)
        #expect(summary.total == UpdateSummary.Counts(added: 0, updated: 0, unchanged: 8158, skipped: 0, withdrawn: 40))
        #expect(summary.ecosystems["Go"]?.unchanged == 4291)
        #expect(summary.filesWritten == 0)
        #expect(try dataFiles(copy.directory) == before)
        #expect(try copy.database.status().sources.count == 4)
    }

    @Test func aChangedRecordReplacesTheStoredCopyAndAnOlderOneDoesNot() throws {
        let copy = try RealData.imported.copy()
        defer { copy.root.remove() }
        var record = try #require(try copy.database.advisories(ecosystem: .cratesIO, name: "wasmtime")
            .first { $0.id == "RUSTSEC-2023-0090" })
        record.modified = "2027-01-01T00:00:00Z"
        record.summary = "Changed upstream"
        try copy.root.write("changed/RUSTSEC-2023-0090.json", String(decoding: try JSONEncoder().encode(record), as: UTF8.self))

        let summary = try copy.database.update(from: copy.root.root.appendingPathComponent("changed").path)
        #expect(summary.total == UpdateSummary.Counts(added: 0, updated: 1, unchanged: 0, skipped: 0, withdrawn: 0))
        #expect(summary.ecosystems["crates.io"]?.updated == 1)
        #expect(summary.filesWritten > 0)
        let stored = try copy.database.advisories(ecosystem: .cratesIO, name: "wasmtime").filter { $0.id == "RUSTSEC-2023-0090" }
        #expect(stored.map(\.summary) == ["Changed upstream"])
        #expect(try copy.database.status().records == 8158)

        // The original export is now older than what is stored: it is skipped, not restored.
        let again = try copy.database.update(from: RealData.zips[2])
        #expect(again.total.unchanged == 1205)
        #expect(again.total.skipped == 1)
        #expect(again.skipped.map(\.id) == ["RUSTSEC-2023-0090"])
        #expect(again.skipped.first?.reason.hasPrefix("older than the stored copy") == true)
        #expect(try copy.database.advisories(ecosystem: .cratesIO, name: "wasmtime")
            .first { $0.id == "RUSTSEC-2023-0090" }?.summary == "Changed upstream")
    }

    @Test func malformedRecordsAreSkippedWithTheReason() throws {
        let scratch = try Scratch([:])
        defer { scratch.root.remove() }
        try scratch.root.write("osv/a-not-json.json", "{\"id\": \"BAD-1\", ")
        try scratch.root.write("osv/b-no-modified.json", #"{"id": "BAD-2", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}}]}"#)
        try scratch.root.write("osv/c-two-keys.json", """
            {"id": "BAD-3", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "npm", "name": "x"},
             "ranges": [{"type": "SEMVER", "events": [{"introduced": "0", "fixed": "1.0.0"}]}]}]}
            """)
        try scratch.root.write("osv/d-wrong-type.json", #"{"id": 7, "modified": "2024-01-01T00:00:00Z"}"#)
        try scratch.root.write("osv/e-good.json", osv("GOOD-1"))
        try scratch.root.write("osv/nested/deeper/f-good.json", osv("GOOD-2", name: "other"))
        try scratch.root.write("osv/notes.txt", "not a record")

        let summary = try scratch.database.update(from: scratch.osvFolder)
        #expect(summary.total.added == 2)
        #expect(summary.total.skipped == 4)
        let reasons = Dictionary(uniqueKeysWithValues: summary.skipped.map { ($0.origin, $0.reason) })
        #expect(reasons["a-not-json.json"] == "not valid JSON")
        #expect(reasons["b-no-modified.json"] == "missing modified")
        #expect(reasons["c-two-keys.json"]?.hasPrefix("affected[0].ranges[0].events[0]: an event needs exactly one of") == true)
        #expect(reasons["d-wrong-type.json"]?.hasPrefix("id: expected") == true)
        #expect(summary.skipped.first { $0.origin == "b-no-modified.json" }?.id == "BAD-2")
        #expect(summary.ecosystems["PyPI"]?.skipped == 1)
        #expect(summary.ecosystems["npm"]?.skipped == 1)
        #expect(summary.ecosystems["(unknown)"]?.skipped == 2)
        #expect(try scratch.database.status().records == 2)
        #expect(try scratch.database.advisories(ecosystem: .pypi, name: "other").map(\.id) == ["GOOD-2"])
    }

    @Test func lookupsNormaliseNamesAsTheEcosystemDoes() throws {
        let database = RealData.imported.database
        let distributed = try database.advisories(ecosystem: .pypi, name: "distributed").map(\.id)
        #expect(Set(distributed).isSuperset(of: ["PYSEC-2021-871", "PYSEC-2021-872"]))
        #expect(try database.advisories(ecosystem: .pypi, name: "Distributed").map(\.id) == distributed)
        #expect(try database.advisories(ecosystem: .pypi, name: "JW_Util").map(\.id) == ["PYSEC-2020-341"])
        // Go module paths are case-sensitive.
        #expect(try !database.advisories(ecosystem: .go, name: "github.com/coder/coder/v2").isEmpty)
        #expect(try database.advisories(ecosystem: .go, name: "github.com/Coder/coder/v2").isEmpty)
        // Withdrawn records are not returned.
        #expect(try !database.advisories(ecosystem: .pypi, name: "pynetbox").map(\.id).contains("PYSEC-2023-141"))
        #expect(try database.advisories(ecosystem: .npm, name: "left-pad").isEmpty)
    }

    @Test func aNeverUpdatedDatabaseIsEmpty() throws {
        let root = try TestRepo(git: false)
        defer { root.remove() }
        let database = try AdvisoryDatabase.open(at: root.root.appendingPathComponent("missing").path)
        let status = try database.status()
        #expect(status.records == 0 && status.lastUpdated == nil && status.ecosystems.isEmpty)
        #expect(try database.advisories(ecosystem: .pypi, name: "django").isEmpty)
        #expect(try AdvisoryMatcher.match([pkg(.pypi, "django", "1.0")], database: database).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: root.root.appendingPathComponent("missing").path))
    }

    @Test func aReaderOpenedBeforeAnUpdateKeepsReadingItsState() throws {
        let copy = try RealData.imported.copy()
        defer { copy.root.remove() }
        let reader = try AdvisoryDatabase.open(at: copy.directory)
        #expect(try reader.advisories(ecosystem: .pypi, name: "distributed").contains { $0.id == "PYSEC-2021-871" })

        var record = try #require(try reader.advisories(ecosystem: .pypi, name: "distributed").first { $0.id == "PYSEC-2021-871" })
        record.modified = "2030-01-01T00:00:00Z"
        record.affected[0].package.name = "distributed-renamed"
        try copy.root.write("changed/PYSEC-2021-871.json", String(decoding: try JSONEncoder().encode(record), as: UTF8.self))
        let writer = try AdvisoryDatabase.open(at: copy.directory)
        _ = try writer.update(from: copy.root.root.appendingPathComponent("changed").path)

        // The reader still sees the state it opened, including indexes it had not loaded yet.
        #expect(try reader.advisories(ecosystem: .pypi, name: "distributed").contains { $0.id == "PYSEC-2021-871" })
        #expect(try reader.advisories(ecosystem: .cratesIO, name: "wasmtime").contains { $0.id == "RUSTSEC-2023-0090" })
        // The writer, and anyone opening now, sees the new one.
        #expect(try !writer.advisories(ecosystem: .pypi, name: "distributed").contains { $0.id == "PYSEC-2021-871" })
        let fresh = try AdvisoryDatabase.open(at: copy.directory)
        #expect(try fresh.advisories(ecosystem: .pypi, name: "distributed-renamed").map(\.id) == ["PYSEC-2021-871"])
    }

    @Test func updatesRemoveWhatNoStateUsesAndCompactSupersededCopies() throws {
        let scratch = try Scratch(["a.json": osv("A-1"), "b.json": osv("B-1", name: "other")])
        defer { scratch.root.remove() }
        try Data("left by a crashed update".utf8)
            .write(to: URL(fileURLWithPath: scratch.database.directory).appendingPathComponent(".tmp-crashed"))
        for round in 1...12 {
            try scratch.root.write("osv/a.json", osv("A-1", modified: "2024-02-\(String(format: "%02d", round))T00:00:00Z"))
            let summary = try scratch.database.update(from: scratch.osvFolder)
            #expect(summary.total.updated == 1 && summary.total.unchanged == 1)
        }
        let state = try #require(try StoredState.load(directory: scratch.database.directory))
        let onDisk = Set(try FileManager.default.contentsOfDirectory(atPath: scratch.database.directory))
        #expect(onDisk == Set(state.files + state.retained + [StoredState.fileName, ".lock"]))
        // Each round superseded one copy of A-1; compaction keeps the packs near the live size.
        #expect(state.files.filter { $0.hasPrefix("pack-") }.count <= 2)
        #expect(try scratch.database.advisories(ecosystem: .pypi, name: "demo").map(\.modified) == ["2024-02-12T00:00:00Z"])
    }

    /// Data files (everything but state.json) and their modification times.
    private func dataFiles(_ directory: String) throws -> [String: Date] {
        var result: [String: Date] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name != StoredState.fileName {
            let attributes = try FileManager.default.attributesOfItem(atPath: (directory as NSString).appendingPathComponent(name))
            result[name] = attributes[.modificationDate] as? Date
        }
        return result
    }
}
