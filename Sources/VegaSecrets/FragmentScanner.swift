import Foundation
import VegaModel

/// A secret found in one fragment of text, before it becomes a `Detection`.
struct RawMatch {
    let rule: Int
    /// Byte range of the secret inside the fragment.
    let secret: Range<Int>
}

/// Scans one buffer of text (a file, or the added lines of a commit) with a rule set.
/// Not thread-safe: each worker owns one, with its own PCRE2 scratch space.
final class FragmentScanner {
    let ruleSet: RuleSet
    private let scratch: MatchScratch
    /// A regex may reach from the start of a keyword's line to the end of the next line
    /// (values are often on the line after their key: XML, YAML blocks), within these caps.
    /// Keywords name the identifier a secret is assigned to, so a match starts shortly
    /// before its keyword: the short look-back keeps long lines (minified code, JSON) cheap.
    static let lookBehindBytes = 256
    static let windowBytes = 4096
    static let multilineWindowBytes = 64 * 1024
    private static let suppressMarkers = KeywordMatcher(keywords: ["vega:ignore", "gitleaks:allow"])

    init(ruleSet: RuleSet) {
        self.ruleSet = ruleSet
        scratch = MatchScratch(maxCaptures: ruleSet.maxCaptures)
    }

    func pathAllowed(_ path: String) -> Bool {
        ruleSet.global.allowsPath(path, scratch: scratch)
    }

    /// Returns the detections in `text`. `lineNumber` maps a 1-based fragment line to the
    /// line reported (identity for files; the new-file line for a commit's added lines).
    func scan(
        _ text: UnsafeBufferPointer<UInt8>, path: String, commit: CommitInfo? = nil,
        lineNumber: (Int) -> Int = { $0 }
    ) -> [Detection] {
        let candidates = collectCandidates(text)
        guard !candidates.active.isEmpty else { return [] }
        var matches: [RawMatch] = []
        var seen = Set<[Int]>()
        for ruleIndex in candidates.active.sorted() {
            let rule = ruleSet.rules[ruleIndex]
            if !rule.allowlist.paths.isEmpty, rule.allowlist.allowsPath(path, scratch: scratch) { continue }
            let consider = { (groups: [Range<Int>?]) in
                guard let whole = groups[0], let secret = self.secretRange(rule: rule, groups: groups) else { return }
                guard seen.insert([ruleIndex, secret.lowerBound, secret.upperBound]).inserted else { return }
                if self.accept(rule: rule, text: text, whole: whole, secret: secret) {
                    matches.append(RawMatch(rule: ruleIndex, secret: secret))
                }
            }
            if rule.anchor != nil {
                let cap = rule.multiline ? Self.multilineWindowBytes : Self.windowBytes
                for offset in candidates.anchors[ruleIndex] {
                    if let groups = rule.regex.match(in: text, at: offset, end: min(text.count, offset + cap), scratch: scratch) {
                        consider(groups)
                    }
                }
            } else {
                for window in candidates.windows[ruleIndex] {
                    rule.regex.forEachMatch(in: text, window: window, scratch: scratch, consider)
                }
            }
        }
        return makeDetections(matches, text: text, path: path, commit: commit, lineNumber: lineNumber)
    }

    /// What one keyword pass found: per rule, anchor offsets or merged windows.
    private struct Candidates {
        var windows: [[Range<Int>]]
        var anchors: [[Int]]
        var active: [Int] = []

        init(ruleCount: Int) {
            windows = Array(repeating: [], count: ruleCount)
            anchors = Array(repeating: [], count: ruleCount)
        }
    }

