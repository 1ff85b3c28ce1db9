import Foundation
import VegaModel

/// The human report for terminals: one row per finding, most severe first, then a
/// summary and what each engine covered (so "No findings." is never mistaken for
/// "nothing was scanned"). It prints only what the report holds; snippets arrive redacted.
public enum TableReport {
    /// `width` is the terminal's column count; 0 or less means unlimited (e.g. piped output).
    /// With `color` false the output holds no escape sequence at all.
    public static func render(_ report: ScanReport, color: Bool, width: Int) -> String {
        var lines: [String] = []
        if report.findings.isEmpty {
            lines.append("No findings.")
        } else {
            lines += table(report.findings, color: color, width: width)
            lines.append("")
            lines.append(summary(report.findings))
        }
        if report.suppressedByBaseline > 0 {
            lines.append("\(count(report.suppressedByBaseline, "finding")) suppressed by baseline.")
        }
        lines += report.engines.map(coverage)
        return lines.joined(separator: "\n") + "\n"
    }

    /// "3 findings (1 critical, 2 high)": only the severities that occur, most severe first.
    private static func summary(_ findings: [Finding]) -> String {
        let parts = Severity.allCases.reversed().compactMap { severity -> String? in
            let n = findings.filter { $0.severity == severity }.count
            return n == 0 ? nil : "\(n) \(severity.rawValue)"
        }
        return "\(count(findings.count, "finding")) (\(parts.joined(separator: ", ")))"
    }

    private static func table(_ findings: [Finding], color: Bool, width: Int) -> [String] {
        let ordered = findings.sorted { a, b in
            if a.severity != b.severity { return a.severity > b.severity }
            if a.location != b.location { return a.location < b.location }
            return a.ruleId < b.ruleId
        }
        let rows = ordered.map { finding in
            var location = "\(finding.location.path):\(finding.location.startLine)"
            if let commit = finding.commit { location += " @" + commit.sha.prefix(7) }
            return (severity: finding.severity, rule: printable(finding.ruleId),
                    location: printable(location), snippet: printable(finding.snippet))
        }
        let columns = Columns(
            rule: rows.map { columnsTaken(by: $0.rule) }.max() ?? 0,
            location: rows.map { columnsTaken(by: $0.location) }.max() ?? 0,
            snippet: rows.map { columnsTaken(by: $0.snippet) }.max() ?? 0,
            width: width
        )

        func line(_ severity: String, _ rule: String, _ location: String, _ snippet: String) -> String {
            severity + gap + pad(truncated(rule, columns.rule), columns.rule) + gap
                + pad(truncatedFromStart(location, columns.location), columns.location) + gap
                + truncated(snippet, columns.snippet)
        }

        let header = line(pad("SEVERITY", Columns.severity), "RULE", "LOCATION", "SNIPPET")
        var lines = [color ? ANSI.bold + header + ANSI.reset : header]
        for row in rows {
            // Padding stays outside the escape sequence so columns line up in both modes.
            let name = row.severity.rawValue
            let padding = String(repeating: " ", count: Columns.severity - name.count)
            let severity = (color ? ANSI.color(row.severity) + name + ANSI.reset : name) + padding
            lines.append(line(severity, row.rule, row.location, row.snippet).trimmingTrailingSpaces())
        }
        return lines
    }

    /// Column widths: rule and location get what they need up to a cap, the snippet the
    /// rest; when the terminal is narrow the location shrinks first and the rule, which
    /// the user needs to act on a finding, last.
    private struct Columns {
        static let severity = 8  // "critical", "SEVERITY"
        var rule: Int
        var location: Int
        var snippet: Int

