import Foundation
import VegaModel

/// SPDX 2.3 JSON (https://spdx.github.io/spdx-spec/v2.3/): a root package for the
/// scanned project, which the document DESCRIBES, and one package per package the
/// lockfiles pin (the same ecosystem, name and version in several lockfiles is one
/// package), each with its purl as a PACKAGE-MANAGER external reference. Vega does not
/// read licences or download locations, so those are NOASSERTION.
///
/// Relationships: the project DEPENDS_ON each package the lockfiles call direct (and each
/// whose lockfile does not say); a dev/test-only one is instead DEV_DEPENDENCY_OF the
/// project. Between packages, DEPENDS_ON follows the lockfiles' graphs.
public enum SPDXReport {
    public static let spdxVersion = "SPDX-2.3"
    public static let documentID = "SPDXRef-DOCUMENT"
    public static let projectID = "SPDXRef-Project"
    /// `documentNamespace` is this, the project's name made URI-safe, '-' and a UUIDv5 of
    /// the rest of the document.
    public static let namespacePrefix = "https://vega.dev/spdxdocs/"
    static let noAssertion = "NOASSERTION"

    /// Pretty-printed, keys sorted, ending in a newline: the same input always gives the
    /// same bytes (`documentNamespace` included).
    public static func encode(_ input: SBOMInput) throws -> Data {
        var document = try Document(input)
        let id = SBOM.contentID(try JSONReport.encodeDocument(document))
        document.documentNamespace = namespacePrefix + slug(input.name) + "-" + id
        return try JSONReport.encodeDocument(document)
    }

    /// "SPDXRef-" + `idstring` ([A-Za-z0-9.-]+): other characters become '-', runs of '-' one.
    static func spdxID(_ parts: [String]) -> String {
        var id = ""
        for scalar in parts.joined(separator: "-").unicodeScalars {
            let allowed = scalar.isASCII
                && (CharacterSet.alphanumerics.contains(scalar) || scalar == "." || scalar == "-")
            let next: Character = allowed ? Character(scalar) : "-"
            if next == "-", id.last == "-" { continue }
            id.append(next)
        }
        let trimmed = id.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        return "SPDXRef-" + (trimmed.isEmpty ? "Package" : trimmed)
    }

    /// The project's last path component (a repository URL's without ".git"), reduced to
    /// letters, digits, '.', '_' and '-' for the namespace URI.
    static func slug(_ name: String) -> String {
        var last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" || $0 == ":" }).last.map(String.init) ?? ""
        if last.hasSuffix(".git") { last.removeLast(4) }
        var slug = ""
        for scalar in last.unicodeScalars {
            let allowed = scalar.isASCII
                && (CharacterSet.alphanumerics.contains(scalar) || scalar == "." || scalar == "_" || scalar == "-")
            if allowed {
                slug.unicodeScalars.append(scalar)
            } else if slug.last != "-" {
                slug.append("-")
            }
        }
        let trimmed = slug.trimmingCharacters(in: CharacterSet(charactersIn: "-."))
        return trimmed.isEmpty ? "project" : trimmed
    }
}

// MARK: - SPDX object model (only the parts Vega writes)

private struct Document: Encodable {
    let spdxVersion = SPDXReport.spdxVersion
    let dataLicense = "CC0-1.0"
    let SPDXID = SPDXReport.documentID
    let name: String
    var documentNamespace = ""
    let creationInfo: CreationInfo
    let packages: [SPDXPackage]
    let relationships: [Relationship]

    init(_ input: SBOMInput) throws {
        let inventory = SBOMInventory(input.graphs)
        var ids: [String: String] = [:]
        var taken: Set<String> = [SPDXReport.documentID, SPDXReport.projectID]
        for component in inventory.components {
            let package = component.package
            let version = package.version.isEmpty ? [] : [package.version]
            let base = SPDXReport.spdxID(["Package", package.ecosystem.rawValue, package.name] + version)
            var id = base
            var suffix = 2
            while taken.contains(id) {
                id = "\(base)-\(suffix)"
                suffix += 1
            }
            taken.insert(id)
            ids[component.key] = id
        }

        name = input.name
        creationInfo = CreationInfo(created: try SBOM.timestamp(input.timestamp), creators: ["Tool: vega-" + input.toolVersion])
        packages = [SPDXPackage(project: input.name)] + inventory.components.map { SPDXPackage($0, id: ids[$0.key]!) }

        var relationships = [Relationship(SPDXReport.documentID, "DESCRIBES", SPDXReport.projectID)]
        for component in inventory.components where component.isDirect {
            relationships.append(component.isDevOnly
                ? Relationship(ids[component.key]!, "DEV_DEPENDENCY_OF", SPDXReport.projectID)
                : Relationship(SPDXReport.projectID, "DEPENDS_ON", ids[component.key]!))
        }
        for component in inventory.components {
            for dependency in component.dependencies ?? [] {
                relationships.append(Relationship(ids[component.key]!, "DEPENDS_ON", ids[dependency]!))
            }
        }
        self.relationships = relationships
    }
}

private struct CreationInfo: Encodable {
    let created: String
    let creators: [String]
}

private struct SPDXPackage: Encodable {
    let SPDXID: String
    let name: String
    let versionInfo: String?
    let downloadLocation = SPDXReport.noAssertion
    let filesAnalyzed = false
    let licenseConcluded = SPDXReport.noAssertion
    let licenseDeclared = SPDXReport.noAssertion
    let copyrightText = SPDXReport.noAssertion
    let primaryPackagePurpose: String
    let externalRefs: [ExternalRef]?
    let comment: String?

    init(project: String) {
        SPDXID = SPDXReport.projectID
        name = project
        versionInfo = nil
        primaryPackagePurpose = "APPLICATION"
        externalRefs = nil
        comment = nil
    }

    init(_ component: SBOMInventory.Component, id: String) {
        let package = component.package
        SPDXID = id
        name = package.name
        versionInfo = package.version.isEmpty ? nil : package.version
        primaryPackagePurpose = "LIBRARY"
        externalRefs = package.purl.isEmpty ? nil : [ExternalRef(
            referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: package.purl
        )]
        var comment = "Pinned by " + component.lockfiles.joined(separator: ", ")
        if !component.groups.isEmpty { comment += "; groups: " + component.groups.joined(separator: ", ") }
        if let commit = component.commit { comment += "; commit " + commit }
        self.comment = comment
    }
}

private struct ExternalRef: Encodable {
    let referenceCategory: String
    let referenceType: String
    let referenceLocator: String
}

private struct Relationship: Encodable {
    let spdxElementId: String
    let relationshipType: String
    let relatedSpdxElement: String

    init(_ element: String, _ type: String, _ related: String) {
        spdxElementId = element
        relationshipType = type
        relatedSpdxElement = related
    }
}
