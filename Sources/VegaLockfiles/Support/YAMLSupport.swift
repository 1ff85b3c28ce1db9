import Yams

/// A parsed YAML value with the line of each mapping key: what lockfile readers need.
enum YAMLValue: Equatable {
    case scalar(String)
    case mapping(YAMLMapping)
    case sequence([YAMLValue])

    var string: String? {
        if case let .scalar(text) = self { return text }
        return nil
    }

    var mapping: YAMLMapping? {
        if case let .mapping(mapping) = self { return mapping }
        return nil
    }

    /// A mapping's value for `key`; a linear search, meant for small mappings.
    subscript(key: String) -> YAMLValue? { mapping?[key] }
}

struct YAMLMapping: Sequence, Equatable {
    struct Entry: Equatable {
        let key: String
        let line: Int
        let value: YAMLValue
    }

    var entries: [Entry]

    subscript(key: String) -> YAMLValue? { entries.first { $0.key == key }?.value }

    func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }
}

/// YAML lockfiles. Files in the block style lockfile writers produce (indented mappings,
/// one-line flow collections, quoted or plain scalars) are read by a small line-based
/// reader, many times faster than building Yams' node tree; a file using anything else
/// (anchors, tags, multi-line plain scalars, several documents…) goes through Yams.
/// Scalars are returned as written, without implicit typing.
enum YAMLSupport {
    /// Deeper nesting is refused: no lockfile needs it, and recursive readers could run
    /// out of stack on it.
    static let maxDepth = 128

    /// The file's single document; nil when it holds none (empty or only comments).
    static func parse(_ bytes: [UInt8], path: String) throws -> YAMLValue? {
        do {
            var reader = try BlockReader(bytes)
            return try reader.document()
        } catch is BlockReader.Unsupported {
            guard withinDepthLimit(bytes) else {
                throw LockfileError(path: path, line: nil, message: "YAML nested too deeply for a lockfile")
            }
            return try compose(bytes, path: path).map(convert)
        } catch let tooDeep as BlockReader.TooDeep {
            throw LockfileError(path: path, line: tooDeep.line, message: "YAML nested too deeply for a lockfile")
        }
    }

    /// A rough bound on nesting before handing a file to Yams: indentation and open
    /// brackets (quotes are not tracked, so brackets in strings count too).
    private static func withinDepthLimit(_ bytes: [UInt8]) -> Bool {
        var depth = 0, indent = 0, atLineStart = true
        for byte in bytes {
            switch byte {
            case 0x0A: atLineStart = true; indent = 0
            case 0x20 where atLineStart: indent += 1
            case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1; atLineStart = false
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1; atLineStart = false
            default: atLineStart = false
            }
            if depth > maxDepth || indent > 4 * maxDepth { return false }
        }
        return true
    }

    /// The file's single document as Yams' node tree (which keeps each node's line in
    /// `Node.mark`); nil when it holds none.
    static func compose(_ bytes: [UInt8], path: String) throws -> Node? {
        do {
            return try Yams.compose(yaml: String(decoding: bytes, as: UTF8.self), .basic)
        } catch let error as YamlError {
            throw LockfileError(path: path, line: line(of: error, bytes: bytes), message: "invalid YAML: \(problem(error))")
        }
    }

    /// The text of a scalar node.
    static func string(_ node: Node?) -> String? {
        guard case let .scalar(scalar)? = node else { return nil }
        return scalar.string
    }

    /// A mapping's value for a key; a linear search, so only for small mappings.
    static func value(_ mapping: Node.Mapping?, _ key: String) -> Node? {
        guard let mapping else { return nil }
        for (k, v) in mapping where string(k) == key { return v }
        return nil
    }

    /// Yams' node tree as a `YAMLValue`.
    static func convert(_ node: Node) -> YAMLValue {
        switch node {
        case let .scalar(scalar):
            return .scalar(scalar.string)
        case let .mapping(mapping):
            return .mapping(YAMLMapping(entries: mapping.map { key, value in
                YAMLMapping.Entry(key: key.scalar?.string ?? "", line: key.mark?.line ?? 1, value: convert(value))
            }))
        case let .sequence(sequence):
            return .sequence(sequence.map(convert))
        case let .alias(alias):
            return .scalar(alias.anchor.rawValue)
        }
    }

