import Foundation
import VegaModel

/// Reads a SARIF 2.1.0 log from any tool into Vega findings, so the platform tracks its
/// results like its own (results upload).
///
/// Lenient to what it does not use (unknown properties, extra objects), strict on what it
/// needs: a JSON object of `version` "2.1.0" with a `runs` array, each run naming its tool.
/// Each result with a file location becomes one finding of engine "sarif:" + the tool's
/// name as a slug; results it cannot place are counted as skipped, with the reason.
///
/// Paths: relative URIs are resolved against `originalUriBaseIds` when those are relative
/// too, and normalised (`./`, `\`, `a/../b` → `b`). A path that climbs out of the
/// repository (`../x`), an absolute `file://` URI not under a root the log declares in
/// `originalUriBaseIds`, and a non-file URI are skipped, never stored.
public enum SARIFImport {
    /// The largest log accepted, in bytes.
    public static let maxBytes = 32 << 20
    /// The most results accepted, over all runs.
    public static let maxResults = 100_000

    public struct Outcome: Sendable {
        /// In location order.
        public var findings: [Finding]
        /// One per tool, in the order the runs name them.
        public var engines: [String]
        /// The engines whose every run completed and listed its results: their findings
        /// absent from this log are gone. A run with `executionSuccessful: false`, or
        /// without a `results` array, proves no absence.
        public var completeEngines: Set<String>
        public var skipped: [Skipped]
    }

    /// A result that did not become a finding.
    public struct Skipped: Sendable, Hashable, Codable {
        public var run: Int
        public var result: Int
        public var reason: String
    }

    public static func read(_ data: Data) throws -> Outcome {
        guard data.count <= maxBytes else {
            throw SARIFImportError(.tooLarge, "the SARIF log is larger than \(maxBytes >> 20) MiB")
        }
        let log: Log
        do {
            log = try JSONDecoder().decode(Log.self, from: data)
        } catch let error as SARIFImportError {
            throw error
        } catch let error as DecodingError {
            throw SARIFImportError(error)
        }
        let total = log.runs.reduce(0) { $0 + ($1.results?.count ?? 0) }
        guard total <= maxResults else {
            throw SARIFImportError(.tooManyResults, "the log has \(total) results; at most \(maxResults) are accepted")
        }

        var detections: [Detection] = []
        var engines: [String] = []
        var incomplete: Set<String> = []
        var skipped: [Skipped] = []
        for (runIndex, run) in log.runs.enumerated() {
            let engine = try engineName(run.tool.driver.name, run: runIndex)
            if !engines.contains(engine) { engines.append(engine) }
            let failed = run.invocations?.contains { $0.executionSuccessful == false } ?? false
            if failed || run.results == nil { incomplete.insert(engine) }
            let rules = RuleTable(run.tool)
            for (resultIndex, result) in (run.results ?? []).enumerated() {
                switch detection(result, run: run, rules: rules, engine: engine) {
                case .success(let detection): detections.append(detection)
                case .failure(let reason): skipped.append(Skipped(run: runIndex, result: resultIndex, reason: reason.rawValue))
                }
            }
        }
        return Outcome(
            findings: Fingerprint.assign(detections), engines: engines,
            completeEngines: Set(engines).subtracting(incomplete), skipped: skipped
        )
    }

    /// Why a result was skipped.
    enum SkipReason: String, Error {
        case noRule = "no rule id"
        case notAProblem = "its kind says it is not a problem (pass or notApplicable)"
        case suppressed = "suppressed in the source"
        case noLocation = "no file location"
        case outsideRepository = "its path is outside the repository"
        case notAFile = "its location is not a file of the repository"
    }

    /// "Semgrep OSS" → "sarif:semgrep-oss": lowercase letters and digits, runs of anything else one '-'.
    static func engineName(_ tool: String, run: Int) throws -> String {
        let slug = tool.lowercased().split(whereSeparator: { !($0.isASCII && ($0.isLetter || $0.isNumber)) }).joined(separator: "-")
        guard !slug.isEmpty else {
            throw SARIFImportError(.invalid, "runs[\(run)].tool.driver.name has no letters or digits to name the tool by")
        }
        return "sarif:" + slug
    }

