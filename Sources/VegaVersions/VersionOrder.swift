import VegaModel

public enum VersionOrder {
    /// Negative, zero or positive as `a` sorts before, equal to or after `b` in `ecosystem`;
    /// nil when the ecosystem is not supported or a version cannot be parsed.
    public static func compare(_ a: String, _ b: String, in ecosystem: Ecosystem) -> Int? {
        guard let scheme = Scheme(ecosystem) else { return nil }
        return scheme.compare(a, b)
    }

    public static func supports(_ ecosystem: Ecosystem) -> Bool { Scheme(ecosystem) != nil }
}

/// One ordering algorithm; several ecosystems share some (Ubuntu orders like Debian, …).
enum Scheme {
    case semver, nuget, pub, pep440, maven, rubyGems, packagist, debian, rpm, alpine, cran, hackage

    /// OSV qualifies distribution ecosystems with a release ("Debian:12", "Alpine:v3.19",
    /// "Ubuntu:22.04:LTS"); the ordering depends only on the part before the first colon.
    init?(_ ecosystem: Ecosystem) {
        let raw = ecosystem.rawValue
        guard let scheme = Self.byName[raw] ?? raw.firstIndex(of: ":").flatMap({ Self.byName[String(raw[..<$0])] })
        else { return nil }
        self = scheme
    }

    private static let byName: [String: Scheme] = {
        var table: [String: Scheme] = [:]
        let groups: [(Scheme, [String])] = [
            (.semver, ["npm", "Go", "crates.io", "Hex", "SwiftURL", "ConanCenter", "Bitnami", "Julia", "GHC"]),
            (.nuget, ["NuGet"]), (.pub, ["Pub"]), (.pep440, ["PyPI"]), (.maven, ["Maven"]),
            (.rubyGems, ["RubyGems"]), (.packagist, ["Packagist"]), (.debian, ["Debian", "Ubuntu"]),
            (.rpm, ["Red Hat", "AlmaLinux", "Rocky Linux", "openSUSE", "SUSE", "Mageia", "openEuler", "Azure Linux"]),
            (.alpine, ["Alpine", "Wolfi", "Chainguard", "MinimOS"]), (.cran, ["CRAN", "Bioconductor"]),
            (.hackage, ["Hackage"]),
        ]
        for (scheme, names) in groups {
            for name in names { table[name] = scheme }
        }
        return table
    }()

    func compare(_ a: String, _ b: String) -> Int? {
        switch self {
        case .semver: SemVer.compare(a, b, flavour: .semver)
        case .nuget: SemVer.compare(a, b, flavour: .nuget)
        case .pub: SemVer.compare(a, b, flavour: .pub)
        case .pep440: PEP440.compare(a, b)
        case .maven: MavenVersion.compare(a, b)
        case .rubyGems: GemVersion.compare(a, b)
        case .packagist: PackagistVersion.compare(a, b)
        case .debian: DebianVersion.compare(a, b)
        case .rpm: RPMVersion.compare(a, b)
        case .alpine: AlpineVersion.compare(a, b)
        case .cran: RVersion.compare(a, b)
        case .hackage: HaskellVersion.compare(a, b)
        }
    }
}
