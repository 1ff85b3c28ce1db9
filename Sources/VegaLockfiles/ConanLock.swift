import VegaModel

/// conan.lock. Conan 1 lockfiles (0.0–0.4) hold a `graph_lock` of nodes: the root
/// (the consumer's conanfile) and one node per package reference, with `requires` and
/// `build_requires` edges; the root's are the direct dependencies. Conan 2 lockfiles
/// (0.5) list references under `requires`, `build_requires`, `python_requires` (and
/// `config_requires`), which become the groups, as osv-scalibr reports them.
struct ConanLockParser: LockfileParser {
    let format = "conan.lock"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "conan.lock"
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        let root = try JSONReader(path: path).object(contents)
        var builder = GraphBuilder(path: path, format: format)
        if let graph = root["graph_lock"] {
            guard let nodes = graph["nodes"]?.object else {
                throw LockfileError(path: path, line: root.entries.last { $0.key == "graph_lock" }?.line,
                                    message: "`graph_lock` has no `nodes` object")
            }
            readGraph(nodes, into: &builder)
        } else {
            // Array elements carry no line: find each reference in the text, in order.
            var cursor = TextCursor(contents)
            for (field, group) in [("requires", "requires"), ("build_requires", "build-requires"),
                                   ("python_requires", "python-requires"), ("config_requires", "config-requires")] {
                for reference in root[field]?.array?.compactMap(\.string) ?? [] {
                    let line = cursor.nextJSONString(reference)
                    guard let (name, version) = Self.nameAndVersion(reference) else {
                        builder.warn("reference without a package name: \(reference)", line: line)
                        continue
                    }
                    builder.add(Package(ecosystem: .conanCenter, name: name, version: version,
                                        purl: PURL.make(type: "conan", name: name, version: version),
                                        groups: [group], location: line.map { builder.location(line: $0) }))
                }
            }
        }
        return builder.build()
    }

    /// Conan 1 graph nodes, in file order.
    private func readGraph(_ nodes: JSONObject, into builder: inout GraphBuilder) {
        // The root is the consumer: it has a conanfile `path`, or (lockfile 0.0) a null reference.
        let rootID = nodes.entries.first { node in
            node.value["path"] != nil || (node.value["ref"] ?? node.value["pref"]) == .null
        }?.key
        var keyByID: [String: String] = [:]
        var indexByKey: [String: Int] = [:]
        for node in nodes where node.key != rootID {
            guard let reference = (node.value["ref"] ?? node.value["pref"])?.string,
                  let (name, version) = Self.nameAndVersion(reference) else {
                builder.warn("node \(node.key) has no package reference", line: node.line)
                continue
            }
            let package = Package(ecosystem: .conanCenter, name: name, version: version,
                                  purl: PURL.make(type: "conan", name: name, version: version),
                                  direct: rootID == nil ? nil : false, location: builder.location(line: node.line))
            // The same reference in the host and build contexts is one package.
            if indexByKey[package.key] == nil { indexByKey[package.key] = builder.add(package) }
            keyByID[node.key] = package.key
        }

        for node in nodes {
            for target in Self.requiredIDs(node.value["requires"]) + Self.requiredIDs(node.value["build_requires"]) {
                guard let to = keyByID[target] else { continue }
                if node.key == rootID {
                    if let index = indexByKey[to] { builder.update(index) { $0.direct = true } }
                } else if let from = keyByID[node.key] {
                    builder.addEdge(from: from, to: to)
                }
            }
        }
    }

    /// Node ids a `requires` names: a list of ids, or (lockfile 0.0–0.2) a map from reference to id.
    private static func requiredIDs(_ value: JSONValue?) -> [String] {
        if let list = value?.array { return list.compactMap(\.string) }
        if let map = value?.object { return map.entries.compactMap(\.value.string) }
        return []
    }

    /// "zlib/1.2.11@user/channel#rrev%time:package_id#prev" → ("zlib", "1.2.11"); nil
    /// when the reference has no name ("1.2.3").
    static func nameAndVersion(_ reference: String) -> (String, String)? {
        let plain = reference.prefix { $0 != "#" && $0 != ":" && $0 != "@" && $0 != "%" }
        guard let slash = plain.firstIndex(of: "/") else { return nil }
        let name = plain[..<slash], version = plain[plain.index(after: slash)...]
        guard !name.isEmpty else { return nil }
        return (String(name), String(version))
    }
}
