import VegaModel

/// How the index names a package: the ecosystem without its OSV suffix ("Debian:11" → "Debian",
/// since lockfiles and SBOMs rarely carry the release) and the name normalised the way the
/// ecosystem's registry compares names.
struct PackageKey: Hashable, Sendable {
    var ecosystem: String
    var name: String

    init(ecosystem: String, name: String) {
        let base = Self.baseEcosystem(ecosystem)
        self.ecosystem = base
        self.name = Self.normalize(name, baseEcosystem: base)
    }

    /// For keys read back from the catalog, already normalised.
    init(normalizedEcosystem: String, name: String) {
        ecosystem = normalizedEcosystem
        self.name = name
    }

    static func baseEcosystem(_ ecosystem: String) -> String {
        guard let colon = ecosystem.firstIndex(of: ":") else { return ecosystem }
        return String(ecosystem[..<colon])
    }

    /// PyPI: PEP 503 (lowercase, runs of "-", "_", "." become "-"). NuGet and Packagist names are
    /// case-insensitive in their registries, so lowercase. Everything else (Go module paths,
    /// npm, crates.io, Maven, RubyGems, …) is compared exactly, as OSV says.
    static func normalize(_ name: String, baseEcosystem: String) -> String {
        switch baseEcosystem {
        case Ecosystem.pypi.rawValue:
            var out = ""
            out.reserveCapacity(name.utf8.count)
            var pendingSeparator = false
            for ch in name.lowercased() {
                if ch == "-" || ch == "_" || ch == "." {
                    pendingSeparator = true
                } else {
                    if pendingSeparator { out.append("-") }
                    pendingSeparator = false
                    out.append(ch)
                }
            }
            if pendingSeparator { out.append("-") }
            return out
        case Ecosystem.nuget.rawValue, Ecosystem.packagist.rawValue:
            return name.lowercased()
        default:
            return name
        }
    }

    /// Whether an affected entry's ecosystem applies to a package's: the same base ecosystem,
    /// and when the package names a release ("Debian:12") the entry must name the same one.
    static func ecosystem(_ affected: String, appliesTo package: Ecosystem) -> Bool {
        if package.rawValue.contains(":") { return affected == package.rawValue }
        return baseEcosystem(affected) == package.rawValue
    }
}
