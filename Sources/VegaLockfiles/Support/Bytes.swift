/// Substring search on UTF-8 bytes: lockfile syntax is ASCII, and working on bytes
/// avoids the cost of `Character` processing and Foundation's `range(of:)` in hot loops.
enum Bytes {
    /// The index in `hay` where `needle` first occurs.
    static func find(_ needle: [UInt8], in hay: ArraySlice<UInt8>) -> Int? {
        guard let first = needle.first else { return hay.startIndex }
        var i = hay.startIndex
        while i + needle.count <= hay.endIndex {
            if hay[i] == first, hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    static func contains(_ text: String, _ needle: String) -> Bool {
        find(Array(needle.utf8), in: Array(text.utf8)[...]) != nil
    }
}

extension Bytes {
    /// Calls `body` with each line's 1-based number and text (without the "\n"), without
    /// materialising an array of lines.
    static func forEachLine(_ bytes: [UInt8], _ body: (Int, ArraySlice<UInt8>) throws -> Void) rethrows {
        var start = 0, number = 1
        while let end = bytes[start...].firstIndex(of: 0x0A) {
            try body(number, bytes[start..<end])
            start = end + 1
            number += 1
        }
        try body(number, bytes[start...])
    }
}
