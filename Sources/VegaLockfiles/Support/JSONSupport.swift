import Foundation

/// JSON lockfiles: Foundation parses the values; `JSONKeyLines` supplies the line of
/// each key, which Foundation does not report.
enum JSONSupport {
    /// Parses a JSON document whose top level must be an object.
    static func object(_ bytes: [UInt8], path: String) throws -> [String: Any] {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw LockfileError(path: path, line: errorLine(error, bytes: bytes),
                                message: "invalid JSON: \(errorText(error))")
        }
        guard let object = value as? [String: Any] else {
            throw LockfileError(path: path, line: 1, message: "expected a JSON object at the top level")
        }
        return object
    }

    /// Whether a file holds nothing but whitespace.
    static func isBlank(_ bytes: [UInt8]) -> Bool {
        bytes.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
    }

    private static func errorText(_ error: Error) -> String {
        (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
    }

    /// Foundation says "… around character N." (a 0-based offset); turn it into a line.
    private static func errorLine(_ error: Error, bytes: [UInt8]) -> Int? {
        let text = errorText(error)
        guard let range = text.range(of: "around character ") else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isNumber }
        guard let offset = Int(digits) else { return nil }
        return LineIndex(bytes).line(at: offset)
    }

    /// JSON with comments and trailing commas (bun.lock) → plain JSON. Comments become
    /// spaces and newlines stay, so byte offsets and lines are unchanged.
    static func stripJSONC(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        var i = 0
        var lastComma: Int? = nil
        let n = out.count
        while i < n {
            let c = out[i]
            switch c {
            case UInt8(ascii: "\""):
                lastComma = nil
                i += 1
                while i < n, out[i] != UInt8(ascii: "\"") {
                    i += out[i] == UInt8(ascii: "\\") ? 2 : 1
                }
                i += 1
            case UInt8(ascii: "/") where i + 1 < n && out[i + 1] == UInt8(ascii: "/"):
                while i < n, out[i] != UInt8(ascii: "\n") { out[i] = 0x20; i += 1 }
            case UInt8(ascii: "/") where i + 1 < n && out[i + 1] == UInt8(ascii: "*"):
                out[i] = 0x20; out[i + 1] = 0x20; i += 2
                while i < n, !(out[i] == UInt8(ascii: "*") && i + 1 < n && out[i + 1] == UInt8(ascii: "/")) {
                    if out[i] != UInt8(ascii: "\n") { out[i] = 0x20 }
                    i += 1
                }
                if i < n { out[i] = 0x20; if i + 1 < n { out[i + 1] = 0x20 }; i += 2 }
            case UInt8(ascii: ","):
                lastComma = i
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if let comma = lastComma { out[comma] = 0x20 }
                lastComma = nil
                i += 1
            case 0x20, 0x0A, 0x0D, 0x09:
                i += 1
            default:
                lastComma = nil
                i += 1
            }
        }
        return out
    }
}

/// Finds the line of object keys in JSON text in one pass, so parsers can place
/// packages without searching the text once per package. Tolerates comments and
/// trailing commas; it does not validate (Foundation has already done that).
enum JSONKeyLines {
    static let separator = "\u{1}"

    /// The lookup key for a key path, e.g. `["packages", "node_modules/foo"]`.
    static func pathKey(_ components: [String]) -> String { components.joined(separator: separator) }

    /// Lines of the keys that `select` accepts, by `pathKey(parents + [key])`. `select`
    /// gets the keys of the enclosing containers ("[]" for an array element).
    static func scan(_ bytes: [UInt8], select: ([String]) -> Bool) -> [String: Int] {
        var result: [String: Int] = [:]
        bytes.withUnsafeBufferPointer { buf in
            var scanner = Scanner(buf: buf)
            scanner.run(select: select) { parents, key, line in
                result[pathKey(parents + [key])] = line
            }
        }
        return result
    }

    /// Lines of the keys of the object at top-level key `parent` (say "packages"), by key.
    static func lines(under parent: String, in bytes: [UInt8]) -> [String: Int] {
        var result: [String: Int] = [:]
        bytes.withUnsafeBufferPointer { buf in
            var scanner = Scanner(buf: buf)
            scanner.run(select: { $0.count == 1 && $0[0] == parent }) { _, key, line in
                result[key] = line
            }
        }
        return result
    }

