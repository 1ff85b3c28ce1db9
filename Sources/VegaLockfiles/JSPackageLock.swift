import VegaModel

/// npm's package-lock.json and npm-shrinkwrap.json: lockfileVersion 2 and 3 list every
/// installed folder under "packages" (keyed by node_modules path); version 1 nests
/// "dependencies" the way node_modules nests.
struct PackageLockParser: LockfileParser {
    let format = "package-lock.json"
    let files: LockfileFiles

    init(files: LockfileFiles = .disk) {
        self.files = files
    }

    func accepts(path: String) -> Bool {
        let name = LockfilePath.fileName(of: path)
        return (name == "package-lock.json" || name == "npm-shrinkwrap.json")
            && !LockfilePath.hasDirectory("node_modules", in: path)
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        var builder = GraphBuilder(path: path, format: format)
        // npm installs from npm-shrinkwrap.json and ignores package-lock.json beside it.
        if LockfilePath.fileName(of: path) == "package-lock.json",
           files.read(LockfilePath.join(LockfilePath.directory(of: path), "npm-shrinkwrap.json")) != nil {
            return builder.build()
        }
        let root = try JSONSupport.object(contents, path: path)
        if let packages = root["packages"] as? [String: Any] {
            parsePackages(packages, contents: contents, into: &builder)
        } else if let dependencies = root["dependencies"] as? [String: Any] {
            parseDependencies(dependencies, contents: contents, into: &builder)
        }
        return builder.build()
    }

    /// Merges dependency groups of one package met twice: in no group (production) on
    /// either side means production; otherwise the union.
    static func mergeGroups(_ a: [String], _ b: [String]) -> [String] {
        a.isEmpty || b.isEmpty ? [] : Array(Set(a + b)).sorted()
    }

    // MARK: lockfileVersion 2 and 3

    private func parsePackages(_ packages: [String: Any], contents: [UInt8], into builder: inout GraphBuilder) {
        let lines = JSONKeyLines.lines(under: "packages", in: contents)
        let ordered = packages.keys.map { ($0, lines[$0] ?? 1) }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }

        var indexByPath: [String: Int] = [:]
        var indexByIdentity: [String: Int] = [:]
        var linkTarget: [String: String] = [:]
        var entries: [(path: String, entry: [String: Any])] = []
        for (folder, entryLine) in ordered where !folder.isEmpty {
            guard let entry = packages[folder] as? [String: Any] else {
                builder.warn("packages[\"\(folder)\"] is not an object; skipped", line: entryLine)
                continue
            }
            // A link (a workspace) is listed again under the folder it points to.
            if entry["link"] as? Bool == true {
                if let target = entry["resolved"] as? String { linkTarget[folder] = target }
                continue
            }
            entries.append((folder, entry))
            let name = entry["name"] as? String ?? Self.name(fromFolder: folder)
            let version = entry["version"] as? String ?? ""
            let commit = (entry["resolved"] as? String).flatMap(JSCommit.extract(from:))
            let groups = Self.groups(entry)
            let identity = name + "@" + (commit ?? version)
            if let existing = indexByIdentity[identity] {
                builder.update(existing) { $0.groups = Self.mergeGroups($0.groups, groups) }
                indexByPath[folder] = existing
            } else {
                let index = builder.add(Package(
                    ecosystem: .npm, name: name, version: version, purl: PURL.npm(name: name, version: version),
                    direct: packages[""] == nil ? nil : false, groups: groups,
                    location: builder.location(line: entryLine), commit: commit))
                indexByIdentity[identity] = index
                indexByPath[folder] = index
            }
        }
        for (link, target) in linkTarget {
            if let index = indexByPath[target] { indexByPath[link] = index }
        }

        /// Node's lookup: <folder>/node_modules/<name>, then each enclosing node_modules.
        func resolve(_ name: String, from folder: String) -> Int? {
            var base = folder
            while true {
                let candidate = base.isEmpty ? "node_modules/" + name : base + "/node_modules/" + name
                if let index = indexByPath[candidate] { return index }
                if base.isEmpty { return nil }
                base = Self.enclosingFolder(of: base)
            }
        }
        func declared(_ entry: [String: Any], includingDev: Bool) -> [String] {
            var keys = ["dependencies", "optionalDependencies", "peerDependencies"]
            if includingDev { keys.append("devDependencies") }
            return keys.flatMap { (entry[$0] as? [String: Any]).map { Array($0.keys) } ?? [] }
        }

