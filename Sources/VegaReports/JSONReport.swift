import Foundation
import VegaModel

/// Vega's own JSON report, schema version "1" (docs/json-report.md,
/// docs/schemas/vega-report-v1.schema.json).
///
/// The document is built from private types below rather than from the model's own
/// `Codable` conformances, so that refactoring the model cannot silently change a
/// published format.
public enum JSONReport {
    /// Bumped only for breaking changes; additive changes keep it.
    public static let schemaVersion = "1"
    /// The `$id` of the JSON Schema the output conforms to, written as `$schema`.
    public static let schemaURI = "https://vega.dev/schemas/vega-report-v1.json"

    /// Pretty-printed, keys sorted, ending in a newline: the same report always gives the same bytes.
    public static func encode(_ report: ScanReport) throws -> Data {
        try encodeDocument(Document(report))
    }

    /// Shared by the JSON and SARIF writers so that both are deterministic the same way.
    static func encodeDocument(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(0x0A)
        return data
    }
}

private struct Document: Encodable {
    let schema = JSONReport.schemaURI
    let schemaVersion = JSONReport.schemaVersion
    let tool: Tool
    let scan: Scan
    let summary: Summary
    let findings: [FindingEntry]
    let rules: [RuleEntry]
    let warnings: [ScanWarning]

    enum CodingKeys: String, CodingKey {
        case schema = "$schema", schemaVersion = "schema_version", tool, scan, summary, findings, rules, warnings
    }

    init(_ report: ScanReport) {
        tool = Tool(name: "vega", version: report.toolVersion)
        scan = Scan(
            source: report.source, startedAt: report.startedAt, durationSeconds: report.durationSeconds,
            engines: report.engines.map(EngineEntry.init), suppressedByBaseline: report.suppressedByBaseline,
            lockfiles: report.dependencies.map(LockfileEntry.init)
        )
        summary = Summary(report.findings)
        findings = report.findings.map(FindingEntry.init)
        rules = report.rules.map(RuleEntry.init)
        warnings = report.warnings
    }
}

/// The inventory in brief; `vega sbom` writes it in full.
private struct LockfileEntry: Encodable {
    let path: String
    let format: String
    let packages: Int

    init(_ graph: DependencyGraph) {
        path = graph.source
        format = graph.format
        packages = graph.packages.count
    }
}

private struct Tool: Encodable {
    let name: String
    let version: String
}

private struct Scan: Encodable {
    let source: String
    let startedAt: String
    let durationSeconds: Double
    let engines: [EngineEntry]
    let suppressedByBaseline: Int
    let lockfiles: [LockfileEntry]

    enum CodingKeys: String, CodingKey {
        case source, startedAt = "started_at", durationSeconds = "duration_seconds", engines, lockfiles
        case suppressedByBaseline = "suppressed_by_baseline"
    }
}

private struct EngineEntry: Encodable {
    let engine: String
    let durationSeconds: Double
    let coverage: CoverageEntry

    enum CodingKeys: String, CodingKey {
        case engine, durationSeconds = "duration_seconds", coverage
    }

    init(_ run: EngineRun) {
        engine = run.engine
        durationSeconds = run.durationSeconds
        coverage = CoverageEntry(run.coverage)
    }
}

private struct CoverageEntry: Encodable {
    let filesScanned: Int
    let bytesScanned: Int
    /// Present only for history scans, where commits rather than files are the unit.
    let commitsScanned: Int?
    let skipped: [SkippedEntry]
    let notes: [String]?

    enum CodingKeys: String, CodingKey {
        case filesScanned = "files_scanned", bytesScanned = "bytes_scanned", commitsScanned = "commits_scanned"
        case skipped, notes
    }

    init(_ coverage: Coverage) {
        filesScanned = coverage.filesScanned
        bytesScanned = coverage.bytesScanned
        commitsScanned = coverage.commitsScanned
        skipped = coverage.skipped.map { SkippedEntry(path: $0.path, reason: $0.reason.rawValue) }
        notes = coverage.notes
    }
}

private struct SkippedEntry: Encodable {
    let path: String
    let reason: String
}

private struct Summary: Encodable {
    let total: Int
    let bySeverity: [String: Int]

    enum CodingKeys: String, CodingKey {
        case total, bySeverity = "by_severity"
    }

    /// Every severity is listed, zero or not, so consumers need no default.
    init(_ findings: [Finding]) {
        total = findings.count
        var counts = Dictionary(uniqueKeysWithValues: Severity.allCases.map { ($0.rawValue, 0) })
        for finding in findings { counts[finding.severity.rawValue, default: 0] += 1 }
        bySeverity = counts
    }
}

