import Glibc

/// Reads a zip's central directory and extracts each entry into an `ArchiveOutput`,
/// inflating with zlib from exactly the entry's compressed bytes (see ArchiveInflate.swift
/// for why not ZIPFoundation) and checking each entry's size and CRC-32.
struct ZipReader {
    let fd: Int32
    let size: Int64
    let output: ArchiveOutput

    /// Far above what `maxFiles` entries need; refused beyond so no directory fills memory.
    private static let maxCentralDirectory: Int64 = 64 << 20

    private struct Entry {
        var name: [UInt8]
        var madeBy: UInt16
        var flags: UInt16
        var method: UInt16
        var crc: UInt32
        var compressedSize: Int64
        var size: Int64
        var externalAttributes: UInt32
        var localHeader: Int64
    }

    func run() throws {
        let (count, offset, length) = try centralDirectory()
        guard count <= Int64(output.limits.maxFiles) else {
            throw ArchiveError(.tooManyFiles, "the archive has more than \(output.limits.maxFiles) entries")
        }
        guard length <= Self.maxCentralDirectory else {
            throw ArchiveError(.unsupported, "its central directory is larger than \(Self.maxCentralDirectory) bytes")
        }
        let directory = try read(at: offset, count: Int(length))
        var position = 0
        for _ in 0..<count {
            let (entry, next) = try Self.parseEntry(directory, at: position)
            position = next
            try extract(entry)
        }
    }

