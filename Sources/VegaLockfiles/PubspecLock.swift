import VegaModel
import Yams

/// pubspec.lock (Dart/Flutter): `packages` maps each name to its `version`, `source`
/// (hosted, git — pinned to `resolved-ref` — path, sdk) and `dependency` ("direct
/// main", "direct dev" → the dev group, "direct overridden", "transitive").
struct PubspecLockParser: LockfileParser {
    let format = "pubspec.lock"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "pubspec.lock"
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        guard let document = try YAMLSupport.compose(contents, path: path) else {
            throw LockfileError(path: path, line: 1, message: "empty pubspec.lock")
        }
        guard let root = document.mapping else {
            throw LockfileError(path: path, line: document.mark?.line, message: "not a pubspec.lock: expected a mapping")
        }
        var builder = GraphBuilder(path: path, format: format)
        guard let packages = YAMLSupport.value(root, "packages") else { return builder.build() }
        guard let entries = packages.mapping else {
            throw LockfileError(path: path, line: packages.mark?.line, message: "`packages` is not a mapping")
        }
        for (key, value) in entries {
            guard let name = YAMLSupport.string(key), let entry = value.mapping,
                  let version = YAMLSupport.string(YAMLSupport.value(entry, "version")) else {
                builder.warn("package without a name or version", line: key.mark?.line)
                continue
            }
            let dependency = YAMLSupport.string(YAMLSupport.value(entry, "dependency")) ?? ""
            let description = YAMLSupport.value(entry, "description")?.mapping
            let commit = YAMLSupport.string(YAMLSupport.value(entry, "source")) == "git"
                ? YAMLSupport.string(YAMLSupport.value(description, "resolved-ref")) : nil
            builder.add(Package(
                ecosystem: .pub, name: name, version: version,
                purl: PURL.make(type: "pub", name: name, version: version),
                direct: dependency.isEmpty ? nil : dependency.hasPrefix("direct"),
                groups: dependency == "direct dev" ? ["dev"] : [],
                location: key.mark.map { builder.location(line: $0.line) }, commit: commit))
        }
        return builder.build()
    }
}
