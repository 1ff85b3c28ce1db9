// Byte-level helpers shared by the version parsers. Versions are compared as ASCII bytes (every
// native implementation we follow works on bytes or code points, never on Unicode characters).

typealias Bytes = ArraySlice<UInt8>

extension UInt8 {
    @inline(__always) var isDigit: Bool { self &- 0x30 < 10 }
    @inline(__always) var isLetter: Bool { (self | 0x20) &- 0x61 < 26 }
    @inline(__always) var isAlphanumeric: Bool { isDigit || isLetter }
    @inline(__always) var isLowercaseLetter: Bool { self &- 0x61 < 26 }
    /// The whitespace of C's isspace, Python's and Ruby's `\s` in ASCII.
    @inline(__always) var isSpace: Bool { self == 0x20 || self &- 0x09 < 5 }
    @inline(__always) var lowercased: UInt8 { self &- 0x41 < 26 ? self | 0x20 : self }
}

enum ASCII {
    static let dot = UInt8(ascii: "."), dash = UInt8(ascii: "-"), plus = UInt8(ascii: "+")
    static let underscore = UInt8(ascii: "_"), colon = UInt8(ascii: ":"), tilde = UInt8(ascii: "~")
    static let caret = UInt8(ascii: "^"), zero = UInt8(ascii: "0"), hash = UInt8(ascii: "#")
}

/// -1, 0 or 1 for the usual three-way results.
@inline(__always) func sign(_ x: Int) -> Int { x < 0 ? -1 : (x > 0 ? 1 : 0) }

@inline(__always) func compareValues<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a == b ? 0 : 1) }

/// The bytes of `string` with surrounding ASCII whitespace removed.
func trimmedBytes(_ string: String) -> Bytes {
    let bytes = Array(string.utf8)
    var start = 0, end = bytes.count
    while start < end, bytes[start].isSpace { start += 1 }
    while end > start, bytes[end - 1].isSpace { end -= 1 }
    return bytes[start..<end]
}

/// Numeric order of two runs of ASCII digits of any length (versions carry 30-digit components
/// and 14-digit timestamps): leading zeros are skipped, the longer run is larger, then the first
/// differing digit decides.
func compareNumbers(_ a: Bytes, _ b: Bytes) -> Int {
    let a = a.drop { $0 == ASCII.zero }, b = b.drop { $0 == ASCII.zero }
    if a.count != b.count { return a.count < b.count ? -1 : 1 }
    return compareBytes(a, b)
}

/// Byte-wise lexical order (C's strcmp, Go's strings.Compare): a proper prefix sorts first.
func compareBytes(_ a: Bytes, _ b: Bytes) -> Int {
    var i = a.startIndex, j = b.startIndex
    while i < a.endIndex, j < b.endIndex {
        if a[i] != b[j] { return a[i] < b[j] ? -1 : 1 }
        i += 1
        j += 1
    }
    return compareValues(a.count, b.count)
}

/// Compares two lists of numbers, the shorter padded with zeros.
func compareZeroPadded(_ a: [Bytes], _ b: [Bytes]) -> Int {
    let zero: Bytes = [ASCII.zero][...]
    for i in 0..<max(a.count, b.count) {
        let r = compareNumbers(i < a.count ? a[i] : zero, i < b.count ? b[i] : zero)
        if r != 0 { return r }
    }
    return 0
}

extension Bytes {
    var isAllDigits: Bool { !isEmpty && allSatisfy(\.isDigit) }

    /// Splits on `separator`, keeping empty pieces (Go's strings.Split, Python's str.split).
    func split(on separator: UInt8) -> [Bytes] {
        split(separator: separator, omittingEmptySubsequences: false)
    }
}
