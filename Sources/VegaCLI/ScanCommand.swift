import ArgumentParser
import Foundation
import VegaModel
import VegaReports
import VegaScanner

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, sarif
}

extension FailThreshold: ExpressibleByArgument {}

struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Scan a directory, an archive (tar, tar.gz, zip) or a git repository URL.",
        discussion: """
        Exit status: 0 when no finding is at or above --fail-on, 1 when one is, 2 on a usage or runtime error.
        A git URL (https://, ssh://, git@host:path, file://) is cloned shallow into a temporary folder and removed afterwards.
        An archive (told by its content, not its name) is extracted into a temporary folder, removed afterwards; \
        absolute or '..' paths, links leaving the archive and device entries are refused, as are more than \
        20,000 entries, more than 1 GiB uncompressed and a compression ratio above 100.
        """
    )

    @Argument(help: "A directory, an archive (tar, tar.gz, zip), or a git URL (https, ssh, file).")
    var source: String = "."

    @Option(help: "Output format: table (default on a terminal), json (default otherwise) or sarif.")
    var format: OutputFormat?

    @Option(name: [.short, .long], help: "Write the report to this file instead of standard output.")
    var output: String?

    @Option(name: .customLong("fail-on"), help: "Exit 1 when a finding is at or above this severity: critical, high, medium, low or none (default: high, or the config's fail_on).")
    var failOn: FailThreshold?

    @Option(help: "Report only findings whose fingerprint is not in this earlier JSON or SARIF report.")
    var baseline: String?

    @Option(help: "Config file (default: .vega.yaml in the scanned root, if present).")
    var config: String?

    @Option(help: "Comma-separated engines to run (available: \(EngineRegistry.available.joined(separator: ", "))).")
    var engines: String?

    @Option(name: .customLong("max-file-size"), help: "Skip files larger than this (e.g. 512KB, 10MB; default 10MB).")
    var maxFileSize: String?

    @Option(name: .customLong("exclude"), help: "Skip paths matching this gitignore-style pattern (repeatable).")
    var excludes: [String] = []

    @Flag(help: "Scan every commit's added lines in the git history instead of the working tree.")
    var history = false

    @Option(help: "For a git URL: the branch, tag or full commit id to scan (default: the remote's default branch).")
    var ref: String?

    @Option(name: .customLong("clone-timeout"), help: "Seconds allowed for cloning a git URL.")
    var cloneTimeout: Int = 300

    @Flag(name: .customLong("no-progress"), help: "Never draw progress on standard error.")
    var noProgress = false

    @Option(name: .customLong("data-dir"), help: "Vega's data folder, which holds the advisory database (default: $VEGA_DATA_DIR, else ./vega-data).")
    var dataDirectory: String?

    func validate() throws {
        if let maxFileSize, ByteSize(parsing: maxFileSize) == nil {
            throw ValidationError("--max-file-size '\(maxFileSize)' is not a size such as 512KB or 10MB")
        }
        if cloneTimeout <= 0 { throw ValidationError("--clone-timeout must be a positive number of seconds") }
        if let engines {
            let unknown = engineList(engines).filter { !EngineRegistry.available.contains($0) }
            if !unknown.isEmpty {
                throw ValidationError("unknown engine(s): \(unknown.joined(separator: ", ")) (available: \(EngineRegistry.available.joined(separator: ", ")))")
            }
        }
    }

    func run() async throws {
        let request = ScanRequest(
            source: source, configPath: config, engines: engines.map(engineList),
            maxFileSize: maxFileSize.flatMap { ByteSize(parsing: $0)?.bytes }, excludes: excludes,
            history: history, baselinePath: baseline, cloneTimeout: .seconds(cloneTimeout), ref: ref, dataDirectory: dataDirectory
        )
        let progress = (!noProgress && Terminal.stderrIsTTY) ? ProgressLine() : nil
        let scan = Task { try await Scanner.run(request) { event in progress?.update(event) } }
        // Ctrl-C or SIGTERM cancels the scan, so a temporary clone is still removed.
        let interrupts = Terminal.onInterrupt { scan.cancel() }
        defer { interrupts.forEach { $0.cancel() } }
        let outcome: ScanOutcome
        do {
            outcome = try await scan.value
        } catch {
            progress?.finish()
            throw error
        }
        progress?.finish()

        let chosen = format ?? defaultFormat()
        let data: Data
        switch chosen {
        case .json: data = try JSONReport.encode(outcome.report)
        case .sarif: data = try SARIFReport.encode(outcome.report)
        case .table:
            let colour = output == nil && Terminal.stdoutIsTTY && Terminal.colorAllowed
            data = Data(TableReport.render(outcome.report, color: colour, width: Terminal.width).utf8)
        }
        try Self.emit(data, to: output)
        Terminal.printWarnings(outcome.report.warnings)
        for note in outcome.report.engines.flatMap({ $0.coverage.notes ?? [] }) {
            Terminal.writeError("vega: note: \(note)")
        }

        let threshold = failOn ?? outcome.config.failOn ?? .high
        if threshold.fails(outcome.report.findings) { throw PolicyFailure() }
    }

    /// Writes a report to `path`, or to standard output when there is none.
    static func emit(_ data: Data, to path: String?) throws {
        guard let path else {
            FileHandle.standardOutput.write(data)
            if data.last != 0x0A { FileHandle.standardOutput.write(Data("\n".utf8)) }
            return
        }
        try write(data, to: path)
    }

    /// Regular files are replaced atomically so a reader never sees half a report; anything
    /// else (`/dev/null`, a FIFO, `/dev/stdout`) is written in place — renaming over a
    /// device would replace it with a plain file.
    static func write(_ data: Data, to path: String) throws {
        var info = stat()
        let isSpecial = stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG
        do {
            if isSpecial {
                guard let handle = FileHandle(forWritingAtPath: path) else {
                    throw CocoaError(.fileWriteNoPermission)
                }
                defer { try? handle.close() }
                try handle.write(contentsOf: data)
            } else {
                try data.write(to: URL(fileURLWithPath: path), options: .atomic)
            }
        } catch {
            throw ScanError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    private func defaultFormat() -> OutputFormat {
        if let output {
            if output.hasSuffix(".sarif") || output.hasSuffix(".sarif.json") { return .sarif }
            return .json
        }
        return Terminal.stdoutIsTTY ? .table : .json
    }

    private func engineList(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
