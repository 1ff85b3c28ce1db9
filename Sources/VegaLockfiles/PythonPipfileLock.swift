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
        if JSONSupport.isBlank(contents) { return builder.build() }
        let root = try JSONSupport.object(contents, path: path)
        let lines = JSONKeyLines.scan(contents) { $0.count == 1 && ($0[0] == "default" || $0[0] == "develop") }
        var seen: Set<String> = []
        for (section, groups) in [("default", [String]()), ("develop", ["dev"])] {
            guard let packages = root[section] as? [String: Any] else { continue }
            let ordered = packages.keys.map { ($0, lines[JSONKeyLines.pathKey([section, $0])] ?? 1) }
                .sorted { ($0.1, $0.0) < ($1.1, $1.0) }
            for (name, line) in ordered {
                guard let entry = packages[name] as? [String: Any], let pin = entry["version"] as? String else { continue }
                guard pin.hasPrefix("=="), pin.count > 2 else {
                    builder.warn("\(section)[\"\(name)\"]: version \"\(pin)\" is not pinned with ==; skipped", line: line)
                    continue
                }
                let version = String(pin.dropFirst(2))
                guard seen.insert("\(name)@\(version)").inserted else { continue }
                builder.add(Package(
                    ecosystem: .pypi, name: name, version: version, purl: PURL.pypi(name: name, version: version),
                    groups: groups, location: builder.location(line: line)))
            }
        }
        return builder.build()
    }
}