    private static func detection(_ result: Result, run: Run, rules: RuleTable, engine: String) -> Swift.Result<Detection, SkipReason> {
        if let kind = result.kind, kind == "pass" || kind == "notApplicable" { return .failure(.notAProblem) }
        if let suppressions = result.suppressions, suppressions.contains(where: { $0.status == nil || $0.status == "accepted" }) {
            return .failure(.suppressed)
        }
        let rule = rules.rule(for: result)
        guard let ruleID = result.ruleId ?? result.rule?.id ?? rule?.id, !ruleID.isEmpty else { return .failure(.noRule) }
        let location: Location
        switch locate(result, run: run) {
        case .success(let found): location = found
        case .failure(let reason): return .failure(reason)
        }

        let title = nonEmpty(rule?.shortDescription?.text) ?? nonEmpty(rule?.name) ?? ruleID
        let snippet = result.locations?.lazy.compactMap { $0.physicalLocation?.region?.snippet?.text }.first ?? ""
        let message = nonEmpty(text(of: result.message, rule: rule)) ?? title
        let descriptor = RuleDescriptor(
            id: ruleID, title: title, description: rule?.fullDescription?.text ?? "",
            severity: severity(result, rule: rule), cwe: cwe(result.properties) ?? cwe(rule?.properties), engine: engine, help: ""
        )
        // Identity: the tool's own partial fingerprints when it gives them (they follow the
        // code, not the line), else the flagged code or the message. Fingerprint adds the
        // rule and the path; never the line.
        let identity: String
        if let partial = result.partialFingerprints, !partial.isEmpty {
            identity = (["partial", engine] + partial.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: "\u{0}")
        } else {
            identity = ["content", engine, snippet.isEmpty ? message : snippet].joined(separator: "\u{0}")
        }
        return .success(Detection(rule: descriptor, message: message, location: location, snippet: snippet, identity: identity))
    }

    /// security-severity (a CVSS-like score, on the result or its rule) when above 0;
    /// otherwise the level (the result's, its rule's default, else SARIF's default "warning").
    static func severity(score: Double?, level: String?) -> Severity {
        if let score, score > 0 {
            return score >= 9 ? .critical : score >= 7 ? .high : score >= 4 ? .medium : .low
        }
        return switch level {
        case "error": .high
        case "note": .low
        case "none": .info
        default: .medium
        }
    }

    private static func severity(_ result: Result, rule: Rule?) -> Severity {
        severity(
            score: result.properties?.securitySeverity ?? rule?.properties?.securitySeverity,
            level: result.level ?? rule?.defaultConfiguration?.level
        )
    }

    /// "CWE-79", "cwe-079", "external/cwe/cwe-079" or "CWE-89: Improper …" → "CWE-79" / "CWE-89".
    static func cwe(fromTag tag: String) -> String? {
        var rest = tag.lowercased()[...]
        if rest.hasPrefix("external/cwe/") { rest = rest.dropFirst("external/cwe/".count) }
        guard rest.hasPrefix("cwe-") else { return nil }
        let digits = rest.dropFirst(4).prefix(while: \.isASCII).prefix(while: \.isNumber)
        guard let number = Int(digits) else { return nil }
        return "CWE-\(number)"
    }

    private static func cwe(_ properties: PropertyBag?) -> String? {
        guard let properties else { return nil }
        return (properties.cwe + properties.tags).lazy.compactMap(cwe(fromTag:)).first
    }

    /// The message's text, or its rule's message string with `{0}`, `{1}`, … filled in.
    private static func text(of message: Message?, rule: Rule?) -> String? {
        guard let message else { return nil }
        if let text = nonEmpty(message.text) ?? nonEmpty(message.markdown) { return text }
        guard let id = message.id, let template = rule?.messageStrings?[id]?.text else { return nil }
        var text = template
        for (index, argument) in (message.arguments ?? []).enumerated() {
            text = text.replacingOccurrences(of: "{\(index)}", with: argument)
        }
        return text
    }

