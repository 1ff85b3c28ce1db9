import Foundation
import VegaModel

/// CycloneDX 1.6 JSON (https://cyclonedx.org/docs/1.6/json/): the scanned project as
/// `metadata.component`, one `library` component per package (the same ecosystem, name
/// and version pinned by several lockfiles is one component), and the dependency graph.
///
/// Components are identified by their purl (`bom-ref`). Dev/test-only packages have scope
/// `optional`, the rest `required`. Vega's own details are properties: `vega:lockfile`
/// (each lockfile that pins the package), `vega:group` (each dependency group), `vega:dev`
/// and `vega:commit`; `evidence.occurrences` gives each declaration's file and line.
///
/// In `dependencies`, the project depends on the packages the lockfiles call direct, and
/// on every package whose lockfile does not say. A package pinned by a lockfile that
/// records a graph has an entry, empty when it depends on nothing; one pinned only by
/// lockfiles without a graph has none (its dependencies are unknown).
public enum CycloneDXReport {
    public static let specVersion = "1.6"
    public static let schemaURI = "http://cyclonedx.org/schema/bom-1.6.schema.json"
    /// `bom-ref` of the scanned project (`metadata.component`).
    public static let projectRef = "vega:project"
    /// Property names; each occurs once per value.
    public static let lockfileProperty = "vega:lockfile"
    public static let groupProperty = "vega:group"
    public static let devProperty = "vega:dev"
    public static let commitProperty = "vega:commit"

    /// Pretty-printed, keys sorted, ending in a newline. `serialNumber` is a UUIDv5 of the
    /// rest of the document, so the same input always gives the same bytes.
    public static func encode(_ input: SBOMInput) throws -> Data {
        var bom = try BOM(input)
        bom.serialNumber = "urn:uuid:" + SBOM.contentID(try JSONReport.encodeDocument(bom))
        return try JSONReport.encodeDocument(bom)
    }

    /// CycloneDX's `group`/`name` split where the ecosystem has one: a Maven groupId,
    /// an npm scope (with its '@'), a Packagist vendor. Elsewhere the name is whole.
    static func groupAndName(_ package: Package) -> (group: String?, name: String) {
        let separator: Character
        switch package.ecosystem {
        case .maven: separator = ":"
        case .npm where package.name.hasPrefix("@"), .packagist: separator = "/"
        default: return (nil, package.name)
        }
        guard let index = package.name.firstIndex(of: separator) else { return (nil, package.name) }
        let group = package.name[..<index], name = package.name[package.name.index(after: index)...]
        guard !group.isEmpty, !name.isEmpty else { return (nil, package.name) }
        return (String(group), String(name))
    }
}

// MARK: - CycloneDX object model (only the parts Vega writes)

private struct BOM: Encodable {
    let schema = CycloneDXReport.schemaURI
    let bomFormat = "CycloneDX"
    let specVersion = CycloneDXReport.specVersion
    var serialNumber = ""
    let version = 1
    let metadata: Metadata
    let components: [Component]
    let dependencies: [Dependency]

    enum CodingKeys: String, CodingKey {
        case schema = "$schema", bomFormat, specVersion, serialNumber, version, metadata, components, dependencies
    }

    init(_ input: SBOMInput) throws {
        let inventory = SBOMInventory(input.graphs)
        var refs: [String: String] = [:]
        var taken: Set<String> = [CycloneDXReport.projectRef]
        for component in inventory.components {
            let base = component.package.purl.isEmpty ? "vega:" + component.key : component.package.purl
            var ref = base
            var suffix = 2
            while taken.contains(ref) {
                ref = "\(base)-\(suffix)"
                suffix += 1
            }
            taken.insert(ref)
            refs[component.key] = ref
        }

        metadata = Metadata(
            timestamp: try SBOM.timestamp(input.timestamp),
            tools: Tools(components: [Tool(type: "application", name: "vega", version: input.toolVersion)]),
            component: Project(type: "application", bomRef: CycloneDXReport.projectRef, name: input.name)
        )
        components = inventory.components.map { Component($0, ref: refs[$0.key]!) }
        dependencies = [Dependency(
            ref: CycloneDXReport.projectRef,
            dependsOn: inventory.components.filter(\.isDirect).map { refs[$0.key]! }
        )] + inventory.components.compactMap { component in
            component.dependencies.map { Dependency(ref: refs[component.key]!, dependsOn: $0.map { refs[$0]! }) }
        }
    }
}

private struct Metadata: Encodable {
    let timestamp: String
    let tools: Tools
    let component: Project
}

private struct Tools: Encodable {
    let components: [Tool]
}

private struct Tool: Encodable {
    let type: String
    let name: String
    let version: String
}

private struct Project: Encodable {
    let type: String
    let bomRef: String
    let name: String

    enum CodingKeys: String, CodingKey {
        case type, bomRef = "bom-ref", name
    }
}

private struct Component: Encodable {
    let type = "library"
    let bomRef: String
    let group: String?
    let name: String
    let version: String?
    let scope: String
    let purl: String?
    let properties: [Property]
    let evidence: Evidence

    enum CodingKeys: String, CodingKey {
        case type, bomRef = "bom-ref", group, name, version, scope, purl, properties, evidence
    }

    init(_ component: SBOMInventory.Component, ref: String) {
        let package = component.package
        bomRef = ref
        (group, name) = CycloneDXReport.groupAndName(package)
        version = package.version.isEmpty ? nil : package.version
        scope = component.isDevOnly ? "optional" : "required"
        purl = package.purl.isEmpty ? nil : package.purl
        var properties = component.lockfiles.map { Property(name: CycloneDXReport.lockfileProperty, value: $0) }
        properties += component.groups.map { Property(name: CycloneDXReport.groupProperty, value: $0) }
        if component.isDevOnly { properties.append(Property(name: CycloneDXReport.devProperty, value: "true")) }
        if let commit = component.commit { properties.append(Property(name: CycloneDXReport.commitProperty, value: commit)) }
        self.properties = properties
        evidence = Evidence(occurrences: component.occurrences.map {
            Occurrence(location: $0.path, line: $0.line.map { max($0, 0) })
        })
    }
}

private struct Property: Encodable {
    let name: String
    let value: String
}

private struct Evidence: Encodable {
    let occurrences: [Occurrence]
}

private struct Occurrence: Encodable {
    let location: String
    let line: Int?
}

private struct Dependency: Encodable {
    let ref: String
    let dependsOn: [String]
}
