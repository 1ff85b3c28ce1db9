import ArgumentParser
import Foundation
import VegaStore

extension AdminCommand {
    /// `vega admin set-quota`: one tenant's own limits on scans, over the server's defaults.
    struct SetQuota: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-quota",
            abstract: "Set a tenant's own limits on scans, or put them back to the server's defaults.",
            discussion: """
                Each limit is a number (0: unlimited) or `default` (the server's --max-active-scans or --max-scans-per-day); \
                one not given stays as it is. The change applies to the next submission and is audited as \
                tenant.quota_changed (actor "operator").
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: "The tenant's name.")
        var tenant: String

        @Option(name: .customLong("max-active-scans"), help: "Scans queued or running at once: N (0: unlimited) or default.")
        var maxActiveScans: QuotaSetting?

        @Option(name: .customLong("max-scans-per-day"), help: "Scans submitted per UTC day: N (0: unlimited) or default.")
        var maxScansPerDay: QuotaSetting?

        func validate() throws {
            guard maxActiveScans != nil || maxScansPerDay != nil else {
                throw ValidationError("nothing to change: give --max-active-scans and/or --max-scans-per-day")
            }
        }

        func run() async throws {
            let (name, active, daily) = (tenant, maxActiveScans, maxScansPerDay)
            let quota = try await AdminCommand.withStore(database) { store in
                guard let scope = try await store.tenant(named: name) else { throw ValidationError("no tenant is named \(name)") }
                return try await store.setQuota(maxActiveScans: active, maxScansPerDay: daily, in: scope)
            }
            func shown(_ limit: Int?) -> String { limit.map { $0 == 0 ? "unlimited" : String($0) } ?? "the server's default" }
            print("\(name): max active scans \(shown(quota.maxActiveScans)), max scans per day \(shown(quota.maxScansPerDay))")
        }
    }
}

extension QuotaSetting: ExpressibleByArgument {
    /// A number from 0 (unlimited), or `default`.
    public init?(argument: String) {
        if argument == "default" {
            self = .serverDefault
        } else if let limit = Int(argument), limit >= 0 {
            self = .limit(limit)
        } else {
            return nil
        }
    }
}
