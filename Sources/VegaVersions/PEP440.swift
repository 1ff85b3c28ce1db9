/// PyPI: PEP 440 ordering, as Python's `packaging` implements it. Strings that are not PEP 440
/// fall back to setuptools' legacy ordering (packaging's old LegacyVersion), as OSV does: every
/// legacy version sorts before every PEP 440 one.
enum PEP440 {
    static func compare(_ a: String, _ b: String) -> Int? {
        guard let v = parse(a), let w = parse(b) else { return nil }
        switch (v, w) {
        case let (.valid(x), .valid(y)): return x.compare(y)
        case let (.legacy(x), .legacy(y)): return compareLegacy(x, y)
        case (.legacy, .valid): return -1
        case (.valid, .legacy): return 1
        }
    }

    enum Parsed {
        case valid(Version)
        case legacy([Bytes])
    }

    static func parse(_ string: String) -> Parsed? {
        let bytes = trimmedBytes(string)
        guard !bytes.isEmpty else { return nil }
        if let version = Version(bytes) { return .valid(version) }
        return .legacy(legacyParts(Array(string.utf8.map(\.lowercased))[...]))
    }

    struct Version {
        var epoch: Bytes = [ASCII.zero][...]
        var release: [Bytes] = []
        /// Phase (a = 0, b = 1, rc = 2) and number.
        var pre: (phase: Int, number: Bytes)?
        var post: Bytes?
        var dev: Bytes?
        var local: [Bytes]?

        /// Parses packaging's VERSION_PATTERN (case-insensitive, separators `-_.` optional).
        init?(_ original: Bytes) {
            let s = Array(original.map(\.lowercased))
            var i = 0

            func digits() -> Bytes? {
                let start = i
                while i < s.count, s[i].isDigit { i += 1 }
                return i > start ? s[start..<i] : nil
            }
            func separator() { if i < s.count, s[i] == ASCII.dash || s[i] == ASCII.underscore || s[i] == ASCII.dot { i += 1 } }
            /// The first of `labels` (listed longest first where one prefixes another) at `i`.
            func label(_ labels: [String]) -> Int? {
                for (n, label) in labels.enumerated() {
                    let utf8 = label.utf8
                    if s.count - i >= utf8.count, s[i..<(i + utf8.count)].elementsEqual(utf8) {
                        i += utf8.count
                        return n
                    }
                }
                return nil
            }
            /// `[-_.]? label [-_.]? number?`, rewinding when the label is absent.
            func segment(_ labels: [String]) -> (label: Int, number: Bytes)? {
                let start = i
                separator()
                guard let n = label(labels) else { i = start; return nil }
                separator()
                return (n, digits() ?? [ASCII.zero][...])
            }

            if s.first == UInt8(ascii: "v") { i += 1 }
            guard let first = digits() else { return nil }
            if i < s.count, s[i] == UInt8(ascii: "!") {
                i += 1
                epoch = first
                guard let number = digits() else { return nil }
                release = [number]
            } else {
                release = [first]
            }
            while i + 1 < s.count, s[i] == ASCII.dot, s[i + 1].isDigit {
                i += 1
                release.append(digits()!)
            }
            // Spellings normalise: alpha → a, beta → b, c/pre/preview → rc.
            let prePhases = [0, 0, 1, 1, 2, 2, 2, 2]
            if let (n, number) = segment(["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"]) {
                pre = (prePhases[n], number)
            }
            // Implicit post release: "1.0-1".
            if i + 1 < s.count, s[i] == ASCII.dash, s[i + 1].isDigit {
                i += 1
                post = digits()
            } else if let (_, number) = segment(["post", "rev", "r"]) {
                post = number
            }
            if let (_, number) = segment(["dev"]) { dev = number }
            if i < s.count, s[i] == ASCII.plus {
                i += 1
                var parts: [Bytes] = []
                repeat {
                    if !parts.isEmpty { i += 1 }
                    let start = i
                    while i < s.count, s[i].isDigit || s[i].isLowercaseLetter { i += 1 }
                    guard i > start else { return nil }
                    parts.append(s[start..<i])
                } while i + 1 < s.count && (s[i] == ASCII.dash || s[i] == ASCII.underscore || s[i] == ASCII.dot)
                local = parts
            }
            guard i == s.count else { return nil }
        }

