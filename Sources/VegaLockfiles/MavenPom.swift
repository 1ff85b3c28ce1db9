import VegaModel

/// pom.xml, read the way osv-scalibr reads it without network access: the project's
/// dependencies (and those of profiles active by default) with `${…}` properties
/// interpolated, missing versions and scopes filled from dependencyManagement, and
/// non-compile scopes as groups. Parent POMs found locally (`relativePath`, by default
/// ../pom.xml, read through `files`) contribute properties, dependencies and management.
struct MavenPomParser: LockfileParser {
    let format = "pom.xml"
    /// Reads local parent POMs.
    let files: LockfileFiles

    init(files: LockfileFiles = .disk) {
        self.files = files
    }

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "pom.xml"
    }

    private struct Dependency {
        var groupId, artifactId, version, type, classifier, scope: String
        var path: String
        var line: Int?

        /// How Maven tells declarations apart: type defaults to jar.
        var managementKey: String { "\(groupId):\(artifactId):\(type.isEmpty ? "jar" : type):\(classifier)" }
        var name: String { "\(groupId):\(artifactId)" }
    }

    private struct Project {
        var groupId, artifactId, version: String
        var parent: (groupId: String, artifactId: String, version: String, relativePath: String?)?
        var properties: [String: String] = [:]
        var dependencies: [Dependency] = []
        var managed: [Dependency] = []
    }

    /// How many local parents are followed (a guard against cycles).
    private static let maxParents = 16

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        var builder = GraphBuilder(path: path, format: format)
        let project = try Self.project(contents, path: path)
        let ancestors = readParents(of: project, path: path, builder: &builder)

        // The effective model: the child's values win over its ancestors'.
        var properties: [String: String] = [:]
        for level in ([project] + ancestors).reversed() {
            properties.merge(level.properties) { _, child in child }
        }
        let groupId = project.groupId.isEmpty ? project.parent?.groupId ?? "" : project.groupId
        let version = project.version.isEmpty ? project.parent?.version ?? "" : project.version
        for (prefix, value) in [("groupId", groupId), ("artifactId", project.artifactId), ("version", version)] {
            properties["project." + prefix] = value
            properties["pom." + prefix] = value
        }
        if let parent = project.parent {
            properties["project.parent.groupId"] = parent.groupId
            properties["project.parent.artifactId"] = parent.artifactId
            properties["project.parent.version"] = parent.version
        }
        let interpolate = { (text: String) in Self.interpolate(text, properties) }
        func resolved(_ dependency: Dependency) -> Dependency {
            var d = dependency
            d.groupId = interpolate(d.groupId)
            d.artifactId = interpolate(d.artifactId)
            d.version = interpolate(d.version)
            d.type = interpolate(d.type)
            d.classifier = interpolate(d.classifier)
            d.scope = interpolate(d.scope)
            return d
        }

        var management: [String: Dependency] = [:]
        for dependency in ([project] + ancestors).flatMap(\.managed).map(resolved) where dependency.scope != "import" {
            if management[dependency.managementKey] == nil { management[dependency.managementKey] = dependency }
        }

        var declared: Set<String> = []
        var indexByName: [String: Int] = [:]
        for var dependency in ([project] + ancestors).flatMap(\.dependencies).map(resolved) {
            guard !dependency.groupId.isEmpty, !dependency.artifactId.isEmpty else {
                // A parent's line would point into the wrong file: name that file instead.
                let inParent = dependency.path != path
                builder.warn("dependency without a groupId or artifactId skipped" + (inParent ? " (in \(dependency.path))" : ""),
                             line: inParent ? nil : dependency.line)
                continue
            }
            // The first declaration of an artifact counts, as in Maven.
            guard declared.insert(dependency.managementKey).inserted else { continue }
            if let managed = management[dependency.managementKey] {
                if dependency.version.isEmpty { dependency.version = managed.version }
                if dependency.scope.isEmpty { dependency.scope = managed.scope }
            }
            let version = Self.resolvedVersion(dependency.version)
            let scope = XMLSupport.trimmed(dependency.scope)
            let package = Package(
                ecosystem: .maven, name: dependency.name, version: version,
                purl: PURL.make(type: "maven", namespace: dependency.groupId, name: dependency.artifactId, version: version),
                direct: true, groups: scope.isEmpty || scope == "compile" ? [] : [scope],
                location: dependency.line.map {
                    Location(path: dependency.path, startLine: $0, startColumn: 1, endLine: $0, endColumn: 1)
                })
            // One package per groupId:artifactId (scalibr's rule): a later type or classifier replaces it.
            if let index = indexByName[dependency.name] {
                builder.update(index) { $0 = package }
            } else {
                indexByName[dependency.name] = builder.add(package)
            }
        }
        return builder.build()
    }

    /// The local parent chain, nearest first; a parent that cannot be read ends it.
    private func readParents(of project: Project, path: String, builder: inout GraphBuilder) -> [Project] {
        var ancestors: [Project] = []
        var child = project, childPath = path
        var visited: Set<String> = [path]
        while let parent = child.parent, ancestors.count < Self.maxParents {
            let relative = parent.relativePath ?? "../pom.xml"
            guard !relative.isEmpty else { break }
            var parentPath = LockfilePath.join(LockfilePath.directory(of: childPath), relative)
            if !parentPath.hasSuffix(".xml") { parentPath = LockfilePath.join(parentPath, "pom.xml") }
            // A relative path that climbs out of the scan root names nothing the scan may read.
            guard !parentPath.hasPrefix("../"), visited.insert(parentPath).inserted,
                  let bytes = files.read(parentPath) else { break }
            let candidate: Project
            do {
                candidate = try Self.project(bytes, path: parentPath)
            } catch {
                builder.warn("parent POM \(parentPath) not read: \(error)")
                break
            }
            // relativePath is a hint: the file must be the parent the child names.
            let groupId = candidate.groupId.isEmpty ? candidate.parent?.groupId ?? "" : candidate.groupId
            guard groupId == parent.groupId, candidate.artifactId == parent.artifactId else { break }
            ancestors.append(candidate)
            child = candidate
            childPath = parentPath
        }
        return ancestors
    }

    /// The parts of one POM this parser uses, uninterpolated.
    private static func project(_ bytes: [UInt8], path: String) throws -> Project {
        let root = try XMLSupport.tree(bytes, path: path, located: ["dependency"])
        guard root.name == "project" else {
            throw LockfileError(path: path, line: 1, message: "not a POM: the root element is <\(root.name)>, not <project>")
        }
        var project = Project(groupId: root.value("groupId") ?? "", artifactId: root.value("artifactId") ?? "",
                              version: root.value("version") ?? "")
        if let parent = root.child("parent") {
            project.parent = (parent.value("groupId") ?? "", parent.value("artifactId") ?? "",
                              parent.value("version") ?? "", parent.value("relativePath"))
        }
        let activeProfiles = root.child("profiles")?.children("profile").filter {
            $0.child("activation")?.value("activeByDefault") == "true"
        } ?? []
        for section in [root] + activeProfiles {
            for property in section.child("properties")?.children ?? [] {
                project.properties[property.name] = XMLSupport.trimmed(property.text)
            }
            project.dependencies += dependencies(section.child("dependencies"), path: path)
            project.managed += dependencies(section.child("dependencyManagement")?.child("dependencies"), path: path)
        }
        return project
    }

    private static func dependencies(_ list: XMLTreeElement?, path: String) -> [Dependency] {
        (list?.children("dependency") ?? []).map {
            Dependency(groupId: $0.value("groupId") ?? "", artifactId: $0.value("artifactId") ?? "",
                       version: $0.value("version") ?? "", type: $0.value("type") ?? "",
                       classifier: $0.value("classifier") ?? "", scope: $0.value("scope") ?? "",
                       path: path, line: $0.line)
        }
    }

    /// Replaces `${name}` with the property's value, itself interpolated; unknown
    /// properties stay as written.
    private static func interpolate(_ text: String, _ properties: [String: String], depth: Int = 0) -> String {
        let utf8 = text.utf8
        guard depth < 10, var open = placeholder(in: utf8, from: utf8.startIndex) else { return text }
        var result = ""
        var copied = utf8.startIndex
        while true {
            guard let close = utf8[open...].firstIndex(of: UInt8(ascii: "}")) else { break }
            result += text[copied..<open]
            if let value = properties[String(text[utf8.index(open, offsetBy: 2)..<close])] {
                result += interpolate(value, properties, depth: depth + 1)
            } else {
                result += text[open...close]
            }
            copied = utf8.index(after: close)
            guard let next = placeholder(in: utf8, from: copied) else { break }
            open = next
        }
        return result + text[copied...]
    }

    /// Where the next "${" starts.
    private static func placeholder(in utf8: String.UTF8View, from start: String.Index) -> String.Index? {
        var index = start
        while let dollar = utf8[index...].firstIndex(of: UInt8(ascii: "$")) {
            let next = utf8.index(after: dollar)
            if next < utf8.endIndex, utf8[next] == UInt8(ascii: "{") { return dollar }
            index = next
        }
        return nil
    }

    /// The version a requirement resolves to without a repository: the lower bound of a
    /// range ("[1.2,2.0)" → "1.2"); unresolved properties leave it unknown.
    private static func resolvedVersion(_ requirement: String) -> String {
        var text = Substring(XMLSupport.trimmed(requirement))
        if text.first == "[" || text.first == "(" { text = text.dropFirst() }
        let version = String(text.prefix { $0 != "," && $0 != ")" && $0 != "]" })
        return placeholder(in: version.utf8, from: version.startIndex) == nil ? version : ""
    }
}
