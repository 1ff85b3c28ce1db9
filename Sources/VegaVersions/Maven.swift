/// Maven: org.apache.maven.artifact.versioning.ComparableVersion as in Maven 3.8.6, which
/// generated OSV's vectors (3.8.7 changed how a qualifier after a dot nests).
///
/// A version is a list of items: numbers, qualifiers and sub-lists. `.` separates items, `-`
/// and every digit/letter transition open a sub-list. Trailing "null" items (0, "", ga, final,
/// release, empty lists) are dropped. Qualifiers order alpha < beta < milestone < rc = cr <
/// snapshot < "" = ga = final = release < sp < any other (lexically); `a1`/`b1`/`m1` abbreviate
/// alpha-1/beta-1/milestone-1.
enum MavenVersion {
    indirect enum Item {
        /// Digits; leading zeros do not matter.
        case number(Bytes)
        /// Rank in the known qualifiers (unknown: 7) and the text, for unknown ones.
        case qualifier(rank: Int, text: Bytes)
        case list([Item])

        var isNull: Bool {
            switch self {
            case .number(let digits): digits.allSatisfy { $0 == ASCII.zero }
            case .qualifier(let rank, _): rank == Self.releaseRank
            case .list(let items): items.isEmpty
            }
        }

        var isList: Bool {
            if case .list = self { return true }
            return false
        }

        static let qualifiers = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"]
        static let releaseRank = 5

        static func qualifier(_ text: Bytes, followedByDigit: Bool) -> Item {
            var name = String(decoding: text, as: UTF8.self)
            if followedByDigit, text.count == 1 {
                switch name {
                case "a": name = "alpha"
                case "b": name = "beta"
                case "m": name = "milestone"
                default: break
                }
            }
            switch name {
            case "ga", "final", "release": name = ""
            case "cr": name = "rc"
            default: break
            }
            let rank = qualifiers.firstIndex(of: name) ?? qualifiers.count
            return .qualifier(rank: rank, text: rank == qualifiers.count ? text : [][...])
        }

        /// ComparableVersion's Item.compareTo; `nil` is the padding of a shorter list.
        func compare(_ other: Item?) -> Int {
            switch (self, other) {
            case (.number, nil): return isNull ? 0 : 1
            case let (.number(a), .number(b)?): return compareNumbers(a, b)
            case (.number, _?): return 1
            case (.qualifier(let rank, _), nil): return compareValues(rank, Self.releaseRank)
            case (.qualifier, .number?), (.qualifier, .list?): return -1
            case let (.qualifier(r1, t1), .qualifier(r2, t2)?):
                return r1 != r2 ? compareValues(r1, r2) : compareBytes(t1, t2)
            case (.list(let items), nil):
                // MNG-6964: every item decides against null, not only the first.
                for item in items {
                    let r = item.compare(nil)
                    if r != 0 { return r }
                }
                return 0
            case (.list, .number?): return -1
            case (.list, .qualifier?): return 1
            case let (.list(a), .list(b)?):
                for i in 0..<max(a.count, b.count) {
                    let r = i < a.count ? a[i].compare(i < b.count ? b[i] : nil) : -b[i].compare(nil)
                    if r != 0 { return r }
                }
                return 0
            }
        }
    }

    static func compare(_ a: String, _ b: String) -> Int? {
        guard let v = parse(a), let w = parse(b) else { return nil }
        return sign(v.compare(w))
    }

    /// ComparableVersion.parseVersion. Each new sub-list is the last item of the one before, so
    /// the lists form a chain, built innermost first once parsed.
    static func parse(_ string: String) -> Item? {
        let s = Array(string.utf8.map(\.lowercased))[...]
        guard !s.isEmpty else { return nil }
        var chain: [[Item]] = [[]]
        var isDigit = false
        var start = s.startIndex

        func item(_ digit: Bool, _ text: Bytes) -> Item {
            digit ? .number(text) : Item.qualifier(text, followedByDigit: false)
        }
        for i in s.indices {
            let c = s[i]
            if c == ASCII.dot || c == ASCII.dash {
                chain[chain.count - 1].append(i == start ? .number([][...]) : item(isDigit, s[start..<i]))
                start = i + 1
                if c == ASCII.dash { chain.append([]) }
            } else if c.isDigit {
                if !isDigit, i > start {
                    chain[chain.count - 1].append(Item.qualifier(s[start..<i], followedByDigit: true))
                    start = i
                    chain.append([])
                }
                isDigit = true
            } else {
                if isDigit, i > start {
                    chain[chain.count - 1].append(.number(s[start..<i]))
                    start = i
                    chain.append([])
                }
                isDigit = false
            }
        }
        if start < s.endIndex { chain[chain.count - 1].append(item(isDigit, s[start...])) }

        var inner: Item?
        for (level, var items) in chain.enumerated().reversed() {
            if let inner { items.append(inner) }
            normalize(&items)
            // A sub-list left holding only its own sub-list is that sub-list: "1-ga-1" = "1-1"
            // as in Maven's canonical form and documented order (compareTo alone says "<").
            inner = level > 0 && items.count == 1 && items[0].isList ? items[0] : .list(items)
        }
        return inner
    }

    /// ListItem.normalize: drop null items from the end, looking past non-null sub-lists.
    static func normalize(_ items: inout [Item]) {
        var i = items.count - 1
        while i >= 0 {
            if items[i].isNull {
                items.remove(at: i)
            } else if !items[i].isList {
                break
            }
            i -= 1
        }
    }
}
