import Foundation
import Logging
import Testing
import VegaStore

/// The databases every store test runs on: SQLite always, and PostgreSQL when the test
/// script started one (`scripts/test` does, and exports its URL as VEGA_TEST_POSTGRES_URL).
public enum TestDatabase: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    public static let postgresURL = ProcessInfo.processInfo.environment["VEGA_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    public static var all: [TestDatabase] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    public var testDescription: String { rawValue }

    public static let logger = Logger(label: "vega.tests.store")

    /// Runs `body` on a fresh, empty database of this kind, removed afterwards.
    public func withFresh(_ body: (any StoreDatabase) async throws -> Void) async throws {
        try await withFresh { _, database in try await body(database) }
    }

    /// As `withFresh`, also giving the database's URL (a file path for SQLite), as a `vega`
    /// command run by the test takes it with `--database-url`.
    public func withFresh(_ body: (_ url: String, any StoreDatabase) async throws -> Void) async throws {
        let name = "vega_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        switch self {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(String(name))
            defer { try? FileManager.default.removeItem(at: folder) }
            let url = folder.appendingPathComponent("vega.sqlite").path
            let database = try await DatabaseConnector.open(url: url, logger: Self.logger)
            do { try await body(url, database) } catch { try? await database.shutdown(); throw error }
            try await database.shutdown()
        case .postgres:
            guard let base = Self.postgresURL, var components = URLComponents(string: base) else {
                throw TestDatabaseError("VEGA_TEST_POSTGRES_URL is not a PostgreSQL URL")
            }
            components.path = "/" + name
            let url = components.string ?? base
            let admin = try await DatabaseConnector.open(url: base, logger: Self.logger)
            var failure: (any Error)?
            do {
                try await admin.withConnection { try await $0.raw("CREATE DATABASE \(ident: String(name))").run() }
                let database = try await DatabaseConnector.open(url: url, logger: Self.logger)
                do { try await body(url, database) } catch { failure = error }
                try? await database.shutdown()
                try await admin.withConnection { try await $0.raw("DROP DATABASE \(ident: String(name)) WITH (FORCE)").run() }
            } catch {
                failure = failure ?? error
            }
            try? await admin.shutdown()
            if let failure { throw failure }
        }
    }
}

struct TestDatabaseError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
