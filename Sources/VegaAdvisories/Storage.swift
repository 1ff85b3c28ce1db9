import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// On-disk layout of an advisory database directory (`<data-dir>/advisories`):
//
//   state.json                 The root: format version, last update, imported sources, per-
//                              ecosystem counts, and the names of every data file below that this
//                              state uses. Replaced atomically (temp file + rename) as the last
//                              step of an update, so a reader sees the old state or the new one.
//   catalog-<hash>.tsv         One line per stored record: id, modified, content hash, withdrawn,
//                              primary ecosystem, where its JSON is (pack, offset, length) and the
//                              packages it affects. Only updates read it (to tell added / updated
//                              / unchanged) and rebuild the name indexes from it.
//   names-<eco>-<hash>.tsv     Per ecosystem: normalised package name → locations of the
//                              non-withdrawn records that affect it. A scan loads only the
//                              indexes of the ecosystems it has packages in.
//   pack-<eco>-<hash>.osv      The records' original JSON, concatenated (newline-separated),
//                              grouped by the record's first affected ecosystem. A scan maps the
//                              pack and decodes only the records its packages' names point to.
//   .lock                      flock()ed by an update, so two updates never interleave.
//
// Data files are named after a hash of their content and never modified: an update writes a file
// only when its content is new (a re-import that changes nothing writes only state.json), puts
// added and changed records in new packs, and rewrites an ecosystem's packs only when more than
// half of their bytes are superseded copies. Files of the previous state are kept until the next
// update, so a reader that opened the database before an update keeps working through it.

/// 64-bit FNV-1a: the content hash for change detection and file names (not a defence against
/// crafted collisions, which an advisory feed has no use for).
func fnv1a(_ data: Data) -> UInt64 {
    data.withUnsafeBytes { raw in
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in raw {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}

public struct AdvisoryDatabaseError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Where one record's JSON is stored.
struct RecordLocation: Hashable, Sendable {
    var pack: String
    var offset: Int
    var length: Int
}

/// The root file.
struct StoredState: Codable, Sendable {
    static let fileName = "state.json"
    static let currentFormat = 1

    struct EcosystemStats: Codable, Sendable {
        var records: Int
        var withdrawn: Int
        var packages: Int
        var newestModified: Date?
    }

    struct Source: Codable, Sendable {
        var path: String
        var importedAt: Date
        var records: Int
    }

    var format: Int
    var lastUpdated: Date
    var catalog: String
    /// Base ecosystem → its names index file.
    var indexes: [String: String]
    /// By each record's primary (first affected) ecosystem.
    var ecosystems: [String: EcosystemStats]
    var sources: [Source]
    /// Every data file this state uses.
    var files: [String]
    /// Files of the previous state, deleted by the next update.
    var retained: [String]

    static func load(directory: String) throws -> StoredState? {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let state: StoredState
        do {
            state = try decoder.decode(StoredState.self, from: data)
        } catch {
            throw AdvisoryDatabaseError("\(path) is not a Vega advisory database state file: \(error)")
        }
        guard state.format == currentFormat else {
            throw AdvisoryDatabaseError("\(path) has format \(state.format); this Vega reads format \(currentFormat) (run the update again to rebuild)")
        }
        return state
    }

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }()
}

/// One line of the catalog.
struct CatalogEntry: Sendable {
    var id: String
    var modified: String
    var hash: UInt64
    var withdrawn: Bool
    var ecosystem: String
    var location: RecordLocation
    var packages: [PackageKey]

    /// Fields are tab-separated; the parser rejects tabs and newlines in ids, timestamps,
    /// ecosystems and names, so none needs escaping. A package is "<base ecosystem>:<name>"
    /// (base ecosystems have no colon; names may).
    var line: String {
        var fields = [id, modified, hex(hash), withdrawn ? "1" : "0", ecosystem, location.pack,
                      String(location.offset), String(location.length)]
        fields += packages.map { "\($0.ecosystem):\($0.name)" }
        return fields.joined(separator: "\t")
    }

    init(id: String, modified: String, hash: UInt64, withdrawn: Bool, ecosystem: String,
         location: RecordLocation, packages: [PackageKey]) {
        self.id = id
        self.modified = modified
        self.hash = hash
        self.withdrawn = withdrawn
        self.ecosystem = ecosystem
        self.location = location
        self.packages = packages
    }

    init?(line: Substring) {
        let f = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard f.count >= 8, let hash = UInt64(f[2], radix: 16), let offset = Int(f[6]), let length = Int(f[7]) else {
            return nil
        }
        id = String(f[0])
        modified = String(f[1])
        self.hash = hash
        withdrawn = f[3] == "1"
        ecosystem = String(f[4])
        location = RecordLocation(pack: String(f[5]), offset: offset, length: length)
        var keys: [PackageKey] = []
        for field in f.dropFirst(8) {
            guard let colon = field.firstIndex(of: ":") else { return nil }
            keys.append(PackageKey(normalizedEcosystem: String(field[..<colon]), name: String(field[field.index(after: colon)...])))
        }
        packages = keys
    }

    static func load(directory: String, file: String) throws -> [String: CatalogEntry] {
        let path = (directory as NSString).appendingPathComponent(file)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AdvisoryDatabaseError("advisory catalog \(path) is missing")
        }
        var entries: [String: CatalogEntry] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let entry = CatalogEntry(line: line) else {
                throw AdvisoryDatabaseError("advisory catalog \(path) is corrupt")
            }
            entries[entry.id] = entry
        }
        return entries
    }
}

