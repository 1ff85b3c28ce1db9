import TOMLKit
import VegaModel

/// uv's uv.lock: `[[package]]` entries, among them the project itself (and its workspace
/// members) with a `virtual` or `editable` source. The project's `dependencies`,
/// `optional-dependencies` and `dev-dependencies` say which packages are direct and
/// which groups they are in; every entry's `dependencies` give the edges.
struct UvLockParser: LockfileParser {
    let format = "uv.lock"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "uv.lock"
    }

    private typealias Reference = (name: String, version: String?)

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        let document = try TOMLSupport.parse(contents, path: path)
        var builder = GraphBuilder(path: path, format: format)
        let entries = TOMLSupport.tables(document, "package")
        let lines = TOMLSupport.arrayTableLines(contents, name: "package", key: "name")

        var byName = PyPINameIndex()
        var dependencies: [(index: Int, references: [Reference])] = []
        var directNames: Set<String> = []
        var groupsByName: [String: Set<String>] = [:]
        var hasProject = false
        for (position, entry) in entries.enumerated() {
            let line = position < lines.count ? lines[position] : 1
            guard let name = entry["name"]?.string, !name.isEmpty else {
                builder.warn("a [[package]] entry has no name; skipped", line: line)
                continue
            }
            let source = entry["source"]?.table
            // The project (and workspace members) are source code here, not packages to install.
            if source?["virtual"] != nil || source?["editable"] != nil {
                hasProject = true
                for reference in Self.references(entry["dependencies"]) {
                    directNames.insert(PyPIName.normalize(reference.name))
                }
                for section in ["optional-dependencies", "dev-dependencies"] {
                    for (group, list) in entry[section]?.table ?? TOMLTable() {
                        for reference in Self.references(list) {
                            let key = PyPIName.normalize(reference.name)
                            directNames.insert(key)
                            groupsByName[key, default: []].insert(group)
                        }
                    }
                }
                continue
            }
            let version = entry["version"]?.string ?? ""
            let commit = source?["git"]?.string.flatMap { url -> String? in
                guard let hash = url.lastIndex(of: "#") else { return nil }
                let fragment = url[url.index(after: hash)...]
                return fragment.isEmpty ? nil : String(fragment)
            }
            let index = builder.add(Package(
                ecosystem: .pypi, name: name, version: version, purl: PURL.pypi(name: name, version: version),
                location: builder.location(line: line), commit: commit))
            byName.add(name, index)
            var references = Self.references(entry["dependencies"])
            for (_, list) in entry["optional-dependencies"]?.table ?? TOMLTable() {
                references += Self.references(list)
            }
            dependencies.append((index, references))
        }

        for index in builder.packages.indices {
            let key = PyPIName.normalize(builder.packages[index].name)
            builder.update(index) {
                $0.groups = groupsByName[key].map { $0.sorted() } ?? []
                $0.direct = hasProject ? directNames.contains(key) : nil
            }
        }
        for (from, references) in dependencies {
            for reference in references {
                for to in byName[reference.name]
                where reference.version == nil || builder.packages[to].version == reference.version {
                    builder.addEdge(from: from, to: to)
                }
            }
        }
        return builder.build()
    }

    /// `[{ name = "x" }, { name = "y", version = "1.0" }]` → references.
    private static func references(_ value: (any TOMLValueConvertible)?) -> [Reference] {
        value?.array?.compactMap { item -> Reference? in
            guard let table = item.table, let name = table["name"]?.string else { return nil }
            return (name, table["version"]?.string)
        } ?? []
    }
}