    private static func nonEmpty(_ text: String?) -> String? {
        guard let trimmed = text?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else { return nil }
        return trimmed
    }

    // MARK: Locations

    /// The first location that names a file; its region, or line 1 for a whole-file result.
    private static func locate(_ result: Result, run: Run) -> Swift.Result<Location, SkipReason> {
        var reason = SkipReason.noLocation
        for location in result.locations ?? [] {
            guard let physical = location.physicalLocation, let artifact = physical.artifactLocation else { continue }
            switch path(of: artifact, run: run) {
            case .success(let path):
                let region = physical.region
                let startLine = max(region?.startLine ?? 1, 1)
                let startColumn = max(region?.startColumn ?? 1, 1)
                let endLine = max(region?.endLine ?? startLine, startLine)
                // SARIF's endColumn is the column after the region; Vega's ranges are inclusive.
                var endColumn = (region?.endColumn).map { $0 - 1 } ?? startColumn
                if endLine == startLine { endColumn = max(endColumn, startColumn) }
                return .success(Location(
                    path: path, startLine: startLine, startColumn: startColumn, endLine: endLine, endColumn: max(endColumn, 1)
                ))
            case .failure(let why): reason = why
            }
        }
        return .failure(reason)
    }

    /// A repository-relative path, '/'-separated.
    private static func path(of artifact: ArtifactLocation, run: Run) -> Swift.Result<String, SkipReason> {
        let indexed = artifact.index.flatMap { index in run.artifacts?.indices.contains(index) == true ? run.artifacts?[index].location : nil }
        guard let uri = artifact.uri ?? indexed?.uri, !uri.isEmpty else { return .failure(.noLocation) }
        if let scheme = scheme(of: uri) {
            guard scheme == "file", let absolute = URL(string: uri)?.path, !absolute.isEmpty else { return .failure(.notAFile) }
            return relative(absolute, roots: roots(run))
        }
        let decoded = uri.removingPercentEncoding ?? uri
        if isAbsolute(decoded) { return relative(decoded, roots: roots(run)) }
        let base = baseComponents(artifact.uriBaseId ?? indexed?.uriBaseId, run: run, depth: 0)
        return normalise(base + components(decoded))
    }

