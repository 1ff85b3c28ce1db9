/// A JSON value that keeps object keys in file order with the line of each, so parsers
/// place packages without a second pass over the text. Numbers stay as written.
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    var string: String? {
        if case let .string(text) = self { return text }
        return nil
    }

    var bool: Bool? {
        if case let .bool(flag) = self { return flag }
        return nil
    }

    var array: [JSONValue]? {
        if case let .array(items) = self { return items }
        return nil
    }

    var object: JSONObject? {
        if case let .object(object) = self { return object }
        return nil
    }

    /// An object's value for `key`; a linear search, meant for small objects.
    subscript(key: String) -> JSONValue? { object?[key] }
}

struct JSONObject: Sequence, Equatable {
    struct Entry: Equatable {
        let key: String
        let line: Int
        let value: JSONValue
    }

    var entries: [Entry]

    /// The value for `key` (the last one when a key repeats, as JSON parsers do); a linear
    /// search, meant for small objects.
    subscript(key: String) -> JSONValue? { entries.last { $0.key == key }?.value }

    var keys: [String] { entries.map(\.key) }

    func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }
}

/// Reads JSON in one pass over the bytes, much faster on large lockfiles than
/// Foundation's `JSONSerialization` followed by a search for each key's line. Accepts
/// what bun.lock adds to JSON: `//` and `/* */` comments and trailing commas.
struct JSONReader {
    private let path: String
    /// Deeper nesting is refused rather than risking the stack.
    private static let maxDepth = 512

    init(path: String) {
        self.path = path
    }

    /// The document, which must be an object.
    func object(_ bytes: [UInt8]) throws -> JSONObject {
        try bytes.withUnsafeBufferPointer { buffer in
            var cursor = Cursor(bytes: buffer, path: path)
            cursor.skipSpace()
            guard cursor.peek != nil else { throw cursor.error("the file is empty") }
            let value = try cursor.value(depth: 0)
            cursor.skipSpace()
            guard cursor.peek == nil else { throw cursor.error("unexpected text after the JSON document") }
            guard case let .object(object) = value else {
                throw LockfileError(path: path, line: 1, message: "expected a JSON object at the top level")
            }
            return object
        }
    }

    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        let path: String
        var index = 0
        var line = 1

        init(bytes: UnsafeBufferPointer<UInt8>, path: String) {
            self.bytes = bytes
            self.path = path
        }

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        func error(_ message: String) -> LockfileError {
            LockfileError(path: path, line: line, message: "invalid JSON: \(message)")
        }

        /// Skips whitespace and comments.
        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x0A: line += 1; index += 1
                case 0x20, 0x09, 0x0D: index += 1
                case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "/"):
                    while index < bytes.count, bytes[index] != 0x0A { index += 1 }
                case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                    index += 2
                    while index < bytes.count, !(bytes[index] == UInt8(ascii: "*") && index + 1 < bytes.count
                                                 && bytes[index + 1] == UInt8(ascii: "/")) {
                        if bytes[index] == 0x0A { line += 1 }
                        index += 1
                    }
                    index += 2
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < JSONReader.maxDepth else { throw error("nested too deeply") }
            guard let c = peek else { throw error("unexpected end of file") }
            switch c {
            case UInt8(ascii: "{"): return .object(try object(depth: depth))
            case UInt8(ascii: "["): return .array(try array(depth: depth))
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(number())
            default: throw error("unexpected character '\(Character(Unicode.Scalar(c)))'")
            }
        }

        private mutating func object(depth: Int) throws -> JSONObject {
            index += 1
            var entries: [JSONObject.Entry] = []
            skipSpace()
            while peek != UInt8(ascii: "}") {
                guard peek == UInt8(ascii: "\"") else { throw error("expected a key in quotes") }
                let keyLine = line
                let key = try string()
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw error("expected ':' after the key \"\(key)\"") }
                index += 1
                skipSpace()
                entries.append(JSONObject.Entry(key: key, line: keyLine, value: try value(depth: depth + 1)))
                skipSpace()
                if peek == UInt8(ascii: ",") {
                    index += 1
                    skipSpace()
                } else if peek != UInt8(ascii: "}") {
                    throw error("expected ',' or '}'")
                }
            }
            index += 1
            return JSONObject(entries: entries)
        }

        private mutating func array(depth: Int) throws -> [JSONValue] {
            index += 1
            var items: [JSONValue] = []
            skipSpace()
            while peek != UInt8(ascii: "]") {
                items.append(try value(depth: depth + 1))
                skipSpace()
                if peek == UInt8(ascii: ",") {
                    index += 1
                    skipSpace()
                } else if peek != UInt8(ascii: "]") {
                    throw error("expected ',' or ']'")
                }
            }
            index += 1
            return items
        }

        private mutating func literal(_ word: StaticString) throws {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count,
                  (0..<count).allSatisfy({ bytes[index + $0] == word.utf8Start[$0] }) else {
                throw error("unexpected text")
            }
            index += count
        }

        private mutating func number() -> String {
            let start = index
            while index < bytes.count, "+-.eE0123456789".utf8.contains(bytes[index]) { index += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }

        private mutating func string() throws -> String {
            index += 1
            let start = index
            while index < bytes.count {
                let c = bytes[index]
                if c == UInt8(ascii: "\"") {
                    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                    index += 1
                    return text
                }
                if c == UInt8(ascii: "\\") { return try escapedString(from: start) }
                if c < 0x20 { throw error("control character in a string") }
                index += 1
            }
            throw error("unterminated string")
        }

        /// The slow path, for strings with escapes.
        private mutating func escapedString(from start: Int) throws -> String {
            var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
            while index < bytes.count {
                let c = bytes[index]
                index += 1
                if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
                guard c == UInt8(ascii: "\\") else {
                    if c < 0x20 { throw error("control character in a string") }
                    out.append(c)
                    continue
                }
                guard let escaped = peek else { break }
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar), peek == UInt8(ascii: "\\"),
                       index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") {
                        index += 2
                        let low = try hex4()
                        scalar = (0xDC00..<0xE000).contains(low) ? 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00) : 0xFFFD
                    }
                    out.append(contentsOf: String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
                default:
                    throw error("invalid escape '\\\(Character(Unicode.Scalar(escaped)))'")
                }
            }
            throw error("unterminated string")
        }

        private mutating func hex4() throws -> UInt32 {
            guard index + 4 <= bytes.count,
                  let value = UInt32(String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<(index + 4)]), as: UTF8.self), radix: 16)
            else { throw error("invalid \\u escape") }
            index += 4
            return value
        }
    }
}
