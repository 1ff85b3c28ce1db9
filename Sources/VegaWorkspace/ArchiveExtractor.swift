import Glibc

/// How much an archive may hold once extracted.
public struct ArchiveLimits: Sendable {
    /// Entries of any kind (files, directories, links).
    public var maxFiles: Int
    /// The files' bytes once uncompressed, counted as they are written.
    public var maxTotalBytes: Int64
    /// Inflated bytes per compressed byte, for each zip entry and for the whole archive.
    public var maxRatio: Int64
    /// Ratios are judged only past this many inflated bytes: a small archive of empty or
    /// tiny files (mostly tar headers, which are mostly zeros) legitimately inflates far
    /// more than 100 times, and a few MiB harm no one.
    public var ratioFloor: Int64

    public init(maxFiles: Int = 20_000, maxTotalBytes: Int64 = 1 << 30, maxRatio: Int64 = 100, ratioFloor: Int64 = 4 << 20) {
        self.maxFiles = maxFiles
        self.maxTotalBytes = maxTotalBytes
        self.maxRatio = maxRatio
        self.ratioFloor = ratioFloor
    }

    func ratioExceeded(inflated: Int64, compressed: Int64) -> Bool {
        inflated > ratioFloor && inflated / max(compressed, 1) > maxRatio
    }
}

/// The archive formats Vega extracts, told apart by their first bytes, never by the name.
public enum ArchiveFormat: String, Sendable {
    case tar
    case tarGzip = "tar.gz"
    case zip

    /// The format of the file at `path`, or nil when it is none of these (or not a regular file).
    public static func detect(path: String) throws -> ArchiveFormat? {
        // O_NONBLOCK: opening a FIFO someone named must not wait for a writer.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw ArchiveError(.io, "cannot open \(path): \(Posix.errorMessage())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, Posix.isRegular(info) else { return nil }
        var head = [UInt8](repeating: 0, count: 512)
        var range = FileRange(fd: fd, offset: 0, remaining: Int64(head.count))
        var count = 0
        while count < head.count {
            let n = try head.withUnsafeMutableBytes { try range.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[count...])) }
            if n == 0 { break }
            count += n
        }
        return detect(head[..<count])
    }

    static func detect(_ head: ArraySlice<UInt8>) -> ArchiveFormat? {
        let bytes = Array(head)
        // "PK\3\4" starts a zip with entries, "PK\5\6" an empty one.
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4B, 0x05, 0x06]) { return .zip }
        if bytes.starts(with: [0x1F, 0x8B]) { return .tarGzip }
        // POSIX ("ustar\0") and GNU ("ustar  ") headers both carry "ustar" at 257.
        if bytes.count == 512, Array(bytes[257..<262]) == Array("ustar".utf8) { return .tar }
        return nil
    }
}

/// What an extraction produced.
public struct ArchiveSummary: Sendable {
    public let format: ArchiveFormat
    /// Entries accepted (files, directories and skipped links).
    public let entries: Int
    /// The files' bytes as written.
    public let bytes: Int64
    /// Links inside the archive that point inside it, which are not created (see `ArchiveExtractor`).
    public let skippedLinks: [String]
}

/// Extracts an untrusted tar, tar.gz or zip into an empty directory, refusing anything
/// that could write outside it or exhaust the disk, with an `ArchiveError` that names the
/// entry and the rule; on refusal whatever was written is removed.
///
/// Refused: absolute names, `..` components, names with NUL or invalid UTF-8 or longer
/// than 4096 bytes (PATH_MAX; it also bounds how deep directories nest), device,
/// FIFO and socket entries, links whose target leaves the archive, more than `maxFiles`
/// entries, more than `maxTotalBytes` of files, a compression ratio above `maxRatio`
/// (zip entries and whole archives; bytes are counted as they are inflated, sizes the
/// archive declares are never trusted for a limit), encrypted zip entries.
///
/// Links are never created, even those pointing inside the archive: their targets are
/// extracted and scanned at their own paths anyway, and without links on disk no write
/// can be redirected through one (every directory is also opened with O_NOFOLLOW).
/// Permissions, owners and times in the archive are ignored: files are written 0644 and
/// directories 0755, so the tree is always readable and removable.
public struct ArchiveExtractor: Sendable {
    public var limits: ArchiveLimits

    public init(limits: ArchiveLimits = ArchiveLimits()) {
        self.limits = limits
    }

    /// Extracts `archive` into `directory`, which must exist and be empty. Polls
    /// `cancellation` between chunks and throws `CancellationError` once it is set.
    public func extract(_ archive: String, into directory: String, cancellation: CancellationFlag? = nil) throws -> ArchiveSummary {
        guard let format = try ArchiveFormat.detect(path: archive) else {
            throw ArchiveError(.unsupported, "\(archive) is not a tar, tar.gz or zip archive")
        }
        let fd = open(archive, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw ArchiveError(.io, "cannot open \(archive): \(Posix.errorMessage())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ArchiveError(.io, "cannot read \(archive): \(Posix.errorMessage())") }
        // Checked again on what was opened: the path may have been replaced since detection.
        guard Posix.isRegular(info) else { throw ArchiveError(.unsupported, "\(archive) is not a regular file") }
        let size = Int64(info.st_size)

        let output = try ArchiveOutput(directory: directory, limits: limits, archiveSize: size, cancellation: cancellation)
        do {
            switch format {
            case .tar:
                var reader = TarReader(source: FileRange(fd: fd, offset: 0, remaining: size), output: output)
                try reader.run()
            case .tarGzip:
                var reader = TarReader(source: try GzipSource(fd: fd, size: size, limits: limits), output: output)
                try reader.run()
            case .zip:
                try ZipReader(fd: fd, size: size, output: output).run()
            }
        } catch {
            output.removeAll()
            throw error
        }
        return ArchiveSummary(format: format, entries: output.entries, bytes: output.bytes, skippedLinks: output.skippedLinks)
    }
}
