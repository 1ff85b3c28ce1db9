import VegaModel

/// Which files the model reviews, decided without the model: source files whose names
/// say they take outside input (routes, handlers, controllers, entry points). The same
/// tree always gives the same list, in the same order, so coverage is comparable across scans.
enum Preselection {
    static let sourceExtensions: Set<String> = [
        "py", "js", "mjs", "cjs", "ts", "jsx", "tsx", "go", "rb", "php", "java", "kt", "scala", "cs", "swift", "rs",
        "c", "cc", "cpp", "h", "ex", "exs", "erl", "pl", "lua", "vue", "svelte",
    ]
    /// Substrings of a file name or directory that mark entry points, strongest first.
    static let markers: [(String, Int)] = [
        ("route", 3), ("handler", 3), ("controller", 3), ("endpoint", 3), ("api", 2), ("view", 2), ("server", 2),
        ("upload", 2), ("auth", 2), ("login", 2), ("webhook", 2), ("middleware", 2), ("resolver", 2), ("servlet", 2),
        ("main", 1), ("app", 1), ("index", 1), ("cmd", 1), ("cli", 1),
    ]
    /// Directories whose files are not the application's own entry points.
    static let excludedDirectories: Set<String> = [
        "test", "tests", "spec", "specs", "__tests__", "testdata", "fixtures", "vendor", "node_modules", "third_party",
        "examples", "docs", "dist", "build",
    ]

    /// Up to `limit` paths, highest score first, then by path.
    static func select(_ files: [SourceFile], limit: Int) -> (selected: [SourceFile], eligible: Int) {
        let scored = files.compactMap { file -> (SourceFile, Int)? in
            let parts = file.path.lowercased().split(separator: "/")
            guard let name = parts.last, let dot = name.lastIndex(of: "."),
                  sourceExtensions.contains(String(name[name.index(after: dot)...])),
                  !parts.dropLast().contains(where: { excludedDirectories.contains(String($0)) }),
                  !name.contains("test"), !name.contains("spec")
            else { return nil }
            let stem = name[..<dot]
            let directories = parts.dropLast()
            let score = markers.reduce(0) { total, marker in
                // The file's own name counts double: `routes.py` beats `routes/helpers.py`.
                total + (stem.contains(marker.0) ? 2 * marker.1 : 0)
                    + (directories.contains { $0.contains(marker.0) } ? marker.1 : 0)
            }
            return score > 0 ? (file, score) : nil
        }
        let ordered = scored.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.path < $1.0.path }
        return (ordered.prefix(limit).map(\.0), ordered.count)
    }
}
