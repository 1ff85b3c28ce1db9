import TOMLKit
import VegaModel

/// PEP 751's pylock.toml (and `pylock.<name>.toml`): `[[packages]]` with name, version
/// and, for VCS installs, `vcs.commit-id`. The project itself may appear as a
/// version-less directory entry for "."; it is left out.
struct PylockParser: LockfileParser {
    let format = "pylock.toml"

    func accepts(path: String) -> Bool {
        let name = LockfilePath.fileName(of: path)
        return name == "pylock.toml" || (name.hasPrefix("pylock.") && name.hasSuffix(".toml") && name.count > "pylock..toml".count)
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        let document = try TOMLSupport.parse(contents, path: path)
        var builder = GraphBuilder(path: path, format: format)
        let entries = TOMLSupport.tables(document, "packages")
        let lines = TOMLSupport.arrayTableLines(contents, name: "packages", key: "name")
        var byName = PyPINameIndex()
        var dependencies: [(index: Int, references: [(name: String, version: String?)])] = []
        for (position, entry) in entries.enumerated() {
            let line = position < lines.count ? lines[position] : 1
            guard let name = entry["name"]?.string, !name.isEmpty else {
                builder.warn("a [[packages]] entry has no name; skipped", line: line)
                continue
            }
            let version = entry["version"]?.string ?? ""
            if version.isEmpty, entry["directory"]?.table?["path"]?.string == "." { continue }
            let commit = entry["vcs"]?.table?["commit-id"]?.string.flatMap { $0.isEmpty ? nil : $0 }
            let index = builder.add(Package(
                ecosystem: .pypi, name: name, version: version, purl: PURL.pypi(name: name, version: version),
                location: builder.location(line: line), commit: commit))
            byName.add(name, index)
            let references = entry["dependencies"]?.array?.compactMap { item -> (name: String, version: String?)? in
                guard let table = item.table, let name = table["name"]?.string else { return nil }
                return (name, table["version"]?.string)
            } ?? []
            dependencies.append((index, references))
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
}
