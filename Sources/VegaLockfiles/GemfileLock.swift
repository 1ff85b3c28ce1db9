import VegaModel

/// Gemfile.lock / gems.locked (Bundler). Gems come from the `specs:` of the GEM, GIT,
/// PATH and PLUGIN SOURCE sections (GIT ones pinned to the section's `revision`);
/// six-space lines under a spec are its dependencies; DEPENDENCIES names the direct ones.
struct GemfileLockParser: LockfileParser {
    let format = "Gemfile.lock"

    func accepts(path: String) -> Bool {
        let name = LockfilePath.fileName(of: path)
        return name == "Gemfile.lock" || name == "gems.locked"
    }

    private static let sourceSections: Set<String> = ["GEM", "GIT", "PATH", "PLUGIN SOURCE"]

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        var builder = GraphBuilder(path: path, format: format)
        var section = ""
        var revision: String?
        var inSpecs = false
        var indexByIdentity: [String: Int] = [:]
        var firstIndexByName: [String: Int] = [:]
        var current: Int?
        var edges: [(from: Int, to: String)] = []
        var directNames: Set<String>?

        TextLines.forEach(contents) { line, number in
            let indent = line.prefix { $0 == 0x20 }.count
            let body = line.dropFirst(indent)
            if body.isEmpty { return }
            if indent == 0 {
                section = TextLines.string(body)
                revision = nil
                inSpecs = false
                current = nil
                if section == "DEPENDENCIES" { directNames = [] }
                return
            }
            if section == "DEPENDENCIES", indent == 2 {
                directNames?.insert(Self.nameAndVersion(body).name)
                return
            }
            guard Self.sourceSections.contains(section) else { return }
            switch indent {
            case 2:
                inSpecs = TextLines.equals(body, "specs:")
                if TextLines.hasPrefix(body, "revision: ") { revision = TextLines.string(body.dropFirst(10)) }
            case 4 where inSpecs:
                let (name, version) = Self.nameAndVersion(body)
                guard let version else {
                    builder.warn("gem \(name) has no version", line: number)
                    current = nil
                    return
                }
                // A platform build ("1.13.3-x86_64-linux") is the same gem version.
                let plain = String(version.prefix { $0 != "-" })
                let identity = "\(name)@\(plain)"
                if let existing = indexByIdentity[identity] {
                    current = existing
                    return
                }
                let index = builder.add(Package(
                    ecosystem: .rubyGems, name: name, version: plain,
                    purl: PURL.make(type: "gem", name: name, version: plain),
                    location: builder.location(line: number), commit: section == "GIT" ? revision : nil))
                indexByIdentity[identity] = index
                if firstIndexByName[name] == nil { firstIndexByName[name] = index }
                current = index
            case 6 where inSpecs:
                if let current { edges.append((current, Self.nameAndVersion(body).name)) }
            default:
                break
            }
        }

        if let directNames {
            for index in builder.packages.indices {
                builder.update(index) { $0.direct = directNames.contains($0.name) }
            }
        }
        for (from, name) in edges {
            guard let to = firstIndexByName[name] else { continue }
            builder.addEdge(from: builder.packages[from].key, to: builder.packages[to].key)
        }
        return builder.build()
    }

    /// "rack (2.2.3)" → ("rack", "2.2.3"); "rack (~> 2.0)" → ("rack", "~> 2.0");
    /// "hanami-utils!" → ("hanami-utils", nil).
    private static func nameAndVersion(_ text: ArraySlice<UInt8>) -> (name: String, version: String?) {
        guard let open = text.firstIndex(of: UInt8(ascii: "(")) else {
            var name = text.prefix { $0 != 0x20 }
            if name.last == UInt8(ascii: "!") { name = name.dropLast() }
            return (TextLines.string(name), nil)
        }
        var name = text[..<open]
        while name.last == 0x20 { name = name.dropLast() }
        if name.last == UInt8(ascii: "!") { name = name.dropLast() }
        let close = text.lastIndex(of: UInt8(ascii: ")")) ?? text.endIndex
        return (TextLines.string(name), TextLines.string(text[(open + 1)..<max(close, open + 1)]))
    }
}
