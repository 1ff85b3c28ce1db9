import Foundation
import Synchronization
import VegaModel

/// The local OSV advisory database: a directory that `update(from:)` fills from OSV exports and
/// scans read through `advisories(ecosystem:name:)` and `AdvisoryMatcher`. The on-disk layout is
/// described in Storage.swift. Lookups load the name index of an ecosystem once, map its record
/// packs, and decode only the records the looked-up names point to.
public final class AdvisoryDatabase: Sendable {
    public let directory: String
    private let cache: Mutex<Cache>

    private struct Cache {
        var state: StoredState?
        var indexes: [String: NameIndex] = [:]
        var packs: [String: Data] = [:]
    }

    private init(directory: String, state: StoredState?) {
        self.directory = directory
        cache = Mutex(Cache(state: state))
    }

    /// Opens the database in `directory`. A directory that does not exist yet (or was never
    /// updated) is an empty database; the first `update` creates it.
    public static func open(at directory: String) throws -> AdvisoryDatabase {
        AdvisoryDatabase(directory: directory, state: try StoredState.load(directory: directory))
    }

    /// Counts and freshness, read from the directory now (so they include updates made by
    /// another process since `open`).
    public func status() throws -> DatabaseStatus {
        guard let state = try StoredState.load(directory: directory) else {
            return DatabaseStatus(directory: directory, records: 0, withdrawn: 0, ecosystems: [], lastUpdated: nil,
                                  newestModified: nil, sources: [])
        }
        let ecosystems = state.ecosystems.keys.sorted().map { name in
            let stats = state.ecosystems[name]!
            return DatabaseStatus.EcosystemStatus(
                ecosystem: name, records: stats.records, withdrawn: stats.withdrawn, packages: stats.packages,
                newestModified: stats.newestModified
            )
        }
        return DatabaseStatus(
            directory: directory,
            records: ecosystems.map(\.records).reduce(0, +),
            withdrawn: ecosystems.map(\.withdrawn).reduce(0, +),
            ecosystems: ecosystems,
            lastUpdated: state.lastUpdated,
            newestModified: ecosystems.compactMap(\.newestModified).max(),
            sources: state.sources.map { DatabaseStatus.Source(path: $0.path, importedAt: $0.importedAt, records: $0.records) }
        )
    }

    /// The non-withdrawn records with an affected entry for this package, whatever its version.
    /// `ecosystem` may carry an OSV suffix ("Debian:12"); names are compared as the ecosystem's
    /// registry does (PEP 503 for PyPI, exact for Go, npm, crates.io, …).
    public func advisories(ecosystem: Ecosystem, name: String) throws -> [Advisory] {
        let key = PackageKey(ecosystem: ecosystem.rawValue, name: name)
        return try records(at: locations(for: [key])[0], matchingOnly: false)
    }

    /// Every package name with a record in an ecosystem (as the index stores them: normalised
    /// the registry's way), sorted.
    public func packageNames(ecosystem: String) throws -> [String] {
        try cache.withLock { cache in
            guard let file = cache.state?.indexes[ecosystem] else { return [] }
            if cache.indexes[ecosystem] == nil {
                cache.indexes[ecosystem] = try NameIndex.load(path: (directory as NSString).appendingPathComponent(file))
            }
            return cache.indexes[ecosystem]!.locations.keys.sorted()
        }
    }

    /// The record locations for each key, in order.
    func locations(for keys: [PackageKey]) throws -> [[RecordLocation]] {
        try cache.withLock { cache in
            guard let state = cache.state else { return keys.map { _ in [] } }
            for ecosystem in Set(keys.map(\.ecosystem)) where cache.indexes[ecosystem] == nil {
                guard let file = state.indexes[ecosystem] else { continue }
                cache.indexes[ecosystem] = try NameIndex.load(path: (directory as NSString).appendingPathComponent(file))
            }
            return keys.map { cache.indexes[$0.ecosystem]?.locations[$0.name] ?? [] }
        }
    }

    /// Decodes the records at these locations, in order; in parallel when there are many.
    /// `matchingOnly`: see `CodingUserInfoKey.osvMatchingOnly`.
    func records(at locations: [RecordLocation], matchingOnly: Bool) throws -> [Advisory] {
        let packs = try mappedPacks(Set(locations.map(\.pack)))
        let decode: @Sendable (RecordLocation) throws -> Advisory = { location in
            let decoder = JSONDecoder()
            decoder.userInfo[.osvMatchingOnly] = matchingOnly
            let pack = packs[location.pack]!
            guard location.offset >= 0, location.length > 0, location.offset + location.length <= pack.count else {
                throw AdvisoryDatabaseError("advisory pack \(location.pack) is shorter than its index says")
            }
            do {
                return try decoder.decode(Advisory.self, from: pack[location.offset..<location.offset + location.length])
            } catch {
                throw AdvisoryDatabaseError("advisory pack \(location.pack) is corrupt at \(location.offset): \(error)")
            }
        }
        guard locations.count > 64 else { return try locations.map(decode) }
        let results = Mutex([Result<Advisory, any Error>?](repeating: nil, count: locations.count))
        let chunk = 32
        DispatchQueue.concurrentPerform(iterations: (locations.count + chunk - 1) / chunk) { part in
            let range = part * chunk..<min((part + 1) * chunk, locations.count)
            let decoded = range.map { index in Result { try decode(locations[index]) } }
            results.withLock { slots in
                for (offset, result) in decoded.enumerated() { slots[range.lowerBound + offset] = result }
            }
        }
        return try results.withLock { slots in try slots.map { try $0!.get() } }
    }

    /// Maps the pack files (once per database object): the kernel pages in only the records read.
    private func mappedPacks(_ names: Set<String>) throws -> [String: Data] {
        try cache.withLock { cache in
            var result: [String: Data] = [:]
            for name in names {
                if let data = cache.packs[name] {
                    result[name] = data
                    continue
                }
                let path = (directory as NSString).appendingPathComponent(name)
                let data: Data
                do {
                    data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
                } catch {
                    throw AdvisoryDatabaseError("advisory pack \(path) is missing (the database changed while in use; run again)")
                }
                cache.packs[name] = data
                result[name] = data
            }
            return result
        }
    }

    /// After an update by this object: later lookups read the new state.
    func replaceState(_ state: StoredState) {
        cache.withLock { $0 = Cache(state: state) }
    }

    /// The state this object reads, for an update to build on.
    var currentState: StoredState? { cache.withLock { $0.state } }
}

/// What `AdvisoryDatabase.status()` reports.
public struct DatabaseStatus: Codable, Sendable, Hashable {
    public struct EcosystemStatus: Codable, Sendable, Hashable {
        /// A record counts under the (base) ecosystem of its first affected package; "(none)"
        /// for records that name no package.
        public var ecosystem: String
        /// Stored records, withdrawn ones included.
        public var records: Int
        public var withdrawn: Int
        /// Distinct package names with at least one active record.
        public var packages: Int
        /// The newest `modified` among the records: how fresh the data is.
        public var newestModified: Date?
    }

    public struct Source: Codable, Sendable, Hashable {
        public var path: String
        public var importedAt: Date
        /// Records read from it at that import (skipped ones included).
        public var records: Int
    }

    public var directory: String
    public var records: Int
    public var withdrawn: Int
    public var ecosystems: [EcosystemStatus]
    /// When an update last completed; nil for a database never updated.
    public var lastUpdated: Date?
    public var newestModified: Date?
    /// The paths imported, the latest import of each.
    public var sources: [Source]
}