    /// One keyword pass: anchored rules collect start offsets, the others merged windows.
    private func collectCandidates(_ text: UnsafeBufferPointer<UInt8>) -> Candidates {
        var found = Candidates(ruleCount: ruleSet.rules.count)
        let placement = ruleSet.placement
        let keywordRules = ruleSet.keywordRules
        ruleSet.keywords.forEachHit(in: text) { keyword, offset in
            var lineWindow: Range<Int>?
            for ruleIndex in keywordRules[keyword] {
                if found.windows[ruleIndex].isEmpty && found.anchors[ruleIndex].isEmpty { found.active.append(ruleIndex) }
                let window: Range<Int>
                switch placement[ruleIndex] {
                case .keyword, .identifier:
                    let start = placement[ruleIndex] == .keyword ? offset : Self.identifierStart(before: offset, in: text)
                    if found.anchors[ruleIndex].last != start { found.anchors[ruleIndex].append(start) }
                    continue
                case .multilineWindow:
                    window = Self.window(around: offset, in: text, multiline: true)
                case .lineWindow:
                    if lineWindow == nil { lineWindow = Self.window(around: offset, in: text, multiline: false) }
                    window = lineWindow!
                }
                if let last = found.windows[ruleIndex].last, last.upperBound >= window.lowerBound {
                    found.windows[ruleIndex][found.windows[ruleIndex].count - 1] = last.lowerBound..<max(last.upperBound, window.upperBound)
                } else {
                    found.windows[ruleIndex].append(window)
                }
            }
        }
        for ruleIndex in ruleSet.unkeyedRules {
            found.active.append(ruleIndex)
            found.windows[ruleIndex] = [0..<text.count]
        }
        return found
    }

    /// Start of the identifier run holding the byte at `offset`, looking back at most 64 bytes.
    private static func identifierStart(before offset: Int, in text: UnsafeBufferPointer<UInt8>) -> Int {
        var start = offset
        let floor = max(0, offset - 64)
        while start > floor {
            let b = text[start - 1]
            let isIdentifier = (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39)
                || b == 0x5F || b == 0x2E || b == 0x2D
            if !isIdentifier { break }
            start -= 1
        }
        return start
    }

    private static func window(around offset: Int, in text: UnsafeBufferPointer<UInt8>, multiline: Bool) -> Range<Int> {
        var start = offset
        let floor = max(0, offset - (multiline ? windowBytes : lookBehindBytes))
        while start > floor && text[start - 1] != 0x0A { start -= 1 }
        var end = offset
        let ceiling = min(text.count, offset + (multiline ? multilineWindowBytes : windowBytes))
        var newlines = 0
        while end < ceiling {
            if text[end] == 0x0A && !multiline {
                newlines += 1
                if newlines == 2 { break }
            }
            end += 1
        }
        return start..<end
    }

    private func secretRange(rule: CompiledRule, groups: [Range<Int>?]) -> Range<Int>? {
        if let group = rule.secretGroup { return groups[group].flatMap { $0.isEmpty ? nil : $0 } }
        if let first = groups.dropFirst().first(where: { $0.map { !$0.isEmpty } ?? false }) { return first }
        return groups[0].flatMap { $0.isEmpty ? nil : $0 }
    }

    private func accept(rule: CompiledRule, text: UnsafeBufferPointer<UInt8>, whole: Range<Int>, secret: Range<Int>) -> Bool {
        let secretBytes = UnsafeBufferPointer(rebasing: text[secret])
        if let minimum = rule.entropy, shannonEntropy(secretBytes) < minimum { return false }
        if ruleSet.global.allows(secret: secretBytes, target: secretBytes, scratch: scratch) { return false }
        let line = Self.lineRange(containing: secret, in: text)
        if !rule.allowlist.isEmpty {
            let target: Range<Int> = switch rule.allowlist.target {
            case .secret: secret
            case .match: whole
            case .line: line
            }
            if rule.allowlist.allows(secret: secretBytes, target: UnsafeBufferPointer(rebasing: text[target]), scratch: scratch) {
                return false
            }
        }
        return !Self.suppressed(text, line: line)
    }

    /// A `vega:ignore` (or gitleaks' `gitleaks:allow`) on the line silences it.
    private static func suppressed(_ text: UnsafeBufferPointer<UInt8>, line: Range<Int>) -> Bool {
        suppressMarkers.containsAny(in: UnsafeBufferPointer(rebasing: text[line]))
    }

