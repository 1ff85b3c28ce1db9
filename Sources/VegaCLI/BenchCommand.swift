import ArgumentParser
import Foundation
import VegaModel
import VegaScanner

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Vega on real code.",
        subcommands: [Scan.self, Deps.self, API.self, Queue.self]
    )

    struct Scan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Scan PATH and print files, MB, seconds, MB/s and peak memory (best of --runs)."
        )

        @Argument(help: "The directory to scan.")
        var path: String

        @Option(help: "Comma-separated engines.")
        var engines: String = "secrets"

        @Option(help: "How many times to scan; the fastest run is reported.")
        var runs: Int = 3

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        func validate() throws {
            if runs < 1 { throw ValidationError("--runs must be at least 1") }
        }

        func run() async throws {
            var best: (seconds: Double, report: ScanReport)?
            for _ in 0..<runs {
                let clock = ContinuousClock.now
                let outcome = try await Scanner.run(ScanRequest(
                    source: path, engines: engines.split(separator: ",").map(String.init)
                ))
                let seconds = (ContinuousClock.now - clock).seconds
                if best == nil || seconds < best!.seconds { best = (seconds, outcome.report) }
            }
            guard let best else { return }
            let files = best.report.engines.map(\.coverage.filesScanned).max() ?? 0
            let megabytes = Double(best.report.engines.map(\.coverage.bytesScanned).max() ?? 0) / 1_048_576
            let peak = BenchCommand.peakResidentMegabytes()
            if json {
                let object: [String: Any] = [
                    "path": path, "files": files, "megabytes": megabytes, "seconds": best.seconds,
                    "mb_per_second": megabytes / best.seconds, "peak_rss_mb": peak,
                    "findings": best.report.findings.count, "runs": runs,
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(String(
                    format: "%@: %d files, %.1f MB in %.3f s = %.1f MB/s, peak memory %.1f MB, %d findings (best of %d)",
                    path, files, megabytes, best.seconds, megabytes / best.seconds, peak, best.report.findings.count, runs
                ))
            }
        }
    }

    /// Linux reports ru_maxrss in KiB: the high-water mark of the whole process.
    static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
