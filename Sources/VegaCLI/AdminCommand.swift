import ArgumentParser
import Foundation
import Logging
import VegaModel
import VegaStore

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Operator tasks on the platform database.",
        subcommands: [CreateUser.self, VerifyAudit.self, SetQuota.self]
    )

    /// Opens and migrates the database, runs `body`, and always closes it.
    static func withStore<T: Sendable>(_ options: DatabaseOptions, _ body: (Store) async throws -> T) async throws -> T {
        let database = try await options.open(logger: Logger(label: "vega"))
        do {
            try await Migrator.migrate(database)
            let result = try await body(Store(database: database))
            try await database.shutdown()
            return result
        } catch {
            try? await database.shutdown()
            throw error
        }
    }

    struct CreateUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user to a tenant; the password is read from VEGA_PASSWORD or generated and printed once."
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: "The tenant's name (created if it does not exist).")
        var tenant = "default"

        @Option(help: "The user's email, their login.")
        var email: String

        @Option(help: "The user's name.")
        var name: String?

        @Option(help: "owner, admin, member or viewer.")
        var role: String = "member"

        func validate() throws {
            guard Role(rawValue: role) != nil else { throw ValidationError("--role must be owner, admin, member or viewer") }
            guard email.contains("@") else { throw ValidationError("--email must be an email address") }
        }

        func run() async throws {
            let given = ProcessInfo.processInfo.environment["VEGA_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
            if let given, given.count < 12 { throw ValidationError("VEGA_PASSWORD must be at least 12 characters") }
            let password = given ?? String((0..<20).map { _ in "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789".randomElement()! })
            let (tenantName, email, role, name) = (tenant, email, Role(rawValue: role)!, name ?? email)
            let user = try await AdminCommand.withStore(database) { store in
                let existing = try await store.tenant(named: tenantName)
                let scope = if let existing { existing } else { try await store.createTenant(name: tenantName) }
                return try await store.createUser(email: email, name: name, role: role, password: password, in: scope)
            }
            print("created \(user.role.rawValue) \(user.email) in tenant \(tenantName)")
            if given == nil { print("password: \(password)  (shown once)") }
        }
    }

    struct VerifyAudit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-audit",
            abstract: "Recompute every tenant's audit hash chain; exit 1 if any event was changed, removed or reordered."
        )

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let results = try await AdminCommand.withStore(database) { store in
                var results: [(String, AuditVerification)] = []
                for tenant in try await store.tenants() {
                    results.append((tenant.name, try await store.verifyAudit(in: tenant.scope)))
                }
                return results
            }
            var broken = false
            for (name, result) in results {
                if let at = result.firstBroken {
                    broken = true
                    print("\(name): BROKEN at event \(at) (\(result.events) checked)")
                } else {
                    print("\(name): intact, \(result.events) events")
                }
            }
            if broken { throw PolicyFailure() }
        }
    }
}
