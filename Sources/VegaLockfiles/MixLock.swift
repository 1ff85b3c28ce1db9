import VegaModel

/// mix.lock (Elixir): a map from app name to `{:hex, :package, "version", "checksum",
/// managers, deps, "repo", "outer checksum"}` or `{:git, "url", "sha", opts}`. Hex
/// packages carry their inner checksum as the commit, git ones the sha, as osv-scalibr
/// reports them; each hex entry's deps list gives the edges.
struct MixLockParser: LockfileParser {
    let format = "mix.lock"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "mix.lock"
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        var builder = GraphBuilder(path: path, format: format)
        var reader = ElixirTermReader(contents, path: path)
        guard case let .map(entries) = try reader.document() else {
            throw LockfileError(path: path, line: 1, message: "not a mix.lock: expected a map (%{…})")
        }

        var keyByApp: [String: String] = [:]
        var edges: [(from: String, apps: [String])] = []
        for entry in entries {
            guard let app = entry.key.text, case let .tuple(fields) = entry.value, let kind = fields.first?.text else {
                builder.warn("unreadable entry", line: entry.line)
                continue
            }
            let package: Package
            switch kind {
            case "hex":
                guard fields.count >= 4, let name = fields[1].text, let version = fields[2].text else {
                    builder.warn("hex entry \(app) has no package name or version", line: entry.line)
                    continue
                }
                package = Package(ecosystem: .hex, name: name, version: version,
                                  purl: PURL.make(type: "hex", name: name, version: version),
                                  location: builder.location(line: entry.line), commit: fields[3].text)
                if fields.count > 5, case let .list(dependencies) = fields[5] {
                    edges.append((package.key, dependencies.compactMap {
                        guard case let .tuple(parts) = $0 else { return nil }
                        return parts.first?.text
                    }))
                }
            case "git":
                guard fields.count >= 3, let sha = fields[2].text else {
                    builder.warn("git entry \(app) has no revision", line: entry.line)
                    continue
                }
                package = Package(ecosystem: .hex, name: app, version: "",
                                  purl: PURL.make(type: "hex", name: app, version: ""),
                                  location: builder.location(line: entry.line), commit: sha)
            default:
                builder.warn("\(app): unsupported source :\(kind)", line: entry.line)
                continue
            }
            builder.add(package)
            keyByApp[app] = package.key
        }
        for (from, apps) in edges {
            for app in apps {
                if let to = keyByApp[app] { builder.addEdge(from: from, to: to) }
            }
        }
        return builder.build()
    }
}

/// The subset of Elixir term syntax mix.lock uses: maps (`%{"k": v}`, `%{k => v}`),
/// tuples, lists with keyword entries, strings, atoms, and bare words (numbers,
/// true/false/nil).
enum ElixirTerm {
    case map([(key: ElixirTerm, value: ElixirTerm, line: Int)])
    case tuple([ElixirTerm])
    case list([ElixirTerm])
    case string(String)
    case atom(String)
    case word(String)

    /// The text of a string or atom.
    var text: String? {
        switch self {
        case let .string(text), let .atom(text): text
        default: nil
        }
    }
}

struct ElixirTermReader {
    private let bytes: [UInt8]
    private let path: String
    private var offset = 0
    private var line = 1

