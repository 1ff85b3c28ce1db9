/// The commit a finding was introduced in (history scans only).
public struct CommitInfo: Codable, Sendable, Hashable {
    public var sha: String
    public var author: String
    public var email: String
    /// ISO 8601
    public var date: String

    public init(sha: String, author: String, email: String, date: String) {
        self.sha = sha
        self.author = author
        self.email = email
        self.date = date
    }
}

/// What an engine reports before the pipeline gives it an identity. `identity` is the
/// normalised matched content: it is hashed into the fingerprint and never written out,
/// so a secret's value leaves the process only as a one-way hash.
public struct Detection: Sendable {
    public var rule: RuleDescriptor
    public var message: String
    public var location: Location
    /// Already redacted by the engine.
    public var snippet: String
    public var identity: String
    public var commit: CommitInfo?

    public init(
        rule: RuleDescriptor, message: String, location: Location, snippet: String,
        identity: String, commit: CommitInfo? = nil
    ) {
        self.rule = rule
        self.message = message
        self.location = location
        self.snippet = snippet
        self.identity = identity
        self.commit = commit
    }
}

/// One finding, as every report format and (later) the store sees it.
public struct Finding: Codable, Sendable, Hashable {
    public var ruleId: String
    public var title: String
    public var severity: Severity
    public var cwe: String?
    public var message: String
    public var location: Location
    /// Redacted: a secret shows at most its first 4 characters.
    public var snippet: String
    public var engine: String
    /// Stable across re-scans and line shifts; see `Fingerprint`.
    public var fingerprint: String
    public var commit: CommitInfo?

    public init(
        ruleId: String, title: String, severity: Severity, cwe: String?, message: String,
        location: Location, snippet: String, engine: String, fingerprint: String,
        commit: CommitInfo? = nil
    ) {
        self.ruleId = ruleId
        self.title = title
        self.severity = severity
        self.cwe = cwe
        self.message = message
        self.location = location
        self.snippet = snippet
        self.engine = engine
        self.fingerprint = fingerprint
        self.commit = commit
    }
}
