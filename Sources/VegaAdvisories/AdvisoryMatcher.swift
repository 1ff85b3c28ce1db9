import Foundation
import Synchronization
import VegaModel
import VegaVersions

/// One vulnerability affecting one package. OSV records that are aliases of one another (a
/// GHSA and a PYSEC for the same CVE, say) are merged into one match.
public struct VulnerabilityMatch: Codable, Sendable, Hashable {
    public var package: Package
    /// Every id the vulnerability has (record ids and their aliases). The first is the one to
    /// show: a CVE id if there is one, else a GHSA id, else the first record's id; the rest are
    /// sorted.
    public var ids: [String]
    public var summary: String
    /// The description's start, whitespace collapsed, at most about 300 characters.
    public var details: String
    public var severity: Severity
    /// The CVSS score of `cvssVector`; nil when no record has a usable CVSS v3/v4 vector.
    public var score: Double?
    public var cvssVector: String?
    /// Every fixed version the matching ranges name, in version order.
    public var fixedVersions: [String]
    /// The smallest fixed version above the installed one; nil when there is none or the
    /// versions cannot be ordered.
    public var nearestFixedVersion: String?
    /// Reference URLs, de-duplicated, from the records' `references`.
    public var references: [String]

    public var id: String { ids[0] }
}

/// Matches packages against an `AdvisoryDatabase` by the OSV schema's evaluation rules:
/// a version is affected when it is in an affected entry's `versions` list or inside one of its
/// ECOSYSTEM or SEMVER ranges (GIT ranges need the repository's commit graph, so only their
/// `versions` list counts). Withdrawn records never match.
public enum AdvisoryMatcher {
    /// The matches for each package, in the packages' order, most severe first within a package.
    public static func match(_ packages: [Package], database: AdvisoryDatabase) throws -> [VulnerabilityMatch] {
        try match(packages, database: database, comparison: .versionOrder)
    }

    static func match(
        _ packages: [Package], database: AdvisoryDatabase, comparison: VersionComparison
    ) throws -> [VulnerabilityMatch] {
        // A lockfile set often pins the same package@version many times: evaluate each once, with
        // the first such package standing for the others.
        var queries: [Query] = []
        var representatives: [Int] = []
        var queryOf: [Query: Int] = [:]
        var packageQuery: [Int] = []
        packageQuery.reserveCapacity(packages.count)
        for (index, package) in packages.enumerated() {
            let query = Query(
                key: PackageKey(ecosystem: package.ecosystem.rawValue, name: package.name),
                ecosystem: package.ecosystem, version: package.version
            )
            if let existing = queryOf[query] {
                packageQuery.append(existing)
                continue
            }
            queryOf[query] = queries.count
            packageQuery.append(queries.count)
            queries.append(query)
            representatives.append(index)
        }

        // Every record any query needs, decoded once.
        let locationsPerQuery = try database.locations(for: queries.map(\.key))
        var slotOf: [RecordLocation: Int] = [:]
        var unique: [RecordLocation] = []
        let slotsPerQuery = locationsPerQuery.map { locations in
            locations.map { location in
                if let slot = slotOf[location] { return slot }
                slotOf[location] = unique.count
                unique.append(location)
                return unique.count - 1
            }
        }
        let records = try database.records(at: unique, matchingOnly: true)
        let (allQueries, firsts) = (queries, representatives)

        let results = Mutex([[VulnerabilityMatch]](repeating: [], count: queries.count))
        let chunk = 64
        DispatchQueue.concurrentPerform(iterations: (allQueries.count + chunk - 1) / chunk) { part in
            let range = part * chunk..<min((part + 1) * chunk, allQueries.count)
            let found = range.map { index in
                evaluate(packages[firsts[index]], key: allQueries[index].key,
                         records: slotsPerQuery[index].map { records[$0] }, comparison: comparison)
            }
            results.withLock { slots in
                for (offset, matches) in found.enumerated() { slots[range.lowerBound + offset] = matches }
            }
        }
        let perQuery = results.withLock { $0 }
        return packages.indices.flatMap { index in
            perQuery[packageQuery[index]].map { match in
                var match = match
                match.package = packages[index]
                return match
            }
        }
    }

