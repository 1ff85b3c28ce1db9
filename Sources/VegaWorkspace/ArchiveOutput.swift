import Foundation
import Glibc

/// Where an archive's entries land. Each entry's name is checked and counted before
/// anything is written; files are written below the root through directories opened one
/// component at a time with O_NOFOLLOW, so nothing can lead a write elsewhere.
final class ArchiveOutput {
    let limits: ArchiveLimits
    private let directory: String
    private let rootFD: Int32
    private let archiveSize: Int64
    private let cancellation: CancellationFlag?
    private(set) var entries = 0
    private(set) var bytes: Int64 = 0
    private(set) var skippedLinks: [String] = []
    /// Every byte inflated so far (zip), for the whole archive's ratio.
    private var inflated: Int64 = 0

    init(directory: String, limits: ArchiveLimits, archiveSize: Int64, cancellation: CancellationFlag?) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError(.io, "cannot open \(directory): \(Posix.errorMessage())") }
        guard (try? FileManager.default.contentsOfDirectory(atPath: directory))?.isEmpty == true else {
            close(fd)
            throw ArchiveError(.io, "\(directory) is not an empty directory")
        }
        self.directory = directory
        rootFD = fd
        self.limits = limits
        self.archiveSize = archiveSize
        self.cancellation = cancellation
    }

    deinit { close(rootFD) }

    func checkCancelled() throws {
        if cancellation?.isCancelled == true { throw CancellationError() }
    }

    func directory(_ name: [UInt8]) throws {
        guard let parts = try accept(name) else { return }
        close(try openDirectory(parts[...], entry: name))
    }

    /// Creates the file `name` and lets `body` write it through the function it is given,
    /// which enforces `maxTotalBytes`. A declared size over the limit is refused at once.
    func file(
        _ name: [UInt8], declaredSize: Int64? = nil, body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        guard let parts = try accept(name), let last = parts.last else {
            throw ArchiveError(.badName, entry: name, "a file needs a name")
        }
        if let declaredSize, declaredSize > limits.maxTotalBytes - bytes { throw tooLarge(name) }
        let parent = try openDirectory(parts.dropLast(), entry: name)
        defer { close(parent) }
        let fd = Posix.withCString(last) { openat(parent, $0, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw ArchiveError(.io, entry: name, "cannot create it: \(Posix.errorMessage())") }
        defer { close(fd) }
        try body { chunk in
            guard Int64(chunk.count) <= limits.maxTotalBytes - bytes else { throw tooLarge(name) }
            bytes += Int64(chunk.count)
            try write(fd, chunk, entry: name)
        }
    }

    /// A symbolic link is checked, then skipped: its target is resolved from the link's
    /// own directory, component by component, and must stay inside the archive.
    func symlink(_ name: [UInt8], target: [UInt8]) throws {
        guard let parts = try accept(name) else { throw ArchiveError(.badName, entry: name, "a link needs a name") }
        if target.first == UInt8(ascii: "/") {
            throw ArchiveError(.escapingLink, entry: name, "it is a symbolic link to an absolute path")
        }
        var depth = parts.count - 1
        for component in target.split(separator: UInt8(ascii: "/")) where !component.elementsEqual(".".utf8) {
            depth += component.elementsEqual("..".utf8) ? -1 : 1
            if depth < 0 { throw ArchiveError(.escapingLink, entry: name, "it is a symbolic link that leads outside the archive") }
        }
        skip(parts)
    }

    /// A hard link names its target from the archive's root; it is checked, then skipped.
    func hardlink(_ name: [UInt8], target: [UInt8]) throws {
        guard let parts = try accept(name) else { throw ArchiveError(.badName, entry: name, "a link needs a name") }
        do {
            _ = try Self.components(of: target, entry: name)
        } catch let error as ArchiveError where error.rule == .absolutePath || error.rule == .parentComponent {
            throw ArchiveError(.escapingLink, entry: name, "it is a hard link to a path outside the archive")
        }
        skip(parts)
    }

    private func skip(_ link: [[UInt8]]) {
        skippedLinks.append(ArchiveError.printable(Array(link.joined(separator: [UInt8(ascii: "/")]))))
    }

    func special(_ name: [UInt8], kind: String) throws -> Never {
        _ = try accept(name)
        throw ArchiveError(.specialFile, entry: name, "it is a \(kind); only files, directories and links are allowed")
    }

    /// Counts bytes a zip entry inflated to and judges the whole archive's ratio on them.
    func countInflated(_ count: Int, entry name: [UInt8]) throws {
        inflated += Int64(count)
        if limits.ratioExceeded(inflated: inflated, compressed: archiveSize) {
            throw ArchiveError(.compressionRatio, entry: name, "the archive inflates to more than \(limits.maxRatio) times its size (a zip bomb?)")
        }
    }

    /// Empties the directory after a refusal. Safe to walk: no link was ever created in it.
    func removeAll() {
        for child in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            try? FileManager.default.removeItem(atPath: directory + "/" + child)
        }
    }

    /// Checks and counts an entry; nil for the root itself (a tar's "./").
    private func accept(_ name: [UInt8]) throws -> [[UInt8]]? {
        try checkCancelled()
        let parts = try Self.components(of: name, entry: name)
        if parts.isEmpty { return nil }
        entries += 1
        guard entries <= limits.maxFiles else {
            throw ArchiveError(.tooManyFiles, entry: name, "the archive has more than \(limits.maxFiles) entries")
        }
        return parts
    }

    /// A name's path components, "." and empty ones dropped.
    static func components(of name: [UInt8], entry: [UInt8]) throws -> [[UInt8]] {
        guard !name.isEmpty else { throw ArchiveError(.badName, entry: entry, "its name is empty") }
        guard name.count <= 4096 else { throw ArchiveError(.badName, entry: entry, "its name is longer than 4096 bytes") }
        guard !name.contains(0) else { throw ArchiveError(.badName, entry: entry, "its name contains a NUL byte") }
        guard String(validating: name, as: UTF8.self) != nil else {
            throw ArchiveError(.badName, entry: entry, "its name is not valid UTF-8")
        }
        guard name.first != UInt8(ascii: "/") else { throw ArchiveError(.absolutePath, entry: entry, "its path is absolute") }
        let parts = name.split(separator: UInt8(ascii: "/")).filter { !$0.elementsEqual(".".utf8) }
        guard !parts.contains(where: { $0.elementsEqual("..".utf8) }) else {
            throw ArchiveError(.parentComponent, entry: entry, "its path contains '..'")
        }
        return parts.map { Array($0) }
    }

    /// Opens (creating as needed) the directory `parts` below the root.
    private func openDirectory(_ parts: ArraySlice<[UInt8]>, entry: [UInt8]) throws -> Int32 {
        var fd = dup(rootFD)
        guard fd >= 0 else { throw ArchiveError(.io, entry: entry, "cannot open the output directory: \(Posix.errorMessage())") }
        for part in parts {
            let (next, failure) = Posix.withCString(part) { path -> (Int32, Int32) in
                if mkdirat(fd, path, 0o755) != 0 && errno != EEXIST { return (-1, errno) }
                let opened = openat(fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                return (opened, errno)
            }
            close(fd)
            guard next >= 0 else {
                throw ArchiveError(.io, entry: entry, failure == ENOTDIR
                    ? "a file already extracted has the name of one of its directories"
                    : "cannot create its directory: \(Posix.errorMessage(failure))")
            }
            fd = next
        }
        return fd
    }

    private func write(_ fd: Int32, _ chunk: UnsafeRawBufferPointer, entry: [UInt8]) throws {
        var offset = 0
        while offset < chunk.count {
            let count = Glibc.write(fd, chunk.baseAddress! + offset, chunk.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                throw ArchiveError(.io, entry: entry, "cannot write it: \(Posix.errorMessage())")
            }
            offset += count
        }
    }

    private func tooLarge(_ name: [UInt8]) -> ArchiveError {
        ArchiveError(.tooLarge, entry: name, "the archive's files add up to more than \(limits.maxTotalBytes) bytes")
    }
}
