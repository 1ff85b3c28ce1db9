import VegaModel

/// bun.lock, bun's text lockfile: JSON with trailing commas and comments. "packages" maps
/// an install path (`name`, or `parent/name` when nested) to a tuple whose first element
/// is `name@version` (or `name@github:owner/repo#commit`, `name@file:…`) and whose first
/// object holds the package's own dependencies. Workspace and link entries are the
/// project's own code and are left out.
struct BunLockParser: LockfileParser {
    let format = "bun.lock"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "bun.lock" && !LockfilePath.hasDirectory("node_modules", in: path)
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        let root = try JSONReader(path: path).object(contents)
        var builder = GraphBuilder(path: path, format: format)

        var indexByKey: [String: Int] = [:]
        var indexByIdentity: [String: Int] = [:]
        var dependencies: [(key: String, names: [String])] = []
        for item in root["packages"]?.object ?? JSONObject(entries: []) {
            guard let tuple = item.value.array, let spec = tuple.first?.string else {
                throw LockfileError(path: path, line: item.line,
                                    message: "packages[\"\(item.key)\"]: expected a tuple starting with \"name@version\"")
            }
            let (name, version, commit) = Self.split(spec)
            if version.hasPrefix("workspace:") || version.hasPrefix("link:") { continue }
            let identity = "\(name)@\(version)#\(commit ?? "")"
            let index: Int
            if let existing = indexByIdentity[identity] {
                index = existing
            } else {
                index = builder.add(Package(
                    ecosystem: .npm, name: name, version: version, purl: PURL.npm(name: name, version: version),
                    direct: false, location: builder.location(line: item.line), commit: commit))
                indexByIdentity[identity] = index
            }
            indexByKey[item.key] = index
            // The package's own metadata is the tuple's object.
            if let info = tuple.dropFirst().lazy.compactMap(\.object).first {
                dependencies.append((item.key, Self.declared(info, ["dependencies", "optionalDependencies", "peerDependencies"])))
            }
        }

        /// bun's lookup: nested under the package (`parent/name`), then under each ancestor.
        func resolve(_ name: String, from key: String) -> Int? {
            var scopes = Self.installPath(key)
            while true {
                let candidate = (scopes + [name]).joined(separator: "/")
                if let index = indexByKey[candidate] { return index }
                if scopes.isEmpty { return nil }
                scopes.removeLast()
            }
        }

        for workspace in root["workspaces"]?.object ?? JSONObject(entries: []) {
            guard let manifest = workspace.value.object else { continue }
            for name in Self.declared(manifest, ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"]) {
                if let index = indexByKey[name] { builder.update(index) { $0.direct = true } }
            }
        }
        for (key, names) in dependencies {
            guard let from = indexByKey[key] else { continue }
            for name in names {
                if let to = resolve(name, from: key) { builder.addEdge(from: from, to: to) }
            }
        }
        return builder.build()
    }

    private static func declared(_ manifest: JSONObject, _ sections: [String]) -> [String] {
        sections.flatMap { manifest[$0]?.object?.keys ?? [] }
    }

    /// `name@1.0.0` → (name, 1.0.0, nil); `name@github:o/r#abc` → (name, "", abc) — bun
    /// records a commit or a version, not both; `name@file:…` → (name, "", nil).
    static func split(_ spec: String) -> (String, String, String?) {
        var text = Substring(spec)
        let scoped = text.hasPrefix("@")
        if scoped { text = text.dropFirst() }
        let at = text.firstIndex(of: "@")
        let name = (scoped ? "@" : "") + (at.map { text[..<$0] } ?? text)
        var version = at.map { text[text.index(after: $0)...] } ?? ""
        var commit: String? = nil
        if let hash = version.firstIndex(of: "#") {
            let fragment = version[version.index(after: hash)...]
            version = version[..<hash]
            if !fragment.isEmpty {
                commit = String(fragment)
                version = ""
            }
        }
        if version.hasPrefix("file:") { version = "" }
        return (name, String(version), commit)
    }

    /// A packages key as the chain of packages it is nested in: `a/@s/b/c` → [a, @s/b, c].
    static func installPath(_ key: String) -> [String] {
        var names: [String] = []
        var pendingScope: Substring? = nil
        for part in key.split(separator: "/") {
            if let scope = pendingScope {
                names.append(scope + "/" + part)
                pendingScope = nil
            } else if part.hasPrefix("@") {
                pendingScope = part
            } else {
                names.append(String(part))
            }
        }
        return names
    }
}
