import Foundation
import Glibc
import Testing
import VegaModel
@testable import VegaWorkspace

@Suite struct FileReaderTests {
    private func read(_ path: String, maxSize: Int = 1 << 20) -> FileReadResult {
        FileReader.read(SourceFile(path: "x", absolutePath: path, size: 0), maxSize: maxSize)
    }

    @Test func readsText() throws {
        let dir = try TempDirectory()
        let path = try dir.write("a.txt", "hello\nworld\n")
        guard case .text(let bytes) = read(path) else { Issue.record("not text"); return }
        #expect(bytes == Array("hello\nworld\n".utf8))
    }

    @Test func readsEmptyAndLargeFiles() throws {
        let dir = try TempDirectory()
        guard case .text(let empty) = read(try dir.write("empty", "")) else { Issue.record("not text"); return }
        #expect(empty.isEmpty)
        let big = String(repeating: "0123456789abcdef", count: 100_000)
        guard case .text(let bytes) = read(try dir.write("big", big), maxSize: 10 << 20) else { Issue.record("not text"); return }
        #expect(bytes.count == big.utf8.count)
        #expect(bytes.last == UInt8(ascii: "f"))
    }

    @Test func nulInTheFirst8KiBMeansBinary() throws {
        let dir = try TempDirectory()
        let early = try dir.write("early", bytes: Array("abc".utf8) + [0] + Array(repeating: 0x61, count: 100))
        guard case .skipped(.binary) = read(early) else { Issue.record("not binary"); return }
        let late = try dir.write("late", bytes: Array(repeating: 0x61, count: 8192) + [0])
        guard case .text = read(late) else { Issue.record("NUL after 8 KiB should still be text"); return }
    }

    @Test func tooLarge() throws {
        let dir = try TempDirectory()
        let path = try dir.write("a.txt", String(repeating: "a", count: 101))
        guard case .skipped(.tooLarge) = read(path, maxSize: 100) else { Issue.record("not tooLarge"); return }
        guard case .text = read(path, maxSize: 101) else { Issue.record("at the limit should be read"); return }
    }

    @Test func unreadableThings() throws {
        let dir = try TempDirectory()
        guard case .skipped(.unreadable) = read(dir.url("missing")) else { Issue.record("missing file"); return }
        try dir.mkdir("d")
        guard case .skipped(.unreadable) = read(dir.url("d")) else { Issue.record("directory"); return }
        #expect(mkfifo(dir.url("fifo"), 0o644) == 0)
        // Must return at once rather than wait for a writer.
        guard case .skipped(.unreadable) = read(dir.url("fifo")) else { Issue.record("fifo"); return }
    }
}
