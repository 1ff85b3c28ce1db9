import Foundation
import VegaModel

/// SwiftPM's Package.resolved, versions 1 (`object.pins` with `repositoryURL`) and 2–3
/// (`pins` with `location`). Each pin is a SwiftURL package named by its repository
/// URL without scheme or ".git" ("github.com/apple/swift-nio"), as OSV names them,
/// with the pinned revision as commit. Local and registry pins are not SwiftURL
/// packages and are left out.
struct SwiftPackageResolvedParser: LockfileParser {
    let format = "Package.resolved"

    func accepts(path: String) -> Bool {
        LockfilePath.fileName(of: path) == "Package.resolved"
    }

    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile {
        let root = try JSONReader(path: path).object(contents)
        var builder = GraphBuilder(path: path, format: format)
        guard let pins = (root["object"] ?? .object(root))["pins"]?.array else {
            throw LockfileError(path: path, line: 1, message: "not a Package.resolved: no `pins` list")
        }
        for case let .object(pin) in pins {
            let line = pin.entries.first { $0.key == "identity" || $0.key == "package" }?.line ?? pin.entries.first?.line
            let kind = pin["kind"]?.string ?? "remoteSourceControl"
            guard kind == "remoteSourceControl",
                  let url = (pin["location"] ?? pin["repositoryURL"])?.string, let name = Self.packageName(url) else {
                continue
            }
            let version = pin["state"]?["version"]?.string ?? ""
            let revision = pin["state"]?["revision"]?.string
            if version.isEmpty && revision == nil {
                builder.warn("\(name) has neither a version nor a revision", line: line)
            }
            builder.add(Package(
                ecosystem: .swiftURL, name: name, version: version, purl: Self.purl(name, version),
                location: line.map { builder.location(line: $0) }, commit: revision))
        }
        return builder.build()
    }

    /// "https://github.com/apple/swift-nio.git", "git@github.com:apple/swift-nio.git" →
    /// "github.com/apple/swift-nio"; nil for a URL with no host and path.
    static func packageName(_ url: String) -> String? {
        var text = Substring(url)
        if let scheme = text.range(of: "://") {
            text = text[scheme.upperBound...]
        } else if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
            // scp-like "user@host:path"
            text = Substring(text[..<colon] + "/" + text[text.index(after: colon)...])
        }
        if let at = text.firstIndex(of: "@"), !text[..<at].contains("/") { text = text[text.index(after: at)...] }
        while text.hasSuffix("/") { text = text.dropLast() }
        if text.hasSuffix(".git") { text = text.dropLast(4) }
        guard let slash = text.firstIndex(of: "/"), slash != text.startIndex, text.index(after: slash) < text.endIndex else {
            return nil
        }
        return String(text)
    }

    /// `pkg:swift/github.com/apple/swift-nio@2.0.0`: the URL's last element is the name.
    private static func purl(_ name: String, _ version: String) -> String {
        let slash = name.lastIndex(of: "/")!
        return PURL.make(type: "swift", namespace: String(name[..<slash]),
                         name: String(name[name.index(after: slash)...]), version: version)
    }
}
