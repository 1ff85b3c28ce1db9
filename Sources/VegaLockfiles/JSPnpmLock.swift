import VegaModel

/// pnpm-lock.yaml, lockfile versions 5.x, 6.x and 9.x. Packages are keyed by a
/// "dependency path": `/name/1.0.0_peer@2` (5.x), `/name@1.0.0(peer@2)` (6.x),
/// `name@1.0.0` (9.x, with peer variants and edges under "snapshots").
struct PnpmLockParser: LockfileParser {
    let format = "pnpm-lock.yaml"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "pnpm-lock.yaml" && !LockfilePath.hasDirectory("node_modules", in: path)
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        var builder = GraphBuilder(path: path, format: format)
        guard let document = try YAMLSupport.parse(contents, path: path) else { return builder.build() }
        guard let root = document.mapping else {
            throw LockfileError(path: path, line: 1, message: "not a pnpm lockfile: expected a mapping at the top level")
        }
        let lockfileVersion = Double(root["lockfileVersion"]?.string ?? "") ?? 0

        var indexByDepPath: [String: Int] = [:]
        var indexByIdentity: [String: Int] = [:]
        var entries: [(index: Int, entry: YAMLMapping)] = []
        for package in root["packages"]?.mapping ?? YAMLMapping(entries: []) {
            let entry = package.value.mapping
            var (name, version) = try Self.nameAndVersion(package.key, lockfileVersion: lockfileVersion,
                                                           path: path, line: package.line)
            // "name" and "version" are only written when the path does not encode them.
            if let explicit = entry?["name"]?.string, !explicit.isEmpty { name = explicit }
            if let explicit = entry?["version"]?.string, !explicit.isEmpty { version = explicit }
            guard !name.isEmpty, !version.isEmpty else { continue }

            let resolution = entry?["resolution"]
            var commit = resolution?["commit"]?.string.flatMap { $0.isEmpty ? nil : $0 }
            if let tarball = resolution?["tarball"]?.string, tarball.hasPrefix("https://codeload.github.com"),
               let hash = JSCommit.codeloadCommit(Array(tarball.utf8)) {
                commit = hash
            }
            let groups = entry?["dev"]?.string == "true" ? ["dev"] : []

            // Peer-dependency variants of one version are one package.
            let identity = "\(name)@\(version)#\(commit ?? "")"
            let index: Int
            if let existing = indexByIdentity[identity] {
                index = existing
                builder.update(existing) { $0.groups = PackageLockParser.mergeGroups($0.groups, groups) }
            } else {
                index = builder.add(Package(
                    ecosystem: .npm, name: name, version: version, purl: PURL.npm(name: name, version: version),
                    groups: groups, location: builder.location(line: package.line), commit: commit))
                indexByIdentity[identity] = index
                // Also by name@version alone, for references that do not say the commit.
                indexByIdentity["\(name)@\(version)"] = indexByIdentity["\(name)@\(version)"] ?? index
            }
            indexByDepPath[package.key] = index
            if let entry { entries.append((index, entry)) }
        }

        /// The package a dependency reference points to: a version (maybe with a peer
        /// suffix), an alias `real@1.0.0`, or a full dependency path.
        func resolve(_ name: String, _ reference: String) -> Int? {
            if reference.hasPrefix("link:") { return nil }
            let bare = Self.strippingPeers(reference, lockfileVersion: lockfileVersion)
            let candidates: [String]
            if lockfileVersion >= 9 {
                candidates = ["\(name)@\(reference)", "\(name)@\(bare)", reference, bare]
            } else if lockfileVersion >= 6 {
                candidates = ["/\(name)@\(reference)", reference, "/" + reference]
            } else {
                candidates = ["/\(name)/\(reference)", reference, "/" + reference]
            }
            for candidate in candidates {
                if let index = indexByDepPath[candidate] { return index }
            }
            return indexByIdentity["\(name)@\(bare)"]
        }
        func references(_ entry: YAMLMapping?, sections: [String]) -> [(String, String)] {
            sections.flatMap { section -> [(String, String)] in
                guard let dependencies = entry?[section]?.mapping else { return [] }
                // 6.x and 9.x importers: {specifier, version}; 5.x and packages: the version itself.
                return dependencies.compactMap { dependency in
                    (dependency.value.string ?? dependency.value["version"]?.string).map { (dependency.key, $0) }
                }
            }
        }

