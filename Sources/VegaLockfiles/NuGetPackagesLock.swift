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
        let root = try JSONReader(path: path).object(contents)
        var builder = GraphBuilder(path: path, format: format)
        guard let value = root["dependencies"] else { return builder.build() }
        guard let frameworks = value.object else {
            throw LockfileError(path: path, line: root.entries.last { $0.key == "dependencies" }?.line,
                                message: "`dependencies` is not an object")
        }

        var indexByKey: [String: Int] = [:]
        for framework in frameworks {
            guard let entries = framework.value.object else {
                builder.warn("framework \(framework.key) is not an object", line: framework.line)
                continue
            }
            var keyByName: [String: String] = [:]
            var edges: [(from: String, names: [String])] = []
            for item in entries {
                guard let entry = item.value.object else { continue }
                let type = entry["type"]?.string ?? ""
                if type == "Project" { continue }
                guard let version = entry["resolved"]?.string else {
                    builder.warn("\(item.key) (\(framework.key)) has no resolved version", line: item.line)
                    continue
                }
                let package = Package(
                    ecosystem: .nuget, name: item.key, version: version,
                    purl: PURL.make(type: "nuget", name: item.key, version: version),
                    direct: type == "Direct" ? true : type.isEmpty ? nil : false,
                    location: builder.location(line: item.line))
                if let existing = indexByKey[package.key] {
                    // Direct for any framework is direct.
                    if package.direct == true { builder.update(existing) { $0.direct = true } }
                } else {
                    indexByKey[package.key] = builder.add(package)
                }
                keyByName[item.key.lowercased()] = package.key
                if let dependencies = entry["dependencies"]?.object, !dependencies.entries.isEmpty {
                    edges.append((package.key, dependencies.keys))
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
