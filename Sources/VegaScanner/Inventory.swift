import Foundation
import VegaDeps
import VegaModel
import VegaWorkspace

/// The packages a source declares, without matching advisories: what `vega sbom` writes.
public struct InventoryOutcome: Sendable {
    /// What was scanned, as reports name it.
    public var source: String
    public var graphs: [DependencyGraph]
    public var warnings: [ScanWarning]
}

extension Scanner {
    public static func inventory(_ request: ScanRequest) async throws -> InventoryOutcome {
        let source = try await SourceResolver.resolve(request.source, cloneTimeout: request.cloneTimeout)
        defer { source.cleanup() }
        let config = try loadConfig(request, root: source.root)
        let maxFileSize = request.maxFileSize ?? config.maxFileSize?.bytes ?? defaultMaxFileSize
        let options = WalkOptions(maxFileSize: maxFileSize, excludes: (config.exclude ?? []) + request.excludes)
        let root = source.root
        let result = try await BlockingWork.cancellable { flag in
            DependencyInventory.collect(
                try Walker.walk(root: root, options: options).files, root: root, maxFileSize: maxFileSize, cancel: flag
            )
        }
        return InventoryOutcome(
            source: source.isTemporary ? source.display : source.root,
            graphs: result.graphs.sorted { $0.source < $1.source },
            warnings: result.warnings
        )
    }
}
