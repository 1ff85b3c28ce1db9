#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Places values a structured parser reports without positions (JSON array elements),
/// in the order the file declares them: each lookup searches the raw text forward from
/// the previous hit, so placing N values costs one pass over the file plus O(N log L)
/// line lookups.
struct TextCursor {
    private let bytes: [UInt8]
    private let lines: LineIndex
    /// Byte offset where the next search starts.
    private var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.lines = LineIndex(bytes)
    }

    /// The line of the next JSON string equal to `value`; the cursor moves past it. On a
    /// miss the cursor stays, so one unplaceable value does not lose the rest.
    mutating func nextJSONString(_ value: String) -> Int? {
        guard let hit = find(Array(Self.jsonString(value).utf8), from: offset) else { return nil }
        offset = hit + 1
        return lines.line(at: hit)
    }

    /// Offset of the next occurrence of `needle` at or after `from`.
    private func find(_ needle: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, from < bytes.count, needle.count <= bytes.count - from else { return nil }
        // memchr finds candidate first bytes; glibc's memmem is not visible to Swift.
        return bytes.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pin -> Int? in
                let base = UnsafeRawPointer(hay.baseAddress!)
                let first = Int32(pin[0])
                var start = from
                let last = hay.count - pin.count
                while start <= last {
                    guard let hit = memchr(base + start, first, last - start + 1) else { return nil }
                    let at = UnsafeRawPointer(hit) - base
                    if memcmp(base + at, pin.baseAddress!, pin.count) == 0 { return at }
                    start = at + 1
                }
                return nil
            }
        }
    }

    /// `value` as JSON writes it: quoted, with `"`, `\` and control characters escaped.
    private static func jsonString(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Line-by-line reading for line-oriented lockfiles, on bytes: their syntax is ASCII,
/// and byte work avoids `Character` processing in the per-line hot path.
enum TextLines {
    /// Calls `body` with each line (without its `\n` or `\r\n`) and its 1-based number.
    static func forEach(_ bytes: [UInt8], _ body: (ArraySlice<UInt8>, Int) throws -> Void) rethrows {
        var number = 0
        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            try body(raw.last == UInt8(ascii: "\r") ? raw.dropLast() : raw, number)
        }
    }

    static func string(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Without leading and trailing spaces and tabs.
    static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = bytes
        while let first = slice.first, first == 0x20 || first == 0x09 { slice.removeFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice.removeLast() }
        return slice
    }

    static func hasPrefix(_ bytes: ArraySlice<UInt8>, _ prefix: StaticString) -> Bool {
        prefix.withUTF8Buffer { bytes.starts(with: $0) }
    }

    static func equals(_ bytes: ArraySlice<UInt8>, _ text: StaticString) -> Bool {
        text.withUTF8Buffer { bytes.elementsEqual($0) }
    }
}
