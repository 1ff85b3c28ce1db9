import Foundation
import Synchronization

/// What one `update(from:)` did.
public struct UpdateSummary: Codable, Sendable, Hashable {
    public struct Counts: Codable, Sendable, Hashable {
        public var added = 0
        public var updated = 0
        public var unchanged = 0
        public var skipped = 0
        /// Records read that are withdrawn (also counted as added, updated or unchanged).
        public var withdrawn = 0
    }

    public struct Skip: Codable, Sendable, Hashable {
        /// The file, or "archive.zip:entry.json".
        public var origin: String
        /// The record's id when it could be read.
        public var id: String?
        public var reason: String
    }

    /// The path imported, absolute.
    public var source: String
    /// By the (base) ecosystem of each record's first affected package; "(none)" for records
    /// naming no package, "(unknown)" for skipped records too broken to tell.
    public var ecosystems: [String: Counts]
    public var total: Counts
    public var skipped: [Skip]
    /// Data files (packs, indexes, catalog) written; 0 when nothing changed. state.json, which
    /// every update rewrites, is not counted.
    public var filesWritten: Int
}

extension AdvisoryDatabase {
    /// Imports OSV records from `path`: a folder of OSV JSON files (searched recursively), an
    /// OSV per-ecosystem export zip (`all.zip`), or a folder of such zips. Incremental: a record
    /// whose content is unchanged is not rewritten; a changed one (same id) replaces the stored
    /// copy unless its `modified` is older; records not in this import are kept, so ecosystems
    /// can be imported one at a time. A malformed record is skipped with the reason. Holds an
    /// exclusive lock on the directory for the duration; readers are never blocked.
    public func update(from path: String) throws -> UpdateSummary {
        let source = URL(fileURLWithPath: path).standardizedFileURL.path
        let lock = try WriterLock(directory: directory)
        defer { withExtendedLifetime(lock) {} }
        let previous = try StoredState.load(directory: directory)
        let catalog = try previous.map { try CatalogEntry.load(directory: directory, file: $0.catalog) } ?? [:]
        var importer = Importer(directory: directory, catalog: catalog)
        var read = 0
        try OSVSource.read(source) { batch in
            read += batch.count
            try importer.add(batch)
        }
        let now = Date()
        let state = try importer.commit(
            previous: previous, source: StoredState.Source(path: source, importedAt: now, records: read), now: now
        )
        replaceState(state)
        var total = UpdateSummary.Counts()
        for counts in importer.counts.values {
            total.added += counts.added
            total.updated += counts.updated
            total.unchanged += counts.unchanged
            total.skipped += counts.skipped
            total.withdrawn += counts.withdrawn
        }
        return UpdateSummary(
            source: source, ecosystems: importer.counts, total: total, skipped: importer.skipped,
            filesWritten: importer.filesWritten
        )
    }
}

/// The work of one update: classifies incoming records against the catalog, then writes the new
/// packs, indexes, catalog and state.
private struct Importer {
    static let noPackage = "(none)"
    static let unknownEcosystem = "(unknown)"
    /// Packs are cut at this size so that compacting or mapping one stays cheap.
    static let packLimit = 32 << 20

    let directory: String
    var catalog: [String: CatalogEntry]
    /// Content hash → id, to recognise an unchanged record without decoding it.
    var idByHash: [UInt64: String]
    /// Bytes of added and updated records, until `commit` puts them in packs.
    var pending: [String: Data] = [:]
    var counts: [String: UpdateSummary.Counts] = [:]
    var skipped: [UpdateSummary.Skip] = []
    var filesWritten = 0

    init(directory: String, catalog: [String: CatalogEntry]) {
        self.directory = directory
        self.catalog = catalog
        idByHash = Dictionary(catalog.values.map { ($0.hash, $0.id) }, uniquingKeysWith: { a, _ in a })
    }

    /// What the importer keeps of a decoded record.
    struct Parsed: Sendable {
        var id: String
        var modified: String
        var withdrawn: Bool
        var ecosystem: String
        var packages: [PackageKey]
    }

