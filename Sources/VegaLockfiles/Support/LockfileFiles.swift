import Foundation

/// How a parser reads the files a lockfile refers to (a requirements file's `-r`
/// includes) or that sit beside it (npm-shrinkwrap.json next to package-lock.json).
/// Paths are the lockfile's own path joined with the relative reference.
public struct LockfileFiles: Sendable {
    public let read: @Sendable (String) -> [UInt8]?

    public init(read: @escaping @Sendable (String) -> [UInt8]?) {
        self.read = read
    }

    /// The folder that relative lockfile paths are resolved from while parsing; nil means
    /// the working directory. A scanner binds it to the scan root around `parse` calls,
    /// so parsers see root-relative paths and still find included files:
    /// `LockfileFiles.$root.withValue(root) { try parser.parse(bytes, path: relativePath) }`.
    @TaskLocal public static var root: String? = nil

    /// Reads from disk. With a `root` bound, a reference never leaves the scanned tree: an
    /// untrusted repository's `-r /etc/passwd`, `../../secret` or a symlink pointing out
    /// reads nothing, as if the file were missing.
    public static let disk = LockfileFiles { path in
        guard let root else { return FileManager.default.contents(atPath: path).map { [UInt8]($0) } }
        let relative = LockfilePath.normalize(path)
        guard !relative.hasPrefix("/"), relative != "..", !relative.hasPrefix("../") else { return nil }
        let realRoot = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
        let real = URL(fileURLWithPath: LockfilePath.join(realRoot, relative)).resolvingSymlinksInPath().path
        guard real.hasPrefix(realRoot == "/" ? "/" : realRoot + "/") else { return nil }
        return FileManager.default.contents(atPath: real).map { [UInt8]($0) }
    }
}

/// '/'-separated path arithmetic for lockfile references (no file system access).
enum LockfilePath {
    /// The folder part of a path ("" for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func fileName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// `base` joined with `relative`, with "." and ".." segments resolved; an absolute
    /// `relative` wins.
    static func join(_ base: String, _ relative: String) -> String {
        if relative.hasPrefix("/") { return normalize(relative) }
        if base.isEmpty { return normalize(relative) }
        return normalize(base + "/" + relative)
    }

    static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            if part == "..", absolute { continue }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    /// Whether any folder on the path is named `name` (e.g. lockfiles inside node_modules).
    static func hasDirectory(_ name: String, in path: String) -> Bool {
        directory(of: path).split(separator: "/").contains { $0 == name }
    }
}
