import Foundation
import Testing
import VegaModel
@testable import VegaReports

@Suite struct CycloneDXTests {
    /// The official CycloneDX schema; it refers to spdx.schema.json and jsf-0.82.schema.json
    /// next to it, which scripts/validate-json.py reads from there (offline).
    static let schema = "../shared/formats/cyclonedx/bom-1.6.schema.json"

    @Test(arguments: SBOMFixture.all)
    func validatesAgainstOfficialSchema(input: SBOMInput) throws {
        let result = try validate(try CycloneDXReport.encode(input), against: Self.schema)
        #expect(result.status == 0, "\(result.output)")
    }

    /// The schema's licence choice is a $ref into spdx.schema.json: a licence id outside
    /// SPDX's list is an error (exit 1) only when that reference is resolved.
    @Test func validatorResolvesReferencedSchemasOffline() throws {
        var bom = try jsonObject(try CycloneDXReport.encode(SBOMFixture.single))
        var components = try #require(bom["components"] as? [[String: Any]])
        components[0]["licenses"] = [["license": ["id": "Apache-2.0"]]]
        bom["components"] = components
        let valid = try validate(try JSONSerialization.data(withJSONObject: bom), against: Self.schema)
        #expect(valid.status == 0, "\(valid.output)")

        components[0]["licenses"] = [["license": ["id": "Not-A-Licence"]]]
        bom["components"] = components
        bom["signature"] = ["algorithm": "none"]
        let invalid = try validate(try JSONSerialization.data(withJSONObject: bom), against: Self.schema)
        #expect(invalid.status == 1, "\(invalid.output)")
        #expect(invalid.output.contains("$.components[0].licenses"))
        #expect(invalid.output.contains("$.signature"))
    }