    struct Query: Hashable, Sendable {
        var key: PackageKey
        var ecosystem: Ecosystem
        var version: String
    }

    /// The matches of one package among the records its name points to.
    private static func evaluate(
        _ package: Package, key: PackageKey, records: [Advisory], comparison: VersionComparison
    ) -> [VulnerabilityMatch] {
        let order = VersionRules(ecosystem: package.ecosystem, comparison: comparison)
        var hits: [Hit] = []
        for record in records where !record.isWithdrawn {
            let affected = record.affected.filter { entry in
                PackageKey.ecosystem(entry.package.ecosystem, appliesTo: package.ecosystem)
                    && PackageKey(ecosystem: entry.package.ecosystem, name: entry.package.name) == key
                    && order.isAffected(package.version, entry)
            }
            if !affected.isEmpty { hits.append(Hit(record: record, affected: affected)) }
        }
        return mergeAliases(hits)
            .map { makeMatch($0, package: package, order: order) }
            .sorted { ($0.severity, $1.id) > ($1.severity, $0.id) }
    }

    struct Hit {
        var record: Advisory
        var affected: [Advisory.Affected]
    }

    /// Groups records that share an id or alias (union-find), so that one vulnerability known
    /// under several ids becomes one match.
    static func mergeAliases(_ hits: [Hit]) -> [[Hit]] {
        var parent = Array(hits.indices)
        func root(_ i: Int) -> Int {
            var i = i
            while parent[i] != i {
                parent[i] = parent[parent[i]]
                i = parent[i]
            }
            return i
        }
        var owner: [String: Int] = [:]
        for (index, hit) in hits.enumerated() {
            for id in [hit.record.id] + hit.record.aliases {
                if let other = owner[id] {
                    parent[root(index)] = root(other)
                } else {
                    owner[id] = index
                }
            }
        }
        var groups: [Int: [Hit]] = [:]
        for index in hits.indices { groups[root(index), default: []].append(hits[index]) }
        return groups.keys.sorted().map { groups[$0]! }
    }

    private static func makeMatch(_ group: [Hit], package: Package, order: VersionRules) -> VulnerabilityMatch {
        let records = group.map(\.record)
        let allIDs = Set(records.flatMap { [$0.id] + $0.aliases })
        let primary = allIDs.filter { $0.hasPrefix("CVE-") }.min()
            ?? allIDs.filter { $0.hasPrefix("GHSA-") }.min()
            ?? records.map(\.id).min()!
        // Records with a summary describe the vulnerability best; among equals, by id.
        let preferred = records.sorted { a, b in
            let (sa, sb) = (a.summary?.isEmpty == false, b.summary?.isEmpty == false)
            return sa != sb ? sa : a.id < b.id
        }
        let details = preferred.lazy.compactMap { $0.details.map { excerpt($0, limit: 300) } }.first { !$0.isEmpty } ?? ""
        let summary = preferred.lazy.compactMap { $0.summary.map { excerpt($0, limit: 300) } }.first { !$0.isEmpty }
            ?? (details.isEmpty ? primary : excerpt(details, limit: 120))

        var references: [String] = []
        var seenReferences = Set<String>()
        for record in preferred {
            for reference in record.references where seenReferences.insert(reference.url).inserted {
                references.append(reference.url)
            }
        }

        let rating = severity(of: group)
        let fixed = group.flatMap(\.affected).flatMap(\.ranges).flatMap { range in
            range.events.compactMap { event -> FixedVersion? in
                guard case .fixed(let version) = event, range.type == "ECOSYSTEM" || range.type == "SEMVER" else { return nil }
                return FixedVersion(version: version, rangeType: range.type)
            }
        }
        var seenFixed = Set<String>()
        let fixedVersions = fixed.filter { seenFixed.insert($0.version).inserted }
            .sorted { order.displayOrder($0.version, $1.version) }
        let nearest = fixedVersions
            .filter { order.compare($0.version, package.version, rangeType: $0.rangeType).map { $0 > 0 } ?? false }
            .min { order.compare($0.version, $1.version, rangeType: $0.rangeType).map { $0 < 0 } ?? false }

        return VulnerabilityMatch(
            package: package,
            ids: [primary] + allIDs.subtracting([primary]).sorted(),
            summary: summary,
            details: details,
            severity: rating.severity,
            score: rating.score,
            cvssVector: rating.vector,
            fixedVersions: fixedVersions.map(\.version),
            nearestFixedVersion: nearest?.version,
            references: references
        )
    }

