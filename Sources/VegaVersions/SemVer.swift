/// SemVer 2.0.0 precedence for npm, Go, crates.io, Hex and friends, NuGet's variant and Pub's.
///
/// Parsed leniently, as OSV's "semver-like" parser does: a leading `v` or `=` (npm, Go), fewer
/// than three numbers (`1.2` is `1.2.0`), a prerelease without its hyphen (`1.36.0rc1`) and
/// numbers of any size. Numbers past the third (the fourth for NuGet) join the prerelease, as in
/// OSV. Build metadata (`+build`, Go's `+incompatible`) does not order, except in Pub. Go
/// pseudo-versions need nothing special: `v0.0.0-20191109021931-daa7c04131f5` is a prerelease
/// whose timestamp identifier sorts lexically.
struct SemVer {
    enum Flavour {
        case semver
        /// Four numbers; prerelease labels compare case-insensitively.
        case nuget
        /// Build metadata orders after the prerelease, as in Dart's pub_semver.
        case pub
    }

    var release: [Bytes]
    /// Identifiers; empty for a release.
    var prerelease: [Bytes]
    /// Identifiers after `+`; nil when there is no `+`.
    var build: [Bytes]?

    /// nil when the string does not start with a number (after the `v`/`=` prefix).
    init?(_ string: String, flavour: Flavour) {
        var bytes = trimmedBytes(string)
        while let first = bytes.first, first == UInt8(ascii: "v") || first == UInt8(ascii: "V") || first == UInt8(ascii: "=") {
            bytes = bytes.dropFirst()
        }
        // Numbers separated by dots, up to the first other character.
        var numbers: [Bytes] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index].isDigit {
                let start = index
                while index < bytes.endIndex, bytes[index].isDigit { index += 1 }
                numbers.append(bytes[start..<index])
            } else if bytes[index] == ASCII.dot {
                index += 1
            } else {
                break
            }
        }
        guard !numbers.isEmpty else { return nil }
        var rest = bytes[index...]
        let limit = flavour == .nuget ? 4 : 3
        if numbers.count > limit {
            var extended = Array(rest)
            for extra in numbers[limit...] {
                extended.append(ASCII.dot)
                extended.append(contentsOf: extra.drop { $0 == ASCII.zero })
                if extra.allSatisfy({ $0 == ASCII.zero }) { extended.append(ASCII.zero) }
            }
            rest = extended[...]
            numbers.removeSubrange(limit...)
        }
        release = numbers

        var pre = rest
        if let plus = rest.firstIndex(of: ASCII.plus) {
            pre = rest[..<plus]
            build = rest[(plus + 1)...].split(on: ASCII.dot)
        }
        if pre.first == ASCII.dash { pre = pre.dropFirst() }
        if flavour == .nuget { pre = Bytes(pre.map(\.lowercased)) }
        prerelease = pre.isEmpty ? [] : pre.split(on: ASCII.dot)
    }

    static func compare(_ a: String, _ b: String, flavour: Flavour) -> Int? {
        guard let v = SemVer(a, flavour: flavour), let w = SemVer(b, flavour: flavour) else { return nil }
        var r = compareZeroPadded(v.release, w.release)
        if r != 0 { return r }
        // A prerelease sorts before its release.
        switch (v.prerelease.isEmpty, w.prerelease.isEmpty) {
        case (true, false): return 1
        case (false, true): return -1
        default: break
        }
        r = compareIdentifiers(v.prerelease, w.prerelease)
        if r != 0 || flavour != .pub { return r }
        // pub_semver: no build metadata sorts before some, then identifiers as in a prerelease.
        switch (v.build, w.build) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case let (x?, y?): return compareIdentifiers(x, y)
        }
    }

    /// SemVer §11: numeric identifiers by value and before alphanumeric ones, those in ASCII
    /// order, and a longer list after its prefix.
    static func compareIdentifiers(_ a: [Bytes], _ b: [Bytes]) -> Int {
        for (x, y) in zip(a, b) {
            let r = switch (x.isAllDigits, y.isAllDigits) {
            case (true, true): compareNumbers(x, y)
            case (false, false): compareBytes(x, y)
            case (true, false): -1
            case (false, true): 1
            }
            if r != 0 { return r }
        }
        return compareValues(a.count, b.count)
    }
}