    /// From the start of the line holding `range.lowerBound` to the end of the line holding its end.
    static func lineRange(containing range: Range<Int>, in text: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var start = range.lowerBound
        while start > 0 && text[start - 1] != 0x0A { start -= 1 }
        var end = max(range.upperBound, start)
        while end < text.count && text[end] != 0x0A { end += 1 }
        return start..<end
    }

    private func makeDetections(
        _ matches: [RawMatch], text: UnsafeBufferPointer<UInt8>, path: String, commit: CommitInfo?,
        lineNumber: (Int) -> Int
    ) -> [Detection] {
        guard !matches.isEmpty else { return [] }
        // One secret, one finding: a catch-all rule yields to a specific rule on the same bytes.
        let specific = matches.filter { !ruleSet.rules[$0.rule].generic }
        let kept = matches.filter { match in
            !ruleSet.rules[match.rule].generic || !specific.contains { $0.secret.overlaps(match.secret) }
        }
        let sorted = kept.sorted { ($0.secret.lowerBound, $0.rule) < ($1.secret.lowerBound, $1.rule) }
        // Every secret found is masked in every snippet, not only its own.
        let secrets = sorted.map(\.secret)
        var lines = LineCounter(text)
        return sorted.map { match in
            let rule = ruleSet.rules[match.rule]
            let (startLine, startColumn) = lines.position(of: match.secret.lowerBound)
            let (endLine, endColumn) = lines.position(of: max(match.secret.upperBound - 1, match.secret.lowerBound))
            let secret = String(decoding: text[match.secret], as: UTF8.self)
            let redacted = Redaction.redact(secret)
            return Detection(
                rule: rule.descriptor,
                message: "\(rule.descriptor.title) found: \(redacted)",
                location: Location(
                    path: path, startLine: lineNumber(startLine), startColumn: startColumn,
                    endLine: lineNumber(endLine), endColumn: endColumn
                ),
                snippet: Self.snippet(for: match.secret, secrets: secrets, in: text),
                identity: secret,
                commit: commit
            )
        }
    }

    /// The secret's first line with every detected secret on it masked, cut to a readable width.
    static func snippet(for secret: Range<Int>, secrets: [Range<Int>], in text: UnsafeBufferPointer<UInt8>) -> String {
        let line = lineRange(containing: secret.lowerBound..<secret.lowerBound, in: text)
        var out = ""
        var cursor = line.lowerBound
        for other in secrets where other.lowerBound < line.upperBound && other.upperBound > line.lowerBound {
            let lo = max(other.lowerBound, line.lowerBound)
            if lo > cursor { out += String(decoding: text[cursor..<lo], as: UTF8.self) }
            if lo >= cursor {
                out += Redaction.redact(String(decoding: text[other], as: UTF8.self))
                cursor = min(other.upperBound, line.upperBound)
            }
        }
        if cursor < line.upperBound { out += String(decoding: text[cursor..<line.upperBound], as: UTF8.self) }
        out = out.trimmingCharacters(in: .whitespaces)
        return out.count > 200 ? String(out.prefix(197)) + "..." : out
    }
}

/// Turns byte offsets into 1-based line/column, walking forward only (offsets come sorted).
private struct LineCounter {
    let text: UnsafeBufferPointer<UInt8>
    var offset = 0
    var line = 1
    var lineStart = 0

    init(_ text: UnsafeBufferPointer<UInt8>) { self.text = text }

    mutating func position(of target: Int) -> (line: Int, column: Int) {
        if target < offset { (offset, line, lineStart) = (0, 1, 0) }
        while offset < target {
            if text[offset] == 0x0A {
                line += 1
                lineStart = offset + 1
            }
            offset += 1
        }
        // Columns count code points: skip UTF-8 continuation bytes.
        var column = 1
        for i in lineStart..<target where text[i] & 0xC0 != 0x80 { column += 1 }
        return (line, column)
    }
}