private struct FindingEntry: Encodable {
    let fingerprint: String
    let ruleId: String
    let title: String
    let severity: String
    let cwe: String?
    let message: String
    let engine: String
    let location: LocationEntry
    let snippet: String
    let commit: CommitInfo?
    let vulnerability: VulnerabilityEntry?

    enum CodingKeys: String, CodingKey {
        case fingerprint, ruleId = "rule_id", title, severity, cwe, message, engine, location, snippet, commit, vulnerability
    }

    init(_ finding: Finding) {
        fingerprint = finding.fingerprint
        ruleId = finding.ruleId
        title = finding.title
        severity = finding.severity.rawValue
        cwe = finding.cwe
        message = finding.message
        engine = finding.engine
        location = LocationEntry(finding.location)
        snippet = finding.snippet
        commit = finding.commit
        vulnerability = finding.vulnerability.map(VulnerabilityEntry.init)
    }

    // `cwe` is always written (null when absent); `commit` only for history findings,
    // `vulnerability` only for dependency findings.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(fingerprint, forKey: .fingerprint)
        try container.encode(ruleId, forKey: .ruleId)
        try container.encode(title, forKey: .title)
        try container.encode(severity, forKey: .severity)
        try container.encode(cwe, forKey: .cwe)
        try container.encode(message, forKey: .message)
        try container.encode(engine, forKey: .engine)
        try container.encode(location, forKey: .location)
        try container.encode(snippet, forKey: .snippet)
        try container.encodeIfPresent(commit, forKey: .commit)
        try container.encodeIfPresent(vulnerability, forKey: .vulnerability)
    }
}

/// A dependency finding's package and fix, snake_case like the rest of the report.
struct VulnerabilityEntry: Encodable {
    let ecosystem: String
    let package: String
    let installedVersion: String
    let purl: String
    let ids: [String]
    let fixedVersion: String?
    let cvssScore: Double?
    let cvssVector: String?
    let references: [String]

    enum CodingKeys: String, CodingKey {
        case ecosystem, package, installedVersion = "installed_version", purl, ids, fixedVersion = "fixed_version",
             cvssScore = "cvss_score", cvssVector = "cvss_vector", references
    }

    init(_ v: Vulnerability) {
        ecosystem = v.ecosystem.rawValue
        package = v.package
        installedVersion = v.installedVersion
        purl = v.purl
        ids = v.ids
        fixedVersion = v.fixedVersion
        cvssScore = v.cvssScore
        cvssVector = v.cvssVector
        references = v.references
    }

    // Absent facts are written as null so consumers see every key.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ecosystem, forKey: .ecosystem)
        try container.encode(package, forKey: .package)
        try container.encode(installedVersion, forKey: .installedVersion)
        try container.encode(purl, forKey: .purl)
        try container.encode(ids, forKey: .ids)
        try container.encode(fixedVersion, forKey: .fixedVersion)
        try container.encode(cvssScore, forKey: .cvssScore)
        try container.encode(cvssVector, forKey: .cvssVector)
        try container.encode(references, forKey: .references)
    }
}

private struct LocationEntry: Encodable {
    let path: String
    let startLine: Int
    let startColumn: Int
    let endLine: Int
    let endColumn: Int

    enum CodingKeys: String, CodingKey {
        case path, startLine = "start_line", startColumn = "start_column", endLine = "end_line"
        case endColumn = "end_column"
    }

    init(_ location: Location) {
        path = location.path
        startLine = location.startLine
        startColumn = location.startColumn
        endLine = location.endLine
        endColumn = location.endColumn
    }
}

private struct RuleEntry: Encodable {
    let id: String
    let title: String
    let description: String
    let severity: String
    let cwe: String?
    let engine: String
    let help: String
    let tags: [String]

    init(_ rule: RuleDescriptor) {
        id = rule.id
        title = rule.title
        description = rule.description
        severity = rule.severity.rawValue
        cwe = rule.cwe
        engine = rule.engine
        help = rule.help
        tags = rule.tags
    }

    enum CodingKeys: String, CodingKey {
        case id, title, description, severity, cwe, engine, help, tags
    }

    // `cwe` is always written, null when the rule has none.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(title, forKey: .title)
        try container.encode(description, forKey: .description)
        try container.encode(severity, forKey: .severity)
        try container.encode(cwe, forKey: .cwe)
        try container.encode(engine, forKey: .engine)
        try container.encode(help, forKey: .help)
        try container.encode(tags, forKey: .tags)
    }
}