    /// A URI's scheme, if it has one. A single letter before ':' is a Windows drive, not a scheme.
    private static func scheme(of uri: String) -> String? {
        guard let colon = uri.firstIndex(of: ":") else { return nil }
        let candidate = uri[..<colon]
        guard candidate.count > 1, let first = candidate.first, first.isASCII, first.isLetter,
              candidate.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) else { return nil }
        return candidate.lowercased()
    }

    /// "/home/…" or "C:\src\…" (which a file URI's path spells "/C:/src/…").
    private static func isAbsolute(_ path: String) -> Bool {
        if path.hasPrefix("/") || path.hasPrefix("\\") { return true }
        let start = path.prefix(3)
        return start.count >= 2 && start.first!.isLetter && start.dropFirst().first == ":"
    }

    /// The relative prefix a `uriBaseId` stands for. An absolute base (or an unknown one,
    /// like an undeclared `%SRCROOT%`) is the repository root.
    private static func baseComponents(_ id: String?, run: Run, depth: Int) -> [String] {
        guard let id, depth < 8, let base = run.originalUriBaseIds?[id], let uri = base.uri,
              scheme(of: uri) == nil, !isAbsolute(uri) else { return [] }
        return baseComponents(base.uriBaseId, run: run, depth: depth + 1) + components(uri.removingPercentEncoding ?? uri)
    }

    /// The absolute directories the log says its files are under (its `originalUriBaseIds`).
    private static func roots(_ run: Run) -> [[String]] {
        (run.originalUriBaseIds ?? [:]).values.compactMap { base in
            guard let uri = base.uri else { return nil }
            if scheme(of: uri) == "file" { return URL(string: uri).map { components($0.path) } }
            let decoded = uri.removingPercentEncoding ?? uri
            return isAbsolute(decoded) ? components(decoded) : nil
        }
    }

    /// An absolute path under one of the roots (the deepest that holds it), made relative.
    private static func relative(_ absolute: String, roots: [[String]]) -> Swift.Result<String, SkipReason> {
        guard case .success(let normalised) = normalise(components(absolute)) else { return .failure(.outsideRepository) }
        let parts = components(normalised)
        for root in roots.sorted(by: { $0.count > $1.count }) where !root.isEmpty && parts.starts(with: root) && parts.count > root.count {
            return .success(parts.dropFirst(root.count).joined(separator: "/"))
        }
        return .failure(.outsideRepository)
    }

    private static func components(_ path: String) -> [String] {
        path.split(whereSeparator: { $0 == "/" || $0 == "\\" }).map(String.init)
    }

    /// Resolves "." and ".."; climbing above the root is refused.
    private static func normalise(_ parts: [String]) -> Swift.Result<String, SkipReason> {
        var kept: [String] = []
        for part in parts where part != "." {
            if part == ".." {
                guard kept.popLast() != nil else { return .failure(.outsideRepository) }
            } else {
                kept.append(part)
            }
        }
        return kept.isEmpty ? .failure(.noLocation) : .success(kept.joined(separator: "/"))
    }
}

/// Why a SARIF log was refused; the description is meant for the person uploading it.
public struct SARIFImportError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of problem, for callers that answer differently (an HTTP status).
    public struct Code: Hashable, Sendable {
        private let name: String
        /// Not JSON at all.
        public static let notJSON = Code(name: "not_json")
        /// JSON, but not a SARIF 2.1.0 log, or one missing what Vega needs.
        public static let invalid = Code(name: "invalid")
        public static let tooLarge = Code(name: "too_large")
        public static let tooManyResults = Code(name: "too_many_results")
    }

    public let code: Code
    public let description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// Where the log went wrong, by JSON path, without echoing its content.
    init(_ error: DecodingError) {
        func path(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.reduce("") { path, key in
                key.intValue.map { "\(path)[\($0)]" } ?? (path.isEmpty ? key.stringValue : "\(path).\(key.stringValue)")
            }
            return path.isEmpty ? "the log" : path
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            self.init(.notJSON, "the body is not JSON")
        case .typeMismatch(_, let context) where context.codingPath.isEmpty:
            self.init(.invalid, "the body is not a SARIF log (not a JSON object)")
        case .keyNotFound(let key, let context):
            self.init(.invalid, "\(path(context)) has no \(key.stringValue)")
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            self.init(.invalid, "\(path(context)) has the wrong type")
        case .dataCorrupted(let context):
            self.init(.invalid, "\(path(context)) is invalid")
        @unknown default:
            self.init(.invalid, "the SARIF log is unreadable")
        }
    }
}

// MARK: - The parts of SARIF 2.1.0 read (everything else is ignored)

private struct Log: Decodable {
    let runs: [Run]

    enum CodingKeys: String, CodingKey { case version, runs }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // The version first: any other JSON object gets this error, not a missing field's.
        let version = try? container.decodeIfPresent(String.self, forKey: .version)
        guard version == "2.1.0" else {
            throw SARIFImportError(.invalid, "the body is not a SARIF 2.1.0 log (its version is not \"2.1.0\")")
        }
        runs = try container.decode([Run].self, forKey: .runs)
        guard !runs.isEmpty else { throw SARIFImportError(.invalid, "the SARIF log has no runs") }
    }
}

private struct Run: Decodable {
    let tool: Tool
    let results: [Result]?
    let invocations: [Invocation]?
    let originalUriBaseIds: [String: ArtifactLocation]?
    let artifacts: [Artifact]?
}

