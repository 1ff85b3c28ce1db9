import VegaModel

/// Reads one lockfile or manifest format into a dependency graph.
public protocol LockfileParser: Sendable {
    /// The format's name as users know it, e.g. "package-lock.json".
    var format: String { get }
    /// Whether a file (its path relative to the scan root) is in this format, by name.
    func accepts(path: String) -> Bool
    /// Parses `contents`. Throws `LockfileError` for a file it cannot read at all; a
    /// problem with one entry becomes a warning and parsing goes on.
    func parse(_ contents: [UInt8], path: String) throws -> ParsedLockfile
}

public struct ParsedLockfile: Sendable {
    public var graph: DependencyGraph
    public var warnings: [ScanWarning]

    public init(graph: DependencyGraph, warnings: [ScanWarning] = []) {
        self.graph = graph
        self.warnings = warnings
    }
}

/// A lockfile that cannot be read; names the file and, when known, the line.
public struct LockfileError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var line: Int?
    public var message: String

    public init(path: String, line: Int? = nil, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String { line.map { "\(path):\($0): \(message)" } ?? "\(path): \(message)" }
}

/// Every supported format, in one list.
public enum Lockfiles {
    public static let parsers: [any LockfileParser] = javaScriptAndPythonParsers + otherParsers

    /// The parser for a path, if any format claims it.
    public static func parser(for path: String) -> (any LockfileParser)? {
        parsers.first { $0.accepts(path: path) }
    }
}
