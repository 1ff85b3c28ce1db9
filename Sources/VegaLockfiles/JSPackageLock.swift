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
        let root = try JSONReader(path: path).object(contents)
        if let packages = root["packages"]?.object {
            parsePackages(packages, into: &builder)
        } else if let dependencies = root["dependencies"]?.object {
            parseDependencies(dependencies, into: &builder)
        }
        return builder.build()
    }

    /// Merges dependency groups of one package met twice: in no group (production) on
    /// either side means production; otherwise the union.
    static func mergeGroups(_ a: [String], _ b: [String]) -> [String] {
        a.isEmpty || b.isEmpty ? [] : Array(Set(a + b)).sorted()
    }

    // MARK: lockfileVersion 2 and 3

    /// The fields of a "packages" entry this parser uses, read in one pass.
    private struct Entry {
        var name: String?
        var version = ""
        var resolved: String?
        var link = false
        var groups: [String] = []
        var dependencies: [String] = []
        var devDependencies: [String] = []

        init(_ object: JSONObject) {
            var dev = false, optional = false, devOptional = false, inBundle = false
            for field in object {
                switch field.key {
                case "name": name = field.value.string
                case "version": version = field.value.string ?? ""
                case "resolved": resolved = field.value.string
                case "link": link = field.value.bool ?? false
                case "dev": dev = field.value.bool ?? false
                case "optional": optional = field.value.bool ?? false
                case "devOptional": devOptional = field.value.bool ?? false
                case "inBundle": inBundle = field.value.bool ?? false
                case "dependencies", "optionalDependencies", "peerDependencies":
                    dependencies += field.value.object?.keys ?? []
                case "devDependencies":
                    devDependencies += field.value.object?.keys ?? []
                default: break
                }
            }
            if inBundle { groups = ["bundled"] }
            if devOptional {
                groups += ["dev", "optional"]
            } else {
                if dev { groups.append("dev") }
                if optional { groups.append("optional") }
            }
        }
    }

    private func parsePackages(_ packages: JSONObject, into builder: inout GraphBuilder) {
        var indexByFolder: [String: Int] = [:]
        var indexByIdentity: [String: Int] = [:]
        var linkTarget: [String: String] = [:]
        var entries: [(folder: String, entry: Entry)] = []
        var rootEntry: Entry? = nil
        for item in packages {
            guard let object = item.value.object else {
                builder.warn("packages[\"\(item.key)\"] is not an object; skipped", line: item.line)
                continue
            }
            let entry = Entry(object)
            if item.key.isEmpty {
                rootEntry = entry
                continue
            }
            // A link (a workspace) is listed again under the folder it points to.
            if entry.link {
                if let target = entry.resolved { linkTarget[item.key] = target }
                continue
            }
            entries.append((item.key, entry))
            let name = entry.name ?? Self.name(fromFolder: item.key)
            let commit = entry.resolved.flatMap(JSCommit.extract(from:))
            let identity = name + "@" + (commit ?? entry.version)
            if let existing = indexByIdentity[identity] {
                builder.update(existing) { $0.groups = Self.mergeGroups($0.groups, entry.groups) }
                indexByFolder[item.key] = existing
            } else {
                let index = builder.add(Package(
                    ecosystem: .npm, name: name, version: entry.version, purl: PURL.npm(name: name, version: entry.version),
                    groups: entry.groups, location: builder.location(line: item.line), commit: commit))
                indexByIdentity[identity] = index
                indexByFolder[item.key] = index
            }
        }
        for (link, target) in linkTarget {
            if let index = indexByFolder[target] { indexByFolder[link] = index }
        }

        /// Node's lookup: <folder>/node_modules/<name>, then each enclosing node_modules.
        func resolve(_ name: String, from folder: String) -> Int? {
            var base = folder
            while true {
                let candidate = base.isEmpty ? "node_modules/" + name : base + "/node_modules/" + name
                if let index = indexByFolder[candidate] { return index }
                if base.isEmpty { return nil }
                base = Self.enclosingFolder(of: base)
            }
        }

        // The project and its workspaces declare the direct dependencies.
        let workspaces = Set(linkTarget.values)
        var importers = entries.filter { workspaces.contains($0.folder) }
        if let rootEntry {
            importers.append(("", rootEntry))
            for index in builder.packages.indices { builder.update(index) { $0.direct = false } }
        }
        for (folder, entry) in importers {
            for name in entry.dependencies + entry.devDependencies {
                if let index = resolve(name, from: folder) { builder.update(index) { $0.direct = true } }
            }
        }
        for (folder, entry) in entries {
            guard let from = indexByFolder[folder] else { continue }
            let declared = workspaces.contains(folder) ? entry.dependencies + entry.devDependencies : entry.dependencies
            for name in declared {
                if let to = resolve(name, from: folder) { builder.addEdge(from: from, to: to) }
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

    // MARK: lockfileVersion 1

    private func parseDependencies(_ dependencies: JSONObject, into builder: inout GraphBuilder) {
        var indexByIdentity: [String: Int] = [:]
        // Package index by nesting path ("a\u{1}b" for b nested in a), for `requires` lookups.
        var indexByNesting: [String: Int] = [:]
        var requires: [(nesting: [String], names: [String])] = []
        func nestingKey(_ path: [String]) -> String { path.joined(separator: "\u{1}") }

        func walk(_ dependencies: JSONObject, nesting: [String]) {
            for item in dependencies {
                guard let entry = item.value.object else {
                    builder.warn("dependencies[\"\(item.key)\"] is not an object; skipped", line: item.line)
                    continue
                }
                let spec = entry["version"]?.string ?? ""
                var name = item.key, version = spec
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
                let dev = entry["dev"]?.bool == true, optional = entry["optional"]?.bool == true
                let groups = (dev ? ["dev"] : []) + (optional ? ["optional"] : [])
                let identity = name + "@" + (commit ?? version)
                let index: Int
                if let existing = indexByIdentity[identity] {
                    index = existing
                    builder.update(existing) { $0.groups = Self.mergeGroups($0.groups, groups) }
                } else {
                    index = builder.add(Package(
                        ecosystem: .npm, name: name, version: version, purl: PURL.npm(name: name, version: version),
                        groups: groups, location: builder.location(line: item.line), commit: commit))
                    indexByIdentity[identity] = index
                }
                let path = nesting + [item.key]
                indexByNesting[nestingKey(path)] = index
                if let required = entry["requires"]?.object {
                    requires.append((path, required.keys))
                }
                if let nested = entry["dependencies"]?.object {
                    walk(nested, nesting: path)
                }
            }
        }
        walk(dependencies, nesting: [])

        // A requirement resolves to the nearest copy: nested in the package, then in each ancestor.
        for (path, names) in requires {
            guard let from = indexByNesting[nestingKey(path)] else { continue }
            for name in names {
                var scope = path
                while true {
                    if let to = indexByNesting[nestingKey(scope + [name])] {
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
