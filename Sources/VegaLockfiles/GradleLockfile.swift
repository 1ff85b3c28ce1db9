import VegaModel

/// Gradle dependency locking: gradle.lockfile, buildscript-gradle.lockfile and the
/// per-configuration files of Gradle < 6 (gradle/dependency-locks/*.lockfile). One
/// `group:artifact:version=configurations` line per module.
struct GradleLockfileParser: LockfileParser {
    let format = "gradle.lockfile"

    func accepts(path: String) -> Bool {
        let name = LockfilePath.fileName(of: path)
        return name == "gradle.lockfile" || name == "buildscript-gradle.lockfile"
            || (name.hasSuffix(".lockfile") && LockfilePath.directory(of: path).hasSuffix("gradle/dependency-locks"))
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        var builder = GraphBuilder(path: path, format: format)
        TextLines.forEach(contents) { line, number in
            let text = TextLines.trimmed(line)
            // "empty=" lists the configurations that resolve to nothing.
            if text.isEmpty || text.first == UInt8(ascii: "#") || TextLines.hasPrefix(text, "empty=") { return }
            let coordinates = text.prefix { $0 != UInt8(ascii: "=") }
            let parts = coordinates.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && !$0.contains(0x20) && !$0.contains(0x09) }) else {
                builder.warn("not a group:artifact:version line", line: number)
                return
            }
            let group = TextLines.string(parts[0]), artifact = TextLines.string(parts[1])
            let version = TextLines.string(parts[2])
            builder.add(Package(
                ecosystem: .maven, name: "\(group):\(artifact)", version: version,
                purl: PURL.make(type: "maven", namespace: group, name: artifact, version: version),
                location: builder.location(line: number)))
        }
        return builder.build()
    }
}
