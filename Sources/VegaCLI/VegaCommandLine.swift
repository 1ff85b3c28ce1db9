import ArgumentParser
import Foundation
import VegaModel

/// Entry point: parses, runs, and maps every outcome to Vega's exit codes —
/// 0 clean, 1 findings at or above the `--fail-on` policy, 2 usage or runtime error,
/// 130 interrupted (Ctrl-C or SIGTERM).
public enum VegaCommandLine {
    public static func run(_ arguments: [String]? = nil) async -> Int32 {
        do {
            var command = try Vega.parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch is PolicyFailure {
            return 1
        } catch let code as ExitCode {
            // A status chosen on purpose (`vega runner`'s), not an error to print.
            return code.rawValue
        } catch is CancellationError {
            Terminal.writeError("vega: interrupted")
            return 130
        } catch {
            let code = Vega.exitCode(for: error)
            let message = Vega.fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
                return 0
            }
            Terminal.writeError(message.hasPrefix("Error:") ? "vega: " + message.dropFirst(7) : message)
            return 2
        }
    }
}

/// Thrown when findings meet the fail policy: not an error, a verdict (exit 1).
struct PolicyFailure: Error {}

struct Vega: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vega",
        abstract: "Vega finds hard-coded secrets and vulnerable dependencies in a repository, offline.",
        version: VegaVersion.current,
        subcommands: [ScanCommand.self, SBOMCommand.self, DatabaseCommand.self, RulesCommand.self, ServeCommand.self, WorkerCommand.self, MaintenanceCommand.self, MigrateCommand.self, AdminCommand.self, BenchCommand.self, RunnerCommand.self, LLMProxyCommand.self]
    )
}
