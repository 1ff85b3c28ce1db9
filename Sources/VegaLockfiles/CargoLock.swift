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
        let table: TOMLTable
        do {
            table = try TOMLTable(string: String(decoding: contents, as: UTF8.self))
        } catch let error as TOMLParseError {
            throw LockfileError(path: path, line: error.source.begin.line, message: "invalid TOML: \(error.description)")
        } catch {
            throw LockfileError(path: path, message: "invalid TOML: \(error)")
        }
        var builder = GraphBuilder(path: path, format: format)
        guard let entries = table["package"] else { return builder.build() }
        guard let array = entries.array else {
            throw LockfileError(path: path, message: "`package` is not an array of tables")
        }

        var cursor = TextCursor(contents)
        var keysByName: [String: [(version: String, key: String)]] = [:]
        var dependencies: [(from: String, specs: [String])] = []
        for (index, entry) in array.enumerated() {
            guard let package = entry.table, let name = package["name"]?.string,
                  let version = package["version"]?.string else {
                builder.warn("package #\(index + 1) has no name or version")
                continue
            }
            // Cargo writes `name = "…"` at the start of a line; the hit's newline is the line before.
            let line = cursor.nextLine(of: "\nname = \(TextCursor.jsonString(name))").map { $0 + 1 }
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
