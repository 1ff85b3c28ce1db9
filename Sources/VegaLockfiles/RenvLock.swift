import VegaModel

/// renv.lock (R): `Packages` maps each package to its `Version`, `Repository` and
/// `Requirements` (the edges). Only packages installed from CRAN (or Posit's CRAN
/// mirror) are CRAN packages; Bioconductor, GitHub and local ones are left out, as
/// osv-scalibr does.
struct RenvLockParser: LockfileParser {
    let format = "renv.lock"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "renv.lock"
    }

    private static let cranRepositories: Set<String> = ["CRAN", "RSPM", "PPM", "P3M"]

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        let root = try JSONSupport.object(contents, path: path)
        var builder = GraphBuilder(path: path, format: format)
        guard let value = root["Packages"] else { return builder.build() }
        guard let packages = value as? [String: Any] else {
            throw LockfileError(path: path, message: "`Packages` is not an object")
        }
        let lines = JSONKeyLines.scan(contents) { $0 == ["Packages"] }
        func line(_ key: String) -> Int? { lines[JSONKeyLines.pathKey(["Packages", key])] }

        var keyByName: [String: String] = [:]
        var requirements: [(from: String, names: [String])] = []
        for key in packages.keys.sorted(by: { (line($0) ?? 0, $0) < (line($1) ?? 0, $1) }) {
            guard let entry = packages[key] as? [String: Any],
                  let repository = entry["Repository"] as? String, Self.cranRepositories.contains(repository) else {
                continue
            }
            let name = entry["Package"] as? String ?? key
            guard let version = entry["Version"] as? String else {
                builder.warn("\(name) has no version", line: line(key))
                continue
            }
            let package = Package(ecosystem: .cran, name: name, version: version,
                                  purl: PURL.make(type: "cran", name: name, version: version),
                                  location: line(key).map { builder.location(line: $0) })
            builder.add(package)
            keyByName[name] = package.key
            if let names = entry["Requirements"] as? [Any] {
                requirements.append((package.key, names.compactMap { $0 as? String }))
            }
        }
        for (from, names) in requirements {
            for name in names {
                if let to = keyByName[name] { builder.addEdge(from: from, to: to) }
            }
        }
        return builder.build()
    }
}