    @Test func writesTheHeaderAndMetadata() throws {
        let bom = try jsonObject(try CycloneDXReport.encode(SBOMFixture.several))
        #expect(bom["$schema"] as? String == "http://cyclonedx.org/schema/bom-1.6.schema.json")
        #expect(bom["bomFormat"] as? String == "CycloneDX")
        #expect(bom["specVersion"] as? String == "1.6")
        #expect(bom["version"] as? Int == 1)
        let serial = try #require(bom["serialNumber"] as? String)
        #expect(serial.wholeMatch(of: /urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil)

        let metadata = try #require(bom["metadata"] as? [String: Any])
        #expect(metadata["timestamp"] as? String == "2024-05-01T12:00:00Z")
        let tools = try #require((metadata["tools"] as? [String: Any])?["components"] as? [[String: String]])
        #expect(tools == [["type": "application", "name": "vega", "version": "0.1.0"]])
        #expect(metadata["component"] as? [String: String] == [
            "type": "application", "name": "/home/dev/my project", "bom-ref": CycloneDXReport.projectRef,
        ])
    }

    @Test func onePackagePinnedByTwoLockfilesIsOneComponent() throws {
        let components = try Self.components(SBOMFixture.several)
        let refs = components.compactMap { $0["bom-ref"] as? String }
        #expect(refs.count == components.count && Set(refs).count == refs.count)
        #expect(components.count == SBOMFixture.uniqueKeys(SBOMFixture.several))
        #expect(components.count == 12)

        let lodash = try #require(components.filter { $0["name"] as? String == "lodash" }.only)
        #expect(lodash["type"] as? String == "library")
        #expect(lodash["version"] as? String == "4.17.21")
        #expect(lodash["purl"] as? String == "pkg:npm/lodash@4.17.21")
        #expect(lodash["bom-ref"] as? String == "pkg:npm/lodash@4.17.21")
        // Main in one lockfile, dev in the other: still needed at run time.
        #expect(lodash["scope"] as? String == "required")
        #expect(Self.properties(lodash) == [
            ["vega:lockfile", "package-lock.json"], ["vega:lockfile", "web/package-lock.json"], ["vega:group", "dev"],
        ])
        let occurrences = try #require((lodash["evidence"] as? [String: Any])?["occurrences"] as? [[String: Any]])
        #expect(occurrences.map { $0["location"] as? String } == ["package-lock.json", "web/package-lock.json"])
        #expect(occurrences.map { $0["line"] as? Int } == [30, 12])

        // Another version of the same package is another component.
        #expect(components.filter { $0["name"] as? String == "react" }.compactMap { $0["version"] as? String } == ["18.3.1"])
        #expect(components.filter { $0["name"] as? String == "lodash" }.count == 1)
        #expect(components.filter { $0["name"] as? String == "lodash.merge" }.count == 2)
    }

    @Test func devOnlyPackagesAreOptional() throws {
        let components = try Self.components(SBOMFixture.several)
        let jest = try #require(components.first { $0["name"] as? String == "jest" })
        #expect(jest["scope"] as? String == "optional")
        #expect(Self.properties(jest) == [["vega:lockfile", "package-lock.json"], ["vega:group", "dev"], ["vega:dev", "true"]])
        let prettyFormat = try #require(components.first { $0["name"] as? String == "pretty-format" })
        #expect(prettyFormat["scope"] as? String == "optional")
        let scopes = Dictionary(grouping: components.compactMap { $0["scope"] as? String }, by: { $0 }).mapValues(\.count)
        #expect(scopes == ["optional": 3, "required": 9])
    }

    @Test func namesAndPurlsPerEcosystem() throws {
        let components = try Self.components(SBOMFixture.several)
        func component(_ purl: String) throws -> [String: Any] {
            try #require(components.first { $0["purl"] as? String == purl }, "\(purl)")
        }
        let babel = try component("pkg:npm/%40babel/core@7.24.0")
        #expect(babel["group"] as? String == "@babel")
        #expect(babel["name"] as? String == "core")
        #expect(babel["bom-ref"] as? String == "pkg:npm/%40babel/core@7.24.0")
        let maven = try component("pkg:maven/org.apache.commons/commons-lang3@3.14.0")
        #expect(maven["group"] as? String == "org.apache.commons")
        #expect(maven["name"] as? String == "commons-lang3")
        let testify = try component("pkg:golang/github.com/stretchr/testify@v1.9.0")
        #expect(testify["group"] == nil)
        #expect(testify["name"] as? String == "github.com/stretchr/testify")
        #expect(testify["version"] as? String == "v1.9.0")
        let django = try component("pkg:pypi/django@5.0.6")
        #expect(django["group"] == nil && django["name"] as? String == "Django")
        let lodash = try component("pkg:npm/lodash@4.17.21")
        #expect(lodash["group"] == nil)
    }

    @Test func dependenciesFollowTheGraphs() throws {
        let bom = try jsonObject(try CycloneDXReport.encode(SBOMFixture.several))
        let components = try #require(bom["components"] as? [[String: Any]])
        // "group/name@version" → bom-ref
        var refByName: [String: String] = [:]
        for component in components {
            let group = (component["group"] as? String).map { $0 + "/" } ?? ""
            let name = "\(group)\(component["name"] as? String ?? "")@\(component["version"] as? String ?? "")"
            #expect(refByName[name] == nil)
            refByName[name] = component["bom-ref"] as? String
        }
        func ref(_ name: String) throws -> String { try #require(refByName[name], "\(name)") }
        let entries = try #require(bom["dependencies"] as? [[String: Any]])
        var graph: [String: [String]] = [:]
        for entry in entries {
            let ref = try #require(entry["ref"] as? String)
            #expect(graph[ref] == nil, "\(ref) listed twice")
            graph[ref] = try #require(entry["dependsOn"] as? [String])
        }
        #expect(entries.first?["ref"] as? String == CycloneDXReport.projectRef)

        // Direct packages, and those whose lockfile does not say (Maven, PyPI here).
        #expect(Set(try #require(graph[CycloneDXReport.projectRef])) == Set(try [
            "@babel/core@7.24.0", "jest@29.7.0", "lodash@4.17.21", "react@18.3.1", "lodash.merge@4.6.1",
            "github.com/stretchr/testify@v1.9.0", "org.apache.commons/commons-lang3@3.14.0", "Django@5.0.6",
            "lodash.merge@4.6.2",
        ].map(ref)))
        #expect(graph[try ref("@babel/core@7.24.0")] == [try ref("@babel/parser@7.24.1")])
        // The edge to a package no lockfile lists is left out.
        #expect(graph[try ref("jest@29.7.0")] == [try ref("lodash@4.17.21"), try ref("pretty-format@29.7.0")])
        // Merged from both npm lockfiles.
        #expect(graph[try ref("pretty-format@29.7.0")] == [try ref("lodash@4.17.21")])
        // In a lockfile with a graph but depending on nothing: an empty entry.
        #expect(graph[try ref("react@18.3.1")] == [])
        #expect(graph[try ref("@babel/parser@7.24.1")] == [])
        // Lockfiles without a graph: unknown, so no entry.
        for name in ["github.com/stretchr/testify@v1.9.0", "golang.org/x/net@v0.25.0", "Django@5.0.6",
                     "org.apache.commons/commons-lang3@3.14.0"] {
            #expect(graph[try ref(name)] == nil, "\(name)")
        }
        // Every ref names a component or the project.
        let known = Set(refByName.values).union([CycloneDXReport.projectRef])
        #expect(Set(graph.keys).isSubset(of: known))
        #expect(Set(graph.values.joined()).isSubset(of: known))
    }

    @Test func emptyInputIsAProjectWithNoComponents() throws {
        let bom = try jsonObject(try CycloneDXReport.encode(SBOMFixture.empty))
        #expect((bom["components"] as? [Any])?.isEmpty == true)
        let dependencies = try #require(bom["dependencies"] as? [[String: Any]])
        #expect(dependencies.count == 1)
        #expect(dependencies.first?["ref"] as? String == CycloneDXReport.projectRef)
        #expect((dependencies.first?["dependsOn"] as? [String]) == [])
        let component = (bom["metadata"] as? [String: Any])?["component"] as? [String: String]
        #expect(component?["name"] == "https://github.com/example/repo.git")
    }

    @Test func unusualPackagesKeepDistinctRefs() throws {
        let components = try Self.components(SBOMFixture.unusual)
        #expect(Set(components.compactMap { $0["bom-ref"] as? String }).count == components.count)
        // No version, pinned to a commit.
        let leftPad = try #require(components.first { $0["name"] as? String == "left-pad" })
        #expect(leftPad["version"] == nil)
        #expect(leftPad["purl"] as? String == "pkg:npm/left-pad")
        #expect(Self.properties(leftPad).contains(["vega:commit", SBOMFixture.commit]))
        // No purl: a ref of its own.
        let nameless = try #require(components.first { $0["name"] as? String == "internal-tool" })
        #expect(nameless["purl"] == nil)
        #expect(nameless["bom-ref"] as? String == "vega:Hex/internal-tool@1.0.0")
        // Two packages giving the same purl still get two refs.
        let same = components.filter { $0["purl"] as? String == "pkg:pypi/zope-interface@5.0" }
        #expect(same.compactMap { $0["bom-ref"] as? String }.sorted() == ["pkg:pypi/zope-interface@5.0", "pkg:pypi/zope-interface@5.0-2"])
    }

    @Test func sameInputGivesTheSameBytes() throws {
        let first = try CycloneDXReport.encode(SBOMFixture.several)
        #expect(first == (try CycloneDXReport.encode(SBOMFixture.several)))
        let text = String(decoding: first, as: UTF8.self)
        #expect(text.hasPrefix("{\n  \"$schema\""))
        #expect(text.hasSuffix("}\n"))
        #expect(!text.contains("\\/"))

        // The order of the lockfiles does not matter…
        var reordered = SBOMFixture.several
        reordered.graphs.reverse()
        #expect(try CycloneDXReport.encode(reordered) == first)
        // …but the content does, and so the serial number changes with it.
        var later = SBOMFixture.several
        later.timestamp = "2024-05-02T12:00:00Z"
        var fewer = SBOMFixture.several
        fewer.graphs.removeLast()
        let serials = try [SBOMFixture.several, later, fewer, SBOMFixture.single, SBOMFixture.empty].map {
            try jsonObject(try CycloneDXReport.encode($0))["serialNumber"] as? String
        }
        #expect(Set(serials).count == serials.count)
    }

    @Test func timestampIsWrittenInUTC() throws {
        var input = SBOMFixture.single
        input.timestamp = "2024-05-01T14:00:00.250+02:00"
        let metadata = try jsonObject(try CycloneDXReport.encode(input))["metadata"] as? [String: Any]
        #expect(metadata?["timestamp"] as? String == "2024-05-01T12:00:00Z")
        input.timestamp = "yesterday"
        #expect(throws: SBOMError.self) { try CycloneDXReport.encode(input) }
    }

    @Test func contentIDIsAVersion5UUID() {
        let dns = UUID(uuidString: "6ba7b810-9dad-11d1-80b4-00c04fd430c8")!, url = UUID(uuidString: "6ba7b811-9dad-11d1-80b4-00c04fd430c8")!
        #expect(SBOM.uuidV5(namespace: dns, name: Data("python.org".utf8)).uuidString.lowercased() == "886313e1-3b8a-5372-9b90-0c9aee199e5d")
        #expect(SBOM.uuidV5(namespace: url, name: Data("https://vega.dev/sbom".utf8)) == SBOM.namespace)
    }

    static func components(_ input: SBOMInput) throws -> [[String: Any]] {
        try #require(try jsonObject(try CycloneDXReport.encode(input))["components"] as? [[String: Any]])
    }

    static func properties(_ component: [String: Any]) -> [[String]] {
        (component["properties"] as? [[String: String]] ?? []).map { [$0["name"] ?? "", $0["value"] ?? ""] }
    }
}