        init(rule ruleNeeded: Int, location locationNeeded: Int, snippet snippetNeeded: Int, width: Int) {
            guard width > 0 else {
                (rule, location, snippet) = (max(4, ruleNeeded), max(8, locationNeeded), Int.max)
                return
            }
            rule = max(4, min(ruleNeeded, 40))
            location = max(8, min(locationNeeded, 60))
            let wanted = min(max(7, snippetNeeded), 10)
            snippet = width - Self.severity - 3 * gap.count - rule - location
            let fromLocation = max(0, min(wanted - snippet, location - 20))
            location -= fromLocation
            snippet += fromLocation
            let fromRule = max(0, min(wanted - snippet, rule - 12))
            rule -= fromRule
            snippet = max(snippet + fromRule, 8)
        }
    }

    private enum ANSI {
        static let reset = "\u{1B}[0m"
        static let bold = "\u{1B}[1m"

        static func color(_ severity: Severity) -> String {
            switch severity {
            case .critical: "\u{1B}[1;31m"
            case .high: "\u{1B}[31m"
            case .medium: "\u{1B}[33m"
            case .low: "\u{1B}[36m"
            case .info: "\u{1B}[2m"
            }
        }
    }

    private static let gap = "  "

    private static func count(_ n: Int, _ noun: String) -> String {
        "\(n) \(noun)\(n == 1 ? "" : "s")"
    }

    /// "secrets: scanned 120 files (45.2 KiB) in 0.42s; 3 skipped"
    private static func coverage(_ run: EngineRun) -> String {
        let c = run.coverage
        var text = "\(printable(run.engine)): scanned \(count(c.filesScanned, "file")) (\(bytes(c.bytesScanned))"
        if let commits = c.commitsScanned { text += ", \(count(commits, "commit"))" }
        text += ") in " + String(format: "%.2fs", run.durationSeconds)
        if !c.skipped.isEmpty { text += "; \(c.skipped.count) skipped" }
        return text
    }

    private static func bytes(_ n: Int) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard n >= 1024 else { return "\(n) B" }
        var value = Double(n) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: "%.1f ", value) + units[unit]
    }

    /// Scanned files can hold anything: control characters (escape sequences, newlines)
    /// and bidirectional overrides would let a file rewrite the terminal or the table, so
    /// whitespace controls become spaces and the rest U+FFFD.
    private static func printable(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\t" || scalar == "\n" || scalar == "\r" {
                out.append(" ")
            } else if scalar.properties.generalCategory == .control || bidiControls.contains(scalar.value) {
                out.append("\u{FFFD}")
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    private static let bidiControls = Set<UInt32>([0x061C, 0x200E, 0x200F])
        .union(0x202A...0x202E).union(0x2066...0x2069)

    /// Terminal columns a string takes: East Asian wide characters and emoji take two.
    static func columnsTaken(by text: String) -> Int {
        text.reduce(0) { $0 + columnsTaken(by: $1) }
    }

    private static func columnsTaken(by character: Character) -> Int {
        guard let scalar = character.unicodeScalars.first else { return 0 }
        if scalar.properties.isEmojiPresentation { return 2 }
        return wideRanges.contains { $0.contains(scalar.value) } ? 2 : 1
    }

    /// The East Asian Wide and Fullwidth blocks (UAX #11), coarsely.
    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
        0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
        0xFFE0...0xFFE6, 0x20000...0x3FFFD,
    ]

    private static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - columnsTaken(by: text)))
    }

    private static func truncated(_ text: String, _ width: Int) -> String {
        guard columnsTaken(by: text) > width else { return text }
        return String(fitting(text, width - 1)) + "…"
    }

    /// Keeps the end of a path, where the file name and line are.
    private static func truncatedFromStart(_ text: String, _ width: Int) -> String {
        guard columnsTaken(by: text) > width else { return text }
        return "…" + String(fitting(text.reversed(), width - 1).reversed())
    }

    /// The longest prefix of `characters` that fits in `width` columns.
    private static func fitting<C: Collection<Character>>(_ characters: C, _ width: Int) -> [Character] {
        var used = 0
        return Array(characters.prefix { character in
            used += columnsTaken(by: character)
            return used <= width
        })
    }
}

private extension String {
    func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