    private static func line(of error: YamlError, bytes: [UInt8]) -> Int? {
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _):
            return mark.line
        case let .duplicatedKeysInMapping(_, context):
            return context.mark.line
        case let .reader(_, offset, _, _):
            return offset.map { LineIndex(bytes).line(at: $0) }
        default:
            return nil
        }
    }

    private static func problem(_ error: YamlError) -> String {
        switch error {
        case let .scanner(context, problem, _, _), let .parser(context, problem, _, _), let .composer(context, problem, _, _):
            return [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        case let .duplicatedKeysInMapping(duplicates, _):
            return "duplicate keys \(duplicates.joined(separator: ", "))"
        case let .reader(problem, _, _, _):
            return problem
        default:
            return "\(error)"
        }
    }
}

/// The line-based reader for block-style YAML. It throws `Unsupported` for anything it
/// does not handle, and Yams takes over.
struct BlockReader {
    struct Unsupported: Error {}
    struct TooDeep: Error { let line: Int }

    struct Line {
        let number: Int
        let indent: Int
        /// The text after the indentation; never empty, never a whole-line comment.
        let text: ArraySlice<UInt8>
    }

    private let lines: [Line]
    private var position = 0
    private var depth = 0

    init(_ bytes: [UInt8]) throws {
        var lines: [Line] = []
        try Bytes.forEachLine(bytes) { number, raw in
            var end = raw.endIndex
            while end > raw.startIndex, raw[end - 1] == 0x0D || raw[end - 1] == 0x20 || raw[end - 1] == 0x09 { end -= 1 }
            var start = raw.startIndex
            while start < end, raw[start] == 0x20 { start += 1 }
            guard start < end, raw[start] != UInt8(ascii: "#") else { return }
            // Tabs in indentation, directives and document markers: leave them to Yams.
            if raw[start] == 0x09 || (start == raw.startIndex && (raw[start] == UInt8(ascii: "%")
                || raw[start...].starts(with: "---".utf8) || raw[start...].starts(with: "...".utf8))) {
                throw Unsupported()
            }
            lines.append(Line(number: number, indent: start - raw.startIndex, text: raw[start..<end]))
        }
        self.lines = lines
    }

    mutating func document() throws -> YAMLValue? {
        guard let first = lines.first else { return nil }
        let value = try node(indent: first.indent)
        guard position == lines.count else { throw Unsupported() }
        return value
    }

    private mutating func node(indent: Int) throws -> YAMLValue {
        let line = lines[position]
        depth += 1
        defer { depth -= 1 }
        guard depth <= YAMLSupport.maxDepth else { throw TooDeep(line: line.number) }
        if Self.isSequenceItem(line.text) { return try sequence(indent: line.indent) }
        if try Self.splitKey(line.text) != nil { return try mapping(indent: line.indent) }
        position += 1
        guard position == lines.count || lines[position].indent < indent else { throw Unsupported() }
        return try Self.inlineValue(line.text, line: line.number)
    }

    private mutating func mapping(indent: Int) throws -> YAMLValue {
        var entries: [YAMLMapping.Entry] = []
        while position < lines.count, lines[position].indent >= indent {
            let line = lines[position]
            guard line.indent == indent, let (key, rest) = try Self.splitKey(line.text) else { throw Unsupported() }
            position += 1
            entries.append(YAMLMapping.Entry(key: key, line: line.number, value: try value(rest, parentIndent: indent, line: line.number)))
        }
        return .mapping(YAMLMapping(entries: entries))
    }

    private mutating func sequence(indent: Int) throws -> YAMLValue {
        var items: [YAMLValue] = []
        while position < lines.count, lines[position].indent == indent, Self.isSequenceItem(lines[position].text) {
            let line = lines[position]
            let rest = line.text.dropFirst().drop { $0 == 0x20 }
            position += 1
            // A mapping as an item ("- key: value") is left to Yams.
            if try Self.splitKey(rest) != nil { throw Unsupported() }
            items.append(try value(rest, parentIndent: indent, line: line.number))
        }
        return .sequence(items)
    }

