import TOMLKit

/// TOML lockfiles through TOMLKit (toml++), which reports no positions for values: the
/// lines of `[[array]]` entries come from one pass over the text.
enum TOMLSupport {
    static func parse(_ bytes: [UInt8], path: String) throws -> TOMLTable {
        do {
            return try TOMLTable(string: String(decoding: bytes, as: UTF8.self))
        } catch let error as TOMLParseError {
            throw LockfileError(path: path, line: error.source.begin.line, message: "invalid TOML: \(error.description)")
        }
    }

    /// The tables of an array of tables (`[[package]]` entries); entries that are not tables are left out.
    static func tables(_ table: TOMLTable, _ key: String) -> [TOMLTable] {
        table[key]?.array.map { array in array.compactMap { $0.table } } ?? []
    }

    /// For each `[[name]]` header in file order, the line of its `key = …` (the entry's
    /// name, say) when the entry sets it before any sub-table, else the header's line.
    /// Multi-line strings and comments are skipped, so text inside them is never taken
    /// for a header or a key.
    static func arrayTableLines(_ bytes: [UInt8], name: String, key: String) -> [Int] {
        let name = Array(name.utf8), key = Array(key.utf8)
        var lines: [Int] = []
        var awaitingKey = false
        var multiline: [UInt8]? = nil
        Bytes.forEachLine(bytes) { lineNumber, line in
            if let delimiter = multiline {
                if Bytes.find(delimiter, in: line) != nil { multiline = nil }
                return
            }
            let body = line.drop { $0 == 0x20 || $0 == 0x09 }
            guard let first = body.first, first != UInt8(ascii: "#") else { return }
            if first == UInt8(ascii: "[") {
                if body.dropFirst().first == UInt8(ascii: "[") {
                    let header = body.dropFirst(2).prefix { $0 != UInt8(ascii: "]") }.filter { $0 != 0x20 && $0 != 0x09 }
                    awaitingKey = header == name
                    if awaitingKey { lines.append(lineNumber) }
                } else {
                    awaitingKey = false
                }
            } else if awaitingKey, body.starts(with: key),
                      body.dropFirst(key.count).drop(while: { $0 == 0x20 || $0 == 0x09 }).first == UInt8(ascii: "=") {
                lines[lines.count - 1] = lineNumber
                awaitingKey = false
            }
            multiline = opensMultilineString(body)
        }
        return lines
    }

    private static let multilineDelimiters = [UInt8(ascii: "\""), UInt8(ascii: "'")].map { [UInt8](repeating: $0, count: 3) }

    /// The delimiter of a multi-line string that starts on this line and does not end on it.
    private static func opensMultilineString(_ line: ArraySlice<UInt8>) -> [UInt8]? {
        for delimiter in multilineDelimiters {
            guard let open = Bytes.find(delimiter, in: line) else { continue }
            return Bytes.find(delimiter, in: line[(open + delimiter.count)...]) == nil ? delimiter : nil
        }
        return nil
    }
}
