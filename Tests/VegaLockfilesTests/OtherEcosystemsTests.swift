import Foundation
import Testing
import VegaModel
@testable import VegaLockfiles

/// What the conformance fixtures do not check for the Go, Rust, Ruby, PHP, JVM, .NET,
/// Elixir, Dart, C/C++, Swift, CocoaPods and R parsers: lines, direct flags, groups,
/// edges, purls, warnings, error lines, companion files and file names.
@Suite struct OtherEcosystemsTests {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/sca/fixtures").path

    static let noFiles = LockfileFiles { _ in nil }

    func parse(_ parser: some LockfileParser, fixture: String) throws -> ParsedLockfile {
        let path = Self.fixtures + "/" + fixture
        let bytes = try #require(FileManager.default.contents(atPath: path), "missing \(path)")
        return try parser.parse([UInt8](bytes), path: path)
    }

    func parse(_ parser: some LockfileParser, _ text: String, path: String = "lockfile") throws -> ParsedLockfile {
        try parser.parse(Array(text.utf8), path: path)
    }

    func errorLine(_ parser: some LockfileParser, _ text: String) -> Int?? {
        do {
            _ = try parser.parse(Array(text.utf8), path: "bad")
            return nil
        } catch let error as LockfileError {
            return .some(error.line)
        } catch {
            return nil
        }
    }