    private struct FixedVersion {
        var version: String
        var rangeType: String
    }

    /// The group's severity: from the preferred CVSS vector of its records (and of the matched
    /// affected entries): v4.0 over v3.1 over v3.0, the higher score among vectors of one
    /// version. Without a usable vector, the databases' own rating (GitHub's
    /// `database_specific.severity`, Ubuntu's severity type), the highest in the group; failing
    /// that, low for RustSec's informational notices (an unmaintained or unsound crate is not a
    /// known exploit) and medium for the rest.
    static func severity(of group: [Hit]) -> (severity: Severity, score: Double?, vector: String?) {
        let scores = group.flatMap { hit in hit.record.severity + hit.affected.flatMap(\.severity) }
        var best: (version: CVSS.Version, score: Double, vector: String)?
        for entry in scores where entry.type.hasPrefix("CVSS_") {
            guard let version = CVSS.version(of: entry.score), let score = CVSS.score(entry.score) else { continue }
            if best == nil || (version, score) > (best!.version, best!.score) { best = (version, score, entry.score) }
        }
        if let best { return (CVSS.severity(forScore: best.score), best.score, best.vector) }

        var words = scores.filter { $0.type == "Ubuntu" }.map(\.score)
        for hit in group {
            words += ([hit.record.databaseSpecific] + hit.affected.map(\.databaseSpecific)).compactMap { $0?["severity"]?.stringValue }
        }
        let rated = words.compactMap { word -> Severity? in
            switch word.uppercased() {
            case "CRITICAL": .critical
            case "HIGH": .high
            case "MODERATE", "MEDIUM": .medium
            case "LOW", "NEGLIGIBLE": .low
            default: nil
            }
        }
        if let rating = rated.max() { return (rating, nil, nil) }
        let informational = group.allSatisfy { hit in
            hit.affected.contains { $0.databaseSpecific?["informational"]?.stringValue != nil }
        }
        return (informational ? .low : .medium, nil, nil)
    }

