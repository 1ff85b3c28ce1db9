import VegaModel

/// An allowlist as written in rules.yaml or a user's `.vega.yaml`.
public struct AllowlistSpec: Codable, Sendable, Equatable {
    public enum Target: String, Codable, Sendable { case secret, match, line }
    public var regexes: [String]?
    public var stopwords: [String]?
    public var paths: [String]?
    public var target: Target?

    public init(regexes: [String]? = nil, stopwords: [String]? = nil, paths: [String]? = nil, target: Target? = nil) {
        self.regexes = regexes
        self.stopwords = stopwords
        self.paths = paths
        self.target = target
    }
}

/// Where a rule's matches start relative to its keywords.
public enum Anchor: String, Codable, Sendable {
    /// At the keyword itself: token prefixes such as `ghp_` or `sk_live_`.
    case keyword
    /// At the start of the identifier (`[A-Za-z0-9_.-]` run) holding the keyword:
    /// assignments such as `stripe_secret = …`.
    case identifier
}

/// One secret rule as data (bundled or user-supplied).
public struct RuleSpec: Codable, Sendable, Equatable {
    public var id: String
    public var title: String?
    public var description: String?
    public var severity: Severity?
    public var cwe: String?
    public var regex: String
    public var secretGroup: Int?
    public var keywords: [String]?
    public var entropy: Double?
    public var multiline: Bool?
    /// Where every match of the rule starts, relative to a keyword hit. When set, the regex
    /// is tried once there (anchored) instead of at every offset of a window around the hit.
    public var anchor: Anchor?
    /// A catch-all rule: when a more specific rule finds the same secret, only that one is reported.
    public var generic: Bool?
    public var allowlist: AllowlistSpec?

    enum CodingKeys: String, CodingKey {
        case id, title, description, severity, cwe, regex, keywords, entropy, multiline, anchor, generic, allowlist
        case secretGroup = "secret_group"
    }

    public init(
        id: String, title: String? = nil, description: String? = nil, severity: Severity? = nil, cwe: String? = nil,
        regex: String, secretGroup: Int? = nil, keywords: [String]? = nil, entropy: Double? = nil,
        multiline: Bool? = nil, anchor: Anchor? = nil, generic: Bool? = nil, allowlist: AllowlistSpec? = nil
    ) {
        self.id = id
        self.title = title
        self.description = description
        self.severity = severity
        self.cwe = cwe
        self.regex = regex
        self.secretGroup = secretGroup
        self.keywords = keywords
        self.entropy = entropy
        self.multiline = multiline
        self.anchor = anchor
        self.generic = generic
        self.allowlist = allowlist
    }
}

/// The whole rules file.
public struct RuleFile: Codable, Sendable, Equatable {
    public var version: Int
    public var allowlist: AllowlistSpec?
    public var rules: [RuleSpec]
}

/// What a user's config says about the secrets engine.
public struct SecretsConfig: Codable, Sendable, Equatable {
    /// Added to (or, with the same id, replacing) the bundled rules.
    public var rules: [RuleSpec]?
    /// Bundled rule ids to turn off.
    public var disable: [String]?
    /// Added to the global allowlist.
    public var allowlist: AllowlistSpec?

    public init(rules: [RuleSpec]? = nil, disable: [String]? = nil, allowlist: AllowlistSpec? = nil) {
        self.rules = rules
        self.disable = disable
        self.allowlist = allowlist
    }
}