    /// The value after `key:` or `- `: inline, or the block below it.
    private mutating func value(_ rest: ArraySlice<UInt8>, parentIndent: Int, line: Int) throws -> YAMLValue {
        if rest.isEmpty || rest.first == UInt8(ascii: "#") {
            if position < lines.count {
                let next = lines[position]
                if next.indent > parentIndent { return try node(indent: next.indent) }
                if next.indent == parentIndent, Self.isSequenceItem(next.text) { return try sequence(indent: parentIndent) }
            }
            return .scalar("")
        }
        if rest.first == UInt8(ascii: "|") || rest.first == UInt8(ascii: ">") {
            // A block scalar: its lines are the more indented ones that follow.
            var text: [String] = []
            while position < lines.count, lines[position].indent > parentIndent {
                text.append(String(decoding: lines[position].text, as: UTF8.self))
                position += 1
            }
            return .scalar(text.joined(separator: rest.first == UInt8(ascii: "|") ? "\n" : " "))
        }
        // A plain scalar continued on the next lines is left to Yams.
        if position < lines.count, lines[position].indent > parentIndent { throw Unsupported() }
        return try Self.inlineValue(rest, line: line)
    }

    private static func isSequenceItem(_ text: ArraySlice<UInt8>) -> Bool {
        text.first == UInt8(ascii: "-") && (text.count == 1 || text[text.startIndex + 1] == 0x20)
    }

    /// `key: rest` → (key, rest); nil when the line is not a mapping entry.
    static func splitKey(_ text: ArraySlice<UInt8>) throws -> (String, ArraySlice<UInt8>)? {
        guard let first = text.first else { return nil }
        var key: String
        var afterKey: ArraySlice<UInt8>
        if first == UInt8(ascii: "'") || first == UInt8(ascii: "\"") {
            var cursor = FlowCursor(text, line: 0)
            key = try cursor.quoted()
            afterKey = cursor.rest.drop { $0 == 0x20 }
            guard afterKey.first == UInt8(ascii: ":") else { return nil }
        } else {
            if "?{[&*!|>%@`".utf8.contains(first) { throw Unsupported() }
            var colon: Int? = nil
            var i = text.startIndex
            while i < text.endIndex {
                if text[i] == UInt8(ascii: ":"), i + 1 == text.endIndex || text[i + 1] == 0x20 { colon = i; break }
                if text[i] == UInt8(ascii: "#"), i > text.startIndex, text[i - 1] == 0x20 { break }
                i += 1
            }
            guard let colon else { return nil }
            var keyEnd = colon
            while keyEnd > text.startIndex, text[keyEnd - 1] == 0x20 { keyEnd -= 1 }
            key = String(decoding: text[text.startIndex..<keyEnd], as: UTF8.self)
            afterKey = text[colon...]
        }
        return (key, afterKey.dropFirst().drop { $0 == 0x20 })
    }

    /// A value on one line: a flow collection, a quoted scalar or a plain scalar.
    static func inlineValue(_ text: ArraySlice<UInt8>, line: Int) throws -> YAMLValue {
        guard let first = text.first else { return .scalar("") }
        if "&*!".utf8.contains(first) { throw Unsupported() }
        var cursor = FlowCursor(text, line: line)
        let value: YAMLValue
        switch first {
        case UInt8(ascii: "{"), UInt8(ascii: "["): value = try cursor.flow()
        case UInt8(ascii: "'"), UInt8(ascii: "\""): value = .scalar(try cursor.quoted())
        default: return .scalar(plain(text))
        }
        let rest = cursor.rest.drop { $0 == 0x20 }
        guard rest.isEmpty || rest.first == UInt8(ascii: "#") else { throw Unsupported() }
        return value
    }

