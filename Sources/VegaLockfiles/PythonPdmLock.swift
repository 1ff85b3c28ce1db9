import TOMLKit
import VegaModel

/// PDM's pdm.lock: `[[package]]` entries with the `groups` that pull them in ("default",
/// "dev", or an optional group) and `dependencies` as PEP 508 strings. It does not say
/// which packages the project requires directly.
struct PdmLockParser: LockfileParser {
    let format = "pdm.lock"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "pdm.lock"
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
            let commit = entry["revision"]?.string.flatMap { $0.isEmpty ? nil : $0 }
            let groups = entry["groups"]?.array.map { Self.groups($0.compactMap { $0.string }) } ?? []
            let index = builder.add(Package(
                ecosystem: .pypi, name: name, version: version, purl: PURL.pypi(name: name, version: version),
                groups: groups, location: builder.location(line: line), commit: commit))
            byName.add(name, index)
            let declared = entry["dependencies"]?.array?.compactMap { $0.string.flatMap(PyPIName.requirementName) } ?? []
            dependencies.append((index, declared))
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

    /// "dev" stays "dev"; a package only in other groups than "default" and "dev" is optional.
    private static func groups(_ groups: [String]) -> [String] {
        let dev = groups.contains("dev")
        if dev { return ["dev"] }
        return groups.contains("default") ? [] : ["optional"]
    }
}
