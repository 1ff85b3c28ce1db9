import Glibc
import VegaModel

public enum FileReadResult: Sendable {
    case text([UInt8])
    case skipped(SkipReason)
}

public enum FileReader {
    /// How much of a file is searched for a NUL byte to call it binary (git looks at the
    /// same amount).
    static let binaryProbeLength = 8192

    /// Reads a whole file. Larger than `maxSize` → `tooLarge` (checked before reading and
    /// again while reading, in case it grew); a NUL byte in the first 8 KiB → `binary`;
    /// anything that is not a readable regular file → `unreadable`.
    public static func read(_ file: SourceFile, maxSize: Int) -> FileReadResult {
        // O_NONBLOCK keeps a FIFO swapped in after the walk from blocking the open.
        let fd = open(file.absolutePath, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .skipped(.unreadable) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, Posix.isRegular(info) else { return .skipped(.unreadable) }
        if Int(info.st_size) > maxSize { return .skipped(.tooLarge) }
        switch Posix.readToEnd(fd, expectedSize: Int(info.st_size), limit: maxSize) {
        case .failed:
            return .skipped(.unreadable)
        case .tooLarge:
            return .skipped(.tooLarge)
        case .bytes(let bytes):
            let probe = min(bytes.count, binaryProbeLength)
            let hasNul = probe > 0 && bytes.withUnsafeBytes { memchr($0.baseAddress!, 0, probe) != nil }
            return hasNul ? .skipped(.binary) : .text(bytes)
        }
    }
}