/// Inputs the CycloneDX and SPDX tests share.
enum SBOMFixture {
    static let commit = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

    static func npm(
        _ name: String, _ version: String, direct: Bool?, groups: [String] = [], line: Int, in lockfile: String = "package-lock.json"
    ) -> Package {
        let purlName = name.hasPrefix("@") ? "%40" + name.dropFirst() : name
        return Package(
            ecosystem: .npm, name: name, version: version, purl: "pkg:npm/\(purlName)@\(version)", direct: direct, groups: groups,
            location: Location(path: lockfile, startLine: line, startColumn: 1, endLine: line, endColumn: 1)
        )
    }

    static func input(name: String = "/home/dev/my project", _ graphs: [DependencyGraph]) -> SBOMInput {
        SBOMInput(name: name, graphs: graphs, toolVersion: "0.1.0", timestamp: "2024-05-01T12:00:00Z")
    }

    /// A package-lock.json with scoped names, a dev subtree and an edge to a package it does not list.
    static let rootLockfile = DependencyGraph(
        source: "package-lock.json", format: "package-lock.json",
        packages: [
            npm("@babel/core", "7.24.0", direct: true, line: 10),
            npm("@babel/parser", "7.24.1", direct: false, line: 20),
            npm("lodash", "4.17.21", direct: true, line: 30),
            npm("jest", "29.7.0", direct: true, groups: ["dev"], line: 40),
            npm("pretty-format", "29.7.0", direct: false, groups: ["dev"], line: 50),
            npm("lodash.merge", "4.6.2", direct: true, line: 60),
        ],
        dependencies: [
            "npm/@babel/core@7.24.0": ["npm/@babel/parser@7.24.1"],
            "npm/jest@29.7.0": ["npm/pretty-format@29.7.0", "npm/lodash@4.17.21", "npm/ghost@1.0.0"],
        ]
    )

