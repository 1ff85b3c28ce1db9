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
    public var vulnerability: Vulnerability?

    public init(
        rule: RuleDescriptor, message: String, location: Location, snippet: String,
        identity: String, commit: CommitInfo? = nil, vulnerability: Vulnerability? = nil
    ) {
        self.rule = rule
        self.message = message
        self.location = location
        self.snippet = snippet
        self.identity = identity
        self.commit = commit
        self.vulnerability = vulnerability
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
    /// The vulnerable package and its fix (dependency findings only).
    public var vulnerability: Vulnerability?

    public init(
        ruleId: String, title: String, severity: Severity, cwe: String?, message: String,
        location: Location, snippet: String, engine: String, fingerprint: String,
        commit: CommitInfo? = nil, vulnerability: Vulnerability? = nil
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
        self.vulnerability = vulnerability
    }
}

/// A known vulnerability in an installed package: what a dependency finding is about, in
/// fields a tool can act on (upgrade to `fixedVersion`) rather than prose.
public struct Vulnerability: Codable, Sendable, Hashable {
    public var ecosystem: Ecosystem
    public var package: String
    public var installedVersion: String
    public var purl: String
    /// Every id the vulnerability is known by; the first is the one shown (a CVE when there is one).
    public var ids: [String]
    /// The smallest fixed version above the installed one, when the advisory names one.
    public var fixedVersion: String?
    public var cvssScore: Double?
    public var cvssVector: String?
    public var references: [String]

    public init(
        ecosystem: Ecosystem, package: String, installedVersion: String, purl: String, ids: [String],
        fixedVersion: String?, cvssScore: Double?, cvssVector: String?, references: [String]
    ) {
        self.ecosystem = ecosystem
        self.package = package
        self.installedVersion = installedVersion
        self.purl = purl
        self.ids = ids
        self.fixedVersion = fixedVersion
        self.cvssScore = cvssScore
        self.cvssVector = cvssVector
        self.references = references
    }
}
