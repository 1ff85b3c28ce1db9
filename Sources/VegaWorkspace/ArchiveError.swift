/// Why an archive was refused: the rule it broke and, when one entry broke it, that
/// entry's name. `description` is the message shown to the user as is.
public struct ArchiveError: Error, CustomStringConvertible, Sendable {
    /// A struct rather than an enum, so a new rule does not break callers' switches.
    public struct Rule: Hashable, Sendable, CustomStringConvertible {
        public let description: String

        public static let absolutePath = Rule(description: "absolute-path")
        public static let parentComponent = Rule(description: "parent-component")
        public static let escapingLink = Rule(description: "escaping-link")
        public static let specialFile = Rule(description: "special-file")
        public static let badName = Rule(description: "bad-name")
        public static let tooManyFiles = Rule(description: "too-many-files")
        public static let tooLarge = Rule(description: "too-large")
        public static let compressionRatio = Rule(description: "compression-ratio")
        public static let unsupported = Rule(description: "unsupported")
        public static let corrupt = Rule(description: "corrupt")
        public static let io = Rule(description: "io")
    }

    public let rule: Rule
    /// The offending entry's name, printable; nil when the archive as a whole broke the rule.
    public let entry: String?
    public let description: String

    init(_ rule: Rule, entry: [UInt8]? = nil, _ reason: String) {
        self.rule = rule
        self.entry = entry.map(Self.printable)
        if let name = self.entry {
            description = "archive entry '\(name)' refused: \(reason)"
        } else {
            description = "archive refused: \(reason)"
        }
    }

    /// A name as messages show it: invalid UTF-8 and control characters (which could
    /// garble a log line or a terminal) escaped, and cut to 200 characters.
    static func printable(_ name: [UInt8]) -> String {
        let scalars = String(decoding: name, as: UTF8.self).unicodeScalars
        var shown = ""
        for scalar in scalars.prefix(200) {
            if scalar.properties.generalCategory == .control || scalar == "\u{FFFD}" {
                shown += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
        return scalars.count > 200 ? shown + "…" : shown
    }
}
