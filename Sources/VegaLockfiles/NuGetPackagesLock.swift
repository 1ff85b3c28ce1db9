import VegaModel

/// NuGet packages.lock.json: per target framework, each package's `type` (Direct,
/// Transitive, CentralTransitive; Project references are not packages), `resolved`
/// version and the packages it depends on. A package resolved alike for several
/// frameworks is one package.
struct NuGetPackagesLockParser: LockfileParser {
    let format = "packages.lock.json"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "packages.lock.json"
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        let root = try JSONSupport.object(contents, path: path)
        var builder = GraphBuilder(path: path, format: format)
        guard let value = root["dependencies"] else { return builder.build() }
        guard let frameworks = value as? [String: Any] else {
            throw LockfileError(path: path, message: "`dependencies` is not an object")
        }
        let lines = JSONKeyLines.scan(contents) { $0.first == "dependencies" && $0.count <= 2 }

        var indexByKey: [String: Int] = [:]
        // In file order, so output and warnings follow the file.
        let ordered = frameworks.keys.sorted {
            (lines[JSONKeyLines.pathKey(["dependencies", $0])] ?? 0, $0)
                < (lines[JSONKeyLines.pathKey(["dependencies", $1])] ?? 0, $1)
        }
        for framework in ordered {
            guard let entries = frameworks[framework] as? [String: Any] else {
                builder.warn("framework \(framework) is not an object")
                continue
            }
            func line(_ name: String) -> Int? { lines[JSONKeyLines.pathKey(["dependencies", framework, name])] }
            var keyByName: [String: String] = [:]
            var edges: [(from: String, names: [String])] = []
            for name in entries.keys.sorted(by: { (line($0) ?? 0, $0) < (line($1) ?? 0, $1) }) {
                guard let entry = entries[name] as? [String: Any] else { continue }
                let type = entry["type"] as? String ?? ""
                if type == "Project" { continue }
                guard let version = entry["resolved"] as? String else {
                    builder.warn("\(name) (\(framework)) has no resolved version", line: line(name))
                    continue
                }
                let package = Package(
                    ecosystem: .nuget, name: name, version: version,
                    purl: PURL.make(type: "nuget", name: name, version: version),
                    direct: type == "Direct" ? true : type.isEmpty ? nil : false,
                    location: line(name).map { builder.location(line: $0) })
                if let existing = indexByKey[package.key] {
                    // Direct for any framework is direct.
                    if package.direct == true { builder.update(existing) { $0.direct = true } }
                } else {
                    indexByKey[package.key] = builder.add(package)
                }
                keyByName[name.lowercased()] = package.key
                if let dependencies = entry["dependencies"] as? [String: Any], !dependencies.isEmpty {
                    edges.append((package.key, dependencies.keys.sorted()))
                }
            }
            // NuGet ids are case-insensitive; edges stay within the framework's resolution.
            for (from, names) in edges {
                for name in names {
                    if let to = keyByName[name.lowercased()] { builder.addEdge(from: from, to: to) }
                }
            }
        }
        return builder.build()
    }
}
