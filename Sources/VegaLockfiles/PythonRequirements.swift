import VegaModel

/// pip requirements files. Every requirement is a direct dependency; `==`/`===` (and,
/// as osv-scalibr does, a single `>=`, `<=` or `~=`) give its version, anything looser
/// (`*`, `<`, `>`, `!=`, several clauses) leaves the version empty. `-r`/`--requirement`
/// includes are read relative to the including file, each file once. Works on bytes:
/// everything that matters is ASCII.
struct RequirementsTxtParser: LockfileParser {
    let format = "requirements.txt"
    let files: LockfileFiles

    init(files: LockfileFiles = .disk) {
        self.files = files
    }

    /// `*requirements*.txt`, and any `.txt` in a `requirements/` folder.
    func accepts(path: String) -> Bool {
        let name = LockfilePath.fileName(of: path)
        guard name.hasSuffix(".txt") else { return false }
        return name.contains("requirements") || LockfilePath.fileName(of: LockfilePath.directory(of: path)) == "requirements"
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        var builder = GraphBuilder(path: path, format: format)
        var queue = [(path: path, contents: contents)]
        var seen: Set<String> = [LockfilePath.normalize(path)]
        while !queue.isEmpty {
            let file = queue.removeFirst()
            for line in Self.logicalLines(file.contents) {
                switch Self.interpret(line.text[...]) {
                case let .requirement(name, version):
                    builder.add(Package(
                        ecosystem: .pypi, name: name, version: version, purl: PURL.pypi(name: name, version: version),
                        direct: true,
                        location: Location(path: file.path, startLine: line.number, startColumn: 1, endLine: line.number, endColumn: 1)))
                case let .include(reference):
                    let included = LockfilePath.join(LockfilePath.directory(of: file.path), reference)
                    guard seen.insert(LockfilePath.normalize(included)).inserted else { continue }
                    if let bytes = files.read(included) {
                        queue.append((included, bytes))
                    } else {
                        builder.warn("cannot read \(included), included from \(file.path):\(line.number)",
                                     line: file.path == path ? line.number : nil)
                    }
                case .other:
                    break
                }
            }
        }
        return builder.build()
    }

    enum Line: Equatable {
        case requirement(name: String, version: String)
        case include(String)
        case other
    }

    private static let space: UInt8 = 0x20, tab: UInt8 = 0x09

    private static func isSpace(_ byte: UInt8) -> Bool { byte == space || byte == tab }

    /// Lines with comments removed and `\`-continuations joined, numbered by where they start.
    static func logicalLines(_ contents: [UInt8]) -> [(number: Int, text: [UInt8])] {
        var result: [(Int, [UInt8])] = []
        var pending: (number: Int, text: [UInt8])? = nil
        Bytes.forEachLine(contents) { number, raw in
            var text = raw
            if text.last == 0x0D { text = text.dropLast() }
            text = withoutComment(text)
            if text.last == UInt8(ascii: "\\") {
                if pending == nil { pending = (number, []) }
                pending!.text += text.dropLast()
                return
            }
            if var started = pending {
                started.text += text
                result.append(started)
                pending = nil
            } else {
                result.append((number, Array(text)))
            }
        }
        if let started = pending { result.append(started) }
        return result
    }

    /// pip's comment rule: `#` at the start of a line or after whitespace starts a comment.
    private static func withoutComment(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var index = line.startIndex
        while index < line.endIndex {
            if line[index] == UInt8(ascii: "#"), index == line.startIndex || isSpace(line[index - 1]) {
                var end = index
                while end > line.startIndex, isSpace(line[end - 1]) { end -= 1 }
                return line[..<end]
            }
            index += 1
        }
        return line
    }

