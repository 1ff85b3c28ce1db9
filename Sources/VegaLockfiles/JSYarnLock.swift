import VegaModel

/// yarn.lock, both yarn v1's own format and yarn berry's (v2+) YAML subset. Both are
/// read line by line: a block per package whose header lists the descriptors it
/// resolves, two-space properties, and four-space dependency entries.
struct YarnLockParser: LockfileParser {
    let format = "yarn.lock"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "yarn.lock" && !LockfilePath.hasDirectory("node_modules", in: path)
    }

    private struct Block {
        var line: Int
        var descriptors: [String]
        var version: String?
        var resolution: String?
        var dependencies: [(name: String, range: String)] = []
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        var builder = GraphBuilder(path: path, format: format)
        let blocks = try readBlocks(contents, path: path)
        let isBerry = blocks.contains { $0.descriptors == ["__metadata"] }

        var indexByDescriptor: [String: Int] = [:]
        var indexByIdentity: [String: Int] = [:]
        // Package index per block; nil for blocks that are not packages.
        var blockPackage: [Int?] = []
        blockPackage.reserveCapacity(blocks.count)
        for block in blocks {
            guard let first = block.descriptors.first, first != "__metadata",
                  !block.descriptors.contains(where: { $0.hasSuffix("@workspace:.") }) else {
                blockPackage.append(nil)
                continue
            }
            let name = Self.packageName(first)
            let version = block.version ?? ""
            if block.version == nil {
                builder.warn("no version for \(name)", line: block.line)
            }
            let commit = block.resolution.flatMap(JSCommit.extract(from:))
            // Patched packages repeat the original's name and version: one package.
            let identity = "\(name)@\(version)#\(commit ?? "")"
            let index: Int
            if let existing = indexByIdentity[identity] {
                index = existing
            } else {
                index = builder.add(Package(
                    ecosystem: .npm, name: name, version: version,
                    purl: PURL.npm(name: name, version: version),
                    direct: isBerry ? false : nil,
                    location: builder.location(line: block.line), commit: commit))
                indexByIdentity[identity] = index
            }
            blockPackage.append(index)
            for descriptor in block.descriptors { indexByDescriptor[descriptor] = index }
        }

        func target(_ dependency: (name: String, range: String)) -> Int? {
            indexByDescriptor["\(dependency.name)@\(dependency.range)"]
                ?? indexByDescriptor["\(dependency.name)@npm:\(dependency.range)"]
        }
        for (blockIndex, block) in blocks.enumerated() {
            let isWorkspace = block.resolution.map { Bytes.contains($0, "@workspace:") } ?? false
            for dependency in block.dependencies {
                guard let to = target(dependency) else { continue }
                if isBerry && isWorkspace {
                    builder.update(to) { $0.direct = true }
                }
                if let from = blockPackage[blockIndex] {
                    builder.addEdge(from: from, to: to)
                }
            }
        }
        return builder.build()
    }

    private static let versionKey = Array("version".utf8)
    private static let resolutionKeys = [Array("resolved".utf8), Array("resolution".utf8)]
    private static let dependencySections = [Array("dependencies".utf8), Array("optionalDependencies".utf8)]

    /// Splits the file into package blocks. Works on bytes: only the values kept become strings.
    private func readBlocks(_ contents: [UInt8], path: String) throws -> [Block] {
        var blocks: [Block] = []
        var inDependencies = false
        try Bytes.forEachLine(contents) { lineNumber, line in
            var end = line.endIndex
            if end > line.startIndex, line[end - 1] == 0x0D { end -= 1 }
            var start = line.startIndex
            while start < end, line[start] == 0x20 { start += 1 }
            let indent = start - line.startIndex
            let body = line[start..<end]
            guard let first = body.first, first != UInt8(ascii: "#") else { return }
            if indent == 0 {
                blocks.append(Block(line: lineNumber, descriptors: Self.descriptors(body)))
                inDependencies = false
                return
            }
            guard !blocks.isEmpty else {
                throw LockfileError(path: path, line: lineNumber, message: "malformed yarn.lock: indented line outside a package entry")
            }
            let (key, value) = Self.keyValue(body)
            let last = blocks.count - 1
            if indent == 2 {
                inDependencies = value.isEmpty && Self.dependencySections.contains { key.elementsEqual($0) }
                if key.elementsEqual(Self.versionKey) {
                    // yarn writes versions as [\w.+-]+; anything else is not a version.
                    if blocks[last].version == nil, !value.isEmpty,
                       value.allSatisfy({ JSCommit.isWord($0) || $0 == 0x2E || $0 == 0x2D || $0 == 0x2B }) {
                        blocks[last].version = String(decoding: value, as: UTF8.self)
                    }
                } else if blocks[last].resolution == nil, Self.resolutionKeys.contains(where: { key.elementsEqual($0) }) {
                    blocks[last].resolution = String(decoding: value, as: UTF8.self)
                }
            } else if indent == 4, inDependencies {
                blocks[last].dependencies.append((String(decoding: key, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            }
        }
        return blocks
    }

    /// A header's descriptors: `"a@^1", a@~1.2:` (v1) or `"a@npm:^1, a@npm:~1.2":` (berry,
    /// one quoted key) → ["a@^1", "a@~1.2"].
    static func descriptors(_ header: ArraySlice<UInt8>) -> [String] {
        let quote = UInt8(ascii: "\""), space = UInt8(ascii: " ")
        var text = header
        while let last = text.last, last == UInt8(ascii: ":") || last == space { text = text.dropLast() }
        return text.split(separator: UInt8(ascii: ",")).compactMap { part in
            var item = part
            while let first = item.first, first == space || first == quote { item = item.dropFirst() }
            while let last = item.last, last == space || last == quote { item = item.dropLast() }
            return item.isEmpty ? nil : String(decoding: item, as: UTF8.self)
        }
    }

    /// `key "value"`, `key: value`, `"key": "value"`, `key:` → (key, value) unquoted.
    static func keyValue(_ body: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        let quote = UInt8(ascii: "\""), colon = UInt8(ascii: ":"), space = UInt8(ascii: " ")
        var key: ArraySlice<UInt8>
        var rest: ArraySlice<UInt8>
        if body.first == quote, let close = body.dropFirst().firstIndex(of: quote) {
            key = body[(body.startIndex + 1)..<close]
            rest = body[(close + 1)...]
        } else {
            let end = body.firstIndex { $0 == space || $0 == colon } ?? body.endIndex
            key = body[..<end]
            rest = body[end...]
        }
        if rest.first == colon { rest = rest.dropFirst() }
        rest = rest.drop { $0 == space }
        while rest.last == space { rest = rest.dropLast() }
        if rest.count >= 2, let open = rest.first, open == quote || open == UInt8(ascii: "'"), rest.last == open {
            rest = rest.dropFirst().dropLast()
        }
        if key.last == colon { key = key.dropLast() }
        return (key, rest)
    }

    /// The package a descriptor names, looking through `npm:` aliases:
    /// `alias@npm:@babel/core@^7` → `@babel/core`.
    static func packageName(_ descriptor: String) -> String {
        var text = Substring(descriptor)
        let scoped = text.hasPrefix("@")
        if scoped { text = text.dropFirst() }
        let at = text.firstIndex(of: "@")
        let name = at.map { text[..<$0] } ?? text
        if let at {
            let range = text[text.index(after: at)...]
            if range.hasPrefix("npm:"), range.contains("@") { return packageName(String(range.dropFirst(4))) }
        }
        return scoped ? "@" + name : String(name)
    }
}
