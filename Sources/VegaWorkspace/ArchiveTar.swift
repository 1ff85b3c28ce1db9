/// Reads a tar stream (ustar, pax extended headers, GNU long names) entry by entry into
/// an `ArchiveOutput`. No tar package is in the local package mirror, and the format is
/// small: 512-byte headers, each followed by its body padded to 512 bytes.
struct TarReader<Source: ArchiveByteSource> {
    var source: Source
    let output: ArchiveOutput
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    private var index = 0

    /// The largest pax header or GNU long name accepted; real ones are a few hundred bytes.
    static var maxMetadata: Int64 { 1 << 20 }

    init(source: Source, output: ArchiveOutput) {
        self.source = source
        self.output = output
    }

    mutating func run() throws {
        // What pax ('x') or GNU ('L', 'K') headers say about the next entry.
        var path: [UInt8]?
        var linkPath: [UInt8]?
        var paxSize: Int64?
        while true {
            index += 1
            var header = [UInt8](repeating: 0, count: 512)
            let got = try readFully(&header)
            // Some writers leave out the end-of-archive blocks; a clean end between entries is accepted.
            if got == 0 { return }
            guard got == 512 else { throw truncated }
            if header.allSatisfy({ $0 == 0 }) { return }
            try verifyChecksum(header)
            let type = header[156]
            var size = try Self.number(header[124..<136], field: "size", entry: index)

            switch type {
            case UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K"):
                let body = try metadata(size)
                switch type {
                case UInt8(ascii: "x"):
                    let records = try Self.paxRecords(body, entry: index)
                    path = records["path"] ?? path
                    linkPath = records["linkpath"] ?? linkPath
                    if let value = records["size"] {
                        guard let parsed = Int64(String(decoding: value, as: UTF8.self)), parsed >= 0 else {
                            throw ArchiveError(.corrupt, "the pax header before entry \(index) has an invalid size")
                        }
                        paxSize = parsed
                    }
                case UInt8(ascii: "L"): path = Self.cString(body[...])
                case UInt8(ascii: "K"): linkPath = Self.cString(body[...])
                default: break // a global pax header: nothing in it matters here
                }
                continue
            default: break
            }

            let name = path ?? Self.ustarName(header)
            let link = linkPath ?? Self.cString(header[157..<257])
            size = paxSize ?? size
            (path, linkPath, paxSize) = (nil, nil, nil)

            switch type {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
                if name.last == UInt8(ascii: "/") {
                    // Pre-POSIX writers mark directories by the trailing slash alone.
                    try output.directory(name)
                    try skip(size)
                } else {
                    try output.file(name, declaredSize: size) { write in try copy(size, to: write) }
                }
            case UInt8(ascii: "5"):
                try output.directory(name)
                try skip(size)
            case UInt8(ascii: "1"):
                try output.hardlink(name, target: link)
                try skip(size)
            case UInt8(ascii: "2"):
                try output.symlink(name, target: link)
                try skip(size)
            case UInt8(ascii: "3"): try output.special(name, kind: "character device")
            case UInt8(ascii: "4"): try output.special(name, kind: "block device")
            case UInt8(ascii: "6"): try output.special(name, kind: "FIFO")
            case UInt8(ascii: "V"): try skip(size) // a GNU volume label, not a file
            default:
                let shown = type >= 0x21 && type < 0x7F ? "'\(Character(Unicode.Scalar(type)))'" : "\(type)"
                throw ArchiveError(.unsupported, entry: name, "tar entry type \(shown) is not supported")
            }
            try skip(Self.padding(size))
        }
    }

    private var truncated: ArchiveError { ArchiveError(.corrupt, "the archive is truncated (in entry \(index))") }

    private static func padding(_ size: Int64) -> Int64 { (512 - size % 512) % 512 }