        // The project and its workspaces declare the direct dependencies.
        let importers = Set([""] + linkTarget.values)
        for importer in importers {
            guard let entry = packages[importer] as? [String: Any] else { continue }
            for name in declared(entry, includingDev: true) {
                if let index = resolve(name, from: importer) { builder.update(index) { $0.direct = true } }
            }
        }
        for (folder, entry) in entries {
            guard let from = indexByPath[folder] else { continue }
            for name in declared(entry, includingDev: importers.contains(folder)) {
                if let to = resolve(name, from: folder) {
                    builder.addEdge(from: from, to: to)
                }
            }
        }
    }

    private static let nestedModules = Array("/node_modules/".utf8)

    /// The folder whose node_modules holds `folder`: `a/node_modules/b` → `a`,
    /// `node_modules/b` and workspace folders → "" (the project).
    static func enclosingFolder(of folder: String) -> String {
        let bytes = Array(folder.utf8)
        var i = bytes.count - nestedModules.count
        while i >= 0 {
            if bytes[i] == UInt8(ascii: "/"), bytes[i..<(i + nestedModules.count)].elementsEqual(nestedModules) {
                return String(decoding: bytes[..<i], as: UTF8.self)
            }
            i -= 1
        }
        return ""
    }

    /// `node_modules/@scope/name` → `@scope/name`; `node_modules/a/node_modules/b` → `b`.
    static func name(fromFolder folder: String) -> String {
        guard let slash = folder.lastIndex(of: "/") else { return folder }
        let parent = folder[..<slash]
        let scopeStart = parent.lastIndex(of: "/").map { parent.index(after: $0) } ?? parent.startIndex
        return parent[scopeStart...].hasPrefix("@") ? String(folder[scopeStart...]) : String(folder[folder.index(after: slash)...])
    }

    private static func groups(_ entry: [String: Any]) -> [String] {
        var groups: [String] = entry["inBundle"] as? Bool == true ? ["bundled"] : []
        if entry["devOptional"] as? Bool == true { return groups + ["dev", "optional"] }
        if entry["dev"] as? Bool == true { groups.append("dev") }
        if entry["optional"] as? Bool == true { groups.append("optional") }
        return groups
    }

    // MARK: lockfileVersion 1

    private func parseDependencies(_ dependencies: [String: Any], contents: [UInt8], into builder: inout GraphBuilder) {
        // Keys at dependencies.<a>.dependencies.<b>…: odd depth, "dependencies" at every even step.
        let lines = JSONKeyLines.scan(contents) { parents in
            parents.count % 2 == 1 && stride(from: 0, to: parents.count, by: 2).allSatisfy { parents[$0] == "dependencies" }
        }
        var indexByIdentity: [String: Int] = [:]
        // Package index by nesting path ("a\u{1}b" for b nested in a), for `requires` lookups.
        var indexByNesting: [String: Int] = [:]
        var requires: [(nesting: [String], names: [String])] = []

        func walk(_ dependencies: [String: Any], nesting: [String]) {
            let prefix = nesting.flatMap { ["dependencies", $0] } + ["dependencies"]
            let ordered = dependencies.keys.map { ($0, lines[JSONKeyLines.pathKey(prefix + [$0])] ?? 1) }
                .sorted { ($0.1, $0.0) < ($1.1, $1.0) }
            for (key, entryLine) in ordered {
                guard let entry = dependencies[key] as? [String: Any] else {
                    builder.warn("dependencies[\"\(key)\"] is not an object; skipped", line: entryLine)
                    continue
                }
                let spec = entry["version"] as? String ?? ""
                var name = key, version = spec
                var commit: String? = nil
                // An alias: "npm:string-width@^4.2.0" installed under another name.
                if spec.hasPrefix("npm:"), let at = spec.lastIndex(of: "@"), at > spec.index(spec.startIndex, offsetBy: 4) {
                    name = String(spec[spec.index(spec.startIndex, offsetBy: 4)..<at])
                    version = String(spec[spec.index(after: at)...])
                }
                if spec.hasPrefix("file:") {
                    version = ""
                } else if let hash = JSCommit.extract(from: spec) {
                    // A git dependency: the "version" is the URL, and the commit says what it is.
                    commit = hash
                    version = ""
                }
                let dev = entry["dev"] as? Bool == true, optional = entry["optional"] as? Bool == true
                let groups = (dev ? ["dev"] : []) + (optional ? ["optional"] : [])
                let identity = name + "@" + (commit ?? version)
                let index: Int
                if let existing = indexByIdentity[identity] {
                    index = existing
                    builder.update(existing) { $0.groups = Self.mergeGroups($0.groups, groups) }
                } else {
                    index = builder.add(Package(
                        ecosystem: .npm, name: name, version: version, purl: PURL.npm(name: name, version: version),
                        groups: groups, location: builder.location(line: entryLine), commit: commit))
                    indexByIdentity[identity] = index
                }
                let path = nesting + [key]
                indexByNesting[JSONKeyLines.pathKey(path)] = index
                if let required = entry["requires"] as? [String: Any] {
                    requires.append((path, Array(required.keys)))
                }
                if let nested = entry["dependencies"] as? [String: Any] {
                    walk(nested, nesting: path)
                }
            }
        }
        walk(dependencies, nesting: [])

        // A requirement resolves to the nearest copy: nested in the package, then in each ancestor.
        for (path, names) in requires {
            guard let from = indexByNesting[JSONKeyLines.pathKey(path)] else { continue }
            for name in names {
                var scope = path
                while true {
                    if let to = indexByNesting[JSONKeyLines.pathKey(scope + [name])] {
                        builder.addEdge(from: from, to: to)
                        break
                    }
                    if scope.isEmpty { break }
                    scope.removeLast()
                }
            }
        }
    }
}
