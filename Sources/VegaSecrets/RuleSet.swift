import Foundation
import VegaModel
import Yams

public struct RuleSetError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// A compiled allowlist: cheap checks first (paths, stopwords), regexes last.
struct CompiledAllowlist: Sendable {
    let regexes: [PCRERegex]
    /// Stopwords as one case-insensitive multi-literal matcher: a secret is tested in one pass.
    let stopwords: KeywordMatcher?
    let paths: [PCRERegex]
    let target: AllowlistSpec.Target

    init(_ spec: AllowlistSpec?, context: String) throws {
        func compile(_ patterns: [String]?) throws -> [PCRERegex] {
            try (patterns ?? []).map { pattern in
                do { return try PCRERegex(pattern) } catch {
                    throw RuleSetError(description: "\(context): \(error)")
                }
            }
        }
        regexes = try compile(spec?.regexes)
        paths = try compile(spec?.paths)
        let words = (spec?.stopwords ?? []).filter { !$0.isEmpty }
        stopwords = words.isEmpty ? nil : KeywordMatcher(keywords: words)
        target = spec?.target ?? .secret
    }

    var isEmpty: Bool { regexes.isEmpty && stopwords == nil && paths.isEmpty }

    func allowsPath(_ path: String, scratch: MatchScratch) -> Bool {
        paths.contains { $0.matches(path, scratch: scratch) }
    }

    /// Stopwords always test the secret; regexes test `target` (the secret, the whole
    /// match or the line, as the allowlist says).
    func allows(secret: UnsafeBufferPointer<UInt8>, target: UnsafeBufferPointer<UInt8>, scratch: MatchScratch) -> Bool {
        if let stopwords, stopwords.containsAny(in: secret) { return true }
        return regexes.contains { $0.firstMatch(in: target, scratch: scratch) }
    }
}

extension PCRERegex {
    func firstMatch(in buf: UnsafeBufferPointer<UInt8>, scratch: MatchScratch) -> Bool {
        var found = false
        forEachMatch(in: buf, window: 0..<buf.count, scratch: scratch) { _ in found = true }
        return found
    }

    func matches(_ string: String, scratch: MatchScratch) -> Bool {
        Array(string.utf8).withUnsafeBufferPointer { firstMatch(in: $0, scratch: scratch) }
    }
}

struct CompiledRule: Sendable {
    let descriptor: RuleDescriptor
    let regex: PCRERegex
    let secretGroup: Int?
    let keywords: [String]
    let entropy: Double?
    let multiline: Bool
    let anchor: Anchor?
    let generic: Bool
    let allowlist: CompiledAllowlist
}

/// The secrets engine's rules, compiled once and shared by every worker.
public struct RuleSet: Sendable {
    let rules: [CompiledRule]
    let global: CompiledAllowlist
    let keywords: KeywordMatcher
    /// keyword index → indices of the rules that declared it
    let keywordRules: [[Int]]
    /// Rules with no keywords run on every file: only user rules may do that.
    let unkeyedRules: [Int]
    /// Where each rule's regex runs, flattened out of `rules` for the keyword pass's hot path.
    let placement: [Placement]

    enum Placement: Sendable {
        case keyword, identifier, lineWindow, multilineWindow
    }
    let maxCaptures: Int

    public var descriptors: [RuleDescriptor] { rules.map(\.descriptor) }

    public static let engineID = "secrets"

    /// The rules shipped inside the binary (rules.json, compiled from rules.yaml).
    public static func bundledFile() throws -> RuleFile {
        guard let url = Bundle.module.url(forResource: "rules", withExtension: "json") else {
            throw RuleSetError(description: "bundled rules.json is missing from the build")
        }
        do {
            return try JSONDecoder().decode(RuleFile.self, from: Data(contentsOf: url))
        } catch {
            throw RuleSetError(description: "bundled rules.json: \(error)")
        }
    }

    public static func decode(_ yaml: String, source: String) throws -> RuleFile {
        do {
            return try YAMLDecoder().decode(RuleFile.self, from: yaml)
        } catch {
            throw RuleSetError(description: "\(source): \(error)")
        }
    }

    /// Bundled rules plus the user's config: added or replaced rules, disabled ids, allowlist.
    public static func load(config: SecretsConfig = SecretsConfig()) throws -> RuleSet {
        try RuleSet(file: bundledFile(), config: config)
    }