    /// A second npm project: lodash again (dev here), pretty-format again with an edge, another lodash.merge.
    static let webLockfile = DependencyGraph(
        source: "web/package-lock.json", format: "package-lock.json",
        packages: [
            npm("lodash", "4.17.21", direct: true, groups: ["dev"], line: 12, in: "web/package-lock.json"),
            npm("pretty-format", "29.7.0", direct: false, groups: ["test"], line: 22, in: "web/package-lock.json"),
            npm("react", "18.3.1", direct: true, line: 32, in: "web/package-lock.json"),
            npm("lodash.merge", "4.6.1", direct: true, groups: ["dev"], line: 42, in: "web/package-lock.json"),
            npm("lodash.merge", "4.6.1", direct: true, groups: ["dev"], line: 52, in: "web/package-lock.json"),
        ],
        dependencies: ["npm/pretty-format@29.7.0": ["npm/lodash@4.17.21"]]
    )

    static let goModule = DependencyGraph(
        source: "go.mod", format: "go.mod",
        packages: [
            Package(ecosystem: .go, name: "github.com/stretchr/testify", version: "v1.9.0",
                    purl: "pkg:golang/github.com/stretchr/testify@v1.9.0", direct: true),
            Package(ecosystem: .go, name: "golang.org/x/net", version: "v0.25.0",
                    purl: "pkg:golang/golang.org/x/net@v0.25.0", direct: false),
        ]
    )

