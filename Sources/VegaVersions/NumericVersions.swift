/// CRAN (and Bioconductor): R's package_version, non-negative integers separated by `.` or
/// `-`. Compared item by item; when one is a prefix of the other the shorter sorts first
/// (`1.0` < `1.0.0`, unlike SemVer).
enum RVersion {
    static func compare(_ a: String, _ b: String) -> Int? {
        guard let v = numbers(trimmedBytes(a), separators: [ASCII.dot, ASCII.dash]),
              let w = numbers(trimmedBytes(b), separators: [ASCII.dot, ASCII.dash])
        else { return nil }
        return compareNumberLists(v, w)
    }
}

/// Hackage: Haskell's Data.Version, numbers separated by `.` ordered as lists (`1.0` < `1.0.0`).
enum HaskellVersion {
    static func compare(_ a: String, _ b: String) -> Int? {
        guard let v = numbers(trimmedBytes(a), separators: [ASCII.dot]),
              let w = numbers(trimmedBytes(b), separators: [ASCII.dot])
        else { return nil }
        return compareNumberLists(v, w)
    }
}

/// The numbers of `digits(sep digits)*`, or nil when the string is not of that form.
func numbers(_ s: Bytes, separators: [UInt8]) -> [Bytes]? {
    let parts = s.split(omittingEmptySubsequences: false) { separators.contains($0) }
    return parts.allSatisfy(\.isAllDigits) ? parts : nil
}

/// Lexicographic order of number lists; a proper prefix sorts first.
func compareNumberLists(_ a: [Bytes], _ b: [Bytes]) -> Int {
    for (x, y) in zip(a, b) {
        let r = compareNumbers(x, y)
        if r != 0 { return r }
    }
    return compareValues(a.count, b.count)
}
