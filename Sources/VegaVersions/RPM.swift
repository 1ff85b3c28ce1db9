/// Red Hat and other RPM distributions: rpm's `[epoch:]version[-release]` with rpmvercmp.
///
/// rpmvercmp compares alternating runs of digits (by value) and letters (lexically), skipping
/// other characters; a number beats letters, `~` sorts before anything (even the end) and `^`
/// after the end but before anything else. A missing epoch is 0; a version without a release
/// sorts before the same version with one, as in rpm's labelCompare.
enum RPMVersion {
    struct Parsed {
        var epoch: Bytes
        var version: Bytes
        var release: Bytes?
    }

    static func compare(_ a: String, _ b: String) -> Int? {
        guard let v = parse(a), let w = parse(b) else { return nil }
        var r = rpmvercmp(v.epoch, w.epoch)
        if r == 0 { r = rpmvercmp(v.version, w.version) }
        if r != 0 { return r }
        switch (v.release, w.release) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case let (x?, y?): return rpmvercmp(x, y)
        }
    }

    /// rpm's parseEVR: an epoch only when digits alone precede the first colon; the release
    /// follows the last hyphen.
    static func parse(_ string: String) -> Parsed? {
        var s = Array(string.utf8)[...]
        guard !s.isEmpty else { return nil }
        var epoch: Bytes = [ASCII.zero][...]
        let digitsEnd = s.firstIndex { !$0.isDigit } ?? s.endIndex
        if digitsEnd < s.endIndex, s[digitsEnd] == ASCII.colon {
            if digitsEnd > s.startIndex { epoch = s[..<digitsEnd] }
            s = s[(digitsEnd + 1)...]
        }
        var release: Bytes?
        if let hyphen = s.lastIndex(of: ASCII.dash) {
            release = s[(hyphen + 1)...]
            s = s[..<hyphen]
        }
        return Parsed(epoch: epoch, version: s, release: release)
    }

    static func rpmvercmp(_ a: Bytes, _ b: Bytes) -> Int {
        if a.elementsEqual(b) { return 0 }
        func isSeparator(_ c: UInt8) -> Bool { !c.isAlphanumeric && c != ASCII.tilde && c != ASCII.caret }
        var i = a.startIndex, j = b.startIndex
        while i < a.endIndex || j < b.endIndex {
            while i < a.endIndex, isSeparator(a[i]) { i += 1 }
            while j < b.endIndex, isSeparator(b[j]) { j += 1 }
            let x = i < a.endIndex ? a[i] : nil, y = j < b.endIndex ? b[j] : nil

            // Tilde sorts before everything else.
            if x == ASCII.tilde || y == ASCII.tilde {
                if x != ASCII.tilde { return 1 }
                if y != ASCII.tilde { return -1 }
                i += 1
                j += 1
                continue
            }
            // Caret sorts after the end but before anything else.
            if x == ASCII.caret || y == ASCII.caret {
                if x == nil { return -1 }
                if y == nil { return 1 }
                if x != ASCII.caret { return 1 }
                if y != ASCII.caret { return -1 }
                i += 1
                j += 1
                continue
            }
            guard let first = x, y != nil else { break }

            let numeric = first.isDigit
            let inRun: (UInt8) -> Bool = numeric ? { $0.isDigit } : { $0.isLetter }
            let startA = i, startB = j
            while i < a.endIndex, inRun(a[i]) { i += 1 }
            while j < b.endIndex, inRun(b[j]) { j += 1 }
            // Runs of different kinds: the number is newer.
            if j == startB { return numeric ? 1 : -1 }
            let r = numeric ? compareNumbers(a[startA..<i], b[startB..<j]) : compareBytes(a[startA..<i], b[startB..<j])
            if r != 0 { return r }
        }
        if i == a.endIndex, j == b.endIndex { return 0 }
        return i == a.endIndex ? -1 : 1
    }
}