    init(_ bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    /// The file's one term (an empty file is an empty map).
    mutating func document() throws -> ElixirTerm {
        skipSpace()
        guard offset < bytes.count else { return .map([]) }
        let term = try self.term()
        skipSpace()
        guard offset == bytes.count else { throw error("unexpected text after the lock map") }
        return term
    }

    private mutating func term() throws -> ElixirTerm {
        skipSpace()
        guard offset < bytes.count else { throw error("unexpected end of file") }
        switch bytes[offset] {
        case UInt8(ascii: "%"):
            offset += 1
            guard peek(UInt8(ascii: "{")) else { throw error("expected { after %") }
            offset += 1
            var entries: [(key: ElixirTerm, value: ElixirTerm, line: Int)] = []
            try sequence(until: UInt8(ascii: "}")) {
                let entryLine = $0.line
                let key: ElixirTerm
                if let keyword = try $0.keywordKey() {
                    key = keyword
                } else {
                    key = try $0.term()
                    $0.skipSpace()
                    guard $0.peek(UInt8(ascii: "="), UInt8(ascii: ">")) else { throw $0.error("expected => in map") }
                    $0.offset += 2
                }
                entries.append((key, try $0.term(), entryLine))
            }
            return .map(entries)
        case UInt8(ascii: "{"):
            offset += 1
            var items: [ElixirTerm] = []
            try sequence(until: UInt8(ascii: "}")) { items.append(try $0.term()) }
            return .tuple(items)
        case UInt8(ascii: "["):
            offset += 1
            var items: [ElixirTerm] = []
            try sequence(until: UInt8(ascii: "]")) {
                if let keyword = try $0.keywordKey() {
                    items.append(.tuple([keyword, try $0.term()]))
                } else {
                    items.append(try $0.term())
                }
            }
            return .list(items)
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: ":"):
            offset += 1
            if peek(UInt8(ascii: "\"")) { return .atom(try string()) }
            let word = self.word()
            guard !word.isEmpty else { throw error("empty atom") }
            return .atom(word)
        default:
            let word = self.word()
            guard !word.isEmpty else { throw error("unexpected character '\(Character(Unicode.Scalar(bytes[offset])))'") }
            return .word(word)
        }
    }

    /// Comma-separated items up to `close` (a trailing comma allowed).
    private mutating func sequence(until close: UInt8, _ item: (inout ElixirTermReader) throws -> Void) throws {
        while true {
            skipSpace()
            guard offset < bytes.count else { throw error("unexpected end of file: missing \(Character(Unicode.Scalar(close)))") }
            if bytes[offset] == close { offset += 1; return }
            try item(&self)
            skipSpace()
            if peek(UInt8(ascii: ",")) { offset += 1; continue }
            guard peek(close) else { throw error("expected , or \(Character(Unicode.Scalar(close)))") }
        }
    }

    /// A keyword key — `name:` or `"name":` followed by a space — as an atom; nil (and
    /// the cursor unmoved) when the next term is not one.
    private mutating func keywordKey() throws -> ElixirTerm? {
        skipSpace()
        let saved = (offset, line)
        let name: String
        if peek(UInt8(ascii: "\"")) {
            name = try string()
        } else {
            name = word()
        }
        if !name.isEmpty, peek(UInt8(ascii: ":")), offset + 1 < bytes.count, Self.isSpace(bytes[offset + 1]) {
            offset += 1
            return .atom(name)
        }
        (offset, line) = saved
        return nil
    }

    private mutating func string() throws -> String {
        let startLine = line
        offset += 1
        var out: [UInt8] = []
        while offset < bytes.count {
            let c = bytes[offset]
            offset += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\") where offset < bytes.count:
                out.append(bytes[offset])
                offset += 1
            case UInt8(ascii: "\n"):
                line += 1
                out.append(c)
            default:
                out.append(c)
            }
        }
        throw LockfileError(path: path, line: startLine, message: "unterminated string")
    }

    private mutating func word() -> String {
        let start = offset
        while offset < bytes.count, Self.isWordByte(bytes[offset]) { offset += 1 }
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }

    private mutating func skipSpace() {
        while offset < bytes.count {
            let c = bytes[offset]
            if c == UInt8(ascii: "\n") {
                line += 1
            } else if c == UInt8(ascii: "#") {
                while offset < bytes.count, bytes[offset] != UInt8(ascii: "\n") { offset += 1 }
                continue
            } else if !Self.isSpace(c) {
                return
            }
            offset += 1
        }
    }

    private func peek(_ byte: UInt8, _ next: UInt8? = nil) -> Bool {
        guard offset < bytes.count, bytes[offset] == byte else { return false }
        guard let next else { return true }
        return offset + 1 < bytes.count && bytes[offset + 1] == next
    }

    private func error(_ message: String) -> LockfileError {
        LockfileError(path: path, line: line, message: "malformed mix.lock: \(message)")
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "@"),
             UInt8(ascii: "?"), UInt8(ascii: "!"), UInt8(ascii: "-"), UInt8(ascii: "+"):
            return true
        default:
            return false
        }
    }
}