    /// Reads until `buffer` is full or the stream ends; returns the count read.
    private mutating func readFully(_ buffer: inout [UInt8]) throws -> Int {
        var count = 0
        while count < buffer.count {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[count...])) }
            if n == 0 { break }
            count += n
        }
        return count
    }

    /// Passes the next `size` bytes to `write` in chunks.
    private mutating func copy(_ size: Int64, to write: (UnsafeRawBufferPointer) throws -> Void) throws {
        var remaining = size
        while remaining > 0 {
            try output.checkCancelled()
            let wanted = Int(min(Int64(chunk.count), remaining))
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<wanted])) }
            guard n > 0 else { throw truncated }
            try chunk.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            remaining -= Int64(n)
        }
    }

    private mutating func skip(_ size: Int64) throws {
        try copy(size) { _ in }
    }

    /// A pax header's or long name's body, bounded so no header can fill memory.
    private mutating func metadata(_ size: Int64) throws -> [UInt8] {
        guard size <= Self.maxMetadata else {
            throw ArchiveError(.unsupported, "the extended header of entry \(index) is larger than \(Self.maxMetadata) bytes")
        }
        var body = [UInt8](repeating: 0, count: Int(size))
        guard try readFully(&body) == body.count else { throw truncated }
        try skip(Self.padding(size))
        return body
    }

    private func verifyChecksum(_ header: [UInt8]) throws {
        let stored = try Self.number(header[148..<156], field: "checksum", entry: index)
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for (offset, byte) in header.enumerated() {
            let value = (148..<156).contains(offset) ? 0x20 : byte
            unsigned += Int64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        // Some old writers summed signed bytes.
        guard stored == unsigned || stored == signed else {
            throw ArchiveError(.corrupt, index == 1
                ? "it is not a tar archive, or its first header is corrupt (checksum mismatch)"
                : "the header of entry \(index) is corrupt (checksum mismatch)")
        }
    }

    /// A numeric field: octal digits padded with spaces or NULs, or GNU's base-256 (high bit set).
    static func number(_ field: ArraySlice<UInt8>, field name: String, entry: Int) throws -> Int64 {
        let invalid = ArchiveError(.corrupt, "the \(name) field of entry \(entry) is invalid")
        if let first = field.first, first & 0x80 != 0 {
            guard first == 0x80 else { throw invalid } // negative, or too large for any limit
            var value: Int64 = 0
            for byte in field.dropFirst() {
                guard value < Int64.max >> 8 else { throw invalid }
                value = value << 8 | Int64(byte)
            }
            return value
        }
        var value: Int64 = 0
        var digits = false
        for byte in field {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard value < Int64.max >> 3 else { throw invalid }
                value = value << 3 | Int64(byte - UInt8(ascii: "0"))
                digits = true
            case UInt8(ascii: " "), 0:
                if digits { return value }
            default: throw invalid
            }
        }
        return value
    }

    /// "LENGTH key=value\n" records.
    static func paxRecords(_ body: [UInt8], entry: Int) throws -> [String: [UInt8]] {
        let invalid = ArchiveError(.corrupt, "the pax header before entry \(entry) is malformed")
        var records: [String: [UInt8]] = [:]
        var start = 0
        while start < body.count {
            guard let space = body[start...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: body[start..<space], as: UTF8.self)),
                  length > space - start, start + length <= body.count, body[start + length - 1] == UInt8(ascii: "\n"),
                  let equals = body[(space + 1)..<(start + length)].firstIndex(of: UInt8(ascii: "="))
            else { throw invalid }
            records[String(decoding: body[(space + 1)..<equals], as: UTF8.self)] = Array(body[(equals + 1)..<(start + length - 1)])
            start += length
        }
        return records
    }

    /// A ustar name: `prefix/name` when the POSIX prefix field is used.
    static func ustarName(_ header: [UInt8]) -> [UInt8] {
        let name = cString(header[0..<100])
        // GNU headers ("ustar  \0") keep other data where POSIX has the prefix.
        guard Array(header[257..<263]) == Array("ustar\0".utf8) else { return name }
        let prefix = cString(header[345..<500])
        return prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name
    }

    /// The bytes before the first NUL.
    static func cString(_ field: ArraySlice<UInt8>) -> [UInt8] {
        Array(field.prefix { $0 != 0 })
    }
}
