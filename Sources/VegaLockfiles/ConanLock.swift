import Foundation
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
        let root = try JSONSupport.object(contents, path: path)
        var builder = GraphBuilder(path: path, format: format)
        if let graph = root["graph_lock"] {
            guard let nodes = (graph as? [String: Any])?["nodes"] as? [String: Any] else {
                throw LockfileError(path: path, message: "`graph_lock` has no `nodes` object")
            }
            readGraph(nodes, contents, into: &builder)
        } else {
            var cursor = TextCursor(contents)
            for (field, group) in [("requires", "requires"), ("build_requires", "build-requires"),
                                   ("python_requires", "python-requires"), ("config_requires", "config-requires")] {
                guard let references = root[field] as? [Any] else { continue }
                for case let reference as String in references {
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

    /// Conan 1 graph nodes, placed by their keys' lines and added in file order.
    private func readGraph(_ nodes: [String: Any], _ contents: [UInt8], into builder: inout GraphBuilder) {
        let lines = JSONKeyLines.scan(contents) { $0 == ["graph_lock", "nodes"] }
        func line(_ id: String) -> Int? { lines[JSONKeyLines.pathKey(["graph_lock", "nodes", id])] }
        let ids = nodes.keys.sorted { (line($0) ?? 0, $0) < (line($1) ?? 0, $1) }

        // The root is the consumer: it has a conanfile `path`, or (lockfile 0.0) no reference.
        let rootID = ids.first { id in
            let node = nodes[id] as? [String: Any] ?? [:]
            return node["path"] != nil || (node["ref"] ?? node["pref"]) is NSNull
        }
        var keyByID: [String: String] = [:]
        var indexByKey: [String: Int] = [:]
        for id in ids where id != rootID {
            guard let node = nodes[id] as? [String: Any] else { continue }
            guard let reference = (node["ref"] ?? node["pref"]) as? String,
                  let (name, version) = Self.nameAndVersion(reference) else {
                builder.warn("node \(id) has no package reference", line: line(id))
                continue
            }
            let package = Package(ecosystem: .conanCenter, name: name, version: version,
                                  purl: PURL.make(type: "conan", name: name, version: version),
                                  direct: rootID == nil ? nil : false,
                                  location: line(id).map { builder.location(line: $0) })
            // The same reference in the host and build contexts is one package.
            if indexByKey[package.key] == nil { indexByKey[package.key] = builder.add(package) }
            keyByID[id] = package.key
        }

        for id in ids {
            guard let node = nodes[id] as? [String: Any] else { continue }
            let targets = Self.requiredIDs(node["requires"]) + Self.requiredIDs(node["build_requires"])
            for target in targets {
                guard let to = keyByID[target] else { continue }
                if id == rootID {
                    if let index = indexByKey[to] { builder.update(index) { $0.direct = true } }
                } else if let from = keyByID[id] {
                    builder.addEdge(from: from, to: to)
                }
            }
        }
    }

    /// Node ids a `requires` names: a list of ids, or (lockfile 0.0–0.2) a map from reference to id.
    private static func requiredIDs(_ value: Any?) -> [String] {
        if let list = value as? [Any] { return list.compactMap { $0 as? String } }
        if let map = value as? [String: Any] { return map.keys.sorted().compactMap { map[$0] as? String } }
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