    /// A plain scalar without a trailing comment.
    private static func plain(_ text: ArraySlice<UInt8>) -> String {
        var end = text.endIndex
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == UInt8(ascii: "#"), i > text.startIndex, text[i - 1] == 0x20 { end = i; break }
            i += 1
        }
        while end > text.startIndex, text[end - 1] == 0x20 { end -= 1 }
        return String(decoding: text[text.startIndex..<end], as: UTF8.self)
    }
}

/// Reads flow collections and quoted scalars within one line.
private struct FlowCursor {
    private(set) var rest: ArraySlice<UInt8>
    /// The line the text is on, for the keys of flow mappings.
    let line: Int
    private var depth = 0

    init(_ text: ArraySlice<UInt8>, line: Int) {
        rest = text
        self.line = line
    }

    private mutating func skipSpaces() { rest = rest.drop { $0 == 0x20 } }

    mutating func flow() throws -> YAMLValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= YAMLSupport.maxDepth else { throw BlockReader.TooDeep(line: line) }
        guard let open = rest.popFirst() else { throw BlockReader.Unsupported() }
        let close = open == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
        var entries: [YAMLMapping.Entry] = []
        var items: [YAMLValue] = []
        skipSpaces()
        while rest.first != close {
            if open == UInt8(ascii: "{") {
                let key = try scalar(stoppingAtColon: true)
                skipSpaces()
                guard rest.popFirst() == UInt8(ascii: ":") else { throw BlockReader.Unsupported() }
                skipSpaces()
                entries.append(YAMLMapping.Entry(key: key, line: line, value: try element()))
            } else {
                items.append(try element())
            }
            skipSpaces()
            if rest.first == UInt8(ascii: ",") { rest.removeFirst(); skipSpaces() }
            else if rest.first != close { throw BlockReader.Unsupported() }
        }
        rest.removeFirst()
        return open == UInt8(ascii: "{") ? .mapping(YAMLMapping(entries: entries)) : .sequence(items)
    }

    private mutating func element() throws -> YAMLValue {
        if rest.first == UInt8(ascii: "{") || rest.first == UInt8(ascii: "[") { return try flow() }
        return .scalar(try scalar(stoppingAtColon: false))
    }

    private mutating func scalar(stoppingAtColon: Bool) throws -> String {
        guard let first = rest.first else { throw BlockReader.Unsupported() }
        if first == UInt8(ascii: "'") || first == UInt8(ascii: "\"") { return try quoted() }
        var end = rest.startIndex
        while end < rest.endIndex {
            let c = rest[end]
            if c == UInt8(ascii: ",") || c == UInt8(ascii: "}") || c == UInt8(ascii: "]") { break }
            if stoppingAtColon, c == UInt8(ascii: ":"),
               end + 1 == rest.endIndex || [0x20, UInt8(ascii: ","), UInt8(ascii: "}")].contains(rest[end + 1]) { break }
            end += 1
        }
        var trimmed = end
        while trimmed > rest.startIndex, rest[trimmed - 1] == 0x20 { trimmed -= 1 }
        let text = String(decoding: rest[rest.startIndex..<trimmed], as: UTF8.self)
        rest = rest[end...]
        return text
    }

    /// A single-quoted ('' escapes a quote) or double-quoted (backslash escapes) scalar.
    mutating func quoted() throws -> String {
        guard let quote = rest.popFirst() else { throw BlockReader.Unsupported() }
        var bytes: [UInt8] = []
        while let c = rest.popFirst() {
            if c == quote {
                if quote == UInt8(ascii: "'"), rest.first == quote { rest.removeFirst(); bytes.append(quote); continue }
                return String(decoding: bytes, as: UTF8.self)
            }
            if quote == UInt8(ascii: "\""), c == UInt8(ascii: "\\") {
                guard let escaped = rest.popFirst() else { break }
                switch escaped {
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(escaped)
                default: throw BlockReader.Unsupported()
                }
                continue
            }
            bytes.append(c)
        }
        // Unterminated on this line (a multi-line quoted scalar): leave it to Yams.
        throw BlockReader.Unsupported()
    }
}
