/// One line of a gitignore-syntax file, parsed the way git's dir.c parses it.
struct IgnorePattern: Sendable {
    enum Form: Sendable {
        /// No wildcards: a byte comparison.
        case literal([UInt8])
        /// `*` followed by a literal, matched against a name: a suffix comparison.
        case suffix([UInt8])
        case glob(Glob)
    }

    let form: Form
    let negated: Bool
    /// A trailing '/': matches directories only.
    let directoryOnly: Bool
    /// No '/' except a trailing one: matches an entry's name at any depth. Otherwise the
    /// pattern is anchored to the directory of the file it came from.
    let matchesName: Bool

    /// nil for blank lines, comments and patterns that can never match.
    init?(line: ArraySlice<UInt8>) {
        var line = line
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        if line.first == UInt8(ascii: "#") { return nil }
        line = IgnorePattern.trimmingTrailingSpaces(line)
        negated = line.first == UInt8(ascii: "!")
        if negated { line.removeFirst() }
        directoryOnly = line.last == slash
        if directoryOnly { line.removeLast() }
        matchesName = !line.contains(slash)
        // A leading '/' only anchors; the rest is relative to the file's directory.
        if line.first == slash { line.removeFirst() }
        guard !line.isEmpty else { return nil }

        let wildcards: Set<UInt8> = [UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "\\")]
        if !line.contains(where: wildcards.contains) {
            form = .literal(Array(line))
        } else if matchesName, line.first == UInt8(ascii: "*"), !line.dropFirst().contains(where: wildcards.contains) {
            form = .suffix(Array(line.dropFirst()))
        } else if let glob = Glob(line) {
            form = .glob(glob)
        } else {
            return nil
        }
    }

    /// Drops unescaped trailing spaces (not tabs), as git does.
    private static func trimmingTrailingSpaces(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var trailingSpaces: Int? = nil
        var i = line.startIndex
        while i < line.endIndex {
            switch line[i] {
            case UInt8(ascii: " "):
                if trailingSpaces == nil { trailingSpaces = i }
            case UInt8(ascii: "\\"):
                i += 1
                if i == line.endIndex { return line }
                trailingSpaces = nil
            default:
                trailingSpaces = nil
            }
            i += 1
        }
        return trailingSpaces.map { line[..<$0] } ?? line
    }

    /// `path` is relative to the pattern file's directory; `name` is its last component.
    func matches(path: UnsafeBufferPointer<UInt8>, name: UnsafeBufferPointer<UInt8>, isDirectory: Bool) -> Bool {
        if directoryOnly && !isDirectory { return false }
        let subject = matchesName ? name : path
        switch form {
        case .literal(let literal):
            return subject.elementsEqual(literal)
        case .suffix(let suffix):
            return subject.count >= suffix.count && subject[(subject.count - suffix.count)...].elementsEqual(suffix)
        case .glob(let glob):
            return glob.matches(subject)
        }
    }
}

/// The patterns of one ignore file (or of the configured excludes).
struct IgnoreRuleSet: Sendable {
    /// Byte length of the directory the patterns are relative to, as a prefix of the
    /// walker's match paths ("" or "dir/sub/").
    let baseLength: Int
    let patterns: [IgnorePattern]

    init(contents: [UInt8], baseLength: Int) {
        var body = contents[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        self.baseLength = baseLength
        patterns = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
            .compactMap { IgnorePattern(line: $0) }
    }

    init(patterns lines: [String], baseLength: Int) {
        self.baseLength = baseLength
        patterns = lines.compactMap { IgnorePattern(line: Array($0.utf8)[...]) }
    }

    /// Whether the last pattern matching `path` ignores it (true), re-includes it
    /// (false), or no pattern matches (nil).
    func decision(path: UnsafeBufferPointer<UInt8>, nameStart: Int, isDirectory: Bool) -> Bool? {
        // Patterns speak only of paths inside their own directory.
        guard path.count > baseLength else { return nil }
        let relative = UnsafeBufferPointer(rebasing: path[baseLength...])
        let name = UnsafeBufferPointer(rebasing: path[nameStart...])
        for pattern in patterns.reversed() where pattern.matches(path: relative, name: name, isDirectory: isDirectory) {
            return !pattern.negated
        }
        return nil
    }
}

/// The ignore rules in force in one directory.
///
/// Precedence, highest first: configured excludes; files named in
/// `WalkOptions.ignoreFileNames` (deepest directory first); `.gitignore` files (deepest
/// first); `.git/info/exclude`. The first rule set with a matching pattern decides, and
/// within a set the last matching line wins, as in git. Putting `.vegaignore` above
/// `.gitignore` (as ripgrep does with `.ignore`) lets a `!pattern` there bring back a
/// file a `.gitignore` hides from git but that should still be scanned.
struct IgnoreStack: Sendable {
    private let excludes: IgnoreRuleSet?
    private let custom: [IgnoreRuleSet]
    private let git: [IgnoreRuleSet]
    private let infoExclude: IgnoreRuleSet?
    private let ordered: [IgnoreRuleSet]

    init(excludes: IgnoreRuleSet?, infoExclude: IgnoreRuleSet?) {
        self.init(excludes: excludes, custom: [], git: [], infoExclude: infoExclude)
    }

    private init(excludes: IgnoreRuleSet?, custom: [IgnoreRuleSet], git: [IgnoreRuleSet], infoExclude: IgnoreRuleSet?) {
        self.excludes = excludes
        self.custom = custom
        self.git = git
        self.infoExclude = infoExclude
        ordered = [excludes].compactMap { $0 } + custom + git + [infoExclude].compactMap { $0 }
    }

    /// The stack for a subdirectory that holds ignore files of its own. `custom` is in
    /// `ignoreFileNames` order, so a later name overrides an earlier one.
    func adding(gitignore: IgnoreRuleSet?, custom added: [IgnoreRuleSet]) -> IgnoreStack {
        IgnoreStack(
            excludes: excludes,
            custom: added.reversed() + custom,
            git: [gitignore].compactMap { $0 } + git,
            infoExclude: infoExclude
        )
    }

    /// `path` is the entry's match path; its name starts at `nameStart`.
    func isIgnored(path: UnsafeBufferPointer<UInt8>, nameStart: Int, isDirectory: Bool) -> Bool {
        for set in ordered {
            if let ignored = set.decision(path: path, nameStart: nameStart, isDirectory: isDirectory) {
                return ignored
            }
        }
        return false
    }
}
