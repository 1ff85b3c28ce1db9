import VegaModel

/// Pipenv's Pipfile.lock: "default" and "develop" map names to `{"version": "==1.0"}`.
/// A package in both is a production package. Entries without a pinned version (VCS or
/// path dependencies) are left out, as the lockfile names no release.
struct PipfileLockParser: LockfileParser {
    let format = "Pipfile.lock"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "Pipfile.lock"
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        var builder = GraphBuilder(path: path, format: format)
        if contents.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return builder.build() }
        let root = try JSONReader(path: path).object(contents)
        var seen: Set<String> = []
        for (section, groups) in [("default", [String]()), ("develop", ["dev"])] {
            for item in root[section]?.object ?? JSONObject(entries: []) {
                guard let pin = item.value["version"]?.string else { continue }
                guard pin.hasPrefix("=="), pin.count > 2 else {
                    builder.warn("\(section)[\"\(item.key)\"]: version \"\(pin)\" is not pinned with ==; skipped", line: item.line)
                    continue
                }
                let version = String(pin.dropFirst(2))
                guard seen.insert("\(item.key)@\(version)").inserted else { continue }
                builder.add(Package(
                    ecosystem: .pypi, name: item.key, version: version, purl: PURL.pypi(name: item.key, version: version),
                    groups: groups, location: builder.location(line: item.line)))
            }
        }
        return builder.build()
    }
}
