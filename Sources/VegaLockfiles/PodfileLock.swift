import VegaModel
import Yams

/// Podfile.lock (CocoaPods): `PODS` lists each pod as "Name (version)", with its own
/// dependencies nested under it; DEPENDENCIES names the direct ones and CHECKOUT
/// OPTIONS the commits of pods taken from git. Subspecs ("Texture/Core") are their
/// pod ("Texture"), the unit advisories name.
struct PodfileLockParser: LockfileParser {
    let format = "Podfile.lock"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "Podfile.lock"
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        guard let document = try YAMLSupport.compose(contents, path: path) else {
            throw LockfileError(path: path, line: 1, message: "empty Podfile.lock")
        }
        guard let root = document.mapping else {
            throw LockfileError(path: path, line: document.mark?.line, message: "not a Podfile.lock: expected a mapping")
        }
        var builder = GraphBuilder(path: path, format: format)
        guard let pods = YAMLSupport.value(root, "PODS") else { return builder.build() }
        guard let items = pods.sequence else {
            throw LockfileError(path: path, line: pods.mark?.line, message: "`PODS` is not a list")
        }
        let direct = Set((YAMLSupport.value(root, "DEPENDENCIES")?.sequence ?? []).compactMap {
            YAMLSupport.string($0).map { Self.pod(Self.nameAndVersion($0).name) }
        })
        var commits: [String: String] = [:]
        for (key, value) in YAMLSupport.value(root, "CHECKOUT OPTIONS")?.mapping ?? [:] {
            if let name = YAMLSupport.string(key), let commit = YAMLSupport.string(YAMLSupport.value(value.mapping, ":commit")) {
                commits[name] = commit
            }
        }

        var indexByPod: [String: Int] = [:]
        var edges: [(from: Int, pods: [String])] = []
        for item in items {
            // "Name (1.0)" or, with dependencies, {"Name (1.0)": ["Dep (~> 1)", …]}
            let entry: Node
            var dependencies: [Node] = []
            if let mapping = item.mapping, mapping.count == 1, let pair = mapping.first {
                entry = pair.key
                dependencies = pair.value.sequence.map(Array.init) ?? []
            } else {
                entry = item
            }
            guard let text = YAMLSupport.string(entry), case let (name, version?) = Self.nameAndVersion(text) else {
                builder.warn("PODS entry is not \"Name (version)\"", line: item.mark?.line)
                continue
            }
            let pod = Self.pod(name)
            let index: Int
            if let existing = indexByPod[pod] {
                index = existing
            } else {
                index = builder.add(Package(
                    ecosystem: .cocoaPods, name: pod, version: version,
                    purl: PURL.make(type: "cocoapods", name: pod, version: version),
                    direct: direct.isEmpty ? nil : direct.contains(pod),
                    location: entry.mark.map { builder.location(line: $0.line) }, commit: commits[pod]))
                indexByPod[pod] = index
            }
            let names = dependencies.compactMap { YAMLSupport.string($0).map { Self.pod(Self.nameAndVersion($0).name) } }
            if !names.isEmpty { edges.append((index, names)) }
        }
        for (from, pods) in edges {
            for pod in pods {
                guard let to = indexByPod[pod] else { continue }
                builder.addEdge(from: builder.packages[from].key, to: builder.packages[to].key)
            }
        }
        return builder.build()
    }

    /// "PINCache (3.0.3)" → ("PINCache", "3.0.3"); "Texture (~> 3)" → ("Texture", "~> 3");
    /// "Reveal-SDK" → ("Reveal-SDK", nil).
    private static func nameAndVersion(_ text: String) -> (name: Substring, version: String?) {
        guard let open = text.firstIndex(of: "("), text.hasSuffix(")") else {
            return (text.prefix { $0 != " " }, nil)
        }
        var name = text[..<open]
        while name.last == " " { name = name.dropLast() }
        return (name, String(text[text.index(after: open)..<text.index(before: text.endIndex)]))
    }

    private static func pod(_ name: Substring) -> String {
        String(name.prefix { $0 != "/" })
    }
}
