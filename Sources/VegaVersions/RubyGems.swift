/// RubyGems: Gem::Version. Segments are runs of digits or of letters; a letter segment makes
/// the version a prerelease (it sorts before the numbers), `-` reads as `.pre.`, and trailing
/// zeros of the numeric part and of the rest are insignificant.
enum GemVersion {
    enum Segment: Equatable {
        case number(Bytes)
        case string(Bytes)

        var isZero: Bool {
            if case .number(let digits) = self { return digits.allSatisfy { $0 == ASCII.zero } }
            return false
        }
    }

    static func compare(_ a: String, _ b: String) -> Int? {
        guard let v = canonicalSegments(a), let w = canonicalSegments(b) else { return nil }
        for i in 0..<max(v.count, w.count) {
            let zero = Segment.number([ASCII.zero][...])
            let r = switch (i < v.count ? v[i] : zero, i < w.count ? w[i] : zero) {
            case let (.number(x), .number(y)): compareNumbers(x, y)
            case let (.string(x), .string(y)): compareBytes(x, y)
            case (.string, .number): -1
            case (.number, .string): 1
            }
            if r != 0 { return r }
        }
        return 0
    }

    /// Gem::Version#canonical_segments, or nil when Gem::Version.correct? rejects the string.
    static func canonicalSegments(_ string: String) -> [Segment]? {
        let s = trimmedBytes(string)
        guard !s.isEmpty, isCorrect(s) else { return nil }
        var segments: [Segment] = []
        var i = s.startIndex
        while i < s.endIndex {
            let start = i
            if s[i].isDigit {
                while i < s.endIndex, s[i].isDigit { i += 1 }
                segments.append(.number(s[start..<i]))
            } else if s[i].isLetter {
                while i < s.endIndex, s[i].isLetter { i += 1 }
                segments.append(.string(s[start..<i]))
            } else {
                if s[i] == ASCII.dash { segments.append(.string(Bytes("pre".utf8))) }
                i += 1
            }
        }
        // Trailing zeros go from the numeric part and from the part after the first string.
        let split = segments.firstIndex { if case .string = $0 { true } else { false } } ?? segments.count
        var numeric = segments[..<split], rest = segments[split...]
        while numeric.last?.isZero == true { numeric.removeLast() }
        while rest.last?.isZero == true { rest.removeLast() }
        return Array(numeric + rest)
    }

    /// Gem::Version accepts `[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?`; like
    /// OSV we also take letters straight after digits ("1beta"), so only the first character
    /// and the alphabet are checked.
    static func isCorrect(_ s: Bytes) -> Bool {
        s.first!.isDigit && s.allSatisfy { $0.isAlphanumeric || $0 == ASCII.dot || $0 == ASCII.dash }
    }
}
