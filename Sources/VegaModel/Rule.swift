/// What a rule is, as reports and `vega rules list` show it. Engines own how it matches.
public struct RuleDescriptor: Codable, Sendable, Hashable {
    public var id: String
    public var title: String
    public var description: String
    public var severity: Severity
    /// e.g. "CWE-798"
    public var cwe: String?
    public var engine: String
    /// Markdown guidance: why it matters and how to fix it.
    public var help: String
    public var tags: [String]

    public init(
        id: String, title: String, description: String, severity: Severity, cwe: String?,
        engine: String, help: String, tags: [String] = []
    ) {
        self.id = id
        self.title = title
        self.description = description
        self.severity = severity
        self.cwe = cwe
        self.engine = engine
        self.help = help
        self.tags = tags
    }
}
