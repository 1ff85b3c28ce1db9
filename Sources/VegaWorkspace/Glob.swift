/// A gitignore glob compiled once into tokens and matched the way git's `wildmatch`
/// matches with `WM_PATHNAME`: `*`, `?` and classes never match '/', and `**` between
/// slashes (or at either end) matches across directories.
struct Glob: Sendable {
    enum Token: Sendable, Equatable {
        case byte(UInt8)
        /// `?`
        case any
        /// `*`: any run of bytes without '/'.
        case star
        /// `**` bounded by slashes or the pattern's ends: any run, '/' included.
        case globstar
        case set(ByteSet, negated: Bool)
    }

    let tokens: [Token]

    /// nil when the pattern can never match: git's wildmatch aborts on an unterminated
    /// class, an unknown `[:name:]` class or a trailing lone backslash.
    init?(_ pattern: ArraySlice<UInt8>) {
        var tokens: [Token] = []
        var i = pattern.startIndex
        let end = pattern.endIndex
        while i < end {
            let c = pattern[i]
            switch c {
            case UInt8(ascii: "\\"):
                i += 1
                guard i < end else { return nil }
                tokens.append(.byte(pattern[i]))
                i += 1
            case UInt8(ascii: "?"):
                tokens.append(.any)
                i += 1
            case UInt8(ascii: "*"):
                let runStart = i
                while i < end, pattern[i] == UInt8(ascii: "*") { i += 1 }
                let atSegmentStart = runStart == pattern.startIndex || pattern[runStart - 1] == slash
                let atSegmentEnd = i == end || pattern[i] == slash
                    || (pattern[i] == UInt8(ascii: "\\") && i + 1 < end && pattern[i + 1] == slash)
                // Any other run of stars is a plain `*`, as in git.
                tokens.append(i - runStart >= 2 && atSegmentStart && atSegmentEnd ? .globstar : .star)
            case UInt8(ascii: "["):
                guard let (token, next) = Glob.parseClass(pattern, from: i + 1) else { return nil }
                tokens.append(token)
                i = next
            default:
                tokens.append(.byte(c))
                i += 1
            }
        }
        self.tokens = tokens
    }

    func matches(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        match(0, 0, text) == .match
    }

    /// git's `wildmatch` outcomes; the two aborts prune backtracking so that patterns
    /// with many stars stay polynomial.
    private enum Outcome { case match, noMatch, abortAll, abortToGlobstar }

    private func match(_ startToken: Int, _ startText: Int, _ text: UnsafeBufferPointer<UInt8>) -> Outcome {
        var p = startToken
        var t = startText
        while p < tokens.count {
            let token = tokens[p]
            switch token {
            case .star, .globstar:
                let crossesSlash = token == .globstar
                if crossesSlash, p + 1 < tokens.count, tokens[p + 1] == .byte(slash),
                   match(p + 2, t, text) == .match {
                    return .match  // `**/` matching no directory at all
                }
                p += 1
                if p == tokens.count {
                    return crossesSlash || !text[t...].contains(slash) ? .match : .noMatch
                }
                if !crossesSlash, tokens[p] == .byte(slash) {
                    // `*/` consumes exactly the rest of this path segment.
                    guard let next = text[t...].firstIndex(of: slash) else { return .noMatch }
                    t = next
                    continue
                }
                while t < text.count {
                    if case .byte(let literal) = tokens[p] {
                        // Skip ahead to the next place the following literal could start.
                        while t < text.count, text[t] != literal, crossesSlash || text[t] != slash { t += 1 }
                        if t == text.count || text[t] != literal { return .noMatch }
                    }
                    let outcome = match(p, t, text)
                    if outcome != .noMatch {
                        if !crossesSlash || outcome != .abortToGlobstar { return outcome }
                    } else if !crossesSlash && text[t] == slash {
                        return .abortToGlobstar
                    }
                    t += 1
                }
                return .abortAll
            case .byte(let b):
                guard t < text.count else { return .abortAll }
                if text[t] != b { return .noMatch }
            case .any:
                guard t < text.count else { return .abortAll }
                if text[t] == slash { return .noMatch }
            case .set(let set, let negated):
                guard t < text.count else { return .abortAll }
                if text[t] == slash || set.contains(text[t]) == negated { return .noMatch }
            }
            p += 1
            t += 1
        }
        return t == text.count ? .match : .noMatch
    }