    enum Outcome: Sendable {
        case record(Parsed)
        case skipped(reason: String, id: String?, ecosystem: String?)
    }

    mutating func add(_ batch: [RawRecord]) throws {
        let hashes = batch.map { fnv1a($0.data) }
        let toDecode = batch.indices.filter { batch[$0].readError != nil || idByHash[hashes[$0]] == nil }
        let decoded = Dictionary(uniqueKeysWithValues: zip(toDecode, Self.decode(toDecode.map { batch[$0] })))
        for index in batch.indices {
            let hash = hashes[index]
            if batch[index].readError == nil, let id = idByHash[hash], let entry = catalog[id] {
                counts[entry.ecosystem, default: .init()].unchanged += 1
                if entry.withdrawn { counts[entry.ecosystem, default: .init()].withdrawn += 1 }
                continue
            }
            // Not decoded up front only when its hash was known, and an earlier record of this
            // import has since replaced that copy.
            switch decoded[index] ?? Self.decode([batch[index]])[0] {
            case .skipped(let reason, let id, let ecosystem):
                counts[ecosystem ?? Self.unknownEcosystem, default: .init()].skipped += 1
                skipped.append(.init(origin: batch[index].origin, id: id, reason: reason))
            case .record(let record):
                apply(record, data: batch[index].data, hash: hash, origin: batch[index].origin)
            }
        }
    }

    private mutating func apply(_ record: Parsed, data: Data, hash: UInt64, origin: String) {
        if let existing = catalog[record.id] {
            if let incoming = Timestamp.parse(record.modified), let stored = Timestamp.parse(existing.modified),
               incoming < stored {
                counts[record.ecosystem, default: .init()].skipped += 1
                skipped.append(.init(
                    origin: origin, id: record.id,
                    reason: "older than the stored copy (modified \(record.modified) < \(existing.modified))"
                ))
                return
            }
            idByHash.removeValue(forKey: existing.hash)
            counts[record.ecosystem, default: .init()].updated += 1
        } else {
            counts[record.ecosystem, default: .init()].added += 1
        }
        if record.withdrawn { counts[record.ecosystem, default: .init()].withdrawn += 1 }
        catalog[record.id] = CatalogEntry(
            id: record.id, modified: record.modified, hash: hash, withdrawn: record.withdrawn,
            ecosystem: record.ecosystem, location: RecordLocation(pack: "", offset: 0, length: data.count),
            packages: record.packages
        )
        pending[record.id] = data
        idByHash[hash] = record.id
    }

    /// Decodes in parallel: JSON decoding is most of an import's time.
    private static func decode(_ records: [RawRecord]) -> [Outcome] {
        let results = Mutex([Outcome?](repeating: nil, count: records.count))
        let chunk = 16
        DispatchQueue.concurrentPerform(iterations: (records.count + chunk - 1) / chunk) { part in
            let range = part * chunk..<min((part + 1) * chunk, records.count)
            let decoder = JSONDecoder()
            decoder.userInfo[.osvMatchingOnly] = true
            let outcomes = range.map { outcome(records[$0], decoder: decoder) }
            results.withLock { slots in
                for (offset, outcome) in outcomes.enumerated() { slots[range.lowerBound + offset] = outcome }
            }
        }
        return results.withLock { $0.map { $0! } }
    }

