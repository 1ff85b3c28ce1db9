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
        let root = try JSONReader(path: path).object(contents)
        var builder = GraphBuilder(path: path, format: format)
        guard let value = root["Packages"] else { return builder.build() }
        guard let packages = value.object else {
            throw LockfileError(path: path, line: root.entries.last { $0.key == "Packages" }?.line,
                                message: "`Packages` is not an object")
        }

        var keyByName: [String: String] = [:]
        var requirements: [(from: String, names: [String])] = []
        for item in packages {
            guard let entry = item.value.object, let repository = entry["Repository"]?.string,
                  Self.cranRepositories.contains(repository) else {
                continue
            }
            let name = entry["Package"]?.string ?? item.key
            guard let version = entry["Version"]?.string else {
                builder.warn("\(name) has no version", line: item.line)
                continue
            }
            let package = Package(ecosystem: .cran, name: name, version: version,
                                  purl: PURL.make(type: "cran", name: name, version: version),
                                  location: builder.location(line: item.line))
            builder.add(package)
            keyByName[name] = package.key
            if let names = entry["Requirements"]?.array {
                requirements.append((package.key, names.compactMap(\.string)))
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