        /// packaging's _cmpkey order.
        func compare(_ other: Version) -> Int {
            var r = compareNumbers(epoch, other.epoch)
            if r != 0 { return r }
            r = compareZeroPadded(release, other.release)
            if r != 0 { return r }
            r = compareOptional(preKey, other.preKey, missing: 1) { a, b in
                a.phase != b.phase ? compareValues(a.phase, b.phase) : compareNumbers(a.number, b.number)
            }
            if r != 0 { return r }
            r = compareOptional(post, other.post, missing: -1, compareNumbers)
            if r != 0 { return r }
            r = compareOptional(dev, other.dev, missing: 1, compareNumbers)
            if r != 0 { return r }
            return compareOptional(local, other.local, missing: -1, compareLocal)
        }

        /// A dev release of a final version (1.0.dev0) sorts before its pre-releases: phase -1.
        private var preKey: (phase: Int, number: Bytes)? {
            if pre == nil, post == nil, dev != nil { return (-1, [][...]) }
            return pre
        }

        /// Local segments: numbers by value and after strings, strings lexically, longer after.
        private func compareLocal(_ a: [Bytes], _ b: [Bytes]) -> Int {
            for (x, y) in zip(a, b) {
                let r = switch (x.isAllDigits, y.isAllDigits) {
                case (true, true): compareNumbers(x, y)
                case (false, false): compareBytes(x, y)
                case (true, false): 1
                case (false, true): -1
                }
                if r != 0 { return r }
            }
            return compareValues(a.count, b.count)
        }
    }

    /// Orders optionals whose absence sorts as `missing` (+1: after every value, -1: before).
    private static func compareOptional<T>(_ a: T?, _ b: T?, missing: Int, _ compare: (T, T) -> Int) -> Int {
        switch (a, b) {
        case (nil, nil): 0
        case (nil, _): missing
        case (_, nil): -missing
        case let (x?, y?): compare(x, y)
        }
    }

    // MARK: Legacy versions

    /// setuptools' parse_version key: runs of digits (zero-padded to 8), runs of letters, `-`
    /// and runs of other characters, each prefixed with `*` unless numeric, then `*final`.
    static func legacyParts(_ s: Bytes) -> [Bytes] {
        let star = UInt8(ascii: "*")
        let finalDash = Bytes("*final-".utf8), final = Bytes("*final".utf8), zeros = Bytes("00000000".utf8)
        var parts: [Bytes] = []

        func append(_ part: Bytes) {
            if part.first == star {
                if compareBytes(part, final) < 0 {
                    while parts.last == finalDash { parts.removeLast() }
                }
                while parts.last == zeros { parts.removeLast() }
            }
            parts.append(part)
        }

        var i = s.startIndex
        while i < s.endIndex {
            let start = i
            let c = s[i]
            if c.isDigit {
                while i < s.endIndex, s[i].isDigit { i += 1 }
                let padding = max(0, 8 - (i - start))
                append(Bytes(repeatElement(ASCII.zero, count: padding)) + s[start..<i])
                continue
            }
            if c == ASCII.dot { i += 1; continue }
            if c == ASCII.dash {
                i += 1
                append(finalDash)
                continue
            }
            if c.isLowercaseLetter {
                while i < s.endIndex, s[i].isLowercaseLetter { i += 1 }
            } else {
                while i < s.endIndex, !(s[i].isDigit || s[i].isLowercaseLetter || s[i] == ASCII.dot || s[i] == ASCII.dash) { i += 1 }
            }
            let word = s[start..<i]
            let replacement: String? = switch String(decoding: word, as: UTF8.self) {
            case "pre", "preview", "rc": "c"
            case "dev": "@"
            default: nil
            }
            append([star][...] + (replacement.map { Bytes($0.utf8) } ?? word))
        }
        append(final)
        return parts
    }

    /// Tuple order of the legacy keys.
    static func compareLegacy(_ a: [Bytes], _ b: [Bytes]) -> Int {
        for (x, y) in zip(a, b) {
            let r = compareBytes(x, y)
            if r != 0 { return r }
        }
        return compareValues(a.count, b.count)
    }
}
