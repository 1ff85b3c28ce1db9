import Foundation
import ZIPFoundation

/// One record file's bytes, named by where they came from ("all.zip:GHSA-….json").
struct RawRecord: Sendable {
    var origin: String
    var data: Data
    /// Set when the bytes could not be read (a corrupt zip entry): the record is skipped.
    var readError: String?
}

/// Reads OSV record files from a folder (recursively: `*.json` files and `*.zip` archives), a
/// single zip (OSV's per-ecosystem `all.zip`) or a single JSON file, in batches so that a large
/// archive is never held in memory whole.
enum OSVSource {
    static let batchSize = 2048

    static func read(_ path: String, _ body: ([RawRecord]) throws -> Void) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw AdvisoryDatabaseError("\(path): no such file or folder")
        }
        var batch: [RawRecord] = []
        func add(_ record: RawRecord) throws {
            batch.append(record)
            if batch.count >= batchSize {
                try body(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if isDirectory.boolValue {
            guard let walker = FileManager.default.enumerator(atPath: path) else {
                throw AdvisoryDatabaseError("\(path): cannot list the folder")
            }
            // Sorted, so that an import is deterministic whatever order the file system lists.
            let files = walker.compactMap { $0 as? String }.filter(isInput).sorted()
            for relative in files {
                let full = (path as NSString).appendingPathComponent(relative)
                if relative.lowercased().hasSuffix(".zip") {
                    try readZip(full, add)
                } else {
                    try add(readFile(full, origin: relative))
                }
            }
        } else if path.lowercased().hasSuffix(".zip") {
            try readZip(path, add)
        } else {
            try add(readFile(path, origin: (path as NSString).lastPathComponent))
        }
        if !batch.isEmpty { try body(batch) }
    }

    private static func isInput(_ relative: String) -> Bool {
        let lower = relative.lowercased()
        return lower.hasSuffix(".json") || lower.hasSuffix(".zip")
    }

    private static func readFile(_ path: String, origin: String) -> RawRecord {
        if let data = FileManager.default.contents(atPath: path) {
            return RawRecord(origin: origin, data: data)
        }
        return RawRecord(origin: origin, data: Data(), readError: "cannot read the file")
    }

    private static func readZip(_ path: String, _ add: (RawRecord) throws -> Void) throws {
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw AdvisoryDatabaseError("\(path): not a readable zip archive (\(error))")
        }
        let name = (path as NSString).lastPathComponent
        for entry in archive where entry.type == .file && entry.path.lowercased().hasSuffix(".json") {
            let origin = "\(name):\(entry.path)"
            var data = Data(capacity: Int(clamping: entry.uncompressedSize))
            var readError: String?
            do {
                _ = try archive.extract(entry) { data.append($0) }
            } catch {
                readError = "cannot extract from the archive: \(error)"
            }
            try add(RawRecord(origin: origin, data: readError == nil ? data : Data(), readError: readError))
        }
    }
}
