import TOMLKit
import VegaModel

/// Cargo.lock (versions 1–4): one `[[package]]` table per crate, with the edges its
/// `dependencies` list names ("name", "name version" or "name version (source)").
struct CargoLockParser: LockfileParser {
    let format = "Cargo.lock"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "Cargo.lock"
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        let table = try TOMLSupport.parse(contents, path: path)
        var builder = GraphBuilder(path: path, format: format)
        if let entries = table["package"], entries.array == nil {
            throw LockfileError(path: path, message: "`package` is not an array of tables")
        }
        let packages = TOMLSupport.tables(table, "package")
        let lines = TOMLSupport.arrayTableLines(contents, name: "package", key: "name")

        var keysByName: [String: [(version: String, key: String)]] = [:]
        var dependencies: [(from: String, specs: [String])] = []
        for (index, package) in packages.enumerated() {
            let line = lines.count == packages.count ? lines[index] : nil
            guard let name = package["name"]?.string, let version = package["version"]?.string else {
                builder.warn("package #\(index + 1) has no name or version", line: line)
                continue
            }
            // "git+https://github.com/o/r?branch=main#<sha>"
            let source = package["source"]?.string ?? ""
            let commit = source.hasPrefix("git+") ? source.split(separator: "#").last.map(String.init) : nil
            let added = Package(ecosystem: .cratesIO, name: name, version: version,
                                purl: PURL.make(type: "cargo", name: name, version: version),
                                location: line.map { builder.location(line: $0) }, commit: commit)
            builder.add(added)
            keysByName[name, default: []].append((version, added.key))
            let specs = package["dependencies"]?.array.map { $0.compactMap(\.string) } ?? []
            if !specs.isEmpty { dependencies.append((added.key, specs)) }
        }

        for (from, specs) in dependencies {
            for spec in specs {
                let parts = spec.split(separator: " ", maxSplits: 2)
                guard let name = parts.first.map(String.init), let candidates = keysByName[name] else { continue }
                // Bare names are unambiguous in the lockfile; otherwise the version picks one.
                let target = parts.count > 1 ? candidates.first { $0.version == parts[1] } : candidates.first
                if let target { builder.addEdge(from: from, to: target.key) }
            }
        }
        return builder.build()
    }
}
