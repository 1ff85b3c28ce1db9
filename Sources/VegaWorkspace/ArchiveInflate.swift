import CZlibInflate
import Glibc

// Vega inflates with zlib directly rather than through ZIPFoundation: on Linux its inflate
// loop reads fixed-size chunks past an entry's end and spins forever once a corrupt
// stream reaches the end of the file (its reader then returns empty chunks), which a
// hostile upload must not be able to do to a worker. Here every read is bounded by the
// entry's compressed size, and every inflated byte is counted before it is kept.

/// Something the tar reader pulls bytes from: the archive file, or a gzip stream over it.
protocol ArchiveByteSource {
    /// Fills part of `buffer`; 0 only at the end.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// One byte range of an open file, read by offset (so a zip's entries can be read in any order).
struct FileRange: ArchiveByteSource {
    let fd: Int32
    var offset: Int64
    var remaining: Int64

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = Int(min(Int64(buffer.count), remaining))
        guard wanted > 0 else { return 0 }
        while true {
            let count = pread(fd, buffer.baseAddress, wanted, off_t(offset))
            if count >= 0 {
                offset += Int64(count)
                remaining -= Int64(count)
                return count
            }
            if errno != EINTR { throw ArchiveError(.io, "cannot read the archive: \(Posix.errorMessage())") }
        }
    }
}

/// A zlib inflate stream: raw deflate (zip) or gzip.
final class Inflater {
    // zlib keeps a pointer back to its z_stream, so the struct must not move: it lives on the heap.
    private let stream: UnsafeMutablePointer<z_stream>

    init(gzip: Bool) throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 15 is the largest window; +16 asks zlib to read and check a gzip header and trailer.
        let status = inflateInit2_(stream, gzip ? 15 + 16 : -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            throw ArchiveError(.io, "cannot start zlib (status \(status))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// zlib's complaint about corrupt data; the caller says where it was.
    struct Failure: Error {
        let detail: String
    }

    /// Inflates what it can of `input` into `output`. Both counts 0 (and not ended) means
    /// zlib needs more input.
    func inflate(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws -> (consumed: Int, produced: Int, ended: Bool) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let status = CZlibInflate.inflate(stream, Z_NO_FLUSH)
        let consumed = input.count - Int(stream.pointee.avail_in)
        let produced = output.count - Int(stream.pointee.avail_out)
        switch status {
        case Z_OK, Z_BUF_ERROR: return (consumed, produced, false)
        case Z_STREAM_END: return (consumed, produced, true)
        default:
            let detail = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
            throw Failure(detail: detail)
        }
    }

    /// Starts over for the next member of a concatenated gzip file.
    func reset() { inflateReset(stream) }

    static func crc(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(crc32(uLong(crc), bytes.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(bytes.count)))
    }
}

/// The tar stream inside a .tar.gz. The whole archive's ratio is judged here, on every
/// byte inflated (tar headers and padding too), against the file's real size.
struct GzipSource: ArchiveByteSource {
    private var file: FileRange
    private let inflater: Inflater
    private let limits: ArchiveLimits
    private let compressedSize: Int64
    private var input = [UInt8](repeating: 0, count: 64 * 1024)
    private var start = 0
    private var end = 0
    private var finished = false
    private var inflated: Int64 = 0

    init(fd: Int32, size: Int64, limits: ArchiveLimits) throws {
        file = FileRange(fd: fd, offset: 0, remaining: size)
        inflater = try Inflater(gzip: true)
        self.limits = limits
        compressedSize = size
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while !finished {
            if start == end, try !refill() { throw ArchiveError(.corrupt, "the gzip stream is truncated") }
            let step: (consumed: Int, produced: Int, ended: Bool)
            do {
                step = try input.withUnsafeBytes { bytes in
                    try inflater.inflate(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), into: buffer)
                }
            } catch let failure as Inflater.Failure {
                throw ArchiveError(.corrupt, "the gzip stream is corrupt (\(failure.detail))")
            }
            start += step.consumed
            if step.ended {
                // gzip allows members to be concatenated; anything else after one is ignored, as `gzip -d` does.
                if try memberFollows() { inflater.reset() } else { finished = true }
            }
            if step.produced > 0 {
                inflated += Int64(step.produced)
                if limits.ratioExceeded(inflated: inflated, compressed: compressedSize) {
                    throw ArchiveError(.compressionRatio, "it inflates to more than \(limits.maxRatio) times its compressed size (a zip bomb?)")
                }
                return step.produced
            }
            if !step.ended && step.consumed == 0 && start < end {
                throw ArchiveError(.corrupt, "the gzip stream is corrupt")
            }
        }
        return 0
    }

    private mutating func refill() throws -> Bool {
        start = 0
        end = try input.withUnsafeMutableBytes { try file.read(into: $0) }
        return end > 0
    }

    private mutating func memberFollows() throws -> Bool {
        if start == end, try !refill() { return false }
        return input[start] == 0x1F
    }
}
