import Foundation
import Logging
import SQLKit

/// Which SQL server a `StoreDatabase` talks to; the few statements that differ ask this.
public enum DatabaseKind: String, Sendable {
    case sqlite, postgres
}

/// The connections the store runs its SQL on: SQLite (the embedded default) or
/// PostgreSQL (scale-out). Everything above it is written once against SQLKit.
public protocol StoreDatabase: Sendable {
    var kind: DatabaseKind { get }
    /// Runs `body` on one connection, held for the duration. For reads: every write goes
    /// through `transaction`.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` in one transaction on one connection: committed when it returns, rolled
    /// back when it throws.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Closes every connection; the database is unusable afterwards.
    func shutdown() async throws
    /// Brings the query planner's statistics up to date after a large write, where the
    /// database does not do it by itself.
    func refreshStatistics() async throws
}

extension StoreDatabase {
    /// PostgreSQL's autovacuum keeps statistics current.
    public func refreshStatistics() async throws {}
}

/// Runs `body` between BEGIN and COMMIT on one connection, rolling back when it throws.
func inTransaction<T: Sendable>(
    _ db: any SQLDatabase, begin: SQLQueryString, _ body: @Sendable (any SQLDatabase) async throws -> T
) async throws -> T {
    try await db.raw(begin).run()
    do {
        let result = try await body(db)
        try await db.raw("COMMIT").run()
        return result
    } catch {
        // In a task of its own, which the caller's cancellation does not reach: a cancelled
        // caller must still end the transaction, or the connection (SQLite's one writer)
        // stays inside it and every later write fails.
        await Task { try? await db.raw("ROLLBACK").run() }.value
        throw error
    }
}

/// Opens the database a URL names.
public enum DatabaseConnector {
    /// `postgres://user:password@host:port/database` for PostgreSQL; anything else is a
    /// SQLite file path (`sqlite://` prefix optional).
    public static func open(url: String, logger: Logger) async throws -> any StoreDatabase {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return try PostgresBackend(url: url, logger: logger)
        }
        let path = url.hasPrefix("sqlite://") ? String(url.dropFirst("sqlite://".count)) : url
        return try await SQLiteBackend(path: path, logger: logger)
    }
}

/// A store failure: a message safe to show (never a password or a secret).
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
