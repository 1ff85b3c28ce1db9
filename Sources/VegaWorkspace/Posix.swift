import Glibc

/// A file's identity on disk, used to visit each directory and scan each file once
/// however many symlinks lead to it.
struct FileID: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}

enum Posix {
    static func errorMessage(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }

    static func isDirectory(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFDIR }
    static func isRegular(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFREG }
    static func isSymlink(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFLNK }

    /// Calls `body` with `bytes` as a NUL-terminated C string (paths are kept as bytes
    /// because file names need not be UTF-8).
    static func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        var terminated = bytes
        terminated.append(0)
        return try terminated.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func realPath(_ bytes: [UInt8]) -> [UInt8]? {
        withCString(bytes) { path in
            guard let resolved = realpath(path, nil) else { return nil }
            defer { free(resolved) }
            return Array(UnsafeBufferPointer(start: resolved, count: strlen(resolved))).map { UInt8(bitPattern: $0) }
        }
    }

    /// Reads from `fd` until end of file, giving up once more than `limit` bytes arrive
    /// so a file that grew after it was measured is never held in full.
    static func readToEnd(_ fd: Int32, expectedSize: Int, limit: Int) -> ReadOutcome {
        var failed = false
        // One byte of headroom shows whether the file grew past its measured size.
        let firstCapacity = min(max(expectedSize, 0), limit) + 1
        var bytes = [UInt8](unsafeUninitializedCapacity: firstCapacity) { buffer, count in
            count = fill(fd, UnsafeMutableRawBufferPointer(buffer), failed: &failed)
        }
        var atEnd = bytes.count < firstCapacity
        var chunk = [UInt8](repeating: 0, count: atEnd ? 0 : 65536)
        while !atEnd && !failed && bytes.count <= limit {
            let n = chunk.withUnsafeMutableBytes { fill(fd, $0, failed: &failed) }
            bytes.append(contentsOf: chunk[..<n])
            atEnd = n < chunk.count
        }
        if failed { return .failed }
        return bytes.count > limit ? .tooLarge : .bytes(bytes)
    }

    /// Reads until `buffer` is full or end of file; returns the byte count.
    private static func fill(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, failed: inout Bool) -> Int {
        var offset = 0
        while offset < buffer.count {
            let n = read(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n > 0 {
                offset += n
            } else if n == 0 {
                break
            } else if errno != EINTR {
                failed = true
                break
            }
        }
        return offset
    }

    enum ReadOutcome {
        case bytes([UInt8])
        case tooLarge
        case failed
    }
}

/// Who this process reads files as. Readability is judged from the mode bits the walk
/// has fetched anyway, sparing an access(2) call per file; ACLs are not consulted, and
/// FileReader still reports any file that then fails to open.
struct ReaderIdentity: Sendable {
    private let uid: uid_t
    private let groups: Set<gid_t>

    init() {
        uid = geteuid()
        var supplementary = [gid_t](repeating: 0, count: Int(max(getgroups(0, nil), 0)))
        let count = getgroups(Int32(supplementary.count), &supplementary)
        groups = Set(supplementary.prefix(Int(max(count, 0)))).union([getegid()])
    }

    func mayRead(_ info: stat) -> Bool {
        if uid == 0 { return true }
        if info.st_uid == uid { return info.st_mode & S_IRUSR != 0 }
        if groups.contains(info.st_gid) { return info.st_mode & S_IRGRP != 0 }
        return info.st_mode & S_IROTH != 0
    }
}
