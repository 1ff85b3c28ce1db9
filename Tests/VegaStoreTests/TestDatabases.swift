import Foundation
import Logging
import Testing
import VegaStore

/// The databases every store test runs on: SQLite always, and PostgreSQL when the test
/// script started one (`scripts/test` does, and exports its URL as VEGA_TEST_POSTGRES_URL).
enum TestDatabase: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    static let postgresURL = ProcessInfo.processInfo.environment["VEGA_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    static var all: [TestDatabase] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { rawValue }

    static let logger = Logger(label: "vega.tests.store")

    /// Runs `body` on a fresh, empty database of this kind, removed afterwards.
    func withFresh(_ body: (any StoreDatabase) async throws -> Void) async throws {
        let name = "vega_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        switch self {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(String(name))
            defer { try? FileManager.default.removeItem(at: folder) }
            let database = try await DatabaseConnector.open(url: folder.appendingPathComponent("vega.sqlite").path, logger: Self.logger)
            do { try await body(database) } catch { try? await database.shutdown(); throw error }
            try await database.shutdown()
        case .postgres:
            let base = try #require(Self.postgresURL)
            var components = try #require(URLComponents(string: base))
            components.path = "/" + name
            let url = try #require(components.string)
            let admin = try await DatabaseConnector.open(url: base, logger: Self.logger)
            var failure: (any Error)?
            do {
                try await admin.withConnection { try await $0.raw("CREATE DATABASE \(ident: String(name))").run() }
                let database = try await DatabaseConnector.open(url: url, logger: Self.logger)
                do { try await body(database) } catch { failure = error }
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
