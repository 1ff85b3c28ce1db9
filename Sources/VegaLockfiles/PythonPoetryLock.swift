import TOMLKit
import VegaModel

/// Poetry's poetry.lock: one `[[package]]` per package, with its `groups` (Poetry 1.2+)
/// or `category` (older), `optional` for extras, and `[package.dependencies]` by name.
/// It does not say which packages the project requires directly (pyproject.toml does).
struct PoetryLockParser: LockfileParser {
    let format = "poetry.lock"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "poetry.lock"
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        let document = try TOMLSupport.parse(contents, path: path)
        var builder = GraphBuilder(path: path, format: format)
        let entries = TOMLSupport.tables(document, "package")
        let lines = TOMLSupport.arrayTableLines(contents, name: "package", key: "name")
        var byName = PyPINameIndex()
        var dependencies: [(index: Int, names: [String])] = []
        for (position, entry) in entries.enumerated() {
            let line = position < lines.count ? lines[position] : 1
            guard let name = entry["name"]?.string, !name.isEmpty else {
                builder.warn("a [[package]] entry has no name; skipped", line: line)
                continue
            }
            let version = entry["version"]?.string ?? ""
            let commit = entry["source"]?.table?["resolved_reference"]?.string.flatMap { $0.isEmpty ? nil : $0 }
            let index = builder.add(Package(
                ecosystem: .pypi, name: name, version: version, purl: PURL.pypi(name: name, version: version),
                groups: Self.groups(entry), location: builder.location(line: line), commit: commit))
            byName.add(name, index)
            if let declared = entry["dependencies"]?.table {
                dependencies.append((index, declared.keys.sorted()))
            }
        }
        for (from, names) in dependencies {
            for name in names {
                for to in byName[name] {
                    builder.addEdge(from: from, to: to)
                }
            }
        }
        return builder.build()
    }

    /// An optional package (an extra) is in no other group; the "main" group is production.
    private static func groups(_ entry: TOMLTable) -> [String] {
        if entry["optional"]?.bool == true { return ["optional"] }
        if let groups = entry["groups"]?.array?.compactMap({ $0.string }) {
            return groups.contains("main") ? [] : groups
        }
        if let category = entry["category"]?.string, category != "main" { return [category] }
        return []
    }
}