    static let maven = DependencyGraph(
        source: "services/api/pom.xml", format: "pom.xml",
        packages: [
            Package(ecosystem: .maven, name: "org.apache.commons:commons-lang3", version: "3.14.0",
                    purl: "pkg:maven/org.apache.commons/commons-lang3@3.14.0"),
        ]
    )

    static let python = DependencyGraph(
        source: "requirements.txt", format: "requirements.txt",
        packages: [Package(ecosystem: .pypi, name: "Django", version: "5.0.6", purl: "pkg:pypi/django@5.0.6")]
    )

    static let empty = input(name: "https://github.com/example/repo.git", [])
    static let single = input([rootLockfile])
    static let several = input([rootLockfile, webLockfile, goModule, maven, python])
    /// Names that sanitise alike, a package without version or purl, two spellings of one purl.
    static let unusual = input(name: "C:\\Users\\zoë\\Mein Projekt", [
        DependencyGraph(source: "package-lock.json", format: "package-lock.json", packages: [
            Package(ecosystem: .npm, name: "a_b", version: "1.0.0", purl: "pkg:npm/a_b@1.0.0"),
            Package(ecosystem: .npm, name: "a-b", version: "1.0.0", purl: "pkg:npm/a-b@1.0.0"),
            Package(ecosystem: .npm, name: "a b", version: "1.0.0", purl: "pkg:npm/a%20b@1.0.0"),
            Package(ecosystem: .npm, name: "left-pad", version: "", purl: "pkg:npm/left-pad", commit: commit),
            Package(ecosystem: .npm, name: "@scope/ünïcode", version: "1.0.0+build.1", purl: "pkg:npm/%40scope/%C3%BCn%C3%AFcode@1.0.0%2Bbuild.1"),
        ], dependencies: ["npm/a_b@1.0.0": ["npm/a-b@1.0.0", "npm/a b@1.0.0", "npm/a_b@1.0.0"]]),
        DependencyGraph(source: "mix.lock", format: "mix.lock", packages: [
            Package(ecosystem: .hex, name: "internal-tool", version: "1.0.0", purl: ""),
        ]),
        DependencyGraph(source: "requirements.txt", format: "requirements.txt", packages: [
            Package(ecosystem: .pypi, name: "zope.interface", version: "5.0", purl: "pkg:pypi/zope-interface@5.0"),
            Package(ecosystem: .pypi, name: "Zope_Interface", version: "5.0", purl: "pkg:pypi/zope-interface@5.0"),
        ]),
    ])

    static let all = [empty, single, several, unusual]

    static func uniqueKeys(_ input: SBOMInput) -> Int {
        Set(input.graphs.flatMap(\.packages).map(\.key)).count
    }
}

extension Collection {
    /// The one element, or nil when there are none or several.
    var only: Element? { count == 1 ? first : nil }
}

