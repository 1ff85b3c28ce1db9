import Foundation
import VegaModel

/// SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.
///
/// GitHub reads: `security-severity` (a numeric string) to rank alerts,
/// `partialFingerprints` to track an alert across runs, `run.automationDetails.id`
/// to tell analyses apart, and `%SRCROOT%`-relative URIs to link to files.
public enum SARIFReport {
    public static let schemaURI =
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    public static let informationURI = "https://vega.dev"
    /// The `partialFingerprints` key holding a finding's fingerprint; `Baseline` reads it back.
    public static let fingerprintKey = "vegaFingerprint/" + Fingerprint.version
    static let sourceRoot = "%SRCROOT%"

    /// Pretty-printed, keys sorted, ending in a newline: the same report always gives the same bytes.
    public static func encode(_ report: ScanReport) throws -> Data {
        try JSONReport.encodeDocument(Log(runs: [Run(report)]))
    }

    /// GitHub's category is everything before the last '/', so it must not change from
    /// one scan to the next: it names the engines that ran, and the start time makes the id unique.
    static func automationID(_ report: ScanReport) -> String {
        let engines = report.engines.map(\.engine).sorted().joined(separator: "+")
        return "vega/" + (engines.isEmpty ? "" : engines + "/") + report.startedAt
    }

    static func level(_ severity: Severity) -> String {
        switch severity {
        case .critical, .high: "error"
        case .medium: "warning"
        case .low, .info: "note"
        }
    }

    /// "aws-access-token" → "AwsAccessToken": SARIF names are meant to be identifier-like.
    static func ruleName(_ id: String) -> String {
        id.split(whereSeparator: { !($0.isLetter || $0.isNumber) })
            .map { $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined()
    }

    /// "CWE-798" → "external/cwe/cwe-798", the tag form GitHub shows as a CWE link.
    static func cweTag(_ cwe: String) -> String {
        "external/cwe/" + cwe.lowercased()
    }

    /// A relative path as a URI reference: everything outside RFC 3986's unreserved and
    /// sub-delims (spaces, non-ASCII, '%', '#', '?') is percent-encoded, and so is ':'
    /// so that a first segment like "c:x" cannot read as a scheme.
    static func uriReference(_ path: String) -> String {
        path.addingPercentEncoding(withAllowedCharacters: uriPathAllowed) ?? path
    }

    private static let uriPathAllowed = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=@/"
    )

    /// The directory a local scan started from, as a `file:` URI ending in '/'. URLs give
    /// none, nor do relative paths: resolving those would depend on the current directory.
    static func sourceRootURI(_ source: String) -> String? {
        guard source.hasPrefix("/") else { return nil }
        let uri = URL(fileURLWithPath: source, isDirectory: true).absoluteString
        return uri.hasSuffix("/") ? uri : uri + "/"
    }

    /// An http(s) git source, for `versionControlProvenance`; other forms
    /// (e.g. "git@host:org/repo") are not URIs and are left out.
    static func repositoryURI(_ source: String) -> String? {
        guard let url = URL(string: source), let scheme = url.scheme?.lowercased(),
              scheme == "https" || scheme == "http", url.host != nil else { return nil }
        return source
    }

    /// Start and end of the scan in UTC, when `startedAt` is ISO 8601 (SARIF requires date-time).
    static func invocationTimes(_ report: ScanReport) -> (start: String, end: String)? {
        let plain = Date.ISO8601FormatStyle()
        let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        guard let start = (try? plain.parse(report.startedAt)) ?? (try? fractional.parse(report.startedAt)),
              report.durationSeconds.isFinite else { return nil }
        return (fractional.format(start), fractional.format(start.addingTimeInterval(report.durationSeconds)))
    }
}

// MARK: - SARIF object model (only the parts Vega writes)

private struct Log: Encodable {
    let schema = SARIFReport.schemaURI
    let version = "2.1.0"
    let runs: [Run]

    enum CodingKeys: String, CodingKey {
        case schema = "$schema", version, runs
    }
}

private struct Run: Encodable {
    let tool: Tool
    let automationDetails: AutomationDetails
    let originalUriBaseIds: [String: ArtifactLocation]?
    let versionControlProvenance: [VersionControlDetails]?
    let invocations: [Invocation]
    /// Vega counts columns in Unicode code points; SARIF's default is UTF-16 units.
    let columnKind = "unicodeCodePoints"
    let results: [Result]

    init(_ report: ScanReport) {
        let rules = report.rules.map(ReportingDescriptor.init)
        let ruleIndex = Dictionary(report.rules.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        tool = Tool(driver: Driver(
            name: "vega", semanticVersion: report.toolVersion, informationUri: SARIFReport.informationURI, rules: rules
        ))
        automationDetails = AutomationDetails(id: SARIFReport.automationID(report))
        originalUriBaseIds = SARIFReport.sourceRootURI(report.source).map {
            [SARIFReport.sourceRoot: ArtifactLocation(uri: $0, uriBaseId: nil)]
        }
        versionControlProvenance = SARIFReport.repositoryURI(report.source).map {
            [VersionControlDetails(repositoryUri: $0, mappedTo: ArtifactLocation(uri: nil, uriBaseId: SARIFReport.sourceRoot))]
        }
        invocations = [Invocation(report)]
        results = report.findings.map { Result($0, ruleIndex: ruleIndex[$0.ruleId]) }
    }
}

private struct Tool: Encodable {
    let driver: Driver
}

private struct Driver: Encodable {
    let name: String
    let semanticVersion: String
    let informationUri: String
    let rules: [ReportingDescriptor]
}

private struct AutomationDetails: Encodable {
    let id: String
}

private struct VersionControlDetails: Encodable {
    let repositoryUri: String
    let mappedTo: ArtifactLocation
}

private struct Invocation: Encodable {
    let executionSuccessful = true
    let startTimeUtc: String?
    let endTimeUtc: String?
    let properties: InvocationProperties

