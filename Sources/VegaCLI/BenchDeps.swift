import ArgumentParser
import Foundation
import VegaAdvisories
import VegaLockfiles
import VegaModel
import VegaScanner
import VegaWorkspace

extension BenchCommand {
    /// Lockfile parsing, advisory import and matching speed, on osv-scalibr's real fixtures,
    /// on generated 50k-package lockfiles, and on the real OSV exports.
    struct Deps: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure lockfile parsing (packages/s), advisory import and matching.",
            discussion: """
            Parses every fixture of --fixtures (osv-scalibr's, listed in its expected.jsonl), then lockfiles of \
            --packages packages each that it generates (requirements.txt, Cargo.lock, go.mod, package-lock.json), \
            imports --advisories into a fresh database and matches every generated package against it. \
            With --peer-cyclonedx, also times cyclonedx-py (CycloneDX's Python SBOM tool) against `vega sbom` on \
            a generated requirements.txt of --peer-packages packages (cyclonedx-py slows down quadratically: at 50k \
            packages it does not finish in 10 minutes). Each figure is the best of --runs.
            """
        )

        @Option(help: "osv-scalibr's lockfile fixtures (a folder with expected.jsonl).")
        var fixtures = "../shared/sca/fixtures"

        @Option(help: "OSV exports to import (folder of JSON files or zips).")
        var advisories = "../shared/sca/advisories"

        @Option(help: "Packages in each generated lockfile.")
        var packages = 50_000

        @Option(help: "How many times to time each step; the fastest is reported.")
        var runs = 3

        @Option(name: .customLong("peer-cyclonedx"), help: "Path to the cyclonedx-py executable, to time it side by side.")
        var peerCycloneDX: String?

        @Option(name: .customLong("peer-packages"), help: "Packages in the requirements.txt both SBOM tools read.")
        var peerPackages = 5_000

        @Option(name: .customLong("peer-timeout"), help: "Seconds one peer run may take before it is stopped.")
        var peerTimeout = 600

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        func validate() throws {
            if runs < 1 { throw ValidationError("--runs must be at least 1") }
            if packages < 1 || peerPackages < 1 { throw ValidationError("--packages and --peer-packages must be at least 1") }
            if peerTimeout < 1 { throw ValidationError("--peer-timeout must be a positive number of seconds") }
            for (flag, path) in [("--fixtures", fixtures), ("--advisories", advisories)] where !FileManager.default.fileExists(atPath: path) {
                throw ValidationError("\(flag) \(path): no such file or folder")
            }
        }

        func run() async throws {
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("vega-bench-deps-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: work) }
            let (fixtures, packages, advisories, runs) = (self.fixtures, self.packages, self.advisories, self.runs)
            let peer = peerCycloneDX.map { DepsBenchmark.PeerOptions(executable: $0, packages: peerPackages, timeout: peerTimeout) }
            let result = try await BlockingWork.run {
                try DepsBenchmark(work: work, runs: runs).run(
                    fixtures: fixtures, packages: packages, advisories: advisories, peer: peer
                )
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                encoder.keyEncodingStrategy = .convertToSnakeCase
                try ScanCommand.emit(encoder.encode(result), to: nil)
            } else {
                print(result.text)
            }
        }
    }
}

/// What `vega bench deps` measured.
struct DepsBenchmarkResult: Encodable {
    struct Parse: Encodable {
        var name: String
        var files: Int
        var packages: Int
        var megabytes: Double
        var seconds: Double
        var packagesPerSecond: Double
    }

    struct Import: Encodable {
        var records: Int
        var seconds: Double
        var recordsPerSecond: Double
        /// The same import again: nothing changed, nothing rewritten.
        var reimportSeconds: Double
    }

    struct Match: Encodable {
        var packages: Int
        var vulnerablePackages: Int
        var matches: Int
        var seconds: Double
        var packagesPerSecond: Double
    }

