import Foundation
import Testing
import VegaTestSupport
@testable import VegaWorkspace
import ZIPFoundation

// ZIPFoundation has an ArchiveError of its own.
typealias Refusal = VegaWorkspace.ArchiveError

/// A tar written by hand, so tests can put in it what no honest tool would.
struct TarBuilder {
    private(set) var bytes: [UInt8] = []

    mutating func file(_ name: String, _ contents: String) {
        entry(Array(name.utf8), type: "0", body: Array(contents.utf8))
    }

    mutating func entry(_ name: [UInt8], type: Character, body: [UInt8] = [], link: String = "", prefix: String = "") {
        bytes += Self.header(name, type: type, size: body.count, link: link, prefix: prefix)
        bytes += body + [UInt8](repeating: 0, count: (512 - body.count % 512) % 512)
    }

    /// A pax extended header giving the next entry's path.
    mutating func paxPath(_ path: [UInt8]) {
        var record = Array(" path=".utf8) + path + [0x0A]
        var length = record.count + 1
        while String(length).utf8.count + record.count != length { length += 1 }
        record = Array(String(length).utf8) + record
        entry(Array("PaxHeaders/x".utf8), type: "x", body: record)
    }

    /// The archive with its two end-of-archive blocks.
    var archive: [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }

    static func header(_ name: [UInt8], type: Character, size: Int, link: String = "", prefix: String = "") -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ value: [UInt8], at offset: Int) { header.replaceSubrange(offset..<(offset + value.count), with: value) }
        put(Array(name.prefix(100)), at: 0)
        put(Array("0000644\0".utf8), at: 100)
        put(Array(String(format: "%011o\0", size).utf8), at: 124)
        put(Array("00000000000\0".utf8), at: 136)
        header[156] = type.asciiValue!
        put(Array(link.utf8), at: 157)
        put(Array("ustar\0".utf8) + Array("00".utf8), at: 257)
        put(Array(prefix.utf8), at: 345)
        put([UInt8](repeating: 0x20, count: 8), at: 148)
        let sum = header.reduce(0) { $0 + Int($1) }
        put(Array(String(format: "%06o\0 ", sum).utf8), at: 148)
        return header
    }
}

@Suite struct ArchiveTests {
    // MARK: Helpers

    private func write(_ bytes: [UInt8], in dir: TempDirectory, _ name: String = "archive.tar") throws -> String {
        try dir.write(name, bytes: bytes)
    }

