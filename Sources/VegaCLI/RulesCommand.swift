import ArgumentParser
import Foundation
import VegaModel
import VegaScanner

struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Inspect the rules Vega applies.",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every rule with its id, severity and description.")

        @Option(help: "A config file whose rules (added, replaced, disabled) to include.")
        var config: String?

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() async throws {
            let config = try config.map(ScanConfig.load) ?? ScanConfig()
            // The deps and ai engines' rules (advisories, weaknesses) are known only per scan: nothing of them is
            // listed here, and the ai engine is not even made (it needs a provider).
            let rules = try EngineRegistry.make(
                EngineRegistry.defaults, config: config, maxFileSize: Scanner.defaultMaxFileSize,
                dataDirectory: DataDirectory.resolve(nil)
            )
                .flatMap(\.rules)
                .sorted { $0.id < $1.id }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                FileHandle.standardOutput.write(try encoder.encode(rules))
                print()
                return
            }
            let idWidth = rules.map(\.id.count).max() ?? 2
            print("ID".padding(toLength: idWidth, withPad: " ", startingAt: 0) + "  SEVERITY  DESCRIPTION")
            for rule in rules {
                print(rule.id.padding(toLength: idWidth, withPad: " ", startingAt: 0) + "  "
                    + rule.severity.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) + "  " + rule.description)
            }
            print("\(rules.count) rules; vulnerable dependencies are reported under their advisory ids (see `vega db status`)")
        }
    }
}
