import VegaModel

/// composer.lock: `packages` and `packages-dev` (the dev group), each pinned to the git
/// commit its source (or dist) reference names; `require` gives the edges.
struct ComposerLockParser: LockfileParser {
    let format = "composer.lock"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "composer.lock"
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        let root = try JSONReader(path: path).object(contents)
        var builder = GraphBuilder(path: path, format: format)
        var keyByName: [String: String] = [:]
        var requires: [(from: String, names: [String])] = []

        for (field, groups) in [("packages", [String]()), ("packages-dev", ["dev"])] {
            guard let value = root[field], value != .null else { continue }
            guard let entries = value.array else {
                builder.warn("`\(field)` is not an array", line: root.entries.last { $0.key == field }?.line)
                continue
            }
            for (index, item) in entries.enumerated() {
                guard let entry = item.object, let name = entry["name"]?.string, let version = entry["version"]?.string else {
                    builder.warn("\(field)[\(index)] has no name or version", line: item.object?.entries.first?.line)
                    continue
                }
                let line = entry.entries.last { $0.key == "name" }?.line
                let package = Package(
                    ecosystem: .packagist, name: name, version: version, purl: Self.purl(name, version),
                    groups: groups, location: line.map { builder.location(line: $0) },
                    commit: Self.commit(entry["source"]) ?? Self.commit(entry["dist"]))
                builder.add(package)
                // A name in both sections: `require` edges point at the runtime copy.
                if keyByName[name] == nil { keyByName[name] = package.key }
                if let require = entry["require"]?.object, !require.entries.isEmpty {
                    requires.append((package.key, require.keys))
                }
            }
        }
        for (from, names) in requires {
            for name in names {
                if let to = keyByName[name] { builder.addEdge(from: from, to: to) }
            }
        }
        return builder.build()
    }

    /// A source/dist `reference` that is a git commit (Drupal's packagist pins tags there).
    private static func commit(_ value: JSONValue?) -> String? {
        guard let reference = value?["reference"]?.string,
              reference.utf8.count == 40, reference.utf8.allSatisfy({ isHex($0) }) else { return nil }
        return reference
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte) || (0x41...0x46).contains(byte)
    }

    /// `pkg:composer/vendor/name@version`.
    private static func purl(_ name: String, _ version: String) -> String {
        guard let slash = name.firstIndex(of: "/") else { return PURL.make(type: "composer", name: name, version: version) }
        return PURL.make(type: "composer", namespace: String(name[..<slash]),
                         name: String(name[name.index(after: slash)...]), version: version)
    }
}