    init(_ report: ScanReport) {
        let times = SARIFReport.invocationTimes(report)
        startTimeUtc = times?.start
        endTimeUtc = times?.end
        properties = InvocationProperties(
            suppressedByBaseline: report.suppressedByBaseline,
            engines: report.engines.map(EngineCoverage.init)
        )
    }
}

/// What each engine examined, so an empty result can be told from an unscanned tree.
private struct InvocationProperties: Encodable {
    let suppressedByBaseline: Int
    let engines: [EngineCoverage]
}

private struct EngineCoverage: Encodable {
    let engine: String
    let durationSeconds: Double
    let filesScanned: Int
    let bytesScanned: Int
    let commitsScanned: Int?
    let filesSkipped: Int

    init(_ run: EngineRun) {
        engine = run.engine
        durationSeconds = run.durationSeconds
        filesScanned = run.coverage.filesScanned
        bytesScanned = run.coverage.bytesScanned
        commitsScanned = run.coverage.commitsScanned
        filesSkipped = run.coverage.skipped.count
    }
}

private struct ReportingDescriptor: Encodable {
    let id: String
    let name: String
    let shortDescription: Text
    let fullDescription: Text
    let help: MultiformatText
    let defaultConfiguration: Configuration
    let properties: RuleProperties

    init(_ rule: RuleDescriptor) {
        id = rule.id
        name = SARIFReport.ruleName(rule.id)
        shortDescription = Text(text: rule.title)
        fullDescription = Text(text: rule.description.isEmpty ? rule.title : rule.description)
        // GitHub shows `help.markdown`; the plain text is for consumers without Markdown.
        let help = rule.help.isEmpty ? fullDescription.text : rule.help
        self.help = MultiformatText(text: help, markdown: help)
        defaultConfiguration = Configuration(level: SARIFReport.level(rule.severity))
        var tags = ["security"]
        if let cwe = rule.cwe { tags.append(SARIFReport.cweTag(cwe)) }
        for tag in rule.tags where !tags.contains(tag) { tags.append(tag) }
        properties = RuleProperties(
            tags: tags,
            securitySeverity: String(format: "%.1f", rule.severity.securityScore)
        )
    }
}

private struct Text: Encodable {
    let text: String
}

private struct MultiformatText: Encodable {
    let text: String
    let markdown: String
}

private struct Configuration: Encodable {
    let level: String
}

private struct RuleProperties: Encodable {
    let tags: [String]
    /// Rules carry no precision of their own yet; "high" keeps GitHub showing them by default.
    let precision = "high"
    let securitySeverity: String

    enum CodingKeys: String, CodingKey {
        case tags, precision, securitySeverity = "security-severity"
    }
}

private struct Result: Encodable {
    let ruleId: String
    /// Absent when the finding's rule is missing from `report.rules`; `ruleId` still names it.
    let ruleIndex: Int?
    let level: String
    let message: Text
    let locations: [ResultLocation]
    let partialFingerprints: [String: String]
    let fingerprints: [String: String]
    let properties: ResultProperties?

    init(_ finding: Finding, ruleIndex: Int?) {
        ruleId = finding.ruleId
        self.ruleIndex = ruleIndex
        level = SARIFReport.level(finding.severity)
        message = Text(text: finding.message.isEmpty ? finding.title : finding.message)
        locations = [ResultLocation(physicalLocation: PhysicalLocation(finding))]
        // The fingerprint is a complete identity, so it is both SARIF kinds of fingerprint;
        // GitHub matches alerts on `partialFingerprints`.
        partialFingerprints = [SARIFReport.fingerprintKey: finding.fingerprint]
        fingerprints = partialFingerprints
        properties = finding.commit == nil && finding.vulnerability == nil
            ? nil : ResultProperties(commit: finding.commit, vulnerability: finding.vulnerability.map(VulnerabilityEntry.init))
    }
}

private struct ResultLocation: Encodable {
    let physicalLocation: PhysicalLocation
}

private struct PhysicalLocation: Encodable {
    let artifactLocation: ArtifactLocation
    let region: Region

    init(_ finding: Finding) {
        artifactLocation = ArtifactLocation(
            uri: SARIFReport.uriReference(finding.location.path), uriBaseId: SARIFReport.sourceRoot
        )
        region = Region(finding.location, snippet: finding.snippet)
    }
}

private struct ArtifactLocation: Encodable {
    let uri: String?
    let uriBaseId: String?
}

private struct Region: Encodable {
    let startLine: Int
    let startColumn: Int
    let endLine: Int
    let endColumn: Int
    let snippet: Text

    init(_ location: Location, snippet: String) {
        startLine = location.startLine
        startColumn = location.startColumn
        endLine = location.endLine
        // Vega's ranges are inclusive; SARIF's endColumn is the column after the region.
        endColumn = location.endColumn + 1
        self.snippet = Text(text: snippet)
    }
}

private struct ResultProperties: Encodable {
    let commit: CommitInfo?
    let vulnerability: VulnerabilityEntry?
}

