/// Packagist: PHP's version_compare after Composer strips the `v` prefix, as OSV implements it.
///
/// The version is canonicalised (`-`, `_` and `+` become `.`, and a `.` goes between digits and
/// other characters), split on `.`, and compared part by part: numbers by value, words by their
/// special form (dev < alpha = a < beta = b < RC = rc < number < pl = p; other words rank with
/// dev), a number against a word as the "#" form. When one runs out, the other is greater if it
/// continues with a number, otherwise its rest compares against "#".
enum PackagistVersion {
    static func compare(_ a: String, _ b: String) -> Int? {
        guard let v = parts(a), let w = parts(b) else { return nil }
        return compareParts(v[...], w[...])
    }

    static func parts(_ string: String) -> [Bytes]? {
        var s = Array(string.utf8)[...]
        guard !s.isEmpty else { return nil }
        if s.first == UInt8(ascii: "v") { s = s.dropFirst() }
        if s.first == UInt8(ascii: "V") { s = s.dropFirst() }
        var canonical: [UInt8] = []
        canonical.reserveCapacity(s.count * 2)
        var previous: UInt8?
        for var c in s {
            if c == ASCII.dash || c == ASCII.underscore || c == ASCII.plus { c = ASCII.dot }
            if let p = previous, p != ASCII.dot, c != ASCII.dot, p.isDigit != c.isDigit {
                canonical.append(ASCII.dot)
            }
            canonical.append(c)
            previous = c
        }
        return canonical[...].split(on: ASCII.dot)
    }

    static let hashForm: Bytes = [ASCII.hash][...]

    static func compareParts(_ a: ArraySlice<Bytes>, _ b: ArraySlice<Bytes>) -> Int {
        for (x, y) in zip(a, b) {
            let r = switch (x.isAllDigits, y.isAllDigits) {
            case (true, true): compareNumbers(x, y)
            case (false, false): compareForms(x, y)
            case (true, false): compareForms(hashForm, y)
            case (false, true): compareForms(x, hashForm)
            }
            if r != 0 { return r }
        }
        if a.count > b.count {
            let rest = a.dropFirst(b.count)
            return rest.first!.isAllDigits ? 1 : compareParts(rest, [hashForm])
        }
        if a.count < b.count {
            let rest = b.dropFirst(a.count)
            return rest.first!.isAllDigits ? -1 : compareParts([hashForm], rest)
        }
        return 0
    }

    static func compareForms(_ a: Bytes, _ b: Bytes) -> Int { compareValues(weight(a), weight(b)) }

    /// The special form a part starts with (PHP matches prefixes: "alpha1" is "a", "pl" is "p").
    static func weight(_ part: Bytes) -> Int {
        if part.starts(with: "RC".utf8) { return 3 }
        for (n, form) in ["dev", "a", "b", "rc", "#", "p"].enumerated() where part.starts(with: form.utf8) {
            return n
        }
        return 0
    }
}