/// A names index: normalised package name → where the records affecting it are.
struct NameIndex: Sendable {
    static let magic = "vega-names 1"

    var locations: [String: [RecordLocation]]

    /// "vega-names 1\t<pack count>", one pack file name per line (numbered from 0), then one
    /// "<name>\t<pack number>,<offset>,<length>\t…" line per name.
    static func serialize(_ locations: [String: [RecordLocation]]) -> Data {
        let packs = Set(locations.values.joined().map(\.pack)).sorted()
        let number = Dictionary(uniqueKeysWithValues: packs.enumerated().map { ($1, $0) })
        var out = "\(magic)\t\(packs.count)\n"
        for pack in packs { out += pack + "\n" }
        for name in locations.keys.sorted() {
            out += name
            for l in locations[name]! { out += "\t\(number[l.pack]!),\(l.offset),\(l.length)" }
            out += "\n"
        }
        return Data(out.utf8)
    }

    /// Parses the bytes directly: an index can hold hundreds of thousands of names (npm) and is
    /// read on every scan that has packages of its ecosystem.
    static func load(path: String) throws -> NameIndex {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AdvisoryDatabaseError("advisory index \(path) is missing (the database changed while in use; run again)")
        }
        let corrupt = AdvisoryDatabaseError("advisory index \(path) is corrupt")
        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> NameIndex in
            let bytes = raw.bindMemory(to: UInt8.self)
            var lines = bytes.split(separator: 10)[...]
            guard let header = lines.popFirst().map({ String(decoding: UnsafeBufferPointer(rebasing: $0), as: UTF8.self) }),
                  header.hasPrefix(magic + "\t"), let packCount = Int(header.dropFirst(magic.count + 1)),
                  lines.count >= packCount
            else { throw corrupt }
            let packs = lines.prefix(packCount).map { String(decoding: UnsafeBufferPointer(rebasing: $0), as: UTF8.self) }
            lines = lines.dropFirst(packCount)
            var locations: [String: [RecordLocation]] = [:]
            locations.reserveCapacity(lines.count)
            for line in lines {
                var fields = line.split(separator: 9, omittingEmptySubsequences: false)[...]
                guard let name = fields.popFirst() else { throw corrupt }
                var list: [RecordLocation] = []
                list.reserveCapacity(fields.count)
                for field in fields {
                    var numbers = (0, 0, 0), which = 0
                    for byte in field {
                        if byte == 44 {
                            which += 1
                            guard which < 3 else { throw corrupt }
                        } else if byte >= 48, byte <= 57 {
                            let digit = Int(byte - 48)
                            switch which {
                            case 0: numbers.0 = numbers.0 * 10 + digit
                            case 1: numbers.1 = numbers.1 * 10 + digit
                            default: numbers.2 = numbers.2 * 10 + digit
                            }
                        } else {
                            throw corrupt
                        }
                    }
                    guard which == 2, numbers.0 < packs.count else { throw corrupt }
                    list.append(RecordLocation(pack: packs[numbers.0], offset: numbers.1, length: numbers.2))
                }
                locations[String(decoding: UnsafeBufferPointer(rebasing: name), as: UTF8.self)] = list
            }
            return NameIndex(locations: locations)
        }
    }
}

/// File-system helpers with the guarantees the layout relies on.
enum DiskFile {
    /// Writes through a temporary file in the same directory, flushed before the rename, so the
    /// path holds either its old content or all of the new.
    static func writeAtomically(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory as NSString).appendingPathComponent(".tmp-\(UUID().uuidString)")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw AdvisoryDatabaseError("cannot write \(temporary): \(errorText())") }
        var failure: String?
        data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errorText()
                    return
                }
                done += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = errorText() }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 { failure = errorText() }
        if let failure {
            unlink(temporary)
            throw AdvisoryDatabaseError("cannot write \(path): \(failure)")
        }
    }

    /// Makes the renames in a directory durable.
    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}

/// An exclusive flock() on `<directory>/.lock`, held for the length of an update.
final class WriterLock {
    private let fd: Int32

    init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent(".lock")
        fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw AdvisoryDatabaseError("cannot open \(path): \(DiskFile.errorText())") }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let message = DiskFile.errorText()
                close(fd)
                throw AdvisoryDatabaseError("cannot lock \(path): \(message)")
            }
        }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