    private struct Scanner {
        let buf: UnsafeBufferPointer<UInt8>
        var i = 0
        var line = 1

        init(buf: UnsafeBufferPointer<UInt8>) { self.buf = buf }

        mutating func run(select: ([String]) -> Bool, record: ([String], String, Int) -> Void) {
            // For each open container: whether it is an object.
            var isObject: [Bool] = []
            // Keys of the enclosing containers (what `select` sees).
            var parents: [String] = []
            var expectKey = false
            var pendingKey = "[]"
            while i < buf.count {
                let c = buf[i]
                switch c {
                case UInt8(ascii: "\n"):
                    line += 1; i += 1
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    if !isObject.isEmpty { parents.append(pendingKey) }
                    isObject.append(c == UInt8(ascii: "{"))
                    expectKey = c == UInt8(ascii: "{")
                    pendingKey = "[]"
                    i += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if isObject.count > 1 { parents.removeLast() }
                    if !isObject.isEmpty { isObject.removeLast() }
                    expectKey = false
                    pendingKey = "[]"
                    i += 1
                case UInt8(ascii: ","):
                    expectKey = isObject.last ?? false
                    pendingKey = "[]"
                    i += 1
                case UInt8(ascii: "\""):
                    let startLine = line
                    if expectKey {
                        let key = readString()
                        if select(parents) { record(parents, key, startLine) }
                        pendingKey = key
                        expectKey = false
                    } else {
                        skipString()
                    }
                case UInt8(ascii: "/") where i + 1 < buf.count && buf[i + 1] == UInt8(ascii: "/"):
                    while i < buf.count, buf[i] != UInt8(ascii: "\n") { i += 1 }
                case UInt8(ascii: "/") where i + 1 < buf.count && buf[i + 1] == UInt8(ascii: "*"):
                    i += 2
                    while i < buf.count, !(buf[i] == UInt8(ascii: "*") && i + 1 < buf.count && buf[i + 1] == UInt8(ascii: "/")) {
                        if buf[i] == UInt8(ascii: "\n") { line += 1 }
                        i += 1
                    }
                    i += 2
                default:
                    i += 1
                }
            }
        }

        mutating func skipString() {
            i += 1
            while i < buf.count {
                let c = buf[i]
                if c == UInt8(ascii: "\"") { i += 1; return }
                if c == UInt8(ascii: "\n") { line += 1 }
                i += c == UInt8(ascii: "\\") ? 2 : 1
            }
        }

        /// Reads a string token, decoding escapes the way a JSON parser does.
        mutating func readString() -> String {
            i += 1
            let start = i
            var escaped = false
            while i < buf.count, buf[i] != UInt8(ascii: "\"") {
                if buf[i] == UInt8(ascii: "\\") { escaped = true; i += 2 } else { i += 1 }
            }
            let end = min(i, buf.count)
            i += 1
            let raw = UnsafeBufferPointer(rebasing: buf[start..<end])
            return escaped ? Self.unescape(raw) : String(decoding: raw, as: UTF8.self)
        }

        static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> String {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(raw.count)
            var j = 0
            func hex4(_ at: Int) -> UInt32? {
                guard at + 4 <= raw.count else { return nil }
                return UInt32(String(decoding: UnsafeBufferPointer(rebasing: raw[at..<at + 4]), as: UTF8.self), radix: 16)
            }
            while j < raw.count {
                let c = raw[j]
                guard c == UInt8(ascii: "\\"), j + 1 < raw.count else { bytes.append(c); j += 1; continue }
                let e = raw[j + 1]
                j += 2
                switch e {
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4(j) else { continue }
                    j += 4
                    if (0xD800..<0xDC00).contains(scalar), j + 6 <= raw.count,
                       raw[j] == UInt8(ascii: "\\"), raw[j + 1] == UInt8(ascii: "u"),
                       let low = hex4(j + 2), (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        j += 6
                    }
                    bytes.append(contentsOf: Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8))
                default: bytes.append(e)
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
