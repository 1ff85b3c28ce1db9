import Foundation
import VegaWorkspace
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Artifacts as files under a folder: key `a/b/c` is `<root>/a/b/c`. Writes are atomic (a
/// temporary file renamed into place), so a reader never sees half a report. The disk work
/// runs off the cooperative pool.
public struct LocalArtifactStore: ArtifactStore {
    public let root: URL

    public init(root: String) {
        self.root = URL(fileURLWithPath: root, isDirectory: true).standardizedFileURL
    }

    /// The default: the data folder's `artifacts`, where reports have always been kept.
    public static func inDataDirectory(_ dataDirectory: String) -> LocalArtifactStore {
        LocalArtifactStore(root: URL(fileURLWithPath: dataDirectory).appendingPathComponent("artifacts").path)
    }

    public var description: String { root.path }

    func url(for key: String) throws -> URL {
        root.appendingPathComponent(try ArtifactKey.validate(key))
    }

    public func put(_ key: String, data: Data, contentType: String) async throws {
        let file = try url(for: key)
        try await BlockingWork.run {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: file, options: .atomic)
        }
    }

    public func get(_ key: String) async throws -> Data? {
        let file = try url(for: key)
        return try await BlockingWork.run {
            guard FileManager.default.fileExists(atPath: file.path) else { return nil }
            return try Data(contentsOf: file)
        }
    }

    public func delete(_ key: String) async throws {
        let file = try url(for: key)
        let root = root
        try await BlockingWork.run {
            do {
                try FileManager.default.removeItem(at: file)
            } catch CocoaError.fileNoSuchFile {
                return
            }
            // Folders left empty go too (a scan's, then its tenant's), with rmdir(2): it
            // refuses a folder that is not empty, so a report being written beside is safe.
            var folder = file.deletingLastPathComponent()
            while folder.path.count > root.path.count, rmdir(folder.path) == 0 {
                folder = folder.deletingLastPathComponent()
            }
        }
    }

    public func list(prefix: String) async throws -> [String] {
        try ArtifactKey.validatePrefix(prefix)
        // Only the folder the prefix ends in is walked, not the whole store.
        let folder = prefix.contains("/") ? String(prefix[..<prefix.lastIndex(of: "/")!]) : ""
        let start = folder.isEmpty ? root : root.appendingPathComponent(folder)
        let root = root
        return try await BlockingWork.run {
            guard let walker = FileManager.default.enumerator(at: start, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
            var keys: [String] = []
            for case let file as URL in walker {
                guard try file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true else { continue }
                let key = String(file.standardizedFileURL.path.dropFirst(root.path.count + 1))
                // Temporary files of atomic writes and readiness probes are hidden: never keys.
                if key.hasPrefix(prefix), (try? ArtifactKey.validate(key)) != nil { keys.append(key) }
            }
            return keys.sorted()
        }
    }

    /// Writes and removes a probe file, as a report would be: a folder that exists but is
    /// read-only is not ready.
    public func checkReady() async throws {
        let root = root
        try await BlockingWork.run {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            let probe = root.appendingPathComponent(".ready-\(UUID().uuidString)")
            try Data("ok".utf8).write(to: probe)
            try FileManager.default.removeItem(at: probe)
        }
    }
}