    /// The text with whitespace runs collapsed to one space, cut at a word boundary with an
    /// ellipsis past about `limit` characters (UTF-8 bytes). Works on bytes and reads only as
    /// much of the text as it keeps: details run to kilobytes and every match needs one.
    static func excerpt(_ text: String, limit: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(min(text.utf8.count, limit + 1))
        var pendingSpace = false
        for byte in text.utf8 {
            if byte == 32 || (9...13).contains(byte) {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(32) }
            pendingSpace = false
            out.append(byte)
            if out.count > limit {
                var end = out[..<limit].lastIndex(of: 32) ?? limit
                // Never inside a multi-byte character.
                while end > 0, out[end] & 0xC0 == 0x80 { end -= 1 }
                return String(decoding: out[..<end], as: UTF8.self)
                    .trimmingCharacters(in: .punctuationCharacters.union(.whitespaces)) + "…"
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// How versions are ordered: VersionOrder by default; tests substitute their own.
struct VersionComparison: Sendable {
    var compare: @Sendable (String, String, Ecosystem) -> Int?

    static let versionOrder = VersionComparison { VersionOrder.compare($0, $1, in: $2) }
}

/// The OSV evaluation rules for one package's ecosystem.
struct VersionRules {
    let ecosystem: Ecosystem
    let comparison: VersionComparison

    init(ecosystem: Ecosystem, comparison: VersionComparison) {
        self.ecosystem = Ecosystem(PackageKey.baseEcosystem(ecosystem.rawValue))
        self.comparison = comparison
    }

    /// ECOSYSTEM ranges order by the package's ecosystem. SEMVER ranges order by SemVer 2.0
    /// (crates.io's ordering is exactly that), without the "v" Go versions carry, falling back to
    /// the ecosystem's order for versions SemVer rejects. nil: the type cannot be ordered.
    func compare(_ a: String, _ b: String, rangeType: String) -> Int? {
        switch rangeType {
        case "SEMVER":
            comparison.compare(Self.withoutV(a), Self.withoutV(b), .cratesIO) ?? comparison.compare(a, b, ecosystem)
        case "ECOSYSTEM":
            comparison.compare(a, b, ecosystem)
        default:
            nil
        }
    }

    /// For listing fixed versions: version order where known, text order otherwise.
    func displayOrder(_ a: String, _ b: String) -> Bool {
        if let c = comparison.compare(a, b, ecosystem) ?? comparison.compare(Self.withoutV(a), Self.withoutV(b), .cratesIO) {
            return c < 0
        }
        return a < b
    }

    func isAffected(_ version: String, _ affected: Advisory.Affected) -> Bool {
        // Exact text, give or take Go's "v" (checked without building strings: PyPI records list
        // hundreds of versions).
        let bare = Self.withoutV(version)
        let listed = affected.versions.contains { listed in
            listed == version || listed == bare
                || (listed.utf8.first == UInt8(ascii: "v") && listed.utf8.dropFirst().elementsEqual(bare.utf8))
        }
        if listed { return true }
        return affected.ranges.contains { isAffected(version, $0) == true }
    }

    /// The schema's IncludedInRanges for one range: the version is affected when, in version
    /// order, the last event at or below it (fixed: at or below; last_affected: strictly below)
    /// is an introduced one, and it is below a limit when the range has limits. Computed as
    /// "the greatest triggered event" rather than by sorting all events, which needs fewer
    /// comparisons. nil when a comparison fails (an unparseable version): the range then
    /// decides nothing and only `versions` can match.
    func isAffected(_ version: String, _ range: Advisory.Range) -> Bool? {
        guard range.type == "ECOSYSTEM" || range.type == "SEMVER" else { return false }
        let compare = { (a: String, b: String) in self.compare(a, b, rangeType: range.type) }

        let limits = range.events.compactMap { event -> String? in
            if case .limit(let limit) = event { limit } else { nil }
        }
        if !limits.isEmpty {
            var below = false
            for limit in limits {
                if limit.contains("*") {
                    below = true
                } else {
                    guard let c = compare(version, limit) else { return nil }
                    if c < 0 { below = true }
                }
            }
            guard below else { return false }
        }

        // "introduced: 0" sorts before every version, so it needs no comparison.
        func isZero(_ event: Advisory.Event) -> Bool {
            if case .introduced("0") = event { true } else { false }
        }
        var latest: Advisory.Event?
        for event in range.events {
            let triggered: Bool
            switch event {
            case .introduced(let v):
                if v == "0" {
                    triggered = true
                } else {
                    guard let c = compare(version, v) else { return nil }
                    triggered = c >= 0
                }
            case .fixed(let v):
                guard let c = compare(version, v) else { return nil }
                triggered = c >= 0
            case .lastAffected(let v):
                guard let c = compare(version, v) else { return nil }
                triggered = c > 0
            case .limit:
                continue
            }
            guard triggered else { continue }
            guard let current = latest else {
                latest = event
                continue
            }
            // Later in the list wins a tie, as a stable sort would leave it.
            let order: Int
            if isZero(event) {
                order = isZero(current) ? 0 : -1
            } else if isZero(current) {
                order = 1
            } else {
                guard let c = compare(event.version, current.version) else { return nil }
                order = c
            }
            if order >= 0 { latest = event }
        }
        if case .introduced = latest { return true }
        return false
    }

    /// Go versions are written "v1.2.3"; OSV's SEMVER ranges write "1.2.3".
    static func withoutV(_ version: String) -> String {
        if version.hasPrefix("v"), let next = version.dropFirst().first, next.isNumber { String(version.dropFirst()) } else { version }
    }
}