    struct Peer: Encodable {
        var tool: String
        var version: String
        var command: String
        var packages: Int
        /// The peer's best time; when it timed out, the timeout (a lower bound).
        var seconds: Double
        var timedOut: Bool
        var vegaSeconds: Double
        /// Peer time over Vega time on the same file (a lower bound when the peer timed out).
        var ratio: Double
    }

    var fixtures: Parse
    var generated: [Parse]
    var advisoryImport: Import
    var match: Match
    var peer: Peer?
    var peakRssMb: Double
    var runs: Int

    var text: String {
        func line(_ p: Parse) -> String {
            String(format: "  %@: %d files, %d packages, %.1f MB in %.3f s = %.0f packages/s",
                   p.name, p.files, p.packages, p.megabytes, p.seconds, p.packagesPerSecond)
        }
        var lines = ["parse (one thread, best of \(runs)):", line(fixtures)] + generated.map(line)
        lines.append(String(format: "import: %d OSV records in %.3f s = %.0f records/s; unchanged re-import %.3f s",
                            advisoryImport.records, advisoryImport.seconds, advisoryImport.recordsPerSecond,
                            advisoryImport.reimportSeconds))
        lines.append(String(format: "match: %d packages (%d vulnerable, %d findings) in %.3f s = %.0f packages/s",
                            match.packages, match.vulnerablePackages, match.matches, match.seconds, match.packagesPerSecond))
        if let peer {
            lines.append(String(format: "peer: `%@` (%@) on %d packages: %@%.3f s; `vega sbom` %.3f s; Vega is %@%.1f× faster",
                                peer.command, peer.version, peer.packages, peer.timedOut ? ">" : "", peer.seconds,
                                peer.vegaSeconds, peer.timedOut ? "over " : "", peer.ratio))
        }
        lines.append(String(format: "peak memory %.1f MB", peakRssMb))
        return lines.joined(separator: "\n")
    }
}

/// The measurements behind `vega bench deps`; blocking, run off the cooperative pool.
struct DepsBenchmark {
    let work: String
    let runs: Int

    struct PeerOptions: Sendable {
        var executable: String
        var packages: Int
        var timeout: Int
    }

    func run(fixtures: String, packages: Int, advisories: String, peer peerOptions: PeerOptions?) throws -> DepsBenchmarkResult {
        let database = try AdvisoryDatabase.open(at: (work as NSString).appendingPathComponent("advisories"))
        let importStart = ContinuousClock.now
        let imported = try database.update(from: advisories)
        let importSeconds = (ContinuousClock.now - importStart).seconds
        let reimportStart = ContinuousClock.now
        _ = try database.update(from: advisories)
        let reimportSeconds = (ContinuousClock.now - reimportStart).seconds
        let records = imported.total.added + imported.total.updated + imported.total.unchanged

        let fixtureResult = try parseFixtures(fixtures)
        var generated: [DepsBenchmarkResult.Parse] = []
        var allPackages: [Package] = []
        for lockfile in try generate(packages: packages, database: database) {
            let path = (work as NSString).appendingPathComponent(lockfile.name)
            try Data(lockfile.contents.utf8).write(to: URL(fileURLWithPath: path))
            let parser = Lockfiles.parser(for: lockfile.name)!
            let bytes = [UInt8](lockfile.contents.utf8)
            var graph: DependencyGraph?
            let seconds = try best { graph = try parser.parse(bytes, path: lockfile.name).graph }
            let count = graph?.packages.count ?? 0
            allPackages += graph?.packages ?? []
            generated.append(.init(
                name: "generated \(lockfile.name)", files: 1, packages: count, megabytes: Double(bytes.count) / 1_048_576,
                seconds: seconds, packagesPerSecond: Double(count) / seconds
            ))
        }

        var matches: [VulnerabilityMatch] = []
        let matchSeconds = try best { matches = try AdvisoryMatcher.match(allPackages, database: database) }
        let vulnerable = Set(matches.map(\.package.key)).count

        var peer: DepsBenchmarkResult.Peer?
        if let peerOptions { peer = try timePeer(peerOptions) }
        return DepsBenchmarkResult(
            fixtures: fixtureResult, generated: generated,
            advisoryImport: .init(records: records, seconds: importSeconds, recordsPerSecond: Double(records) / importSeconds,
                                  reimportSeconds: reimportSeconds),
            match: .init(packages: allPackages.count, vulnerablePackages: vulnerable, matches: matches.count,
                         seconds: matchSeconds, packagesPerSecond: Double(allPackages.count) / matchSeconds),
            peer: peer, peakRssMb: BenchCommand.peakResidentMegabytes(), runs: runs
        )
    }

