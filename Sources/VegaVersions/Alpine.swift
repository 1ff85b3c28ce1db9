/// Alpine (and Wolfi, Chainguard): apk's `number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}`.
///
/// Well-formed versions order exactly as apk-tools 2.10 (`apk version -t`, which generated
/// OSV's vectors): numbers by value, except that after the first one a number with a leading
/// zero orders by its zeros first; then the letter; suffixes alpha < beta < pre < rc < (none) <
/// cvs < svn < git < hg < p; then `-r`. A version that continues past another is greater,
/// unless with a pre-release suffix. apk orders malformed versions (`0.r1`, `1-ruff`, a `~hash`
/// it does not know) by accident of its tokenizer, differently across releases; for those we
/// follow OSV's model instead (see `Lenient`), where the commit hash does not order.
enum AlpineVersion {
    static func compare(_ a: String, _ b: String) -> Int? {
        guard !a.isEmpty, !b.isEmpty else { return nil }
        let x = Array(a.utf8)[...], y = Array(b.utf8)[...]
        if isWellFormed(x), isWellFormed(y) { return compareTokens(x, y) }
        return Lenient(x).compare(Lenient(y))
    }

    /// Accepted by apk-tools 2.10 (apk_version_validate), with every dot starting a number as
    /// the documented grammar (and current apk) requires.
    static func isWellFormed(_ s: Bytes) -> Bool {
        for i in s.indices where s[i] == ASCII.dot {
            guard i + 1 < s.endIndex, s[i + 1].isDigit else { return false }
        }
        var tokens = Tokens(rest: s)
        while tokens.kind != .end, tokens.kind != .invalid { _ = tokens.next() }
        return tokens.kind == .end
    }

    // MARK: apk-tools 2.10

    /// Token kinds in apk's order, which decides when one version runs out before the other.
    enum Kind: Int, Comparable {
        case invalid = -1, digitOrZero, digit, letter, suffix, suffixNumber, revision, end
        static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
    }

    /// A token's value: digits of any length, or a small code (a letter, a suffix's rank, or
    /// minus the count of leading zeros of a number after a dot).
    enum Value: Equatable {
        case small(Int)
        case digits(Bytes)

        func compare(_ other: Value) -> Int {
            switch (self, other) {
            case let (.small(a), .small(b)): compareValues(a, b)
            case let (.digits(a), .digits(b)): compareNumbers(a, b)
            case let (.small(a), .digits(b)): a < 0 ? -1 : compareNumbers(Bytes(String(a).utf8), b)
            case let (.digits(a), .small(b)): b < 0 ? 1 : compareNumbers(a, Bytes(String(b).utf8))
            }
        }

        static func == (a: Value, b: Value) -> Bool { a.compare(b) == 0 }
    }

    static let preSuffixes = ["alpha", "beta", "pre", "rc"].map { Bytes($0.utf8) }
    static let postSuffixes = ["cvs", "svn", "git", "hg", "p"].map { Bytes($0.utf8) }

    /// apk_version_compare.
    static func compareTokens(_ a: Bytes, _ b: Bytes) -> Int {
        var x = Tokens(rest: a), y = Tokens(rest: b)
        var av = Value.small(0), bv = Value.small(0)
        while x.kind == y.kind, x.kind != .end, x.kind != .invalid, av == bv {
            av = x.next()
            bv = y.next()
        }
        let r = av.compare(bv)
        if r != 0 || x.kind == y.kind { return r }
        if x.kind == .suffix, x.peekSuffix() < 0 { return -1 }
        if y.kind == .suffix, y.peekSuffix() < 0 { return 1 }
        return compareValues(y.kind, x.kind)
    }

    /// apk-tools' get_token/next_token over one version.
    struct Tokens {
        var kind = Kind.digit
        var rest: Bytes

        /// The value of the current token; moves to the next.
        mutating func next() -> Value {
            guard !rest.isEmpty else {
                kind = .end
                return .small(0)
            }
            let value: Value
            var nextKind: Kind?
            switch kind {
            case .digitOrZero where rest.first == ASCII.zero:
                let zeros = rest.prefix { $0 == ASCII.zero }.count
                rest = rest.dropFirst(zeros)
                value = .small(-zeros)
                nextKind = .digit
            case .digitOrZero, .digit, .suffixNumber, .revision:
                let digits = rest.prefix(while: \.isDigit)
                rest = rest.dropFirst(digits.count)
                value = .digits(digits)
            case .letter:
                value = .small(Int(rest.first!))
                rest = rest.dropFirst()
            case .suffix:
                if let n = AlpineVersion.preSuffixes.firstIndex(where: { rest.starts(with: $0) }) {
                    rest = rest.dropFirst(AlpineVersion.preSuffixes[n].count)
                    value = .small(n - AlpineVersion.preSuffixes.count)
                } else if let n = AlpineVersion.postSuffixes.firstIndex(where: { rest.starts(with: $0) }) {
                    rest = rest.dropFirst(AlpineVersion.postSuffixes[n].count)
                    value = .small(n)
                } else {
                    kind = .invalid
                    return .small(-1)
                }
            case .invalid, .end:
                kind = .invalid
                return .small(-1)
            }
            if rest.isEmpty {
                kind = .end
            } else if let nextKind {
                kind = nextKind
            } else {
                advanceKind()
            }
            return value
        }