    static func interpret(_ line: ArraySlice<UInt8>) -> Line {
        if containsEnvironmentVariable(line) { return .other }
        let requirement = trim(withoutPerRequirementOptions(line))
        guard let first = requirement.first else { return .other }
        if first == UInt8(ascii: "-") { return includedFile(requirement).map(Line.include) ?? .other }

        // name [extras] then nothing, a marker, a URL or a version specifier.
        let nameEnd = requirement.firstIndex { !isNameByte($0) } ?? requirement.endIndex
        let name = requirement[..<nameEnd]
        guard let last = name.last, isAlphanumeric(first), isAlphanumeric(last) else { return .other }
        var rest = requirement[nameEnd...].drop(while: isSpace)
        if rest.first == UInt8(ascii: "[") {
            guard let close = rest.firstIndex(of: UInt8(ascii: "]")) else { return .other }
            rest = rest[(close + 1)...].drop(while: isSpace)
        }
        let nameText = String(decoding: name, as: UTF8.self)
        guard let start = rest.first, start != UInt8(ascii: ";") else { return .requirement(name: nameText, version: "") }
        guard "=<>!~(".utf8.contains(start) else { return .other }
        let specifier = rest.prefix { $0 != UInt8(ascii: ";") }.filter { $0 != UInt8(ascii: "(") && $0 != UInt8(ascii: ")") }
        return version(of: specifier[...]).map { .requirement(name: nameText, version: $0) } ?? .other
    }

    private static let pinOperators = ["===", "==", ">=", "<=", "~="].map { Array($0.utf8) }

    /// The version a specifier pins, "" when it does not pin one, nil when it is unusable
    /// (an operator with nothing after it).
    private static func version(of specifier: ArraySlice<UInt8>) -> String? {
        for (offset, byte) in zip(specifier.indices, specifier) {
            let next = offset + 1 < specifier.endIndex ? specifier[offset + 1] : nil
            switch byte {
            case UInt8(ascii: "*"), UInt8(ascii: ","): return ""
            case UInt8(ascii: "!") where next == UInt8(ascii: "="): return ""
            case UInt8(ascii: "<"), UInt8(ascii: ">"): if next != UInt8(ascii: "=") { return "" }
            default: break
            }
        }
        for operatorBytes in pinOperators {
            guard let at = Bytes.find(operatorBytes, in: specifier) else { continue }
            let version = trim(specifier[(at + operatorBytes.count)...])
            return version.isEmpty ? nil : String(decoding: version, as: UTF8.self)
        }
        return ""
    }

    private static let requirementOption = Array("--requirement".utf8)

    /// `-r file`, `-rfile`, `--requirement file`, `--requirement=file`.
    private static func includedFile(_ option: ArraySlice<UInt8>) -> String? {
        var reference: ArraySlice<UInt8>
        if option.starts(with: requirementOption) {
            reference = option.dropFirst(requirementOption.count)
            if reference.first == UInt8(ascii: "=") {
                reference = reference.dropFirst()
            } else if let first = reference.first, !isSpace(first) {
                return nil
            }
        } else if option.starts(with: "-r".utf8) {
            reference = option.dropFirst(2)
        } else {
            return nil
        }
        let file = trim(reference)
        return file.isEmpty ? nil : String(decoding: file, as: UTF8.self)
    }

    private static let perRequirementOptions = ["--hash", "--global-option", "--config-settings", "-C"].map { Array($0.utf8) }

    /// Drops the per-requirement options (`--hash`, `--global-option`, `--config-settings`,
    /// `-C`), each starting a word, and all that follows the first of them.
    private static func withoutPerRequirementOptions(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var index = line.startIndex
        while index < line.endIndex {
            if line[index] == UInt8(ascii: "-"), index == line.startIndex || isSpace(line[index - 1]),
               perRequirementOptions.contains(where: { line[index...].starts(with: $0) }) {
                return line[..<index]
            }
            index += 1
        }
        return line
    }

    /// pip expands `${NAME}`; we cannot, so such lines are left out.
    private static func containsEnvironmentVariable(_ line: ArraySlice<UInt8>) -> Bool {
        var index = line.startIndex
        while let dollar = line[index...].firstIndex(of: UInt8(ascii: "$")) {
            index = dollar + 1
            guard index < line.endIndex, line[index] == UInt8(ascii: "{") else { continue }
            let name = line[(index + 1)...].prefix { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
            if !name.isEmpty, name.endIndex < line.endIndex, line[name.endIndex] == UInt8(ascii: "}") { return true }
        }
        return false
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }

    private static func trim(_ text: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = text
        while let first = s.first, isSpace(first) { s = s.dropFirst() }
        while let last = s.last, isSpace(last) { s = s.dropLast() }
        return s
    }
}
