import ArgumentParser
import Foundation
import VegaAdvisories
import VegaScanner
import VegaWorkspace

struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Manage the local OSV advisory database that the deps engine matches against.",
        subcommands: [Update.self, Status.self]
    )

    struct DataOptions: ParsableArguments {
        @Option(name: .customLong("data-dir"), help: "Vega's data folder (default: $VEGA_DATA_DIR, else ./vega-data).")
        var dataDirectory: String?

        var advisories: String { DataDirectory.advisories(in: DataDirectory.resolve(dataDirectory)) }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import OSV records: a folder of OSV JSON files, an OSV export zip (all.zip), or a folder of zips.",
            discussion: """
            Incremental: unchanged records are not rewritten, and records absent from this import are kept, \
            so ecosystems can be imported one at a time. Works offline; see docs/dependencies.md for where to get the data.
            """
        )

        @OptionGroup var location: DataOptions

        @Option(help: "The OSV records to import.")
        var from: String

        @Flag(help: "Print the import summary as JSON.")
        var json = false

        func run() async throws {
            let source = from
            guard FileManager.default.fileExists(atPath: source) else {
                throw ValidationError("--from \(source): no such file or folder")
            }
            let database = try AdvisoryDatabase.open(at: location.advisories)
            Terminal.writeError("vega: importing \(source) into \(database.directory) …")
            let summary = try await BlockingWork.run { try database.update(from: source) }
            if json {
                try ScanCommand.emit(Self.encoder.encode(summary), to: nil)
                return
            }
            print(Self.describe(summary))
        }

        static var encoder: JSONEncoder {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            // snake_case like every other JSON Vega writes.
            encoder.keyEncodingStrategy = .convertToSnakeCase
            return encoder
        }

        static func describe(_ summary: UpdateSummary) -> String {
            func counts(_ c: UpdateSummary.Counts) -> String {
                "\(c.added) added, \(c.updated) updated, \(c.unchanged) unchanged, \(c.skipped) skipped (\(c.withdrawn) withdrawn)"
            }
            var lines = ["imported \(summary.source): \(counts(summary.total))"]
            for ecosystem in summary.ecosystems.keys.sorted() {
                lines.append("  \(ecosystem): \(counts(summary.ecosystems[ecosystem]!))")
            }
            for skip in summary.skipped.prefix(20) {
                lines.append("  skipped \(skip.origin)\(skip.id.map { " (\($0))" } ?? ""): \(skip.reason)")
            }
            if summary.skipped.count > 20 { lines.append("  … and \(summary.skipped.count - 20) more skipped (see --json)") }
            return lines.joined(separator: "\n")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say what the advisory database holds and how old it is.")

        @OptionGroup var location: DataOptions

        @Flag(help: "Print the status as JSON.")
        var json = false

        func run() async throws {
            let status = try AdvisoryDatabase.open(at: location.advisories).status()
            if json {
                try ScanCommand.emit(Update.encoder.encode(status), to: nil)
                return
            }
            print(Self.describe(status, now: Date()))
        }

        static func describe(_ status: DatabaseStatus, now: Date) -> String {
            guard status.records > 0 else {
                return """
                advisory database \(status.directory) is empty: dependencies are inventoried but not checked.
                Import OSV data with `vega db update --from PATH` (see docs/dependencies.md).
                """
            }
            var lines = [
                "advisory database \(status.directory)",
                "records: \(status.records) (\(status.withdrawn) withdrawn)",
            ]
            if let updated = status.lastUpdated { lines.append("last updated: \(stamp(updated)) (\(age(updated, now: now)) ago)") }
            if let newest = status.newestModified {
                lines.append("newest advisory: modified \(stamp(newest)) (\(age(newest, now: now)) ago)")
            }
            let rows = [["ECOSYSTEM", "RECORDS", "WITHDRAWN", "PACKAGES", "NEWEST"]] + status.ecosystems.map { e in
                [e.ecosystem, String(e.records), String(e.withdrawn), String(e.packages), e.newestModified.map(stamp) ?? "-"]
            }
            let widths = (0..<5).map { column in rows.map { $0[column].count }.max()! }
            for row in rows {
                lines.append(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
            }
            lines.append("sources:")
            for source in status.sources {
                lines.append("  \(source.path): \(source.records) records, imported \(stamp(source.importedAt))")
            }
            return lines.joined(separator: "\n")
        }

        static func stamp(_ date: Date) -> String {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
            return formatter.string(from: date) + " UTC"
        }

        /// "3 days", "5 hours", "12 minutes": how stale the data is, at a glance.
        static func age(_ date: Date, now: Date) -> String {
            let seconds = max(0, Int(now.timeIntervalSince(date)))
            let (value, unit) = seconds >= 86_400 ? (seconds / 86_400, "day")
                : seconds >= 3_600 ? (seconds / 3_600, "hour") : (seconds / 60, "minute")
            return "\(value) \(unit)\(value == 1 ? "" : "s")"
        }
    }
}
