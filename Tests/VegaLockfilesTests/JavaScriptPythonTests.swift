import Foundation
import Testing
import VegaModel
@testable import VegaLockfiles

/// The npm and PyPI lockfile parsers beyond what scalibr's fixtures check: groups,
/// direct flags, edges, lines, includes, errors.
@Suite struct JavaScriptPythonTests {
    static let formats: Set<String> = [
        "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock", "requirements.txt",
        "Pipfile.lock", "poetry.lock", "uv.lock", "pdm.lock", "pylock.toml",
    ]

    func parse(_ format: String, _ text: String, path: String? = nil) throws -> ParsedLockfile {
        let parser = try #require(Fixture.parser(for: format))
        return try parser.parse(Array(text.utf8), path: path ?? format)
    }

    func package(_ result: ParsedLockfile, _ name: String, _ version: String? = nil) throws -> Package {
        try #require(result.graph.packages.first { $0.name == name && (version == nil || $0.version == version) },
                     "no \(name)@\(version ?? "*") in \(result.graph.packages.map(\.key))")
    }

    @Test func everyFormatIsRegistered() {
        #expect(Set(Lockfiles.parsers.map(\.format)).isSuperset(of: Self.formats))
    }

    /// Where scalibr's fixtures state dependency groups, ours match them.
    @Test func groupsMatchScalibr() throws {
        var checked = 0
        for fixture in try Fixture.all() where Self.formats.contains(fixture.format) && fixture.expect_error == nil {
            let parser = try #require(Fixture.parser(for: fixture.format))
            let bytes = try #require(FileManager.default.contents(atPath: fixture.path))
            let packages = try parser.parse([UInt8](bytes), path: fixture.path).graph.packages
            for want in fixture.packages {
                guard let groups = want.groups else { continue }
                checked += 1
                let found = packages.contains {
                    $0.name == want.name && $0.version == want.version && ($0.commit ?? "") == (want.commit ?? "")
                        && $0.groups.sorted() == groups.sorted()
                }
                #expect(found, "\(fixture.file): \(want.name)@\(want.version) should be in groups \(groups)")
            }
        }
        #expect(checked > 150)
    }

    @Test func fileNames() throws {
        let cases: [(String, String, Bool)] = [
            ("package-lock.json", "web/package-lock.json", true),
            ("package-lock.json", "npm-shrinkwrap.json", true),
            ("package-lock.json", "node_modules/x/package-lock.json", false),
            ("yarn.lock", "a/yarn.lock", true),
            ("pnpm-lock.yaml", "pnpm-lock.yaml", true),
            ("bun.lock", "bun.lock", true),
            ("bun.lock", "bun.lockb", false),
            ("requirements.txt", "requirements.txt", true),
            ("requirements.txt", "svc/requirements-dev.txt", true),
            ("requirements.txt", "requirements/base.txt", true),
            ("requirements.txt", "notes.txt", false),
            ("Pipfile.lock", "Pipfile.lock", true),
            ("poetry.lock", "poetry.lock", true),
            ("uv.lock", "uv.lock", true),
            ("pdm.lock", "pdm.lock", true),
            ("pylock.toml", "pylock.toml", true),
            ("pylock.toml", "pylock.dev.toml", true),
            ("pylock.toml", "pyproject.toml", false),
        ]
        for (format, path, accepted) in cases {
            let parser = try #require(Fixture.parser(for: format))
            #expect(parser.accepts(path: path) == accepted, "\(format) accepts \(path)")
        }
        #expect(Lockfiles.parser(for: "app/poetry.lock")?.format == "poetry.lock")
    }

    @Test func purls() {
        #expect(PURL.npm(name: "@Babel/Core", version: "7.0.0") == "pkg:npm/%40babel/core@7.0.0")
        #expect(PURL.npm(name: "domino", version: "2.1.6+git") == "pkg:npm/domino@2.1.6%2Bgit")
        #expect(PURL.npm(name: "left-pad", version: "") == "pkg:npm/left-pad")
        #expect(PURL.pypi(name: "Zope.Interface", version: "5.0") == "pkg:pypi/zope-interface@5.0")
        #expect(PURL.pypi(name: "under__score", version: "1.0+local") == "pkg:pypi/under-score@1.0%2Blocal")
    }

    // MARK: npm

    @Test func packageLockV3() throws {
        let text = """
        {
          "name": "app",
          "lockfileVersion": 3,
          "packages": {
            "": {
              "name": "app",
              "workspaces": ["packages/ui"],
              "dependencies": { "@scope/a": "^1.0.0" },
              "devDependencies": { "b": "^2.0.0" }
            },
            "node_modules/@scope/a": {
              "version": "1.0.0",
              "dependencies": { "c": "^1.0.0" }
            },
            "node_modules/b": {
              "version": "2.0.0",
              "dev": true,
              "dependencies": { "c": "^2.0.0" }
            },
            "node_modules/b/node_modules/c": {
              "version": "2.0.0",
              "dev": true
            },
            "node_modules/c": {
              "version": "1.0.0"
            },
            "node_modules/ui": {
              "resolved": "packages/ui",
              "link": true
            },
            "packages/ui": {
              "name": "ui",
              "version": "0.1.0",
              "dependencies": { "c": "^1.0.0" }
            },
            "node_modules/d": {
              "version": "4.0.0",
              "resolved": "git+ssh://git@github.com/o/d.git#0123456789abcdef0123456789abcdef01234567",
              "devOptional": true,
              "inBundle": true
            }
          }
        }
        """
        let result = try parse("package-lock.json", text, path: "web/package-lock.json")
        #expect(result.graph.packages.map(\.key) == ["npm/@scope/a@1.0.0", "npm/b@2.0.0", "npm/c@2.0.0", "npm/c@1.0.0", "npm/ui@0.1.0", "npm/d@4.0.0"])
        let a = try package(result, "@scope/a")
        #expect(a.direct == true)
        #expect(a.purl == "pkg:npm/%40scope/a@1.0.0")
        #expect(a.location == Location(path: "web/package-lock.json", startLine: 11, startColumn: 1, endLine: 11, endColumn: 1))
        #expect(try package(result, "b").groups == ["dev"])
        #expect(try package(result, "c", "2.0.0").direct == false)
        #expect(try package(result, "c", "1.0.0").direct == true, "declared by the ui workspace")
        #expect(try package(result, "c", "2.0.0").location?.startLine == 20)
        let d = try package(result, "d")
        #expect(d.commit == "0123456789abcdef0123456789abcdef01234567")
        #expect(d.groups == ["bundled", "dev", "optional"])
        // Node's lookup: b finds its own nested c; a and the workspace find the hoisted one.
        #expect(result.graph.dependencies["npm/b@2.0.0"] == ["npm/c@2.0.0"])
        #expect(result.graph.dependencies["npm/@scope/a@1.0.0"] == ["npm/c@1.0.0"])
        #expect(result.graph.dependencies["npm/ui@0.1.0"] == ["npm/c@1.0.0"])
        #expect(result.warnings.isEmpty)
    }

    @Test func packageLockV1() throws {
        let text = """
        {
          "lockfileVersion": 1,
          "dependencies": {
            "a": {
              "version": "1.0.0",
              "requires": { "b": "^1.0.0", "c": "^1.0.0" },
              "dependencies": {
                "b": { "version": "1.5.0", "dev": true }
              }
            },
            "b": { "version": "2.0.0" },
            "c": { "version": "npm:real-c@3.0.0" }
          }
        }
        """
        let result = try parse("package-lock.json", text)
        #expect(result.graph.packages.map(\.key) == ["npm/a@1.0.0", "npm/b@1.5.0", "npm/b@2.0.0", "npm/real-c@3.0.0"])
        #expect(result.graph.packages.allSatisfy { $0.direct == nil })
        #expect(try package(result, "b", "1.5.0").location?.startLine == 8)
        #expect(result.graph.dependencies["npm/a@1.0.0"] == ["npm/b@1.5.0", "npm/real-c@3.0.0"])
    }

    /// npm installs from npm-shrinkwrap.json when both files are there.
    @Test func shrinkwrapTakesPrecedence() throws {
        let lock = #"{"lockfileVersion": 3, "packages": {"node_modules/a": {"version": "1.0.0"}}}"#
        let besideShrinkwrap = PackageLockParser(files: LockfileFiles { $0 == "app/npm-shrinkwrap.json" ? Array("{}".utf8) : nil })
        #expect(try besideShrinkwrap.parse(Array(lock.utf8), path: "app/package-lock.json").graph.packages.isEmpty)
        #expect(try besideShrinkwrap.parse(Array(lock.utf8), path: "app/npm-shrinkwrap.json").graph.packages.count == 1)
        #expect(try besideShrinkwrap.parse(Array(lock.utf8), path: "other/package-lock.json").graph.packages.count == 1)
    }

    @Test func yarnBerry() throws {
        let text = """
        __metadata:
          version: 8
          cacheKey: 10c0

        "app@workspace:.":
          version: 0.0.0-use.local
          resolution: "app@workspace:."
          dependencies:
            a: "npm:^1.0.0"
          languageName: unknown
          linkType: soft

        "a@npm:^1.0.0":
          version: 1.2.0
          resolution: "a@npm:1.2.0"
          dependencies:
            "@s/b": "npm:~2.0.0"
          languageName: node
          linkType: hard

        "@s/b@npm:~2.0.0":
          version: 2.0.1
          resolution: "@s/b@npm:2.0.1"
        """
        let result = try parse("yarn.lock", text)
        #expect(result.graph.packages.map(\.key) == ["npm/a@1.2.0", "npm/@s/b@2.0.1"])
        #expect(try package(result, "a").direct == true)
        #expect(try package(result, "@s/b").direct == false)
        #expect(try package(result, "@s/b").location?.startLine == 21)
        #expect(result.graph.dependencies == ["npm/a@1.2.0": ["npm/@s/b@2.0.1"]])
    }

    @Test func yarnV1() throws {
        let text = """
        # yarn lockfile v1


        a@^1.0.0, a@~1.2:
          version "1.2.0"
          resolved "https://registry.yarnpkg.com/a/-/a-1.2.0.tgz#0123456789abcdef0123456789abcdef01234567"
          dependencies:
            b "^2.0.0"

        b@^2.0.0:
          version "2.0.1"
        """
        let result = try parse("yarn.lock", text)
        #expect(result.graph.packages.map(\.key) == ["npm/a@1.2.0", "npm/b@2.0.1"])
        #expect(result.graph.packages.allSatisfy { $0.direct == nil && $0.commit == nil })
        #expect(try package(result, "b").location?.startLine == 10)
        #expect(result.graph.dependencies == ["npm/a@1.2.0": ["npm/b@2.0.1"]])
    }

    @Test func pnpmV9() throws {
        let text = """
        lockfileVersion: '9.0'

        importers:

          .:
            dependencies:
              a:
                specifier: ^1.0.0
                version: 1.0.0(react@18.2.0)
            devDependencies:
              '@s/b':
                specifier: ^2.0.0
                version: 2.0.0

        packages:

          a@1.0.0:
            resolution: {integrity: sha512-x}

          '@s/b@2.0.0':
            resolution: {integrity: sha512-y}

          c@3.0.0:
            resolution: {tarball: https://codeload.github.com/o/c/tar.gz/0123456789abcdef0123456789abcdef01234567}

        snapshots:

          a@1.0.0(react@18.2.0):
            dependencies:
              c: 3.0.0

          '@s/b@2.0.0': {}

          c@3.0.0: {}
        """
        let result = try parse("pnpm-lock.yaml", text)
        #expect(result.graph.packages.map(\.key) == ["npm/a@1.0.0", "npm/@s/b@2.0.0", "npm/c@3.0.0"])
        #expect(try package(result, "a").direct == true)
        #expect(try package(result, "@s/b").direct == true)
        #expect(try package(result, "c").direct == false)
        #expect(try package(result, "c").commit == "0123456789abcdef0123456789abcdef01234567")
        #expect(try package(result, "@s/b").location?.startLine == 20)
        #expect(result.graph.dependencies == ["npm/a@1.0.0": ["npm/c@3.0.0"]])
    }

    @Test func pnpmV5() throws {
        let text = """
        lockfileVersion: 5.4

        specifiers:
          a: ^1.0.0

        dependencies:
          a: 1.0.0_react@18.2.0

        packages:

          /a/1.0.0_react@18.2.0:
            resolution: {integrity: sha512-x}
            dependencies:
              c: 3.0.0
            dev: false

          /c/3.0.0:
            resolution: {integrity: sha512-z}
            dev: true
        """
        let result = try parse("pnpm-lock.yaml", text)
        #expect(result.graph.packages.map(\.key) == ["npm/a@1.0.0", "npm/c@3.0.0"])
        #expect(try package(result, "a").direct == true)
        #expect(try package(result, "c").groups == ["dev"])
        #expect(result.graph.dependencies == ["npm/a@1.0.0": ["npm/c@3.0.0"]])
    }

    /// The fast block-style reader and Yams agree on every YAML fixture (and neither is
    /// asked about files Yams rejects).
    @Test func blockReaderAgreesWithYams() throws {
        var compared = 0
        for file in try FileManager.default.subpathsOfDirectory(atPath: Fixture.directory + "/pnpm-lock.yaml") {
            let bytes = try #require(FileManager.default.contents(atPath: Fixture.directory + "/pnpm-lock.yaml/" + file))
            guard let yams = try? YAMLSupport.compose([UInt8](bytes), path: file).map(YAMLSupport.convert) else { continue }
            var reader = try BlockReader([UInt8](bytes))
            #expect(try reader.document() == yams, "\(file)")
            compared += 1
        }
        #expect(compared > 25)
    }

    /// JSONReader reads every JSON fixture (of any format) as Foundation does.
    @Test func jsonReaderAgreesWithFoundation() throws {
        func same(_ ours: JSONValue, _ theirs: Any) -> Bool {
            switch ours {
            case .null: return theirs is NSNull
            case let .bool(flag): return (theirs as? Bool) == flag
            case let .number(text): return Double(text) == (theirs as? NSNumber)?.doubleValue
            case let .string(text): return (theirs as? String) == text
            case let .array(items):
                guard let other = theirs as? [Any], other.count == items.count else { return false }
                return zip(items, other).allSatisfy { same($0, $1) }
            case let .object(object):
                guard let other = theirs as? [String: Any], Set(object.keys) == Set(other.keys) else { return false }
                return other.allSatisfy { key, value in object[key].map { same($0, value) } ?? false }
            }
        }
        var compared = 0
        let files = try FileManager.default.subpathsOfDirectory(atPath: Fixture.directory)
        for file in files where [".json", ".json5", ".jsontest", ".lock"].contains(where: file.hasSuffix) {
            guard let data = FileManager.default.contents(atPath: Fixture.directory + "/" + file),
                  let theirs = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
            let ours = try JSONReader(path: file).object([UInt8](data))
            #expect(same(.object(ours), theirs), "\(file)")
            compared += 1
        }
        #expect(compared > 80)
    }

    @Test func jsonReaderErrors() {
        let cases: [(String, Int)] = [
            ("", 1), ("null", 1), ("[1]", 1), ("{\"a\": 1} x", 1), ("{\n\"a\": \"\\q\"}", 2),
            ("{\n\n\"a\": [1, 2}", 3), ("{\"a\": \"unterminated", 1), ("{\"a\" 1}", 1), ("{a: 1}", 1),
        ]
        for (text, line) in cases {
            let error = #expect(throws: LockfileError.self, "\(text)") { try JSONReader(path: "x").object(Array(text.utf8)) }
            #expect(error?.line == line, "\(text): \(String(describing: error))")
        }
        let escaped = try? JSONReader(path: "x").object(Array(#"{"k\u00e9\ud83d\ude00": "a\"b\n", "n": -1.5e3, "t": true}"#.utf8))
        #expect(escaped?["k\u{e9}\u{1F600}"] == .string("a\"b\n"))
        #expect(escaped?["n"] == .number("-1.5e3"))
        #expect(escaped?["t"] == .bool(true))
    }

    @Test func yamlOutsideTheBlockSubsetGoesThroughYams() throws {
        let text = """
        lockfileVersion: '9.0'
        packages:
          a@1.0.0: &shared
            resolution: {integrity: sha512-x}
          b@2.0.0: *shared
        """
        let result = try parse("pnpm-lock.yaml", text)
        #expect(result.graph.packages.map(\.key) == ["npm/a@1.0.0", "npm/b@2.0.0"])
    }

    @Test func bun() throws {
        let text = """
        {
          "lockfileVersion": 1,
          // comments are allowed
          "workspaces": {
            "": {
              "name": "app",
              "dependencies": { "a": "^1.0.0", },
            },
          },
          "packages": {
            "a": ["a@1.0.0", "", { "dependencies": { "b": "^2.0.0" } }, "sha512-x"],
            "a/b": ["b@2.0.0", "", {}, "sha512-y"],
            "b": ["b@1.0.0", "", {}, "sha512-z"],
            "g": ["g@github:o/g#abc1234", {}, "o-g-abc1234"],
          },
        }
        """
        let result = try parse("bun.lock", text)
        #expect(result.graph.packages.map(\.key) == ["npm/a@1.0.0", "npm/b@2.0.0", "npm/b@1.0.0", "npm/g@"])
        #expect(try package(result, "a").direct == true)
        #expect(try package(result, "b", "1.0.0").direct == false)
        #expect(try package(result, "g").commit == "abc1234")
        #expect(try package(result, "b", "2.0.0").location?.startLine == 12)
        #expect(result.graph.dependencies == ["npm/a@1.0.0": ["npm/b@2.0.0"]])
    }

    // MARK: Python

    @Test func requirementsWithIncludes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vega-req-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/reqs", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let main = """
        # pinned
        Django==4.2.1 \\
            --hash=sha256:abc
        requests[socks] >= 2.31 ; python_version > "3.8"
        -r reqs/base.txt
        --requirement=missing.txt
        flask
        """
        try Data("celery===5.3.0\n-r ../requirements.txt\n-r more.txt\n".utf8).write(to: URL(fileURLWithPath: dir + "/reqs/base.txt"))
        try Data("Zope.Interface==6.0  # comment\n".utf8).write(to: URL(fileURLWithPath: dir + "/reqs/more.txt"))
        try Data(main.utf8).write(to: URL(fileURLWithPath: dir + "/requirements.txt"))

        // The path is relative to the scan root, as a scanner passes it; includes are read from the root.
        let result = try LockfileFiles.$root.withValue(dir) { try parse("requirements.txt", main, path: "requirements.txt") }
        let packages = result.graph.packages
        #expect(packages.map(\.key) == ["PyPI/Django@4.2.1", "PyPI/requests@2.31", "PyPI/flask@", "PyPI/celery@5.3.0", "PyPI/Zope.Interface@6.0"])
        #expect(packages.allSatisfy { $0.direct == true })
        #expect(packages[0].location?.startLine == 2)
        #expect(packages[1].location?.startLine == 4)
        #expect(packages[3].location == Location(path: "reqs/base.txt", startLine: 1, startColumn: 1, endLine: 1, endColumn: 1))
        #expect(packages[4].purl == "pkg:pypi/zope-interface@6.0")
        #expect(result.warnings.count == 1)
        #expect(result.warnings.first?.line == 6)
        #expect(result.warnings.first?.message.contains("missing.txt") == true)
    }

    @Test func requirementVersions() {
        let cases: [(String, RequirementsTxtParser.Line)] = [
            ("a==1.0", .requirement(name: "a", version: "1.0")),
            ("a === 1.0", .requirement(name: "a", version: "1.0")),
            ("a~=1.1", .requirement(name: "a", version: "1.1")),
            ("a>=1,<2", .requirement(name: "a", version: "")),
            ("a<2", .requirement(name: "a", version: "")),
            ("a>1", .requirement(name: "a", version: "")),
            ("a!=1.0", .requirement(name: "a", version: "")),
            ("a==1.*", .requirement(name: "a", version: "")),
            ("a (==1.0)", .requirement(name: "a", version: "1.0")),
            ("a[x,y]==1.0; os_name == 'nt'", .requirement(name: "a", version: "1.0")),
            ("a==", .other),
            ("a @ https://example.com/a.zip", .other),
            ("./local/pkg", .other),
            ("https://example.com/a.whl", .other),
            ("-e .", .other),
            ("-c constraints.txt", .other),
            ("-r base.txt", .include("base.txt")),
            ("-rbase.txt", .include("base.txt")),
            ("--requirement base.txt", .include("base.txt")),
            ("a==${VERSION}", .other),
        ]
        for (line, expected) in cases {
            #expect(RequirementsTxtParser.interpret(Array(line.utf8)[...]) == expected, "\(line)")
        }
    }

    @Test func pipfileLock() throws {
        let text = """
        {
          "_meta": {},
          "default": {
            "a": { "version": "==1.0.0" },
            "b": { "git": "https://github.com/o/b", "ref": "abc" }
          },
          "develop": {
            "a": { "version": "==1.0.0" },
            "c": { "version": "==2.0" },
            "d": { "version": "*" }
          }
        }
        """
        let result = try parse("Pipfile.lock", text)
        #expect(result.graph.packages.map(\.key) == ["PyPI/a@1.0.0", "PyPI/c@2.0"])
        #expect(try package(result, "a").groups == [])
        #expect(try package(result, "c").groups == ["dev"])
        #expect(try package(result, "c").location?.startLine == 9)
        #expect(result.warnings.map(\.line) == [10])
    }

    @Test func uvLock() throws {
        let text = """
        version = 1

        [[package]]
        name = "a"
        version = "1.0"
        source = { registry = "https://pypi.org/simple" }
        dependencies = [
            { name = "b", version = "2.0" },
        ]

        [[package]]
        name = "b"
        version = "1.0"
        source = { registry = "https://pypi.org/simple" }

        [[package]]
        name = "b"
        version = "2.0"
        source = { git = "https://github.com/o/b?rev=main#0123456789abcdef" }

        [[package]]
        name = "app"
        version = "0.1.0"
        source = { editable = "." }
        dependencies = [
            { name = "a" },
        ]

        [package.optional-dependencies]
        cli = [
            { name = "b", version = "1.0" },
        ]

        [package.dev-dependencies]
        dev = [
            { name = "b", version = "2.0" },
        ]
        """
        let result = try parse("uv.lock", text)
        #expect(result.graph.packages.map(\.key) == ["PyPI/a@1.0", "PyPI/b@1.0", "PyPI/b@2.0"])
        #expect(try package(result, "a").direct == true)
        #expect(try package(result, "a").groups == [])
        #expect(try package(result, "b", "2.0").groups == ["cli", "dev"])
        #expect(try package(result, "b", "2.0").commit == "0123456789abcdef")
        #expect(try package(result, "b", "1.0").location?.startLine == 12)
        #expect(result.graph.dependencies == ["PyPI/a@1.0": ["PyPI/b@2.0"]])
    }

    @Test func poetryAndPdmEdges() throws {
        let poetry = """
        [[package]]
        name = "factory-boy"
        version = "3.3.1"
        category = "dev"

        [package.dependencies]
        Faker = ">=0.7.0"

        [[package]]
        name = "faker"
        version = "33.3.0"
        groups = ["main", "dev"]
        """
        let poetryResult = try parse("poetry.lock", poetry)
        #expect(try package(poetryResult, "factory-boy").groups == ["dev"])
        #expect(try package(poetryResult, "faker").groups == [])
        #expect(try package(poetryResult, "faker").location?.startLine == 10)
        #expect(poetryResult.graph.dependencies == ["PyPI/factory-boy@3.3.1": ["PyPI/faker@33.3.0"]])

        let pdm = """
        [[package]]
        name = "a"
        version = "1.0"
        groups = ["default"]
        dependencies = [
            "B[extra]>=1; python_version >= \\"3.8\\"",
        ]

        [[package]]
        name = "b"
        version = "2.0"
        groups = ["test"]
        """
        let pdmResult = try parse("pdm.lock", pdm)
        #expect(try package(pdmResult, "b").groups == ["optional"])
        #expect(pdmResult.graph.dependencies == ["PyPI/a@1.0": ["PyPI/b@2.0"]])
    }

    /// A `name = …` inside a multi-line string or a sub-table does not move a package's line.
    @Test func tomlLinesPointAtTheEntrysName() throws {
        for (format, file) in [("uv.lock", "uv.lock/names-outside-package-block.lock"),
                               ("poetry.lock", "poetry.lock/names-outside-package-block.lock"),
                               ("pdm.lock", "pdm.lock/names-outside-package-block.toml"),
                               ("pylock.toml", "pylock.toml/names-outside-package-block.toml")] {
            let path = Fixture.directory + "/" + file
            let bytes = try #require(FileManager.default.contents(atPath: path))
            let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            let result = try #require(Fixture.parser(for: format)).parse([UInt8](bytes), path: path)
            for package in result.graph.packages {
                let line = try #require(package.location?.startLine)
                let text = lines[line - 1].replacingOccurrences(of: "'", with: "\"")
                #expect(text == "name = \"\(package.name)\"", "\(file): \(package.name) at line \(line)")
            }
        }
    }

    // MARK: Errors

    /// Hostile nesting is refused, not recursed into until the stack runs out.
    @Test func deepNestingIsRefused() throws {
        let deepYAML = (0..<300).map { String(repeating: " ", count: 2 * $0) + "k\($0):" }.joined(separator: "\n")
        let deepFlow = "packages: " + String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        let deepJSON = "{\"packages\": " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}"
        #expect(throws: LockfileError.self) { try parse("pnpm-lock.yaml", deepYAML) }
        #expect(throws: LockfileError.self) { try parse("pnpm-lock.yaml", deepFlow) }
        #expect(throws: LockfileError.self) { try parse("package-lock.json", deepJSON) }
    }

    @Test func malformedFilesNameTheLine() throws {
        let cases: [(String, String, Int)] = [
            ("package-lock.json", "{\n  \"packages\": {\n    \"a\": nope\n  }\n}", 3),
            ("bun.lock", "{\n  \"packages\": {\n    \"a\": [1, \"\", {}],\n  }\n}", 3),
            ("pnpm-lock.yaml", "lockfileVersion: 5.4\npackages:\n  /a/1.0.0:\n    dev: false\n  nope:\n    dev: false\n", 5),
            ("pnpm-lock.yaml", "packages:\n  a: [1, 2\n  b: c\n", 3),
            ("yarn.lock", "  version \"1.0.0\"\n", 1),
            ("uv.lock", "version = 1\n\n[[package]]\nname = \"a\nversion = \"1\"\n", 4),
        ]
        for (format, text, line) in cases {
            let error = #expect(throws: LockfileError.self, "\(format): \(text)") { try parse(format, text) }
            #expect(error?.line == line, "\(format): \(String(describing: error))")
            #expect(error?.path == format)
        }
    }
}