    /// Parses a bracket expression whose body starts at `start` (just after '[').
    /// Returns the token and the index after the closing ']'.
    private static func parseClass(_ pattern: ArraySlice<UInt8>, from start: Int) -> (Token, Int)? {
        let end = pattern.endIndex
        var i = start
        var negated = false
        if i < end, pattern[i] == UInt8(ascii: "!") || pattern[i] == UInt8(ascii: "^") {
            negated = true
            i += 1
        }
        var set = ByteSet()
        var previous: UInt8? = nil
        var first = true
        while true {
            guard i < end else { return nil }
            var c = pattern[i]
            // A ']' right after '[' or '[!' is a member, not the end.
            if c == UInt8(ascii: "]") && !first { return (.set(set, negated: negated), i + 1) }
            first = false
            if c == UInt8(ascii: "\\") {
                i += 1
                guard i < end else { return nil }
                c = pattern[i]
                set.insert(c)
                previous = c
            } else if c == UInt8(ascii: "-"), let low = previous, i + 1 < end, pattern[i + 1] != UInt8(ascii: "]") {
                i += 1
                var high = pattern[i]
                if high == UInt8(ascii: "\\") {
                    i += 1
                    guard i < end else { return nil }
                    high = pattern[i]
                }
                if low <= high { set.insert(low...high) }
                previous = nil
            } else if c == UInt8(ascii: "["), i + 1 < end, pattern[i + 1] == UInt8(ascii: ":") {
                guard let close = pattern[(i + 2)...].firstIndex(of: UInt8(ascii: "]")) else { return nil }
                if close > i + 2, pattern[close - 1] == UInt8(ascii: ":") {
                    guard let members = ByteSet.named(pattern[(i + 2)..<(close - 1)]) else { return nil }
                    set.formUnion(members)
                    i = close
                } else {
                    // No ":]": the '[' is an ordinary member.
                    set.insert(c)
                }
                previous = nil
            } else {
                set.insert(c)
                previous = c
            }
            i += 1
        }
    }
}

let slash = UInt8(ascii: "/")

/// A set of bytes as a 256-bit map, so a class test is one shift and mask.
struct ByteSet: Sendable, Equatable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    static func == (a: ByteSet, b: ByteSet) -> Bool { a.words == b.words }

    func contains(_ byte: UInt8) -> Bool {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: return words.0 & bit != 0
        case 1: return words.1 & bit != 0
        case 2: return words.2 & bit != 0
        default: return words.3 & bit != 0
        }
    }

    mutating func insert(_ byte: UInt8) {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    mutating func insert(_ range: ClosedRange<UInt8>) {
        for byte in range { insert(byte) }
    }

    mutating func formUnion(_ other: ByteSet) {
        words = (words.0 | other.words.0, words.1 | other.words.1, words.2 | other.words.2, words.3 | other.words.3)
    }

    /// The POSIX classes git's wildmatch knows, over ASCII.
    static func named(_ name: ArraySlice<UInt8>) -> ByteSet? {
        var set = ByteSet()
        let test: (UInt8) -> Bool
        switch String(decoding: name, as: UTF8.self) {
        case "alnum": test = { isAlpha($0) || isDigit($0) }
        case "alpha": test = isAlpha
        case "blank": test = { $0 == 0x20 || $0 == 0x09 }
        case "cntrl": test = { $0 < 0x20 || $0 == 0x7F }
        case "digit": test = isDigit
        case "graph": test = { $0 > 0x20 && $0 < 0x7F }
        case "lower": test = { $0 >= 0x61 && $0 <= 0x7A }
        case "print": test = { $0 >= 0x20 && $0 < 0x7F }
        case "punct": test = { $0 > 0x20 && $0 < 0x7F && !isAlpha($0) && !isDigit($0) }
        case "space": test = { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
        case "upper": test = { $0 >= 0x41 && $0 <= 0x5A }
        case "xdigit": test = { isDigit($0) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }
        default: return nil
        }
        for byte in UInt8(0)...UInt8(127) where test(byte) { set.insert(byte) }
        return set
    }

    private static func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
}
