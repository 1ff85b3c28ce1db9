import Foundation
import Testing
@testable import VegaLockfiles

// Temporary benchmark of the other-ecosystem parsers (deleted before hand-off).
@Suite struct OtherPerfScratch {
    @Test(arguments: [
        ("go.mod", "go.mod"), ("Cargo.lock", "Cargo.lock"), ("Gemfile.lock", "Gemfile.lock"),
        ("composer.lock", "composer.lock"), ("pom.xml", "pom.xml"), ("gradle.lockfile", "gradle.lockfile"),
        ("verification-metadata.xml", "verification-metadata.xml"), ("packages.lock.json", "packages.lock.json"),
        ("mix.lock", "mix.lock"), ("pubspec.lock", "pubspec.lock"), ("conan.lock", "conan.lock"),
        ("conan.lock", "conan2.lock"), ("Package.resolved", "Package.resolved"), ("Podfile.lock", "Podfile.lock"),
        ("renv.lock", "renv.lock"),
    ])
    func bench(format: String, file: String) throws {
        guard ProcessInfo.processInfo.environment["VEGA_OTHER_BENCH"] != nil else { return }
        let parser = try #require(Lockfiles.parsers.first { $0.format == format })
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: "/tmp/vega-lockother-bench/" + file)))
        let start = Date()
        let result = try parser.parse(bytes, path: "/tmp/vega-lockother-bench/" + file)
        print(String(format: "OTHERPERF %@: %d packages, %d edges, %d warnings, %.1f MB, %.3f s", file,
                     result.graph.packages.count, result.graph.dependencies.count, result.warnings.count,
                     Double(bytes.count) / 1e6, Date().timeIntervalSince(start)))
    }
}