    func package(_ result: ParsedLockfile, _ name: String, _ version: String? = nil) throws -> Package {
        try #require(result.graph.packages.first { $0.name == name && (version == nil || $0.version == version) },
                     "no \(name) \(version ?? "")")
    }

    func edges(_ result: ParsedLockfile, from package: Package) -> [String] {
        result.graph.dependencies[package.key] ?? []
    }

    // MARK: - go.mod

    @Test func goModDirectIndirectAndStdlib() throws {
        let result = try parse(GoModParser(files: Self.noFiles), fixture: "go.mod/indirect-packages.mod")
        let toml = try package(result, "github.com/BurntSushi/toml")
        #expect(toml.direct == true)
        #expect(toml.location?.startLine == 6)
        #expect(toml.purl == "pkg:golang/github.com/BurntSushi/toml@v1.0.0")
        #expect(try package(result, "github.com/mattn/go-isatty").direct == false)
        let stdlib = try package(result, "stdlib")
        #expect(stdlib.version == "1.17")
        #expect(stdlib.direct == nil)
        #expect(stdlib.location?.startLine == 3)
    }

    @Test func goModReadsGoSumBelowGo117() throws {
        let path = Self.fixtures + "/go.mod/indirect-1.16.mod"
        let withSum = try parse(GoModParser(), fixture: "go.mod/indirect-1.16.mod")
        #expect(withSum.graph.packages.count == 7)
        let spew = try package(withSum, "github.com/davecgh/go-spew")
        #expect(spew.version == "1.1.1")
        #expect(spew.direct == false)
        #expect(spew.location?.path == Self.fixtures + "/go.mod/indirect-1.16.sum")
        #expect(spew.location?.startLine == 2)
        #expect(try package(withSum, "github.com/sirupsen/logrus").direct == true)

        let bytes = try #require(FileManager.default.contents(atPath: path))
        let withoutSum = try GoModParser(files: Self.noFiles).parse([UInt8](bytes), path: path)
        #expect(withoutSum.graph.packages.map(\.name).sorted() == ["github.com/sirupsen/logrus", "stdlib"])
        // go ≥ 1.17 lists the whole build list: its go.sum (here deliberately garbage) is not read.
        #expect(try parse(GoModParser(), fixture: "go.mod/indirect-1.23.mod").graph.packages.count == 3)
    }

    @Test func goModReplaceQuotingAndErrors() throws {
        let text = """
            module example.com/m

            go 1.22
            toolchain go1.22.4

            require (
            \t"github.com/a/b" v1.2.3 // indirect; used by tests
            \tgithub.com/c/d v0.1.0+incompatible
            \tgithub.com/broken
            )

            replace github.com/a/b => github.com/fork/b v1.2.4
            """
        let result = try parse(GoModParser(files: Self.noFiles), text)
        let fork = try package(result, "github.com/fork/b")
        #expect(fork.version == "1.2.4")
        #expect(fork.direct == false)
        #expect(fork.location?.startLine == 12)
        #expect(try package(result, "github.com/c/d").version == "0.1.0+incompatible")
        #expect(try package(result, "stdlib").version == "1.22.4")
        #expect(result.warnings.map(\.line) == [9])

        #expect(errorLine(GoModParser(), "module m\n\nbogus x\n") == .some(3))
        #expect(errorLine(GoModParser(), "require (\n  a v1\n") == .some(1))
    }

    // MARK: - Cargo.lock

    @Test func cargoLinesEdgesAndGitCommits() throws {
        let result = try parse(CargoLockParser(), fixture: "Cargo.lock/many-packages.lock")
        let aho = try package(result, "aho-corasick")
        let memchr = try package(result, "memchr")
        #expect(edges(result, from: aho) == [memchr.key])
        #expect(memchr.location?.startLine == 21)
        #expect(try package(result, "syn", "2.0.15").location?.startLine == 39)
        #expect(memchr.purl == "pkg:cargo/memchr@2.4.1")

        let comments = try parse(CargoLockParser(), fixture: "Cargo.lock/package-with-comments.lock")
        let syn = try package(comments, "syn")
        #expect(syn.commit == "061a9ab4cfabf2a403dbeab4bbcb8ff97d344dff")
        #expect(syn.location?.startLine == 13)

        let versioned = """
            version = 3

            [[package]]
            name = "app"
            version = "0.1.0"
            dependencies = [
             "syn 1.0.0",
             "syn 2.0.0 (registry+https://github.com/rust-lang/crates.io-index)",
            ]

            [[package]]
            name = "syn"
            version = "1.0.0"

            [[package]]
            name = "syn"
            version = "2.0.0"
            """
        let graph = try parse(CargoLockParser(), versioned)
        #expect(edges(graph, from: try package(graph, "app")) == ["crates.io/syn@1.0.0", "crates.io/syn@2.0.0"])
        #expect(errorLine(CargoLockParser(), "version = 3\n[[package]\n") == .some(2))
    }

    // MARK: - Gemfile.lock

    @Test func gemfileDirectEdgesPlatformsAndWarnings() throws {
        let result = try parse(GemfileLockParser(), fixture: "Gemfile.lock/some-gems.lock")
        let pry = try package(result, "pry")
        #expect(pry.direct == true)
        #expect(pry.location?.startLine == 6)
        #expect(try package(result, "coderay").direct == false)
        #expect(edges(result, from: pry) == ["RubyGems/coderay@1.1.3", "RubyGems/method_source@1.0.0"])
        #expect(pry.purl == "pkg:gem/pry@0.14.1")

        let git = try parse(GemfileLockParser(), fixture: "Gemfile.lock/has-git-gem.lock")
        #expect(try package(git, "hanami-utils").direct == true)
        #expect(try package(git, "rack").commit == nil)

        let invalid = try parse(GemfileLockParser(), fixture: "Gemfile.lock/invalid.lock")
        #expect(invalid.warnings.map(\.line) == [4])

        let platforms = """
            GEM
              remote: https://rubygems.org/
              specs:
                nokogiri (1.13.3-arm64-darwin)
                nokogiri (1.13.3-x86_64-linux)
            """
        #expect(try parse(GemfileLockParser(), platforms).graph.packages.map(\.key) == ["RubyGems/nokogiri@1.13.3"])
    }

    // MARK: - composer.lock

    @Test func composerGroupsCommitsEdgesAndLines() throws {
        let result = try parse(ComposerLockParser(), fixture: "composer.lock/drupal-packages.json")
        let core = try package(result, "drupal/core")
        let fieldTime = try package(result, "drupal/field_time")
        #expect(core.location?.startLine == 10)
        #expect(fieldTime.location?.startLine == 299)
        #expect(fieldTime.groups == ["dev"])
        #expect(try package(result, "drupal/tfa").commit == nil)
        #expect(edges(result, from: fieldTime) == [core.key])
        #expect(core.purl == "pkg:composer/drupal/core@10.4.5")
    }

    // MARK: - pom.xml

    @Test func pomLinesScopesAndInterpolation() throws {
        let plugin = try parse(MavenPomParser(files: Self.noFiles), fixture: "pom.xml/plugin-dependency.xml")
        #expect(try package(plugin, "com.example:hijack-lib").location?.startLine == 27)

        let text = """
            <project>
              <groupId>org.example</groupId>
              <artifactId>app</artifactId>
              <version>2.1.0</version>
              <properties>
                <lib.version>${project.version}</lib.version>
              </properties>
              <dependencies>
                <dependency>
                  <groupId>${project.groupId}</groupId>
                  <artifactId>lib</artifactId>
                  <version>${lib.version}</version>
                  <scope>provided</scope>
                </dependency>
                <dependency>
                  <groupId>org.example</groupId>
                  <artifactId>unresolved</artifactId>
                  <version>${nowhere}</version>
                </dependency>
              </dependencies>
            </project>
            """
        let result = try parse(MavenPomParser(files: Self.noFiles), text)
        let lib = try package(result, "org.example:lib")
        #expect(lib.version == "2.1.0")
        #expect(lib.groups == ["provided"])
        #expect(lib.direct == true)
        #expect(lib.location?.startLine == 9)
        #expect(lib.purl == "pkg:maven/org.example/lib@2.1.0")
        #expect(try package(result, "org.example:unresolved").version == "")

        #expect(errorLine(MavenPomParser(), "<project>\n<dependencies>\n</project>\n") == .some(3))
        #expect(errorLine(MavenPomParser(), "<settings/>") == .some(1))
    }

    @Test func pomReadsLocalParents() throws {
        let result = try parse(MavenPomParser(), fixture: "pom.xml/with-parent.xml")
        let dave = try package(result, "org.dave:dave")
        #expect(dave.location?.path == Self.fixtures + "/pom.xml/parent/pom.xml")
        #expect(dave.location?.startLine == 15)

        let alone = try parse(MavenPomParser(files: Self.noFiles), fixture: "pom.xml/with-parent.xml")
        #expect(alone.graph.packages.map(\.name).sorted() == ["org.alice:alice", "org.bob:bob", "org.chuck:chuck", "org.frank:frank"])

        // A relativePath that leads to some other project is not the parent.
        let files = LockfileFiles { path in
            path == "parent/pom.xml" ? Array("<project><groupId>x</groupId><artifactId>other</artifactId></project>".utf8) : nil
        }
        let child = """
            <project>
              <parent><groupId>x</groupId><artifactId>parent</artifactId><version>1</version>
                <relativePath>parent</relativePath></parent>
            </project>
            """
        #expect(try parse(MavenPomParser(files: files), child, path: "pom.xml").graph.packages.isEmpty)

        // The default ../pom.xml of a POM at the scan root is outside the scan: not read.
        let outside = LockfileFiles { path in
            #expect(path != "../pom.xml")
            return nil
        }
        let rooted = "<project><parent><groupId>x</groupId><artifactId>p</artifactId></parent></project>"
        #expect(try parse(MavenPomParser(files: outside), rooted, path: "pom.xml").graph.packages.isEmpty)
    }

    // MARK: - Gradle

    @Test func gradleLockfileLinesAndWarnings() throws {
        let result = try parse(GradleLockfileParser(), fixture: "gradle.lockfile/with-bad-pkg")
        #expect(result.graph.packages.map(\.location?.startLine) == [7, 14])
        #expect(result.warnings.map(\.line) == [3, 4, 9, 10])
        #expect(result.graph.packages[0].purl == "pkg:maven/org.springframework.boot/spring-boot-autoconfigure@2.7.4")
    }

    @Test func verificationMetadataLines() throws {
        let multiLine = try parse(GradleVerificationMetadataParser(), fixture: "verification-metadata.xml/multi-line.xml")
        #expect(multiLine.graph.packages.map(\.location?.startLine) == [5])
        let missing = try parse(GradleVerificationMetadataParser(), fixture: "verification-metadata.xml/missing-attribute.xml")
        #expect(missing.graph.packages.map(\.location?.startLine) == [6, 12, 18])
        #expect(errorLine(GradleVerificationMetadataParser(), "<a>\n<b>\n</a>") == .some(3))
    }

    // MARK: - NuGet

    @Test func nugetDirectEdgesAndLines() throws {
        let result = try parse(NuGetPackagesLockParser(), fixture: "packages.lock.json/valid/packages.lock.json")
        let core = try package(result, "Core.Dep")
        #expect(core.direct == true)
        #expect(core.location?.startLine == 5)
        #expect(edges(result, from: core).count == 7)
        let five = try package(result, "Some.Dep.Five")
        #expect(five.direct == false)
        #expect(five.location?.startLine == 49)
        #expect(five.purl == "pkg:nuget/Some.Dep.Five@4.7.2")

        let frameworks = """
            {"version": 1, "dependencies": {
              "net6.0": {"A": {"type": "Transitive", "resolved": "1.0.0"}},
              "net8.0": {"A": {"type": "Direct", "resolved": "1.0.0"}, "Local": {"type": "Project"}}
            }}
            """
        let merged = try parse(NuGetPackagesLockParser(), frameworks)
        #expect(merged.graph.packages.map(\.key) == ["NuGet/A@1.0.0"])
        #expect(merged.graph.packages[0].direct == true)
    }

    // MARK: - mix.lock

    @Test func mixLinesEdgesAndErrors() throws {
        let result = try parse(MixLockParser(), fixture: "mix.lock/many.lock")
        let ecto = try package(result, "ecto")
        #expect(ecto.location?.startLine == 7)
        // jason is optional and not locked.
        #expect(edges(result, from: ecto) == ["Hex/decimal@2.0.0", "Hex/telemetry@0.4.2"])
        #expect(ecto.purl == "pkg:hex/ecto@3.5.5")
        #expect(errorLine(MixLockParser(), "%{\n  \"a\": {:hex, :a, \"1\" :b}\n}\n") == .some(2))
        #expect(errorLine(MixLockParser(), "[1, 2]") == .some(1))
    }

    // MARK: - pubspec.lock

    @Test func pubspecDirectGroupsAndLines() throws {
        let result = try parse(PubspecLockParser(), fixture: "pubspec.lock/mixed-packages.lock")
        let runner = try package(result, "build_runner")
        #expect(runner.groups == ["dev"])
        #expect(runner.direct == true)
        #expect(runner.location?.startLine == 11)
        let socket = try package(result, "shelf_web_socket")
        #expect(socket.direct == false)
        #expect(socket.location?.startLine == 25)
        #expect(socket.purl == "pkg:pub/shelf_web_socket@1.0.2")
    }

    // MARK: - conan.lock

    @Test func conanGraphDirectAndGroups() throws {
        let v1 = try parse(ConanLockParser(), fixture: "conan.lock/nested-dependencies.v1.json")
        let freetype = try package(v1, "freetype")
        #expect(freetype.direct == true)
        #expect(freetype.location?.startLine == 13)
        let zlib = try package(v1, "zlib")
        #expect(zlib.direct == false)
        #expect(zlib.location?.startLine == 36)
        #expect(edges(v1, from: freetype).count == 4)
        #expect(freetype.purl == "pkg:conan/freetype@2.12.1")

        let v2 = try parse(ConanLockParser(), fixture: "conan.lock/nested-dependencies.v2.json")
        #expect(try package(v2, "freetype").location?.startLine == 6)
        let dev = try parse(ConanLockParser(), fixture: "conan.lock/one-package-dev.v2.json")
        #expect(dev.graph.packages.map(\.groups) == [["build-requires"]])
        #expect(try parse(ConanLockParser(), fixture: "conan.lock/no-name.v1.json").warnings.count == 1)
    }

    // MARK: - Package.resolved

    /// osv-scalibr's Package.resolved fixtures, which the shared fixture folder lacks.
    static let resolvedV2 = """
        {
          "pins" : [
            {
              "identity" : "swift-algorithms",
              "kind" : "remoteSourceControl",
              "location" : "https://github.com/apple/swift-algorithms.git",
              "state" : {
                "revision" : "b14b7f4c528c942f121c8b860b9410b2bf57825e",
                "version" : "1.0.0"
              }
            },
            {
              "identity" : "swift-async-algorithms",
              "kind" : "remoteSourceControl",
              "location" : "https://github.com/apple/swift-async-algorithms.git",
              "state" : {
                "revision" : "9cfed92b026c524674ed869a4ff2dcfdeedf8a2a",
                "version" : "0.1.0"
              }
            },
            {
              "identity" : "swift-atomics",
              "kind" : "remoteSourceControl",
              "location" : "https://github.com/apple/swift-atomics.git",
              "state" : {
                "revision" : "6c89474e62719ddcc1e9614989fff2f68208fe10",
                "version" : "1.1.0"
              }
            }
          ],
          "version" : 2
        }
        """

    @Test func packageResolvedVersions() throws {
        let v2 = try parse(SwiftPackageResolvedParser(), Self.resolvedV2)
        #expect(v2.graph.packages.map(\.name) == [
            "github.com/apple/swift-algorithms", "github.com/apple/swift-async-algorithms", "github.com/apple/swift-atomics",
        ])
        #expect(v2.graph.packages.map(\.version) == ["1.0.0", "0.1.0", "1.1.0"])
        #expect(v2.graph.packages.map(\.location?.startLine) == [4, 13, 22])
        let algorithms = v2.graph.packages[0]
        #expect(algorithms.ecosystem == .swiftURL)
        #expect(algorithms.commit == "b14b7f4c528c942f121c8b860b9410b2bf57825e")
        #expect(algorithms.purl == "pkg:swift/github.com/apple/swift-algorithms@1.0.0")

        let v1 = """
            {
              "object": {
                "pins": [
                  {
                    "package": "Nimble",
                    "repositoryURL": "git@github.com:Quick/Nimble.git",
                    "state": { "branch": "main", "revision": "1f3bde57bde12f5e7b07909848c071e9b73d6edc", "version": null }
                  }
                ]
              },
              "version": 1
            }
            """
        let old = try parse(SwiftPackageResolvedParser(), v1)
        #expect(old.graph.packages.map(\.name) == ["github.com/Quick/Nimble"])
        #expect(old.graph.packages[0].version == "")
        #expect(old.graph.packages[0].commit == "1f3bde57bde12f5e7b07909848c071e9b73d6edc")
        #expect(old.graph.packages[0].location?.startLine == 5)

        let v3 = """
            {"originHash": "abc", "pins": [
              {"identity": "local", "kind": "localSourceControl", "location": "/src/local", "state": {"revision": "1"}},
              {"identity": "swift-log", "kind": "remoteSourceControl", "location": "https://github.com/apple/swift-log",
               "state": {"revision": "2", "version": "1.5.0"}}
            ], "version": 3}
            """
        #expect(try parse(SwiftPackageResolvedParser(), v3).graph.packages.map(\.key) == ["SwiftURL/github.com/apple/swift-log@1.5.0"])

        // scalibr's "invalid" and "empty" fixtures.
        #expect(errorLine(SwiftPackageResolvedParser(), "not\njson\n\n") != nil)
        #expect(errorLine(SwiftPackageResolvedParser(), "") != nil)
    }

    // MARK: - Podfile.lock

    @Test func podfileSubspecsDirectEdgesAndCommits() throws {
        let text = """
            PODS:
              - Alamofire (5.8.0)
              - Texture/Core (3.1.0):
                - PINRemoteImage (~> 3.0)
              - Texture/PINRemoteImage (3.1.0):
                - Texture/Core
              - PINRemoteImage (3.0.3)
              - Forked (1.0.0)

            DEPENDENCIES:
              - Alamofire (~> 5.0)
              - Texture
              - Forked (from `https://github.com/o/forked.git`, commit `abc123`)

            CHECKOUT OPTIONS:
              Forked:
                :commit: abc123
                :git: https://github.com/o/forked.git
            """
        let result = try parse(PodfileLockParser(), text)
        #expect(result.graph.packages.map(\.key) == [
            "CocoaPods/Alamofire@5.8.0", "CocoaPods/Texture@3.1.0", "CocoaPods/PINRemoteImage@3.0.3", "CocoaPods/Forked@1.0.0",
        ])
        let texture = try package(result, "Texture")
        #expect(texture.direct == true)
        #expect(texture.location?.startLine == 3)
        #expect(try package(result, "PINRemoteImage").direct == false)
        #expect(edges(result, from: texture) == ["CocoaPods/PINRemoteImage@3.0.3"])
        #expect(try package(result, "Forked").commit == "abc123")
        #expect(texture.purl == "pkg:cocoapods/Texture@3.1.0")
    }

    // MARK: - renv.lock

    @Test func renvLinesAndEdges() throws {
        let result = try parse(RenvLockParser(), fixture: "renv.lock/two-packages.lock")
        #expect(result.graph.packages.map(\.location?.startLine) == [12, 19])
        #expect(result.graph.packages[0].purl == "pkg:cran/markdown@1.0")

        let text = """
            {"Packages": {
              "knitr": {"Package": "knitr", "Version": "1.45", "Repository": "RSPM", "Requirements": ["xfun", "tools"]},
              "xfun": {"Package": "xfun", "Version": "0.41", "Repository": "CRAN"}
            }}
            """
        let graph = try parse(RenvLockParser(), text)
        #expect(edges(graph, from: try package(graph, "knitr")) == ["CRAN/xfun@0.41"])
    }

    // MARK: - File names

    @Test func parsersClaimTheirFileNames() {
        let claims: [String: String] = [
            "svc/go.mod": "go.mod", "Cargo.lock": "Cargo.lock", "app/Gemfile.lock": "Gemfile.lock",
            "gems.locked": "Gemfile.lock", "composer.lock": "composer.lock", "api/pom.xml": "pom.xml",
            "gradle.lockfile": "gradle.lockfile", "app/buildscript-gradle.lockfile": "gradle.lockfile",
            "gradle/dependency-locks/compileClasspath.lockfile": "gradle.lockfile",
            "gradle/verification-metadata.xml": "verification-metadata.xml",
            "src/App/packages.lock.json": "packages.lock.json", "mix.lock": "mix.lock", "pubspec.lock": "pubspec.lock",
            "conan.lock": "conan.lock", "App.xcworkspace/xcshareddata/swiftpm/Package.resolved": "Package.resolved",
            "ios/Podfile.lock": "Podfile.lock", "renv.lock": "renv.lock",
        ]
        for (path, format) in claims {
            #expect(Lockfiles.parser(for: path)?.format == format, "\(path)")
        }
        for path in ["go.sum", "verification-metadata.xml", "Gemfile", "pom.xml.bak", "composer.json", "build.gradle"] {
            #expect(Lockfiles.parser(for: path) == nil, "\(path)")
        }
    }
}
