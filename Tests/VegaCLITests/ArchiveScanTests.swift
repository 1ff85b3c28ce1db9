import Foundation
import Testing
import VegaTestSupport

@Suite struct ArchiveScanTests {
    /// `vega scan app.tar.gz` scans what the archive holds, reports paths inside the
    /// archive, and leaves no temporary directory behind (nor after a refusal).
    @Test func scansATarGzAndCleansUp() throws {
        let repo = try TestRepo(git: false)
        defer { repo.remove() }
        try PlantedSecrets.plant(in: repo)
        let work = try TestRepo(git: false)
        defer { work.remove() }
        let archive = work.path + "/app.tar.gz"
        let packed = try Run.command("/usr/bin/env", ["tar", "-czf", archive, "-C", repo.path, "."])
        #expect(packed.status == 0, "\(packed.stderr)")
        let temporary = work.path + "/tmp"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)

        let result = try vega("scan", archive, "--format", "json", "--fail-on", "none", environment: ["TMPDIR": temporary])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((report["scan"] as? [String: Any])?["source"] as? String == archive, "the report names the archive, not the temporary folder")
        let findings = try #require(report["findings"] as? [[String: Any]])
        let paths = Set(findings.compactMap { ($0["location"] as? [String: Any])?["path"] as? String })
        #expect(paths == ["config/settings.py", "deploy/ci.sh", "src/billing.js", "src/notify.go"])
        for secret in PlantedSecrets.all { #expect(!result.stdout.contains(secret)) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty)

        // A hostile archive is refused with the rule, exit status 2, and nothing left behind.
        let evil = work.path + "/evil.tar"
        let header = Self.tarHeader("../evil.txt")
        FileManager.default.createFile(atPath: evil, contents: Data(header + [UInt8](repeating: 0, count: 1024)))
        let refused = try vega("scan", evil, environment: ["TMPDIR": temporary])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("archive entry '../evil.txt' refused: its path contains '..'"), "\(refused.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty)
    }

    /// An empty regular file's ustar header (GNU tar will not write a `..` name).
    private static func tarHeader(_ name: String) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) { header.replaceSubrange(offset..<(offset + text.utf8.count), with: Array(text.utf8)) }
        put(name, at: 0)
        put("0000644", at: 100)
        put("00000000000", at: 124)
        put("00000000000", at: 136)
        put("0", at: 156)
        put("ustar\u{0}00", at: 257)
        put("        ", at: 148)
        put(String(format: "%06o", header.reduce(0) { $0 + Int($1) }) + "\u{0} ", at: 148)
        return header
    }
}