    /// Every file below `root` (relative path → contents); directories end in "/".
    private func tree(_ root: String) throws -> [String: String] {
        var found: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                found[relative + "/"] = ""
            } else {
                found[relative] = try String(contentsOfFile: root + "/" + relative, encoding: .utf8)
            }
        }
        return found
    }

    /// Extracts `archive`, expecting a refusal under `rule` whose message names `entry`,
    /// and that nothing is left in the output directory.
    private func expectRefusal(
        _ archive: String, _ rule: Refusal.Rule, entry: String?, containing text: String,
        limits: ArchiveLimits = ArchiveLimits(), sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let out = try TempDirectory()
        let error = #expect(throws: Refusal.self, sourceLocation: sourceLocation) {
            try ArchiveExtractor(limits: limits).extract(archive, into: out.path)
        }
        #expect(error?.rule == rule, "\(error?.description ?? "")", sourceLocation: sourceLocation)
        #expect(error?.entry == entry, sourceLocation: sourceLocation)
        #expect(error?.description.contains(text) == true, "\(error?.description ?? "")", sourceLocation: sourceLocation)
        if let entry { #expect(error?.description.contains("'\(entry)'") == true, sourceLocation: sourceLocation) }
        #expect(try out.contents().isEmpty, "partial output is removed", sourceLocation: sourceLocation)
    }

    private func zip(_ path: String, _ build: (ZIPFoundation.Archive) throws -> Void) throws {
        let archive = try ZIPFoundation.Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        try build(archive)
    }

    private func addFile(_ archive: ZIPFoundation.Archive, _ name: String, _ contents: String, method: CompressionMethod = .deflate) throws {
        let data = Data(contents.utf8)
        try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: method) { position, size in
            data.subdata(in: Int(position)..<(Int(position) + size))
        }
    }

    private func addSymlink(_ archive: ZIPFoundation.Archive, _ name: String, to target: String) throws {
        let data = Data(target.utf8)
        try archive.addEntry(with: name, type: .symlink, uncompressedSize: Int64(data.count)) { _, _ in data }
    }

    // MARK: Honest archives

    @Test func tarGzFromTarExtractsExactly() throws {
        let source = try TempDirectory()
        try source.write("README.md", "# app\n")
        try source.write("src/main.swift", "print(1)\n")
        try source.write("src/deep/er/x.txt", "x\n")
        try source.mkdir("empty")
        try source.symlink("link-to-src", to: "src")
        let dir = try TempDirectory()
        let archive = dir.url("app.tgz")
        try run("/usr/bin/env", ["tar", "-czf", archive, "-C", source.path, "."])

        let out = try TempDirectory()
        let summary = try ArchiveExtractor().extract(archive, into: out.path)
        #expect(summary.format == .tarGzip)
        #expect(try tree(out.path) == [
            "README.md": "# app\n", "src/": "", "src/main.swift": "print(1)\n", "src/deep/": "", "src/deep/er/": "",
            "src/deep/er/x.txt": "x\n", "empty/": "",
        ])
        #expect(summary.skippedLinks == ["link-to-src"], "links inside the archive are checked but not created")
        #expect(summary.bytes == 17)
    }

    @Test func zipExtractsExactly() throws {
        let dir = try TempDirectory()
        let archive = dir.url("app.bin") // the format is told by content, not by name
        try zip(archive) { zip in
            try addFile(zip, "README.md", "# app\n", method: .none)
            try addFile(zip, "src/main.swift", String(repeating: "print(1)\n", count: 1000))
            try zip.addEntry(with: "empty/", type: .directory, uncompressedSize: Int64(0)) { _, _ in Data() }
            try addSymlink(zip, "src/alias", to: "main.swift")
        }
        let out = try TempDirectory()
        let summary = try ArchiveExtractor().extract(archive, into: out.path)
        #expect(summary.format == .zip)
        #expect(summary.entries == 4)
        #expect(summary.skippedLinks == ["src/alias"])
        #expect(try tree(out.path) == [
            "README.md": "# app\n", "src/": "", "src/main.swift": String(repeating: "print(1)\n", count: 1000), "empty/": "",
        ])
    }

    @Test func tarLongNamesFromUstarPrefixPaxAndGNU() throws {
        let long = String(repeating: "d", count: 120) + "/" + String(repeating: "f", count: 120) + ".txt"
        var tar = TarBuilder()
        tar.entry(Array("file.txt".utf8), type: "0", body: Array("prefixed\n".utf8), prefix: "some/prefix")
        tar.paxPath(Array(long.utf8))
        tar.entry(Array("ignored-short-name".utf8), type: "0", body: Array("pax\n".utf8))
        tar.entry(Array("././@LongLink".utf8), type: "L", body: Array("gnu/".utf8) + Array(long.utf8) + [0])
        tar.entry(Array("truncated".utf8), type: "0", body: Array("gnu\n".utf8))
        let dir = try TempDirectory()
        let out = try TempDirectory()
        let summary = try ArchiveExtractor().extract(try write(tar.archive, in: dir), into: out.path)
        #expect(summary.format == .tar)
        let files = try tree(out.path).filter { !$0.key.hasSuffix("/") }
        #expect(files == ["some/prefix/file.txt": "prefixed\n", long: "pax\n", "gnu/" + long: "gnu\n"])
    }

    // MARK: Hostile entries

    @Test(arguments: [
        ("../evil", Refusal.Rule.parentComponent, "contains '..'"),
        ("a/../../evil", .parentComponent, "contains '..'"),
        ("/etc/evil", .absolutePath, "absolute"),
    ])
    func tarEntriesLeavingTheRootAreRefused(name: String, rule: Refusal.Rule, text: String) throws {
        var tar = TarBuilder()
        tar.file("ok.txt", "fine\n") // written first, so the refusal must remove it
        tar.file(name, "owned\n")
        let dir = try TempDirectory()
        try expectRefusal(try write(tar.archive, in: dir), rule, entry: name, containing: text)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/evil"))
    }

    @Test(arguments: [
        ("a", "2", "/etc/passwd", Refusal.Rule.escapingLink, "symbolic link to an absolute path"),
        ("a", "2", "../../x", .escapingLink, "symbolic link that leads outside the archive"),
        ("sub/a", "2", "../..", .escapingLink, "symbolic link that leads outside the archive"),
        ("h", "1", "../x", .escapingLink, "hard link to a path outside the archive"),
        ("h", "1", "/etc/shadow", .escapingLink, "hard link to a path outside the archive"),
        ("dev", "3", "", .specialFile, "character device"),
        ("disk", "4", "", .specialFile, "block device"),
        ("pipe", "6", "", .specialFile, "FIFO"),
    ] as [(String, Character, String, Refusal.Rule, String)])
    func tarLinksThatEscapeAndDevicesAreRefused(name: String, type: Character, link: String, rule: Refusal.Rule, text: String) throws {
        var tar = TarBuilder()
        tar.file("sub/ok.txt", "fine\n")
        tar.entry(Array(name.utf8), type: type, link: link)
        let dir = try TempDirectory()
        try expectRefusal(try write(tar.archive, in: dir), rule, entry: name, containing: text)
    }

    @Test func linksThatStayInsideAreSkipped() throws {
        var tar = TarBuilder()
        tar.file("lib/real.txt", "real\n")
        tar.entry(Array("lib/alias".utf8), type: "2", link: "../lib/./real.txt")
        tar.entry(Array("hard".utf8), type: "1", link: "lib/real.txt")
        let dir = try TempDirectory()
        let out = try TempDirectory()
        let summary = try ArchiveExtractor().extract(try write(tar.archive, in: dir), into: out.path)
        #expect(summary.skippedLinks == ["lib/alias", "hard"])
        #expect(try tree(out.path) == ["lib/": "", "lib/real.txt": "real\n"])
    }

    @Test func namesWithNulOrInvalidUTF8AreRefused() throws {
        let dir = try TempDirectory()
        var nul = TarBuilder()
        nul.paxPath(Array("a\0b".utf8))
        nul.file("ignored", "x")
        try expectRefusal(try write(nul.archive, in: dir, "nul.tar"), .badName, entry: "a\\u{0}b", containing: "NUL")

        var latin1 = TarBuilder()
        latin1.entry([0x63, 0x61, 0x66, 0xE9], type: "0", body: Array("x".utf8))
        try expectRefusal(try write(latin1.archive, in: dir, "latin1.tar"), .badName, entry: "caf\\u{fffd}", containing: "not valid UTF-8")
    }

    @Test func zipEntriesLeavingTheRootAreRefused() throws {
        let cases: [(String, (ZIPFoundation.Archive) throws -> Void, Refusal.Rule, String)] = [
            ("../evil", { try addFile($0, "../evil", "owned") }, .parentComponent, "contains '..'"),
            ("/etc/evil", { try addFile($0, "/etc/evil", "owned") }, .absolutePath, "absolute"),
            ("a", { try addSymlink($0, "a", to: "../../x") }, .escapingLink, "leads outside the archive"),
            ("b", { try addSymlink($0, "b", to: "/etc/passwd") }, .escapingLink, "absolute path"),
        ]
        for (index, (entry, add, rule, text)) in cases.enumerated() {
            let dir = try TempDirectory()
            let archive = dir.url("case\(index).zip")
            try zip(archive) { zip in
                try addFile(zip, "ok.txt", "fine\n")
                try add(zip)
            }
            try expectRefusal(archive, rule, entry: entry, containing: text)
        }
    }

    // MARK: Limits

    @Test func zipBombIsRefusedOnItsRatioWithoutBeingExtracted() throws {
        let dir = try TempDirectory()
        let archive = dir.url("bomb.zip")
        let size = 32 << 20
        // Streamed from a provider: the 32 MiB of zeros are never held in memory.
        try zip(archive) { zip in
            try zip.addEntry(with: "zeros.bin", type: .file, uncompressedSize: Int64(size), compressionMethod: .deflate,
                             bufferSize: 1 << 20) { _, chunk in Data(count: chunk) }
        }
        let compressed = try #require(try FileManager.default.attributesOfItem(atPath: archive)[.size] as? Int)
        #expect(compressed < size / 500)
        try expectRefusal(archive, .compressionRatio, entry: "zeros.bin", containing: "more than 100 times")
    }

    @Test func tarGzBombIsRefusedOnTheWholeArchiveRatio() throws {
        let dir = try TempDirectory()
        let size = 32 << 20
        try dir.write("header", bytes: TarBuilder.header(Array("zeros.bin".utf8), type: "0", size: size))
        let archive = dir.url("bomb.tar.gz")
        try run("/bin/sh", ["-c", "{ cat header; head -c \(size + 1024) /dev/zero; } | gzip -c > bomb.tar.gz"], in: dir.path)
        let out = try TempDirectory()
        let error = #expect(throws: Refusal.self) { try ArchiveExtractor().extract(archive, into: out.path) }
        #expect(error?.rule == .compressionRatio)
        #expect(error?.description == "archive refused: it inflates to more than 100 times its compressed size (a zip bomb?)")
        #expect(try out.contents().isEmpty)
    }

    @Test func tooManyEntriesAndTooManyBytesAreRefused() throws {
        var tar = TarBuilder()
        for index in 1...5 { tar.file("f\(index).txt", String(repeating: "x", count: 600)) }
        let dir = try TempDirectory()
        let path = try write(tar.archive, in: dir)
        try expectRefusal(path, .tooManyFiles, entry: "f4.txt", containing: "more than 3 entries", limits: ArchiveLimits(maxFiles: 3))
        try expectRefusal(path, .tooLarge, entry: "f2.txt", containing: "add up to more than 1000 bytes", limits: ArchiveLimits(maxTotalBytes: 1000))

        let archive = dir.url("many.zip")
        try zip(archive) { zip in for index in 1...5 { try addFile(zip, "f\(index).txt", "x") } }
        try expectRefusal(archive, .tooManyFiles, entry: nil, containing: "more than 3 entries", limits: ArchiveLimits(maxFiles: 3))
    }

    // MARK: Damage

    @Test func truncatedAndCorruptArchivesGiveAClearError() throws {
        let source = try TempDirectory()
        try source.write("a.txt", String(repeating: "some text that compresses\n", count: 4000))
        let dir = try TempDirectory()
        try run("/usr/bin/env", ["tar", "-czf", dir.url("full.tar.gz"), "-C", source.path, "a.txt"])
        let full = try Array(Data(contentsOf: URL(fileURLWithPath: dir.url("full.tar.gz"))))
        let cut = try dir.write("cut.tar.gz", bytes: Array(full.prefix(full.count / 2)))
        try expectRefusal(cut, .corrupt, entry: nil, containing: "gzip stream is truncated")

        var tar = TarBuilder()
        tar.file("a.txt", String(repeating: "x", count: 2000))
        let shortTar = try dir.write("short.tar", bytes: Array(tar.bytes.prefix(1024)))
        try expectRefusal(shortTar, .corrupt, entry: nil, containing: "truncated")
        var badSum = tar.archive
        badSum[0] ^= 1
        try expectRefusal(try dir.write("badsum.tar", bytes: badSum), .corrupt, entry: nil, containing: "checksum")

        let good = dir.url("good.zip")
        try zip(good) { try addFile($0, "a.txt", String(repeating: "some text that compresses\n", count: 4000)) }
        let zipBytes = try Array(Data(contentsOf: URL(fileURLWithPath: good)))
        try expectRefusal(try dir.write("cut.zip", bytes: Array(zipBytes.prefix(zipBytes.count - 30))), .corrupt, entry: nil, containing: "not a zip archive, or it is truncated")
        var flipped = zipBytes
        for offset in 60..<90 { flipped[offset] ^= 0x55 } // inside the deflated data
        try expectRefusal(try dir.write("flipped.zip", bytes: flipped), .corrupt, entry: "a.txt", containing: "a.txt")
    }

    @Test func otherFilesAndBusyDirectoriesAreNotExtracted() throws {
        let dir = try TempDirectory()
        let text = try dir.write("notes.txt", "just text\n")
        #expect(try ArchiveFormat.detect(path: text) == nil)
        #expect(try ArchiveFormat.detect(path: dir.path) == nil)
        let error = #expect(throws: Refusal.self) { try ArchiveExtractor().extract(text, into: dir.path) }
        #expect(error?.rule == .unsupported)

        var tar = TarBuilder()
        tar.file("a.txt", "a")
        let archive = try write(tar.archive, in: dir)
        let busy = #expect(throws: Refusal.self) { try ArchiveExtractor().extract(archive, into: dir.path) }
        #expect(busy?.description.contains("is not an empty directory") == true)
    }

    @Test func cancellationStopsAndCleansUp() throws {
        var tar = TarBuilder()
        tar.file("a.txt", "a")
        let dir = try TempDirectory()
        let out = try TempDirectory()
        let flag = CancellationFlag()
        flag.cancel()
        #expect(throws: CancellationError.self) {
            try ArchiveExtractor().extract(try write(tar.archive, in: dir), into: out.path, cancellation: flag)
        }
        #expect(try out.contents().isEmpty)
    }

    // MARK: As a scan source

    @Test func sourceResolverExtractsAnArchiveAndCleansUp() async throws {
        var tar = TarBuilder()
        tar.file("app/config.py", "KEY = 1\n")
        let dir = try TempDirectory()
        let archive = try write(tar.archive, in: dir, "upload.tar")
        let parent = try TempDirectory()
        let source = try await SourceResolver.resolve(archive, cloneTimeout: .seconds(60), temporaryParent: parent.path)
        #expect(source.isTemporary && source.display == archive && source.commit == nil)
        #expect(source.root.hasPrefix(parent.path + "/vega-archive-"))
        #expect(try tree(source.root) == ["app/": "", "app/config.py": "KEY = 1\n"])
        source.cleanup()
        #expect(try parent.contents().isEmpty)
    }

    @Test func aRepositoryLargerThanTheLimitFailsCleanly() async throws {
        var tar = TarBuilder()
        tar.file("small.txt", "ok\n")
        tar.file("big.bin", String(repeating: "z", count: 5000))
        let dir = try TempDirectory()
        let archive = try write(tar.archive, in: dir, "repo.tar")
        let parent = try TempDirectory()
        let error = await #expect(throws: WorkspaceError.self) {
            try await SourceResolver.resolve(
                archive, cloneTimeout: .seconds(60), temporaryParent: parent.path, archiveLimits: ArchiveLimits(maxTotalBytes: 4096))
        }
        #expect(error?.description == "\(archive): archive entry 'big.bin' refused: the archive's files add up to more than 4096 bytes")
        #expect(try parent.contents().isEmpty, "the temporary directory is removed")
    }
}