        /// The value of the suffix token at hand, without moving (negative: a pre-release).
        func peekSuffix() -> Int {
            var copy = self
            if case .small(let n) = copy.next() { return n }
            return 0
        }

        /// next_token: the kind of token the next character starts.
        private mutating func advanceKind() {
            let c = rest.first!
            var n = Kind.invalid
            if c == 0 {
                n = .end
            } else if kind == .digit || kind == .digitOrZero, c.isLowercaseLetter {
                n = .letter
            } else if kind == .letter, c.isDigit {
                n = .digit
            } else if kind == .suffix, c.isDigit {
                n = .suffixNumber
            } else {
                switch c {
                case ASCII.dot: n = .digitOrZero
                case ASCII.underscore: n = .suffix
                case ASCII.dash:
                    if rest.count > 1, rest[rest.startIndex + 1] == UInt8(ascii: "r") {
                        n = .revision
                        rest = rest.dropFirst()
                    }
                default: break
                }
                rest = rest.dropFirst()
            }
            // Kinds only move forward, except for these steps back.
            if n < kind, !((n == .digitOrZero && kind == .digit) || (n == .suffix && kind == .suffixNumber) || (n == .digit && kind == .letter)) {
                n = .invalid
            }
            kind = n
        }
    }

    // MARK: Malformed versions

    /// OSV's model of a malformed version: the dotted numbers, one letter, every `_suffix` found
    /// (only leading ones are consumed), the hash and `-r`; anything else makes it invalid.
    /// Parts compare in that order, with whatever is left over sorting first; two invalid
    /// versions compare as strings.
    struct Lenient {
        var original: Bytes
        var numbers: [Bytes] = []
        var letter: UInt8?
        /// Ranks: alpha…rc are -4…-1, no suffix 0, cvs…p 1…5.
        var suffixes: [(rank: Int, number: Bytes)] = []
        var revision: Bytes = [][...]
        var remainder: Bytes
        var isInvalid = false

        init(_ s: Bytes) {
            original = s
            var rest = s
            // Numbers, each followed by at most one dot.
            while let first = rest.first, first.isDigit {
                let digits = rest.prefix(while: \.isDigit)
                numbers.append(digits)
                rest = rest[digits.endIndex...]
                guard rest.first == ASCII.dot else { break }
                rest = rest.dropFirst()
            }
            if let c = rest.first, c.isLowercaseLetter {
                letter = c
                rest = rest.dropFirst()
            }
            var scan = rest.startIndex
            while let underscore = rest[scan...].firstIndex(of: ASCII.underscore) {
                let name = rest[(underscore + 1)...]
                let pre = AlpineVersion.preSuffixes.firstIndex { name.starts(with: $0) }
                guard let (rank, length) = pre.map({ ($0 - 4, AlpineVersion.preSuffixes[$0].count) })
                    ?? AlpineVersion.postSuffixes.firstIndex(where: { name.starts(with: $0) })
                        .map({ ($0 + 1, AlpineVersion.postSuffixes[$0].count) })
                else {
                    scan = underscore + 1
                    continue
                }
                let digits = rest[(name.startIndex + length)...].prefix(while: \.isDigit)
                suffixes.append((rank, digits))
                if underscore == rest.startIndex { rest = rest[digits.endIndex...] }
                scan = digits.endIndex
            }
            if rest.first == ASCII.tilde {
                let hash = rest.dropFirst().prefix { $0.isDigit || $0 &- UInt8(ascii: "a") < 6 }
                if !hash.isEmpty { rest = rest[hash.endIndex...] }
            }
            if !rest.isEmpty {
                if rest.starts(with: "-r".utf8) {
                    revision = rest.dropFirst(2).prefix(while: \.isDigit)
                    rest = rest[revision.endIndex...]
                } else {
                    isInvalid = true
                }
            }
            remainder = rest
        }

        func compare(_ other: Lenient) -> Int {
            if isInvalid, other.isInvalid { return compareBytes(original, other.original) }
            let zero: Bytes = [ASCII.zero][...]
            for i in 0..<max(numbers.count, other.numbers.count) {
                // Padding is a plain 0; past the first number, leading zeros compare as text.
                let x = i < numbers.count ? numbers[i] : nil, y = i < other.numbers.count ? other.numbers[i] : nil
                let r: Int
                if i > 0, let x, let y, x.first == ASCII.zero || y.first == ASCII.zero {
                    r = compareBytes(x, y)
                } else {
                    r = compareNumbers(x ?? zero, y ?? zero)
                }
                if r != 0 { return r }
            }
            switch (letter, other.letter) {
            case (nil, nil): break
            case (nil, _): return -1
            case (_, nil): return 1
            case let (x?, y?): if x != y { return compareValues(x, y) }
            }
            let none = (rank: 0, number: zero)
            for i in 0..<max(suffixes.count, other.suffixes.count) {
                let x = i < suffixes.count ? suffixes[i] : none, y = i < other.suffixes.count ? other.suffixes[i] : none
                let r = x.rank != y.rank ? compareValues(x.rank, y.rank) : compareNumbers(x.number, y.number)
                if r != 0 { return r }
            }
            let r = compareNumbers(revision, other.revision)
            if r != 0 { return r }
            return compareValues(other.remainder.isEmpty ? 0 : 1, remainder.isEmpty ? 0 : 1)
        }
    }
}