    /// The fastest of `runs` timings of `body`.
    func best(_ body: () throws -> Void) throws -> Double {
        var fastest = Double.infinity
        for _ in 0..<runs {
            let start = ContinuousClock.now
            try body()
            fastest = min(fastest, (ContinuousClock.now - start).seconds)
        }
        return max(fastest, 1e-9)
    }

    /// Every fixture named in expected.jsonl whose format Vega supports, read into memory
    /// first so only parsing is timed. Fixtures that are meant to fail still count as files.
    func parseFixtures(_ folder: String) throws -> DepsBenchmarkResult.Parse {
        struct Entry: Decodable { var file: String; var format: String }
        let listing = (folder as NSString).appendingPathComponent("expected.jsonl")
        guard let text = try? String(contentsOfFile: listing, encoding: .utf8) else {
            throw ScanError("--fixtures \(folder) has no readable expected.jsonl")
        }
        var inputs: [(parser: any LockfileParser, path: String, bytes: [UInt8])] = []
        for line in text.split(separator: "\n") {
            guard let entry = try? JSONDecoder().decode(Entry.self, from: Data(line.utf8)),
                  let parser = Lockfiles.parsers.first(where: { $0.format == entry.format }),
                  let data = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent(entry.file))
            else { continue }
            inputs.append((parser, entry.file, [UInt8](data)))
        }
        var count = 0
        let seconds = try LockfileFiles.$root.withValue(folder) {
            try best {
                count = 0
                for input in inputs {
                    count += (try? input.parser.parse(input.bytes, path: input.path))?.graph.packages.count ?? 0
                }
            }
        }
        let bytes = inputs.map(\.bytes.count).reduce(0, +)
        return .init(name: "osv-scalibr fixtures", files: inputs.count, packages: count,
                     megabytes: Double(bytes) / 1_048_576, seconds: seconds, packagesPerSecond: Double(count) / seconds)
    }

    /// Lockfiles of `packages` entries each. Names with advisories come first (so matching does
    /// real work, at versions old enough to be affected), then made-up names fill the rest.
    func generate(packages: Int, database: AdvisoryDatabase) throws -> [(name: String, contents: String)] {
        func names(_ ecosystem: String, filler: (Int) -> String) throws -> [String] {
            let real = try database.packageNames(ecosystem: ecosystem).prefix(packages)
            return Array(real) + (real.count..<packages).map(filler)
        }
        let pypi = try names("PyPI") { String(format: "bench-package-%06d", $0) }
        let crates = try names("crates.io") { String(format: "bench-crate-%06d", $0) }
        let modules = try names("Go") { String(format: "example.com/bench/module%06d", $0) }

        var requirements = "# generated by vega bench deps\n"
        for (i, name) in pypi.enumerated() { requirements += "\(name)==1.\(i % 10).0\n" }

        var cargo = "version = 3\n"
        for (i, name) in crates.enumerated() {
            cargo += "\n[[package]]\nname = \"\(name)\"\nversion = \"0.\(i % 10).0\"\n"
            cargo += "source = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
            cargo += "checksum = \"\(String(repeating: "ab", count: 32))\"\n"
        }

        var gomod = "module example.com/bench\n\ngo 1.22\n\nrequire (\n"
        for (i, name) in modules.enumerated() { gomod += "\t\(name) v0.\(i % 10).0\n" }
        gomod += ")\n"

        var npm = "{\n  \"name\": \"bench\",\n  \"version\": \"1.0.0\",\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {\n"
        npm += "    \"\": {\n      \"name\": \"bench\",\n      \"version\": \"1.0.0\"\n    }"
        for i in 0..<packages {
            let name = String(format: "bench-npm-%06d", i)
            npm += ",\n    \"node_modules/\(name)\": {\n      \"version\": \"1.\(i % 10).0\",\n"
            npm += "      \"resolved\": \"https://registry.npmjs.org/\(name)/-/\(name)-1.\(i % 10).0.tgz\",\n"
            npm += "      \"integrity\": \"sha512-\(String(repeating: "A", count: 86))==\"\n    }"
        }
        npm += "\n  }\n}\n"
        return [("requirements.txt", requirements), ("Cargo.lock", cargo), ("go.mod", gomod), ("package-lock.json", npm)]
    }

    /// cyclonedx-py turning a generated requirements.txt into a CycloneDX SBOM, against
    /// `vega sbom` doing the same: the closest offline peer to Vega's lockfile → SBOM step.
    /// Both are timed as whole processes (start-up and writing the document included), taking
    /// turns run by run so a noisy spell hits both alike. cyclonedx-py runs with
    /// `--no-validate`: Vega does not validate its output at run time either (its tests do).
    func timePeer(_ options: PeerOptions) throws -> DepsBenchmarkResult.Peer {
        let folder = (work as NSString).appendingPathComponent("sbom-input")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let requirements = (folder as NSString).appendingPathComponent("requirements.txt")
        let lines = (0..<options.packages).map { String(format: "bench-package-%06d==1.%d.0\n", $0, $0 % 10) }
        try Data(lines.joined().utf8).write(to: URL(fileURLWithPath: requirements))
        let vega = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        let version = try runPeer(options.executable, ["--version"], timeout: 60) ?? "?"
        let peerArguments = ["requirements", requirements, "--no-validate", "-o", (work as NSString).appendingPathComponent("peer.cdx.json")]
        var (peerBest, vegaBest, timedOut) = (Double.infinity, Double.infinity, false)
        for _ in 0..<runs where !timedOut {
            var start = ContinuousClock.now
            if try runPeer(options.executable, peerArguments, timeout: options.timeout) == nil {
                timedOut = true
                peerBest = Double(options.timeout)
            } else {
                peerBest = min(peerBest, (ContinuousClock.now - start).seconds)
            }
            start = ContinuousClock.now
            _ = try runPeer(vega, ["sbom", folder, "-o", (work as NSString).appendingPathComponent("vega.cdx.json")], timeout: options.timeout)
            vegaBest = min(vegaBest, (ContinuousClock.now - start).seconds)
        }
        return .init(tool: "cyclonedx-py", version: version.trimmingCharacters(in: .whitespacesAndNewlines),
                     command: "cyclonedx-py requirements FILE --no-validate -o OUT", packages: options.packages,
                     seconds: peerBest, timedOut: timedOut, vegaSeconds: vegaBest, ratio: peerBest / vegaBest)
    }

    /// Runs a tool and returns its standard output; nil when it ran past `timeout` seconds
    /// (its process group is then killed).
    private func runPeer(_ executable: String, _ arguments: [String], timeout: Int) throws -> String? {
        var output: [UInt8] = []
        let completion = try Subprocess([executable] + arguments)
            .communicate(deadline: .now + .seconds(timeout)) { output.append(contentsOf: $0) }
        switch completion.outcome {
        case .timedOut: return nil
        case .exited(0): return String(decoding: output, as: UTF8.self)
        default:
            throw ScanError("\(executable) \(arguments.joined(separator: " ")): \(completion.outcome): \(completion.stderr)")
        }
    }
}
