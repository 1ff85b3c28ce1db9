/// A package ecosystem, named as OSV names it ("npm", "PyPI", "crates.io", …). Open-ended:
/// OSV adds ecosystems, and an unknown one must still round-trip.
public struct Ecosystem: RawRepresentable, Hashable, Codable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }
    public static func < (a: Ecosystem, b: Ecosystem) -> Bool { a.rawValue < b.rawValue }

    public static let npm = Ecosystem("npm")
    public static let pypi = Ecosystem("PyPI")
    public static let go = Ecosystem("Go")
    public static let cratesIO = Ecosystem("crates.io")
    public static let rubyGems = Ecosystem("RubyGems")
    public static let packagist = Ecosystem("Packagist")
    public static let maven = Ecosystem("Maven")
    public static let nuget = Ecosystem("NuGet")
    public static let hex = Ecosystem("Hex")
    public static let pub = Ecosystem("Pub")
    public static let conanCenter = Ecosystem("ConanCenter")
    public static let swiftURL = Ecosystem("SwiftURL")
    public static let cocoaPods = Ecosystem("CocoaPods")
    public static let cran = Ecosystem("CRAN")
    public static let hackage = Ecosystem("Hackage")
    public static let debian = Ecosystem("Debian")
    public static let alpine = Ecosystem("Alpine")
    public static let redHat = Ecosystem("Red Hat")
}

/// One package a lockfile or manifest pins.
public struct Package: Codable, Sendable, Hashable {
    public var ecosystem: Ecosystem
    public var name: String
    public var version: String
    /// Package URL (https://github.com/package-url/purl-spec), e.g. "pkg:npm/%40babel/core@7.0.0".
    public var purl: String
    /// true: a direct dependency of the project; false: transitive; nil: the file does not say.
    public var direct: Bool?
    /// Dependency groups the lockfile puts it in ("dev", "optional", "test", …); empty for main.
    public var groups: [String]
    /// Where it is declared: the lockfile's path relative to the scan root and the line.
    public var location: Location?
    /// For packages pinned to a VCS commit instead of (or as well as) a version.
    public var commit: String?

    public init(
        ecosystem: Ecosystem, name: String, version: String, purl: String, direct: Bool? = nil,
        groups: [String] = [], location: Location? = nil, commit: String? = nil
    ) {
        self.ecosystem = ecosystem
        self.name = name
        self.version = version
        self.purl = purl
        self.direct = direct
        self.groups = groups
        self.location = location
        self.commit = commit
    }

    /// Only in a dev (or test) group: not shipped.
    public var isDevOnly: Bool { !groups.isEmpty && groups.allSatisfy { $0 == "dev" || $0 == "test" } }

    /// Stable key for graph edges and de-duplication.
    public var key: String { "\(ecosystem.rawValue)/\(name)@\(version)" }
}

/// What one lockfile says: its packages and, where the format records it, who depends on whom.
public struct DependencyGraph: Codable, Sendable, Hashable {
    /// The lockfile, relative to the scan root.
    public var source: String
    /// The lockfile format, e.g. "package-lock.json".
    public var format: String
    public var packages: [Package]
    /// `Package.key` → keys of its direct dependencies; empty when the format has no graph.
    public var dependencies: [String: [String]]

    public init(source: String, format: String, packages: [Package], dependencies: [String: [String]] = [:]) {
        self.source = source
        self.format = format
        self.packages = packages
        self.dependencies = dependencies
    }
}

/// A problem with one input that did not stop the scan (a malformed lockfile, say).
public struct ScanWarning: Codable, Sendable, Hashable {
    public var path: String
    public var line: Int?
    public var message: String

    public init(path: String, line: Int? = nil, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }
}