        // Edges: 9.x lists them per peer variant under "snapshots", older versions per package.
        let edgeSections = ["dependencies", "optionalDependencies"]
        if lockfileVersion >= 9 {
            for snapshot in root["snapshots"]?.mapping ?? YAMLMapping(entries: []) {
                let (name, version) = try Self.nameAndVersion(snapshot.key, lockfileVersion: lockfileVersion,
                                                               path: path, line: snapshot.line)
                guard let from = resolve(name, version) else { continue }
                for (dependency, reference) in references(snapshot.value.mapping, sections: edgeSections) {
                    if let to = resolve(dependency, reference) { builder.addEdge(from: from, to: to) }
                }
            }
        } else {
            for (from, entry) in entries {
                for (dependency, reference) in references(entry, sections: edgeSections) {
                    if let to = resolve(dependency, reference) { builder.addEdge(from: from, to: to) }
                }
            }
        }

        // Direct dependencies: what each importer (the project, its workspaces) declares;
        // single-project 5.x/6.x files declare them at the top level.
        let importerSections = ["dependencies", "devDependencies", "optionalDependencies"]
        var importers = (root["importers"]?.mapping?.entries ?? []).compactMap { $0.value.mapping }
        if importerSections.contains(where: { root[$0] != nil }) { importers.append(root) }
        if !importers.isEmpty {
            for index in builder.packages.indices { builder.update(index) { $0.direct = false } }
            for importer in importers {
                for (name, reference) in references(importer, sections: importerSections) {
                    if let index = resolve(name, reference) { builder.update(index) { $0.direct = true } }
                }
            }
        }
        return builder.build()
    }

    /// Name and version from a dependency path; empty when the path encodes none (file:
    /// packages, git URLs), leaving them to the entry's own fields. A 5.x/6.x path without
    /// a "/" is not a dependency path at all: the file is malformed.
    static func nameAndVersion(_ depPath: String, lockfileVersion: Double, path: String, line: Int) throws -> (String, String) {
        if depPath.hasPrefix("file:") { return ("", "") }
        if lockfileVersion >= 9 {
            var text = Substring(depPath)
            while text.first == "'" { text = text.dropFirst() }
            while text.last == "'" { text = text.dropLast() }
            let scoped = text.hasPrefix("@")
            if scoped { text = text.dropFirst() }
            let at = text.firstIndex(of: "@")
            let name = at.map { text[..<$0] } ?? text
            let version = at.map { String(text[text.index(after: $0)...]) } ?? ""
            return ((scoped ? "@" : "") + name, version)
        }
        var parts = depPath.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2 else {
            throw LockfileError(path: path, line: line, message: "invalid pnpm dependency path \"\(depPath)\"")
        }
        parts.removeFirst()
        var name: String
        if parts[0].hasPrefix("@"), parts.count >= 2 {
            name = parts[0] + "/" + parts[1]
            parts.removeFirst(2)
        } else {
            name = String(parts[0])
            parts.removeFirst()
        }
        var version = parts.first.map(String.init) ?? ""
        if version.isEmpty {
            // 6.x: /name@1.0.0(peer@2.0.0)
            guard let split = nameAtVersion(name) else { return ("", "") }
            (name, version) = split
        }
        guard let first = version.unicodeScalars.first, ("0"..."9").contains(first) else { return ("", "") }
        if let underscore = version.firstIndex(of: "_") { version = String(version[..<underscore]) }
        return (name, version)
    }

    /// `name@1.0.0` or `name@1.0.0(peer@2)` → (name, 1.0.0); the name may hold "@".
    private static func nameAtVersion(_ text: String) -> (String, String)? {
        var searchEnd = text.endIndex
        while let at = text[..<searchEnd].lastIndex(of: "@") {
            let rest = text[text.index(after: at)...]
            let versionEnd = rest.firstIndex { !($0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-")) }
                ?? rest.endIndex
            if at > text.startIndex, versionEnd > rest.startIndex, versionEnd == rest.endIndex || rest[versionEnd] == "(" {
                return (String(text[..<at]), String(rest[..<versionEnd]))
            }
            searchEnd = at
        }
        return nil
    }

    /// A version reference without its peer suffix: `1.0.0(react@18)` / `1.0.0_react@18` → `1.0.0`.
    static func strippingPeers(_ reference: String, lockfileVersion: Double) -> String {
        var end = reference.firstIndex(of: "(") ?? reference.endIndex
        if lockfileVersion < 6, let underscore = reference[..<end].firstIndex(of: "_") { end = underscore }
        return String(reference[..<end])
    }
}