    /// The entry count, offset and length of the central directory, from the end record
    /// (or its ZIP64 version when a field overflows).
    private func centralDirectory() throws -> (count: Int64, offset: Int64, length: Int64) {
        let notZip = ArchiveError(.corrupt, "it is not a zip archive, or it is truncated (no end of central directory)")
        let tailLength = Int(min(size, 22 + 0xFFFF))
        let tail = try read(at: size - Int64(tailLength), count: tailLength)
        guard tailLength >= 22,
              let end = stride(from: tailLength - 22, through: 0, by: -1).first(where: { tail.hasSignature(0x0605_4B50, at: $0) })
        else { throw notZip }
        guard try tail.u16(end + 4) == 0, try tail.u16(end + 6) == 0 else {
            throw ArchiveError(.unsupported, "multi-part zip archives are not supported")
        }
        var count = Int64(try tail.u16(end + 10))
        var length = Int64(try tail.u32(end + 12))
        var offset = Int64(try tail.u32(end + 16))
        if count == 0xFFFF || length == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
            guard end >= 20, tail.hasSignature(0x0706_4B50, at: end - 20) else { throw notZip }
            let recordOffset = try tail.u64(end - 20 + 8)
            guard recordOffset >= 0, recordOffset <= size - 56 else { throw notZip }
            let record = try read(at: recordOffset, count: 56)
            guard record.hasSignature(0x0606_4B50, at: 0) else { throw notZip }
            count = try record.u64(32)
            length = try record.u64(40)
            offset = try record.u64(48)
        }
        guard count >= 0, offset >= 0, length >= 0, offset <= size, length <= size - offset else { throw notZip }
        return (count, offset, length)
    }

    private static func parseEntry(_ directory: [UInt8], at start: Int) throws -> (Entry, Int) {
        guard directory.hasSignature(0x0201_4B50, at: start) else {
            throw ArchiveError(.corrupt, "its central directory is corrupt")
        }
        let nameLength = Int(try directory.u16(start + 28))
        let extraLength = Int(try directory.u16(start + 30))
        let commentLength = Int(try directory.u16(start + 32))
        let nameStart = start + 46
        guard nameStart + nameLength + extraLength + commentLength <= directory.count else {
            throw ArchiveError(.corrupt, "its central directory is corrupt")
        }
        var entry = Entry(
            name: Array(directory[nameStart..<(nameStart + nameLength)]),
            madeBy: try directory.u16(start + 4), flags: try directory.u16(start + 8), method: try directory.u16(start + 10),
            crc: try directory.u32(start + 16), compressedSize: Int64(try directory.u32(start + 20)),
            size: Int64(try directory.u32(start + 24)), externalAttributes: try directory.u32(start + 38),
            localHeader: Int64(try directory.u32(start + 42))
        )
        // ZIP64: the fields that overflowed are in extra field 1, in this order.
        var extra = nameStart + nameLength
        let extraEnd = extra + extraLength
        while extra + 4 <= extraEnd {
            let id = try directory.u16(extra)
            let length = Int(try directory.u16(extra + 2))
            if id == 1 {
                var field = extra + 4
                for key in [\Entry.size, \Entry.compressedSize, \Entry.localHeader] where entry[keyPath: key] == 0xFFFF_FFFF {
                    guard field + 8 <= extra + 4 + length else { break }
                    entry[keyPath: key] = try directory.u64(field)
                    field += 8
                }
            }
            extra += 4 + length
        }
        return (entry, extraEnd + commentLength)
    }

    private func extract(_ entry: Entry) throws {
        let name = entry.name
        // The host system's file type is in the top of the external attributes for Unix (3) and macOS (19).
        let host = entry.madeBy >> 8
        let mode = (host == 3 || host == 19) ? mode_t(entry.externalAttributes >> 16) & S_IFMT : 0
        let dosDirectory = host == 0 && entry.externalAttributes & 0x10 != 0
        if name.last == UInt8(ascii: "/") || mode == S_IFDIR || dosDirectory {
            try output.directory(name)
            return
        }
        switch mode {
        case S_IFLNK:
            var target: [UInt8] = []
            // PATH_MAX: a longer target is no link a system could follow.
            try inflate(entry, limit: 4096) { target += $0 }
            try output.symlink(name, target: target)
        case S_IFCHR: try output.special(name, kind: "character device")
        case S_IFBLK: try output.special(name, kind: "block device")
        case S_IFIFO: try output.special(name, kind: "FIFO")
        case S_IFSOCK: try output.special(name, kind: "socket")
        default:
            try output.file(name) { write in try inflate(entry, limit: nil, into: write) }
        }
    }

    /// Inflates (or copies) `entry`'s data into `consume`, counting every byte, checking
    /// the ratios as it goes and the size and CRC-32 at the end.
    private func inflate(_ entry: Entry, limit: Int?, into consume: (UnsafeRawBufferPointer) throws -> Void) throws {
        let name = entry.name
        guard entry.flags & 1 == 0 else { throw ArchiveError(.unsupported, entry: name, "it is encrypted") }
        guard entry.method == 0 || entry.method == 8 else {
            throw ArchiveError(.unsupported, entry: name, "compression method \(entry.method) is not supported (only stored and deflate)")
        }
        let corrupt = { (reason: String) in ArchiveError(.corrupt, entry: name, reason) }
        guard entry.localHeader >= 0, entry.localHeader <= size - 30 else { throw corrupt("its local header is outside the archive") }
        let local = try read(at: entry.localHeader, count: 30)
        guard local.hasSignature(0x0403_4B50, at: 0) else { throw corrupt("its local header is corrupt") }
        let dataStart = entry.localHeader + 30 + Int64(try local.u16(26)) + Int64(try local.u16(28))
        guard entry.compressedSize >= 0, dataStart <= size, entry.compressedSize <= size - dataStart else {
            throw corrupt("its data runs past the end of the archive")
        }

        var file = FileRange(fd: fd, offset: dataStart, remaining: entry.compressedSize)
        let inflater = entry.method == 8 ? try Inflater(gzip: false) : nil
        var input = [UInt8](repeating: 0, count: 64 * 1024)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var produced: Int64 = 0
        var crc: UInt32 = 0
        var ended = false
        func deliver(_ bytes: UnsafeRawBufferPointer) throws {
            guard !bytes.isEmpty else { return }
            produced += Int64(bytes.count)
            if let limit, produced > limit { throw corrupt("its link target is longer than \(limit) bytes") }
            if output.limits.ratioExceeded(inflated: produced, compressed: entry.compressedSize) {
                throw ArchiveError(.compressionRatio, entry: name, "it inflates to more than \(output.limits.maxRatio) times its compressed size (a zip bomb?)")
            }
            try output.countInflated(bytes.count, entry: name)
            crc = Inflater.crc(crc, bytes)
            try consume(bytes)
        }

        while !ended {
            try output.checkCancelled()
            let count = try input.withUnsafeMutableBytes { try file.read(into: $0) }
            guard let inflater else {
                if count == 0 { break }
                try input.withUnsafeBytes { try deliver(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                continue
            }
            guard count > 0 else { throw corrupt("its compressed data ends early") }
            var start = 0
            // Inflate until zlib wants more input; output may still be pending after the input is consumed.
            while !ended {
                let step: (consumed: Int, produced: Int, ended: Bool)
                do {
                    step = try input.withUnsafeBytes { bytes in
                        try buffer.withUnsafeMutableBytes { out in
                            try inflater.inflate(UnsafeRawBufferPointer(rebasing: bytes[start..<count]), into: out)
                        }
                    }
                } catch let failure as Inflater.Failure {
                    throw corrupt("its compressed data is corrupt (\(failure.detail))")
                }
                start += step.consumed
                try buffer.withUnsafeBytes { try deliver(UnsafeRawBufferPointer(rebasing: $0[..<step.produced])) }
                ended = step.ended
                if step.consumed == 0 && step.produced == 0 { break }
                try output.checkCancelled()
            }
        }
        guard produced == entry.size else { throw corrupt("it inflates to \(produced) bytes, not the \(entry.size) its header declares") }
        guard crc == entry.crc else { throw corrupt("its CRC-32 does not match its data") }
    }

    private func read(at offset: Int64, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var range = FileRange(fd: fd, offset: offset, remaining: Int64(count))
        var done = 0
        while done < count {
            let n = try bytes.withUnsafeMutableBytes { try range.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[done...])) }
            guard n > 0 else { throw ArchiveError(.corrupt, "the archive is truncated") }
            done += n
        }
        return bytes
    }
}

/// Little-endian fields, bounds-checked: a hostile directory must not read past its end.
private extension [UInt8] {
    func u16(_ at: Int) throws -> UInt16 {
        guard at >= 0, at + 2 <= count else { throw ArchiveError(.corrupt, "a zip header is cut short") }
        return UInt16(self[at]) | UInt16(self[at + 1]) << 8
    }

    func u32(_ at: Int) throws -> UInt32 {
        UInt32(try u16(at)) | UInt32(try u16(at + 2)) << 16
    }

    /// Read as signed: a value above Int64.max is corrupt wherever it is used, and callers check for negatives.
    func u64(_ at: Int) throws -> Int64 {
        Int64(bitPattern: UInt64(try u32(at)) | UInt64(try u32(at + 4)) << 32)
    }

    func hasSignature(_ signature: UInt32, at offset: Int) -> Bool {
        (try? u32(offset)) == signature
    }
}
