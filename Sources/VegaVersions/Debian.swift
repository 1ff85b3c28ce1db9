/// Debian and Ubuntu: dpkg's version comparison, `[epoch:]upstream[-revision]`.
///
/// Upstream and revision compare in alternating runs: non-digits character by character (`~`
/// before the end of the run, which is before letters, which are before everything else), then
/// digits by value. A missing revision equals "0" (as in dpkg, `1.0` = `1.0-0`).
enum DebianVersion {
    struct Parsed {
        var epoch: Bytes
        var upstream: Bytes
        var revision: Bytes
    }

    static func compare(_ a: String, _ b: String) -> Int? {
        guard let v = parse(a), let w = parse(b) else { return nil }
        var r = compareNumbers(v.epoch, w.epoch)
        if r == 0 { r = verrevcmp(v.upstream, w.upstream) }
        if r == 0 { r = verrevcmp(v.revision, w.revision) }
        return r
    }

    /// dpkg's parseversion; nil where it reports an error (not where it only warns).
    static func parse(_ string: String) -> Parsed? {
        let s = trimmedBytes(string)
        guard !s.isEmpty, !s.contains(where: \.isSpace) else { return nil }
        var epoch: Bytes = [ASCII.zero][...], rest = s
        if let colon = s.firstIndex(of: ASCII.colon) {
            epoch = s[..<colon]
            rest = s[(colon + 1)...]
            // The epoch must be a number that fits in an int.
            guard epoch.isAllDigits, compareNumbers(epoch, Bytes("2147483647".utf8)) <= 0, !rest.isEmpty else { return nil }
        }
        var revision: Bytes = [][...]
        if let hyphen = rest.lastIndex(of: ASCII.dash) {
            revision = rest[(hyphen + 1)...]
            rest = rest[..<hyphen]
            guard !revision.isEmpty else { return nil }
        }
        guard !rest.isEmpty else { return nil }
        return Parsed(epoch: epoch, upstream: rest, revision: revision)
    }

    /// dpkg's order(): where a non-digit character sorts; 0 is the end of the run.
    @inline(__always) static func order(_ c: UInt8?) -> Int {
        guard let c, !c.isDigit else { return 0 }
        if c.isLetter { return Int(c) }
        if c == ASCII.tilde { return -1 }
        return Int(c) + 256
    }

    static func verrevcmp(_ a: Bytes, _ b: Bytes) -> Int {
        var i = a.startIndex, j = b.startIndex
        while i < a.endIndex || j < b.endIndex {
            while (i < a.endIndex && !a[i].isDigit) || (j < b.endIndex && !b[j].isDigit) {
                let ac = order(i < a.endIndex ? a[i] : nil), bc = order(j < b.endIndex ? b[j] : nil)
                if ac != bc { return sign(ac - bc) }
                i += 1
                j += 1
            }
            let startA = i, startB = j
            while i < a.endIndex, a[i].isDigit { i += 1 }
            while j < b.endIndex, b[j].isDigit { j += 1 }
            let r = compareNumbers(a[startA..<i], b[startB..<j])
            if r != 0 { return r }
        }
        return 0
    }
}
