#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Places packages that a structured parser (JSON, TOML, XML) found, in the order the
/// file declares them: each lookup searches the raw text forward from the previous hit,
/// so placing N packages costs one pass over the file plus O(N log L) line lookups.
struct TextCursor {
    private let bytes: [UInt8]
    private let lines: LineIndex
    /// Byte offset where the next search starts.
    private(set) var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.lines = LineIndex(bytes)
    }

    /// The 1-based line of byte `offset`.
    func line(at offset: Int) -> Int { lines.line(at: offset) }

    /// Offset of the next occurrence of `needle` at or after `from`, without moving the cursor.
    func find(_ needle: [UInt8], from: Int) -> Int? {
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

    /// The line of the next occurrence of `needle`; the cursor moves past it. On a miss
    /// the cursor stays, so one unplaceable package does not lose the rest.
    mutating func nextLine(of needle: String) -> Int? {
        guard let hit = find(Array(needle.utf8), from: offset) else { return nil }
        offset = hit + 1
        return lines.line(at: hit)
    }

    /// The line of the next `"key": "value"` pair (any spacing around the colon).
    mutating func nextJSONMember(key: String, value: String) -> Int? {
        let needle = Array(Self.jsonString(value).utf8)
        let keyBytes = Array(Self.jsonString(key).utf8)
        var from = offset
        while let hit = find(needle, from: from) {
            if precededByKey(keyBytes, at: hit) {
                offset = hit + 1
                return lines.line(at: hit)
            }
            from = hit + 1
        }
        return nil
    }

    /// The line of the next JSON string equal to `value` (an array element, say).
    mutating func nextJSONString(_ value: String) -> Int? {
        nextLine(of: Self.jsonString(value))
    }

    /// Whether the text before `index` is `"key"` and a colon, with optional whitespace.
    private func precededByKey(_ key: [UInt8], at index: Int) -> Bool {
        var i = index - 1
        while i >= 0, Self.isSpace(bytes[i]) { i -= 1 }
        guard i >= 0, bytes[i] == UInt8(ascii: ":") else { return false }
        i -= 1
        while i >= 0, Self.isSpace(bytes[i]) { i -= 1 }
        let start = i - key.count + 1
        guard start >= 0 else { return false }
        return bytes[start...i].elementsEqual(key)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// `value` as JSON writes it: quoted, with `"`, `\` and control characters escaped.
    static func jsonString(_ value: String) -> String {
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

/// Line-by-line reading for line-oriented lockfiles.
enum TextLines {
    /// Calls `body` with each line (without its `\n` or `\r\n`) and its 1-based number.
    static func forEach(_ bytes: [UInt8], _ body: (Substring, Int) throws -> Void) rethrows {
        var number = 0
        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            var line = Substring(decoding: raw, as: UTF8.self)
            if line.hasSuffix("\r") { line = line.dropLast() }
            try body(line, number)
        }
    }
}
