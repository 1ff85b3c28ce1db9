import Foundation
import VegaAdvisories
import VegaModel
import VegaWorkspace

/// The `deps` engine: reads every lockfile in the tree, matches the packages against the
/// local OSV database and reports one finding per vulnerability per installed package.
/// With no database it still inventories the packages (for SBOMs) and says in its coverage
/// that nothing was checked, so an empty result is never mistaken for a clean one.
public struct DependencyEngine: ScanEngine {
    public static let engineID = "deps"
    /// "Dependency on Vulnerable Third-Party Component".
    static let cwe = "CWE-1395"

    public let id = DependencyEngine.engineID
    /// Rules are the advisories that matched; they are known only after a scan.
    public let rules: [RuleDescriptor] = []
    let advisoryDirectory: String
    let maxFileSize: Int

    public init(advisoryDirectory: String, maxFileSize: Int) {
        self.advisoryDirectory = advisoryDirectory
        self.maxFileSize = maxFileSize
    }

    public func scan(_ target: ScanTarget, progress: @escaping ProgressHandler) async throws -> EngineResult {
        if target.history {
            return EngineResult(detections: [], coverage: Coverage(notes: [
                "the deps engine reads the working tree's lockfiles, not history; scan without --history for dependencies",
            ]))
        }
        let engine = self
        return try await BlockingWork.cancellable { flag in
            // No progress events: lockfiles are a sliver of the tree, and the progress line
            // counts the secrets engine's pass over every file.
            let inventory = DependencyInventory.collect(target.files, root: target.root, maxFileSize: engine.maxFileSize, cancel: flag)
            if flag.isCancelled { throw CancellationError() }
            return try engine.check(inventory)
        }
    }

    func check(_ inventory: DependencyInventory.Result) throws -> EngineResult {
        // A finding needs a place: a package whose line the format does not give points at its lockfile.
        let packages = inventory.graphs.flatMap { graph in
            graph.packages.map { package in
                var package = package
                if package.location == nil {
                    package.location = Location(path: graph.source, startLine: 1, startColumn: 1, endLine: 1, endColumn: 1)
                }
                return package
            }
        }
        var coverage = Coverage(filesScanned: inventory.filesRead, bytesScanned: inventory.bytesRead)
        guard !packages.isEmpty else {
            return EngineResult(detections: [], coverage: coverage, dependencies: inventory.graphs, warnings: inventory.warnings)
        }
        let database = try AdvisoryDatabase.open(at: advisoryDirectory)
        let status = try database.status()
        guard status.records > 0 else {
            coverage.notes = [
                "no advisory database at \(advisoryDirectory): \(packages.count) packages inventoried, none checked; "
                    + "run `vega db update --from PATH` (see docs/dependencies.md)",
            ]
            return EngineResult(detections: [], coverage: coverage, dependencies: inventory.graphs, warnings: inventory.warnings)
        }
        let matches = try AdvisoryMatcher.match(packages, database: database)
        var rules: [String: RuleDescriptor] = [:]
        let detections = matches.map { match in
            let rule = rules[match.id] ?? Self.rule(for: match)
            rules[match.id] = rule
            return Self.detection(for: match, rule: rule)
        }
        return EngineResult(
            detections: detections, coverage: coverage, rules: rules.values.sorted { $0.id < $1.id },
            dependencies: inventory.graphs, warnings: inventory.warnings
        )
    }

    static func rule(for match: VulnerabilityMatch) -> RuleDescriptor {
        var help = match.details.isEmpty ? match.summary : match.details
        help += "\n\nUpgrade \(match.package.name) to a version the advisory lists as fixed"
        help += match.fixedVersions.isEmpty ? " (none is listed yet)." : " (\(match.fixedVersions.joined(separator: ", ")))."
        if match.ids.count > 1 { help += "\n\nAlso known as: \(match.ids.dropFirst().joined(separator: ", "))." }
        if !match.references.isEmpty {
            help += "\n\nReferences:\n" + match.references.prefix(10).map { "- \($0)" }.joined(separator: "\n")
        }
        return RuleDescriptor(
            id: match.id, title: match.summary, description: match.summary, severity: match.severity, cwe: cwe,
            engine: engineID, help: help, tags: ["dependency", "vulnerability", match.package.ecosystem.rawValue]
        )
    }

    static func detection(for match: VulnerabilityMatch, rule: RuleDescriptor) -> Detection {
        let package = match.package
        let fix = match.nearestFixedVersion.map { "upgrade to \($0) or later" } ?? "no fixed version is known"
        return Detection(
            rule: rule,
            message: "\(package.name) \(package.version) (\(package.ecosystem)) is affected by \(match.ids.joined(separator: ", ")): "
                + "\(match.summary); \(fix).",
            location: package.location!,  // check() gives every package one
            snippet: "\(package.name)@\(package.version)",
            // The package and the vulnerability, not the version: bumping to another affected
            // version keeps the finding (and its triage); a fixed version ends it.
            identity: "\(package.ecosystem.rawValue)|\(package.name)|\(match.id)",
            vulnerability: Vulnerability(
                ecosystem: package.ecosystem, package: package.name, installedVersion: package.version, purl: package.purl,
                ids: match.ids, fixedVersion: match.nearestFixedVersion, cvssScore: match.score, cvssVector: match.cvssVector,
                references: match.references
            )
        )
    }
}