private struct Tool: Decodable {
    let driver: ToolComponent
    let extensions: [ToolComponent]?
}

private struct ToolComponent: Decodable {
    let name: String
    let rules: [Rule]?
}

private struct Rule: Decodable {
    let id: String?
    let name: String?
    let shortDescription: Message?
    let fullDescription: Message?
    let defaultConfiguration: RuleConfiguration?
    let messageStrings: [String: Message]?
    let properties: PropertyBag?
}

private struct RuleConfiguration: Decodable {
    let level: String?
}

/// A tool's rules: the driver's and its extensions' (CodeQL keeps them in query packs).
private struct RuleTable {
    let driver: [Rule]
    let extensions: [[Rule]]
    let byID: [String: Rule]

    init(_ tool: Tool) {
        driver = tool.driver.rules ?? []
        extensions = (tool.extensions ?? []).map { $0.rules ?? [] }
        byID = Dictionary((driver + extensions.flatMap { $0 }).compactMap { rule in rule.id.map { ($0, rule) } },
                          uniquingKeysWith: { first, _ in first })
    }

    /// By index where the result gives one (into an extension when it names one), else by id.
    func rule(for result: Result) -> Rule? {
        if let index = result.rule?.index ?? result.ruleIndex {
            let rules = result.rule?.toolComponent?.index.map { extensions.indices.contains($0) ? extensions[$0] : [] } ?? driver
            if rules.indices.contains(index) { return rules[index] }
        }
        return (result.ruleId ?? result.rule?.id).flatMap { byID[$0] }
    }
}

private struct Invocation: Decodable {
    let executionSuccessful: Bool?
}

private struct Result: Decodable {
    let ruleId: String?
    let ruleIndex: Int?
    let rule: RuleReference?
    let kind: String?
    let level: String?
    let message: Message?
    let locations: [ResultLocation]?
    let partialFingerprints: [String: String]?
    let suppressions: [Suppression]?
    let properties: PropertyBag?
}

private struct RuleReference: Decodable {
    let id: String?
    let index: Int?
    let toolComponent: ComponentReference?
}

private struct ComponentReference: Decodable {
    let index: Int?
}

private struct Suppression: Decodable {
    let status: String?
}

private struct Message: Decodable {
    let text: String?
    let markdown: String?
    let id: String?
    let arguments: [String]?
}

private struct ResultLocation: Decodable {
    let physicalLocation: PhysicalLocation?
}

private struct PhysicalLocation: Decodable {
    let artifactLocation: ArtifactLocation?
    let region: Region?
}

private struct ArtifactLocation: Decodable {
    let uri: String?
    let uriBaseId: String?
    let index: Int?
}

private struct Artifact: Decodable {
    let location: ArtifactLocation?
}

private struct Region: Decodable {
    let startLine: Int?
    let startColumn: Int?
    let endLine: Int?
    let endColumn: Int?
    let snippet: ArtifactContent?
}

private struct ArtifactContent: Decodable {
    let text: String?
}

/// A property bag: free-form, so only the members read are decoded, and those leniently
/// (a tool that writes a tag as a number loses the tag, not the upload).
private struct PropertyBag: Decodable {
    var tags: [String] = []
    var cwe: [String] = []
    var securitySeverity: Double?

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        guard let container = try? decoder.container(keyedBy: Key.self) else { return }
        tags = (try? container.decodeIfPresent([String].self, forKey: Key(stringValue: "tags"))) ?? []
        let cweKey = Key(stringValue: "cwe")
        cwe = (try? container.decodeIfPresent([String].self, forKey: cweKey))
            ?? (try? container.decodeIfPresent(String.self, forKey: cweKey)).map { [$0] } ?? []
        let scoreKey = Key(stringValue: "security-severity")
        securitySeverity = (try? container.decodeIfPresent(Double.self, forKey: scoreKey))
            ?? (try? container.decodeIfPresent(String.self, forKey: scoreKey)).flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
    }
}
