import ArgumentParser
import Foundation
import VegaModel
import VegaReports
import VegaScanner

enum SBOMFormat: String, ExpressibleByArgument, CaseIterable {
    case cyclonedxJSON = "cyclonedx-json"
    case spdxJSON = "spdx-json"
}

struct SBOMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sbom",
        abstract: "Write a software bill of materials (CycloneDX 1.6 or SPDX 2.3) from the lockfiles of a directory or git URL."
    )

    @Argument(help: "A directory, or a git URL (https, ssh, file).")
    var source: String = "."

    @Option(help: "cyclonedx-json (default) or spdx-json.")
    var format: SBOMFormat = .cyclonedxJSON

    @Option(name: [.short, .long], help: "Write the document to this file instead of standard output.")
    var output: String?

    @Option(help: "Config file (default: .vega.yaml in the scanned root, if present).")
    var config: String?

    func run() async throws {
        let request = ScanRequest(source: source, configPath: config)
        let scan = Task { try await Scanner.inventory(request) }
        let interrupts = Terminal.onInterrupt { scan.cancel() }
        defer { interrupts.forEach { $0.cancel() } }
        let inventory = try await scan.value
        Terminal.printWarnings(inventory.warnings)
        let input = SBOMInput(
            name: inventory.source, graphs: inventory.graphs, toolVersion: VegaVersion.current,
            timestamp: ISO8601DateFormatter().string(from: Date())
        )
        let data = switch format {
        case .cyclonedxJSON: try CycloneDXReport.encode(input)
        case .spdxJSON: try SPDXReport.encode(input)
        }
        try ScanCommand.emit(data, to: output)
    }
}
