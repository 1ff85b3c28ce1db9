import Crypto

/// Stable finding identity: SHA-256 over rule, normalised path, normalised matched
/// content and an occurrence index. Line numbers are deliberately left out so that
/// inserting lines above a finding, or editing unrelated code, keeps its identity;
/// the occurrence index tells apart repeats of the same content in one file.
public enum Fingerprint {
    public static let version = "v1"

    public static func compute(ruleId: String, path: String, identity: String, occurrence: Int) -> String {
        var hasher = SHA256()
        for part in [version, ruleId, normalise(path: path), normalise(content: identity), String(occurrence)] {
            hasher.update(data: Array(part.utf8))
            hasher.update(data: [0])
        }
        return hasher.finalize().hexString
    }

    /// Turns detections into findings. Detections with the same rule, path and content
    /// are numbered in location order, so the n-th repeat keeps its fingerprint as long
    /// as the repeats before it stay.
    public static func assign(_ detections: [Detection]) -> [Finding] {
        let ordered = detections.sorted { a, b in
            if a.location != b.location { return a.location < b.location }
            return a.rule.id < b.rule.id
        }
        var seen: [String: Int] = [:]
        return ordered.map { d in
            let key = [d.rule.id, normalise(path: d.location.path), normalise(content: d.identity)]
                .joined(separator: "\u{0}")
            let occurrence = seen[key, default: 0]
            seen[key] = occurrence + 1
            return Finding(
                ruleId: d.rule.id, title: d.rule.title, severity: d.rule.severity, cwe: d.rule.cwe,
                message: d.message, location: d.location, snippet: d.snippet, engine: d.rule.engine,
                fingerprint: compute(ruleId: d.rule.id, path: d.location.path, identity: d.identity, occurrence: occurrence),
                commit: d.commit, vulnerability: d.vulnerability
            )
        }
    }

    /// '/'-separated, no leading "./", no repeated or trailing separators.
    public static func normalise(path: String) -> String {
        path.split(whereSeparator: { $0 == "/" || $0 == "\\" })
            .filter { $0 != "." }
            .joined(separator: "/")
    }

    /// Whitespace runs fold to one space and the ends are trimmed, so re-indenting or
    /// reflowing a line does not change identity.
    public static func normalise(content: String) -> String {
        content.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}
