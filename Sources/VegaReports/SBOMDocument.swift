import Crypto
import Foundation
import VegaModel

/// What `vega sbom` scanned: the input of the CycloneDX and SPDX writers.
public struct SBOMInput: Sendable, Hashable {
    /// Names the scanned project, e.g. the directory's name or the repository's URL.
    public var name: String
    /// One per lockfile. A package several lockfiles pin is written once.
    public var graphs: [DependencyGraph]
    public var toolVersion: String
    /// When the SBOM was made, ISO 8601 with a time zone ("2024-05-01T12:00:00Z",
    /// "2024-05-01T14:00:00.250+02:00"); written in UTC to the second. Passed in so that
    /// the same input always gives the same bytes.
    public var timestamp: String

    public init(name: String, graphs: [DependencyGraph], toolVersion: String, timestamp: String) {
        self.name = name
        self.graphs = graphs
        self.toolVersion = toolVersion
        self.timestamp = timestamp
    }
}

/// Why an SBOM could not be written; the description is meant for the user.
public struct SBOMError: Error, CustomStringConvertible, LocalizedError {
    public let description: String

    init(_ description: String) {
        self.description = description
    }

    public var errorDescription: String? { description }
}

/// The packages of all the graphs, one entry per `Package.key`, and who depends on whom:
/// what both SBOM formats are written from.
struct SBOMInventory {
    struct Occurrence: Hashable, Comparable {
        let path: String
        let line: Int?

        static func < (a: Occurrence, b: Occurrence) -> Bool {
            (a.path, a.line ?? 0) < (b.path, b.line ?? 0)
        }
    }

    struct Component {
        let key: String
        /// The first declaration met: ecosystem, name, version and purl are the same in all.
        let package: Package
        /// The lockfiles that pin it (`DependencyGraph.source`), sorted.
        var lockfiles: [String]
        /// Each declaration's file and line, sorted.
        var occurrences: [Occurrence]
        /// Every group any lockfile puts it in, sorted.
        var groups: [String]
        /// Dev (or test) only in every lockfile that pins it.
        var isDevOnly: Bool
        /// The project depends on it directly: some lockfile says so, or does not say.
        var isDirect: Bool
        var commit: String?
        /// Keys of its direct dependencies; nil when no lockfile that pins it records a
        /// graph (dependencies unknown, as opposed to none).
        var dependencies: [String]?
    }

    /// Sorted by ecosystem, name, version.
    let components: [Component]

    init(_ graphs: [DependencyGraph]) {
        var byKey: [String: Component] = [:]
        for graph in graphs {
            let hasGraph = !graph.dependencies.isEmpty
            for package in graph.packages {
                let key = package.key
                let occurrence = Occurrence(path: package.location?.path ?? graph.source, line: package.location?.startLine)
                var component = byKey[key] ?? Component(
                    key: key, package: package, lockfiles: [], occurrences: [], groups: [],
                    isDevOnly: true, isDirect: false, commit: nil, dependencies: nil
                )
                if !component.lockfiles.contains(graph.source) { component.lockfiles.append(graph.source) }
                if !component.occurrences.contains(occurrence) { component.occurrences.append(occurrence) }
                for group in package.groups where !component.groups.contains(group) { component.groups.append(group) }
                component.isDevOnly = component.isDevOnly && package.isDevOnly
                component.isDirect = component.isDirect || package.direct != false
                component.commit = component.commit ?? package.commit
                if hasGraph {
                    var dependencies = component.dependencies ?? []
                    for dependency in graph.dependencies[key] ?? [] where !dependencies.contains(dependency) {
                        dependencies.append(dependency)
                    }
                    component.dependencies = dependencies
                }
                byKey[key] = component
            }
        }
        let order = byKey.values.sorted { a, b in
            (a.package.ecosystem.rawValue, a.package.name, a.package.version, a.key)
                < (b.package.ecosystem.rawValue, b.package.name, b.package.version, b.key)
        }
        let rank = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1.key, $0) })
        components = order.map { component in
            var component = component
            component.lockfiles.sort()
            component.occurrences.sort()
            component.groups.sort()
            // Edges to packages no graph lists cannot be written; the rest in component order.
            component.dependencies = component.dependencies?
                .filter { rank[$0] != nil && $0 != component.key }
                .sorted { rank[$0]! < rank[$1]! }
            return component
        }
    }
}

enum SBOM {
    /// The timestamp in UTC to the second ("2024-05-01T12:00:00Z"), the form SPDX requires
    /// and CycloneDX accepts.
    static func timestamp(_ value: String) throws -> String {
        let plain = Date.ISO8601FormatStyle()
        let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        guard let date = (try? plain.parse(value)) ?? (try? fractional.parse(value)) else {
            throw SBOMError("SBOM timestamp \"\(value)\" is not an ISO 8601 date and time")
        }
        return plain.format(date)
    }

    /// Vega's namespace for name-based UUIDs: UUIDv5(URL namespace, "https://vega.dev/sbom").
    static let namespace = UUID(uuidString: "f73a11b3-d2d8-5a71-90cb-74492e0c2cb3")!

    /// RFC 9562 UUID version 5: SHA-1 of the namespace and the name, with the version and
    /// variant bits set. The same content always names the same document.
    static func uuidV5(namespace: UUID, name: Data) -> UUID {
        let ns = namespace.uuid
        var input = Data([ns.0, ns.1, ns.2, ns.3, ns.4, ns.5, ns.6, ns.7, ns.8, ns.9, ns.10, ns.11, ns.12, ns.13, ns.14, ns.15])
        input.append(name)
        var bytes = Array(Insecure.SHA1.hash(data: input).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
        ))
    }

    /// A lowercase UUID derived from a document's bytes.
    static func contentID(_ content: Data) -> String {
        uuidV5(namespace: namespace, name: content).uuidString.lowercased()
    }
}
