import VegaModel

/// gradle/verification-metadata.xml (Gradle dependency verification): every
/// `<component group= name= version=>` the build resolved, one package each.
struct GradleVerificationMetadataParser: LockfileParser {
    let format = "verification-metadata.xml"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "verification-metadata.xml"
            && LockfilePath.fileName(of: LockfilePath.directory(of: path)) == "gradle"
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        var builder = GraphBuilder(path: path, format: format)
        var isRoot = true
        try XMLSupport.stream(contents, path: path, located: ["component"], start: { name, attributes, line in
            if isRoot {
                isRoot = false
                if name != "verification-metadata" { builder.warn("unexpected root element <\(name)>", line: line) }
            }
            guard name == "component" else { return }
            // Missing attributes stay empty, as in osv-scalibr.
            let group = attributes["group"] ?? "", artifact = attributes["name"] ?? ""
            let version = attributes["version"] ?? ""
            builder.add(Package(
                ecosystem: .maven, name: "\(group):\(artifact)", version: version,
                purl: PURL.make(type: "maven", namespace: group, name: artifact, version: version),
                location: line.map { builder.location(line: $0) }))
        })
        return builder.build()
    }
}
