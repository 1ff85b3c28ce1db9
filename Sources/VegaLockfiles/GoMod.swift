import VegaModel

/// go.mod: `require` (transitive when marked `// indirect`), `replace` applied the way
/// osv-scalibr applies it, and the Go toolchain as the `stdlib` package (`toolchain`
/// wins over `go`). A module declaring go < 1.17 lists only part of its build list in
/// go.mod; its go.sum, read through `files`, supplies the rest as transitive packages.
struct GoModParser: LockfileParser {
    let format = "go.mod"
    /// Reads the go.sum beside a go.mod.
    let files: LockfileFiles

    init(files: LockfileFiles = .disk) {
        self.files = files
    }

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "go.mod"
    }

    private struct Statement {
        var verb: String
        var args: [String]
        var comment: ArraySlice<UInt8>
        var line: Int
    }

    private struct Entry {
        var name: String
        var version: String
        /// The version as written (with its "v"), for the purl.
        var rawVersion: String
        var direct: Bool?
        var line: Int
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        var builder = GraphBuilder(path: path, format: format)
        var entries: [Entry] = []
        var goVersion = "", goLine = 0
        var replaces: [Statement] = []

        for statement in try statements(contents, path: path) {
            switch statement.verb {
            case "go":
                goVersion = statement.args.first ?? ""
                goLine = statement.line
            case "toolchain":
                // "go1.23.6-xyz" → "1.23.6"
                guard let name = statement.args.first else { continue }
                let version = name.split(separator: "-", maxSplits: 1).first.map(String.init) ?? name
                goVersion = version.hasPrefix("go") ? String(version.dropFirst(2)) : version
                goLine = statement.line
            case "require":
                guard statement.args.count == 2 else {
                    builder.warn("malformed require: expected a module path and a version", line: statement.line)
                    continue
                }
                let comment = TextLines.trimmed(statement.comment)
                let indirect = TextLines.equals(comment, "indirect") || TextLines.hasPrefix(comment, "indirect;")
                entries.append(Entry(name: statement.args[0], version: Self.trimV(statement.args[1]),
                                     rawVersion: statement.args[1], direct: !indirect, line: statement.line))
            case "replace":
                replaces.append(statement)
            default:
                continue
            }
        }

        for statement in replaces {
            guard let arrow = statement.args.firstIndex(of: "=>"),
                  (1...2).contains(arrow), (1...2).contains(statement.args.count - arrow - 1) else {
                builder.warn("malformed replace: expected `module [version] => module [version]`", line: statement.line)
                continue
            }
            let old = statement.args[0], oldVersion = arrow == 2 ? Self.trimV(statement.args[1]) : nil
            let new = statement.args[arrow + 1]
            let newVersion = statement.args.count - arrow - 1 == 2 ? statement.args[arrow + 2] : ""
            // A replace names a module version the build list holds, or every version of it.
            for index in entries.indices
            where entries[index].name == old && (oldVersion == nil || entries[index].version == oldVersion) {
                entries[index].name = new
                entries[index].version = Self.trimV(newVersion)
                entries[index].rawVersion = newVersion
                entries[index].line = statement.line
            }
        }

        var seen: Set<String> = []
        for entry in entries where seen.insert("\(entry.name)@\(entry.version)").inserted {
            builder.add(Package(
                ecosystem: .go, name: entry.name, version: entry.version,
                purl: Self.purl(entry.name, entry.rawVersion), direct: entry.direct,
                location: builder.location(line: entry.line)))
        }
        if !goVersion.isEmpty {
            builder.add(Package(ecosystem: .go, name: "stdlib", version: goVersion,
                                purl: Self.purl("stdlib", "v" + goVersion), location: builder.location(line: goLine)))
            if Self.isBefore117(goVersion) {
                readGoSum(besides: path, into: &builder, seen: &seen)
            }
        }
        return builder.build()
    }

    /// go.sum's modules that go.mod does not list (`/go.mod`-only lines are not in the build).
    private func readGoSum(besides path: String, into builder: inout GraphBuilder, seen: inout Set<String>) {
        let sumPath = path.hasSuffix(".mod") ? String(path.dropLast(4)) + ".sum" : path + ".sum"
        guard let bytes = files.read(sumPath) else { return }
        TextLines.forEach(bytes) { line, number in
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count == 3, !TextLines.string(fields[1]).hasSuffix("/go.mod") else { return }
            let name = TextLines.string(fields[0]), rawVersion = TextLines.string(fields[1])
            let version = Self.trimV(rawVersion)
            guard seen.insert("\(name)@\(version)").inserted else { return }
            builder.add(Package(
                ecosystem: .go, name: name, version: version, purl: Self.purl(name, rawVersion), direct: false,
                location: Location(path: sumPath, startLine: number, startColumn: 1, endLine: number, endColumn: 1)))
        }
    }

    /// Splits go.mod into statements, expanding `verb ( … )` blocks; unknown verbs make
    /// the file unreadable, as they do for the go command.
    private func statements(_ contents: [UInt8], path: String) throws -> [Statement] {
        var result: [Statement] = []
        var block: (verb: String, line: Int)?
        try TextLines.forEach(contents) { line, number in
            var (tokens, comment) = try Self.tokens(line, path: path, line: number)
            guard !tokens.isEmpty else { return }
            if let open = block {
                if tokens == [")"] { block = nil; return }
                result.append(Statement(verb: open.verb, args: tokens, comment: comment, line: number))
                return
            }
            let verb = tokens.removeFirst()
            guard Self.verbs.contains(verb) else {
                throw LockfileError(path: path, line: number, message: "not a go.mod file: unknown directive \"\(verb)\"")
            }
            if tokens == ["("] {
                block = (verb, number)
            } else if tokens != ["(", ")"] {
                result.append(Statement(verb: verb, args: tokens, comment: comment, line: number))
            }
        }
        if let open = block {
            throw LockfileError(path: path, line: open.line, message: "unterminated \(open.verb) block")
        }
        return result
    }

    private static let verbs: Set<String> = [
        "module", "go", "toolchain", "godebug", "require", "exclude", "replace", "retract", "tool", "ignore",
    ]

    /// A line's tokens (quoted strings unquoted, `(`, `)` and `=>` separate) and its `//` comment.
    private static func tokens(_ line: ArraySlice<UInt8>, path: String, line number: Int) throws
        -> ([String], ArraySlice<UInt8>) {
        var tokens: [String] = []
        var i = line.startIndex
        let end = line.endIndex
        func at(_ index: Int, _ byte: Unicode.Scalar) -> Bool {
            index < end && line[index] == UInt8(ascii: byte)
        }
        while true {
            while i < end, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
            guard i < end else { return (tokens, []) }
            let c = line[i]
            if c == UInt8(ascii: "/"), at(i + 1, "/") { return (tokens, line[(i + 2)...]) }
            if c == UInt8(ascii: "(") || c == UInt8(ascii: ")") {
                tokens.append(c == UInt8(ascii: "(") ? "(" : ")")
                i += 1
            } else if c == UInt8(ascii: "="), at(i + 1, ">") {
                tokens.append("=>")
                i += 2
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "`") {
                var value: [UInt8] = []
                var closed = false
                i += 1
                while i < end {
                    let b = line[i]
                    i += 1
                    if b == c { closed = true; break }
                    if b == UInt8(ascii: "\\"), c == UInt8(ascii: "\""), i < end {
                        value.append(line[i])
                        i += 1
                    } else {
                        value.append(b)
                    }
                }
                guard closed else {
                    throw LockfileError(path: path, line: number, message: "unterminated quoted string")
                }
                tokens.append(String(decoding: value, as: UTF8.self))
            } else {
                let start = i
                while i < end {
                    let b = line[i]
                    if b == 0x20 || b == 0x09 || b == UInt8(ascii: "(") || b == UInt8(ascii: ")") || b == UInt8(ascii: "\"")
                        || (b == UInt8(ascii: "/") && at(i + 1, "/")) || (b == UInt8(ascii: "=") && at(i + 1, ">")) {
                        break
                    }
                    i += 1
                }
                tokens.append(TextLines.string(line[start..<i]))
            }
        }
    }

    private static func trimV(_ version: String) -> String {
        version.hasPrefix("v") ? String(version.dropFirst()) : version
    }

    /// Whether a `go` version ("1.16", "1.21.3", "1.21rc1") is older than 1.17.
    private static func isBefore117(_ version: String) -> Bool {
        let parts = version.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
        let major = parts.first ?? 0, minor = parts.count > 1 ? parts[1] : 0
        return major < 1 || (major == 1 && minor < 17)
    }

    /// `pkg:golang/github.com/x/y@v1.0.0`: the module path's last element is the name.
    private static func purl(_ module: String, _ version: String) -> String {
        guard let slash = module.lastIndex(of: "/") else { return PURL.make(type: "golang", name: module, version: version) }
        return PURL.make(type: "golang", namespace: String(module[..<slash]),
                         name: String(module[module.index(after: slash)...]), version: version)
    }
}