    private static func outcome(_ raw: RawRecord, decoder: JSONDecoder) -> Outcome {
        if let readError = raw.readError { return .skipped(reason: readError, id: nil, ecosystem: nil) }
        let advisory: Advisory
        do {
            advisory = try decoder.decode(Advisory.self, from: raw.data)
        } catch {
            let probe = try? JSONSerialization.jsonObject(with: raw.data) as? [String: Any]
            let firstPackage = ((probe?["affected"] as? [Any])?.first as? [String: Any])?["package"] as? [String: Any]
            return .skipped(
                reason: describe(error), id: probe?["id"] as? String,
                ecosystem: (firstPackage?["ecosystem"] as? String).map(PackageKey.baseEcosystem)
            )
        }
        // The catalog and indexes are tab-separated lines.
        let texts = [advisory.id, advisory.modified] + advisory.affected.flatMap { [$0.package.ecosystem, $0.package.name] }
        if texts.contains(where: { $0.utf8.contains { $0 == 9 || $0 == 10 || $0 == 13 } }) {
            return .skipped(reason: "a tab or line break in its id, modified or a package name", id: advisory.id, ecosystem: nil)
        }
        var seen = Set<PackageKey>()
        let packages = advisory.affected
            .map { PackageKey(ecosystem: $0.package.ecosystem, name: $0.package.name) }
            .filter { seen.insert($0).inserted }
        return .record(Parsed(
            id: advisory.id, modified: advisory.modified, withdrawn: advisory.isWithdrawn,
            ecosystem: packages.first?.ecosystem ?? noPackage, packages: packages
        ))
    }