    public init(file: RuleFile, config: SecretsConfig = SecretsConfig()) throws {
        var specs = file.rules
        for extra in config.rules ?? [] {
            if let i = specs.firstIndex(where: { $0.id == extra.id }) { specs[i] = extra } else { specs.append(extra) }
        }
        let disabled = Set(config.disable ?? [])
        let unknown = disabled.subtracting(specs.map(\.id))
        if !unknown.isEmpty {
            throw RuleSetError(description: "secrets.disable names unknown rule(s): \(unknown.sorted().joined(separator: ", "))")
        }
        specs.removeAll { disabled.contains($0.id) }
        var seen = Set<String>()
        for spec in specs where !seen.insert(spec.id).inserted {
            throw RuleSetError(description: "duplicate secret rule id \(spec.id)")
        }

        var mergedGlobal = file.allowlist ?? AllowlistSpec()
        if let user = config.allowlist {
            mergedGlobal.regexes = (mergedGlobal.regexes ?? []) + (user.regexes ?? [])
            mergedGlobal.stopwords = (mergedGlobal.stopwords ?? []) + (user.stopwords ?? [])
            mergedGlobal.paths = (mergedGlobal.paths ?? []) + (user.paths ?? [])
        }
        global = try CompiledAllowlist(mergedGlobal, context: "global allowlist")

        var compiled: [CompiledRule] = []
        for spec in specs {
            let regex: PCRERegex
            if spec.anchor != nil && (spec.keywords ?? []).isEmpty {
                throw RuleSetError(description: "rule \(spec.id): an anchor needs keywords to anchor at")
            }
            do { regex = try PCRERegex(spec.regex, anchored: spec.anchor != nil) } catch {
                throw RuleSetError(description: "rule \(spec.id): \(error)")
            }
            if let group = spec.secretGroup, group > regex.captureCount {
                throw RuleSetError(description: "rule \(spec.id): secret_group \(group) but the regex has \(regex.captureCount) group(s)")
            }
            let title = spec.title ?? spec.id
            let descriptor = RuleDescriptor(
                id: spec.id, title: title,
                description: spec.description ?? title,
                severity: spec.severity ?? .high,
                cwe: spec.cwe ?? "CWE-798",
                engine: Self.engineID,
                help: Self.help(title: title),
                tags: ["secret"]
            )
            compiled.append(CompiledRule(
                descriptor: descriptor, regex: regex, secretGroup: spec.secretGroup,
                keywords: (spec.keywords ?? []).map { $0.lowercased() }.filter { !$0.isEmpty },
                entropy: spec.entropy, multiline: spec.multiline ?? false, anchor: spec.anchor, generic: spec.generic ?? false,
                allowlist: try CompiledAllowlist(spec.allowlist, context: "rule \(spec.id) allowlist")
            ))
        }
        rules = compiled

        var keywordIndex: [String: Int] = [:]
        var keywordList: [String] = []
        var perKeyword: [[Int]] = []
        var unkeyed: [Int] = []
        for (ruleIndex, rule) in compiled.enumerated() {
            if rule.keywords.isEmpty { unkeyed.append(ruleIndex) }
            for keyword in Set(rule.keywords) {
                if let k = keywordIndex[keyword] {
                    perKeyword[k].append(ruleIndex)
                } else {
                    keywordIndex[keyword] = keywordList.count
                    keywordList.append(keyword)
                    perKeyword.append([ruleIndex])
                }
            }
        }
        placement = compiled.map { rule in
            switch rule.anchor {
            case .keyword: .keyword
            case .identifier: .identifier
            case nil: rule.multiline ? .multilineWindow : .lineWindow
            }
        }
        keywords = KeywordMatcher(keywords: keywordList)
        keywordRules = perKeyword.map { $0.sorted() }
        unkeyedRules = unkeyed
        maxCaptures = compiled.map(\.regex.captureCount).max() ?? 0
    }

    private static func help(title: String) -> String {
        """
        Hard-coded credential (\(title)). Anyone who can read the repository, a clone of it \
        or its history can use it.

        **Fix:** revoke or rotate the credential with its provider first — removing it from the \
        code does not remove it from git history — then load it at run time from a secret \
        manager or the environment. If this is a test fixture or a false positive, add \
        `vega:ignore` to the line or an allowlist entry in `.vega.yaml`.
        """
    }
}
