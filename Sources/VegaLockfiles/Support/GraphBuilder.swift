import VegaModel

/// Collects one lockfile's packages, dependency edges and warnings, then hands back the
/// `ParsedLockfile`. Edges are kept as sets (formats repeat them), by key or, cheaper for
/// large files, by package index, and become sorted `Package.key` lists at the end.
struct GraphBuilder {
    let path: String
    let format: String
    private(set) var packages: [Package] = []
    private var warnings: [ScanWarning] = []
    private var edges: [String: Set<String>] = [:]
    private var edgesByIndex: [Int: Set<Int>] = [:]

    init(path: String, format: String) {
        self.path = path
        self.format = format
    }

    /// Where a package is declared: its line, columns 1.
    func location(line: Int) -> Location {
        Location(path: path, startLine: line, startColumn: 1, endLine: line, endColumn: 1)
    }

    /// Appends a package and returns its index.
    @discardableResult
    mutating func add(_ package: Package) -> Int {
        packages.append(package)
        return packages.count - 1
    }

    mutating func update(_ index: Int, _ change: (inout Package) -> Void) {
        change(&packages[index])
    }

    mutating func warn(_ message: String, line: Int? = nil) {
        warnings.append(ScanWarning(path: path, line: line, message: message))
    }

    /// Records that `from` depends on `to` (both `Package.key`s).
    mutating func addEdge(from: String, to: String) {
        guard from != to else { return }
        edges[from, default: []].insert(to)
    }

    /// Records that the package at index `from` depends on the one at `to`.
    mutating func addEdge(from: Int, to: Int) {
        guard from != to else { return }
        edgesByIndex[from, default: []].insert(to)
    }

    func build() -> ParsedLockfile {
        var dependencies = edges.mapValues { $0.sorted() }
        if !edgesByIndex.isEmpty {
            let keys = packages.map(\.key)
            for (from, targets) in edgesByIndex {
                // Two packages can share a key (git dependencies without a version): merge, sort, dedupe.
                var unique: [String] = []
                for key in (targets.map { keys[$0] } + (dependencies[keys[from]] ?? [])).sorted()
                where key != keys[from] && unique.last != key {
                    unique.append(key)
                }
                dependencies[keys[from]] = unique
            }
        }
        return ParsedLockfile(
            graph: DependencyGraph(source: path, format: format, packages: packages, dependencies: dependencies),
            warnings: warnings)
    }
}
