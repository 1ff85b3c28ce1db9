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
            // One pass over the entry's fields (pubspec.lock entries are small, lockfiles are not).
            var version: String?, dependency = "", source = "", resolvedRef: String?
            for (field, fieldValue) in value.mapping ?? [:] {
                switch YAMLSupport.string(field) {
                case "version": version = YAMLSupport.string(fieldValue)
                case "dependency": dependency = YAMLSupport.string(fieldValue) ?? ""
                case "source": source = YAMLSupport.string(fieldValue) ?? ""
                case "description": resolvedRef = YAMLSupport.string(YAMLSupport.value(fieldValue.mapping, "resolved-ref"))
                default: break
                }
            }
            guard let name = YAMLSupport.string(key), let version else {
                builder.warn("package without a name or version", line: key.mark?.line)
                continue
            }
            builder.add(Package(
                ecosystem: .pub, name: name, version: version,
                purl: PURL.make(type: "pub", name: name, version: version),
                direct: dependency.isEmpty ? nil : dependency.hasPrefix("direct"),
                groups: dependency == "direct dev" ? ["dev"] : [],
                location: key.mark.map { builder.location(line: $0.line) }, commit: source == "git" ? resolvedRef : nil))
        }
        return builder.build()
    }
}