    /// A decoding error in a sentence naming the field ("affected[0].ranges[1].events[2]: …").
    static func describe(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            var out = ""
            for key in keys {
                if let index = key.intValue {
                    out += "[\(index)]"
                } else {
                    out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return out
        }
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing \(path(context.codingPath + [key]))"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(type)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): null where \(type) is required"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    // MARK: - Writing

    mutating func commit(previous: StoredState?, source: StoredState.Source, now: Date) throws -> StoredState {
        // New and changed records go to new packs, one set per ecosystem.
        let pendingByEcosystem = Dictionary(grouping: pending.keys) { catalog[$0]!.ecosystem }
        for (ecosystem, ids) in pendingByEcosystem {
            try writePacks(ecosystem: ecosystem, records: ids.sorted().map { ($0, pending[$0]!) })
        }
        pending = [:]
        try compact()

        // Name indexes, rebuilt from the catalog; unchanged content keeps its file.
        var names: [String: [String: [RecordLocation]]] = [:]
        for entry in catalog.values where !entry.withdrawn {
            for key in entry.packages {
                names[key.ecosystem, default: [:]][key.name, default: []].append(entry.location)
            }
        }
        var indexes: [String: String] = [:]
        for (ecosystem, locations) in names {
            let sorted = locations.mapValues { $0.sorted { ($0.pack, $0.offset) < ($1.pack, $1.offset) } }
            indexes[ecosystem] = try writeContentAddressed(
                prefix: "names-\(Self.slug(ecosystem))-", suffix: ".tsv", NameIndex.serialize(sorted)
            )
        }
        let lines = catalog.values.sorted { $0.id < $1.id }.map { $0.line + "\n" }.joined()
        let catalogFile = try writeContentAddressed(prefix: "catalog-", suffix: ".tsv", Data(lines.utf8))

        var ecosystems: [String: StoredState.EcosystemStats] = [:]
        for entry in catalog.values {
            var stats = ecosystems[entry.ecosystem] ?? .init(records: 0, withdrawn: 0, packages: 0, newestModified: nil)
            stats.records += 1
            if entry.withdrawn { stats.withdrawn += 1 }
            // Some exports write the zero time ("0001-01-01T00:00:00Z") for "unknown".
            if let modified = Timestamp.parse(entry.modified), modified.timeIntervalSince1970 > 0,
               modified > stats.newestModified ?? .distantPast {
                stats.newestModified = modified
            }
            ecosystems[entry.ecosystem] = stats
        }
        for (ecosystem, locations) in names {
            ecosystems[ecosystem, default: .init(records: 0, withdrawn: 0, packages: 0, newestModified: nil)].packages = locations.count
        }

        let files = ([catalogFile] + indexes.values + Set(catalog.values.map(\.location.pack))).sorted()
        let previousFiles = previous?.files ?? []
        let state = StoredState(
            format: StoredState.currentFormat, lastUpdated: now, catalog: catalogFile, indexes: indexes,
            ecosystems: ecosystems,
            sources: ((previous?.sources ?? []).filter { $0.path != source.path } + [source]).sorted { $0.path < $1.path },
            files: files,
            retained: files == previousFiles ? previous?.retained ?? [] : Array(Set(previousFiles).subtracting(files)).sorted()
        )
        // The data files' renames must be durable before the state that names them is.
        DiskFile.syncDirectory(directory)
        try DiskFile.writeAtomically(
            try StoredState.encoder.encode(state), to: (directory as NSString).appendingPathComponent(StoredState.fileName)
        )
        removeUnused(keeping: Set(state.files + state.retained))
        DiskFile.syncDirectory(directory)
        return state
    }

    /// Concatenates records into packs of at most `packLimit` bytes and points their catalog
    /// entries at them.
    private mutating func writePacks(ecosystem: String, records: [(id: String, data: Data)]) throws {
        var start = 0
        while start < records.count {
            var pack = Data()
            var placed: [(id: String, offset: Int, length: Int)] = []
            var end = start
            while end < records.count, placed.isEmpty || pack.count + records[end].data.count < Self.packLimit {
                placed.append((records[end].id, pack.count, records[end].data.count))
                pack.append(records[end].data)
                pack.append(10)
                end += 1
            }
            let file = try writeContentAddressed(prefix: "pack-\(Self.slug(ecosystem))-", suffix: ".osv", pack)
            for record in placed {
                catalog[record.id]!.location = RecordLocation(pack: file, offset: record.offset, length: record.length)
            }
            start = end
        }
    }

    /// Rewrites an ecosystem's packs when superseded copies take more than half their bytes or
    /// the ecosystem has gathered many small packs from incremental updates.
    private mutating func compact() throws {
        let byEcosystem = Dictionary(grouping: catalog.values, by: \.ecosystem)
        for (ecosystem, entries) in byEcosystem {
            let packs = Set(entries.map(\.location.pack))
            let live = entries.map { $0.location.length + 1 }.reduce(0, +)
            let total = try packs.map { pack -> Int in
                let path = (directory as NSString).appendingPathComponent(pack)
                return try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            }.reduce(0, +)
            let fewestPacks = (live + Self.packLimit - 1) / Self.packLimit
            guard packs.count > fewestPacks + 8 || total > 2 * live else { continue }
            var mapped: [String: Data] = [:]
            for pack in packs {
                mapped[pack] = try Data(
                    contentsOf: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(pack)), options: .alwaysMapped
                )
            }
            let records = entries.sorted { $0.id < $1.id }.map { entry in
                let l = entry.location
                return (id: entry.id, data: Data(mapped[l.pack]![l.offset..<l.offset + l.length]))
            }
            try writePacks(ecosystem: ecosystem, records: records)
        }
    }

    /// Writes a data file named after its content, unless that file already exists.
    private mutating func writeContentAddressed(prefix: String, suffix: String, _ data: Data) throws -> String {
        let name = prefix + hex(fnv1a(data)) + suffix
        let path = (directory as NSString).appendingPathComponent(name)
        if !FileManager.default.fileExists(atPath: path) {
            try DiskFile.writeAtomically(data, to: path)
            filesWritten += 1
        }
        return name
    }

    /// Deletes data files neither the new nor the previous state uses, and temporary files a
    /// crashed update left (the lock guarantees no update is writing them now).
    private func removeUnused(keeping: Set<String>) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names {
            let isData = name.hasPrefix("pack-") || name.hasPrefix("names-") || name.hasPrefix("catalog-")
            guard (isData && !keeping.contains(name)) || name.hasPrefix(".tmp-") else { continue }
            try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
        }
    }

    /// An ecosystem name made safe for a file name; uniqueness comes from the content hash.
    static func slug(_ ecosystem: String) -> String {
        String(ecosystem.unicodeScalars.map { scalar -> Character in
            ("0"..."9").contains(scalar) || ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar)
                || scalar == "." || scalar == "-" ? Character(scalar) : "_"
        })
    }
}
