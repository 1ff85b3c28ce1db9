import Foundation
import Testing
import VegaModel
@testable import VegaReports

@Suite struct SPDXTests {
    /// The official schemas: spdx-spec v2.3 (draft-07) and its 2.3.1 revision (draft
    /// 2019-09, which also requires documentNamespace).
    static let schemas = ["../shared/formats/spdx-2.3/spdx-schema.json", "../shared/formats/spdx-2.3/spdx-schema-2.3.1.json"]

    @Test(arguments: SBOMFixture.all)
    func validatesAgainstOfficialSchemas(input: SBOMInput) throws {
        let document = try SPDXReport.encode(input)
        for schema in Self.schemas {
            let result = try validate(document, against: schema)
            #expect(result.status == 0, "\(schema): \(result.output)")
        }
    }

    /// What the schema leaves unchecked: SPDX ids' syntax and uniqueness, relationships
    /// between elements that exist, the namespace being a URI without '#', created in UTC.
    @Test(arguments: SBOMFixture.all)
    func followsTheRulesTheSchemaDoesNotCheck(input: SBOMInput) throws {
        let document = try jsonObject(try SPDXReport.encode(input))
        let packages = try #require(document["packages"] as? [[String: Any]])
        let ids = packages.compactMap { $0["SPDXID"] as? String }
        #expect(ids.count == packages.count && Set(ids).count == ids.count)
        for id in ids + [document["SPDXID"] as? String ?? ""] {
            #expect(id.wholeMatch(of: /SPDXRef-[A-Za-z0-9.\-]+/) != nil, "\(id)")
        }
        let elements = Set(ids).union(["SPDXRef-DOCUMENT"])
        for relationship in try #require(document["relationships"] as? [[String: String]]) {
            #expect(elements.contains(relationship["spdxElementId"] ?? ""), "\(relationship)")
            #expect(elements.contains(relationship["relatedSpdxElement"] ?? ""), "\(relationship)")
        }
        let namespace = try #require(document["documentNamespace"] as? String)
        let url = try #require(URL(string: namespace))
        #expect(url.scheme == "https" && url.host == "vega.dev" && url.fragment == nil && !namespace.contains("#"))
        let created = try #require((document["creationInfo"] as? [String: Any])?["created"] as? String)
        #expect(created.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil)
        #expect(packages.count == SBOMFixture.uniqueKeys(input) + 1)
    }

    @Test func writesTheDocumentHeader() throws {
        let document = try jsonObject(try SPDXReport.encode(SBOMFixture.several))
        #expect(document["spdxVersion"] as? String == "SPDX-2.3")
        #expect(document["dataLicense"] as? String == "CC0-1.0")
        #expect(document["SPDXID"] as? String == "SPDXRef-DOCUMENT")
        #expect(document["name"] as? String == "/home/dev/my project")
        #expect(document["$schema"] == nil && document["documentDescribes"] == nil)
        let creationInfo = try #require(document["creationInfo"] as? [String: Any])
        #expect(creationInfo["created"] as? String == "2024-05-01T12:00:00Z")
        #expect(creationInfo["creators"] as? [String] == ["Tool: vega-0.1.0"])
        let namespace = try #require(document["documentNamespace"] as? String)
        #expect(namespace.wholeMatch(
            of: /https:\/\/vega\.dev\/spdxdocs\/my-project-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/
        ) != nil, "\(namespace)")
    }

    @Test func rootPackageAndOnePackagePerUniquePackage() throws {
        let packages = try #require(try jsonObject(try SPDXReport.encode(SBOMFixture.several))["packages"] as? [[String: Any]])
        #expect(packages.count == 13)
        let root = try #require(packages.first)
        #expect(root["SPDXID"] as? String == SPDXReport.projectID)
        #expect(root["name"] as? String == "/home/dev/my project")
        #expect(root["primaryPackagePurpose"] as? String == "APPLICATION")
        #expect(root["externalRefs"] == nil && root["versionInfo"] == nil)

        for package in packages {
            #expect(package["downloadLocation"] as? String == "NOASSERTION")
            #expect(package["filesAnalyzed"] as? Bool == false)
            #expect(package["licenseConcluded"] as? String == "NOASSERTION")
            #expect(package["licenseDeclared"] as? String == "NOASSERTION")
            #expect(package["copyrightText"] as? String == "NOASSERTION")
        }
        let purls = packages.dropFirst().map { package in
            ((package["externalRefs"] as? [[String: String]])?.only).map {
                #expect($0["referenceCategory"] == "PACKAGE-MANAGER")
                #expect($0["referenceType"] == "purl")
                return $0["referenceLocator"] ?? ""
            }
        }
        #expect(Set(purls.compactMap { $0 }) == Set(SBOMFixture.several.graphs.flatMap(\.packages).map(\.purl)))

        let lodash = try #require(packages.filter { $0["name"] as? String == "lodash" }.only)
        #expect(lodash["SPDXID"] as? String == "SPDXRef-Package-npm-lodash-4.17.21")
        #expect(lodash["versionInfo"] as? String == "4.17.21")
        #expect(lodash["primaryPackagePurpose"] as? String == "LIBRARY")
        #expect(lodash["comment"] as? String == "Pinned by package-lock.json, web/package-lock.json; groups: dev")
        let babel = try #require(packages.first { $0["name"] as? String == "@babel/core" })
        #expect(babel["SPDXID"] as? String == "SPDXRef-Package-npm-babel-core-7.24.0")
        let maven = try #require(packages.first { $0["name"] as? String == "org.apache.commons:commons-lang3" })
        #expect(maven["SPDXID"] as? String == "SPDXRef-Package-Maven-org.apache.commons-commons-lang3-3.14.0")
        let go = try #require(packages.first { $0["name"] as? String == "github.com/stretchr/testify" })
        #expect(go["SPDXID"] as? String == "SPDXRef-Package-Go-github.com-stretchr-testify-v1.9.0")
        #expect(go["versionInfo"] as? String == "v1.9.0")
    }

    @Test func relationshipsFollowTheGraphs() throws {
        let document = try jsonObject(try SPDXReport.encode(SBOMFixture.several))
        let packages = try #require(document["packages"] as? [[String: Any]])
        let idByName = Dictionary(packages.dropFirst().map { ("\($0["name"]!)@\($0["versionInfo"]!)", $0["SPDXID"] as! String) },
                                  uniquingKeysWith: { a, _ in a })
        func id(_ name: String) throws -> String { try #require(idByName[name], "\(name)") }
        let relationships = try #require(document["relationships"] as? [[String: String]]).map {
            [$0["spdxElementId"] ?? "", $0["relationshipType"] ?? "", $0["relatedSpdxElement"] ?? ""]
        }
        let project = SPDXReport.projectID
        #expect(relationships.first == ["SPDXRef-DOCUMENT", "DESCRIBES", project])
        #expect(relationships.filter { $0[1] == "DESCRIBES" }.count == 1)
        #expect(Set(relationships.filter { $0[0] == project }) == Set(try [
            "@babel/core@7.24.0", "lodash@4.17.21", "lodash.merge@4.6.2", "react@18.3.1",
            "github.com/stretchr/testify@v1.9.0", "org.apache.commons:commons-lang3@3.14.0", "Django@5.0.6",
        ].map { [project, "DEPENDS_ON", try id($0)] }))
        #expect(Set(relationships.filter { $0[2] == project && $0[1] != "DESCRIBES" }) == Set(try [
            "jest@29.7.0", "lodash.merge@4.6.1",
        ].map { [try id($0), "DEV_DEPENDENCY_OF", project] }))
        let between = relationships.filter { $0[0] != project && $0[2] != project && $0[0] != "SPDXRef-DOCUMENT" }
        #expect(between == (try [
            [id("@babel/core@7.24.0"), "DEPENDS_ON", id("@babel/parser@7.24.1")],
            [id("jest@29.7.0"), "DEPENDS_ON", id("lodash@4.17.21")],
            [id("jest@29.7.0"), "DEPENDS_ON", id("pretty-format@29.7.0")],
            [id("pretty-format@29.7.0"), "DEPENDS_ON", id("lodash@4.17.21")],
        ]))
        #expect(Set(relationships.map { [$0[0], $0[2]] }).count == relationships.count)
    }

    @Test func emptyInputDescribesOnlyTheProject() throws {
        let document = try jsonObject(try SPDXReport.encode(SBOMFixture.empty))
        #expect((document["packages"] as? [[String: Any]])?.map { $0["SPDXID"] as? String } == [SPDXReport.projectID])
        #expect(document["relationships"] as? [[String: String]] == [
            ["spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": SPDXReport.projectID],
        ])
        #expect((document["documentNamespace"] as? String)?.hasPrefix("https://vega.dev/spdxdocs/repo-") == true)
    }

    @Test func idsStayUniqueWhenNamesSanitiseAlike() throws {
        let document = try jsonObject(try SPDXReport.encode(SBOMFixture.unusual))
        let packages = try #require(document["packages"] as? [[String: Any]])
        func id(_ name: String) -> String? { packages.first { $0["name"] as? String == name }?["SPDXID"] as? String }
        #expect(id("a b") == "SPDXRef-Package-npm-a-b-1.0.0")
        #expect(id("a-b") == "SPDXRef-Package-npm-a-b-1.0.0-2")
        #expect(id("a_b") == "SPDXRef-Package-npm-a-b-1.0.0-3")
        #expect(id("@scope/ünïcode") == "SPDXRef-Package-npm-scope-n-code-1.0.0-build.1")
        let leftPad = try #require(packages.first { $0["name"] as? String == "left-pad" })
        #expect(leftPad["SPDXID"] as? String == "SPDXRef-Package-npm-left-pad")
        #expect(leftPad["versionInfo"] == nil)
        #expect(leftPad["comment"] as? String == "Pinned by package-lock.json; commit \(SBOMFixture.commit)")
        let tool = try #require(packages.first { $0["name"] as? String == "internal-tool" })
        #expect(tool["externalRefs"] == nil)
        // A self-edge is dropped; the rest in package order.
        let edges = (document["relationships"] as? [[String: String]] ?? []).filter { $0["spdxElementId"] == id("a_b") }
        #expect(edges.map { $0["relatedSpdxElement"] } == [id("a b"), id("a-b")])
        #expect((document["documentNamespace"] as? String)?.hasPrefix("https://vega.dev/spdxdocs/Mein-Projekt-") == true)
    }

    @Test func sameInputGivesTheSameBytes() throws {
        let first = try SPDXReport.encode(SBOMFixture.several)
        #expect(first == (try SPDXReport.encode(SBOMFixture.several)))
        let text = String(decoding: first, as: UTF8.self)
        #expect(text.hasPrefix("{\n  \"SPDXID\""))
        #expect(text.hasSuffix("}\n"))
        var reordered = SBOMFixture.several
        reordered.graphs.reverse()
        #expect(try SPDXReport.encode(reordered) == first)

        var renamed = SBOMFixture.several
        renamed.toolVersion = "0.2.0"
        let namespaces = try [SBOMFixture.several, renamed, SBOMFixture.single, SBOMFixture.empty].map {
            try jsonObject(try SPDXReport.encode($0))["documentNamespace"] as? String
        }
        #expect(Set(namespaces).count == namespaces.count)
        // CycloneDX and SPDX of one input are different documents.
        let serial = try jsonObject(try CycloneDXReport.encode(SBOMFixture.several))["serialNumber"] as? String
        #expect(namespaces[0]?.hasSuffix(String(serial?.dropFirst("urn:uuid:".count) ?? "")) == false)
    }

    @Test func namespaceSlugs() {
        #expect(SPDXReport.slug("/home/dev/my project") == "my-project")
        #expect(SPDXReport.slug("https://github.com/example/repo.git") == "repo")
        #expect(SPDXReport.slug("git@github.com:example/Thing.git") == "Thing")
        #expect(SPDXReport.slug("/") == "project")
        #expect(SPDXReport.slug("") == "project")
        #expect(SPDXReport.slug("日本語") == "project")
        #expect(SPDXReport.spdxID(["Package", "npm", "@a/b", "1.0.0"]) == "SPDXRef-Package-npm-a-b-1.0.0")
    }
}
