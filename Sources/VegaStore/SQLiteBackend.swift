import Foundation
import Logging
import SQLiteKit
import Synchronization

/// The embedded database: one SQLite file in WAL mode. Reads share a few connections;
/// every transaction runs on the one writer connection, so writers of this process queue
/// here instead of in SQLite's busy handler — which sleeps on the I/O thread pool and can
/// starve the very COMMIT it waits for. (sqlite-kit's own pool is not Sendable; these are
/// small and are.)
public final class SQLiteBackend: StoreDatabase {
    public let kind = DatabaseKind.sqlite
    public let path: String
    private let readers: Pool
    private let writer: Pool

    public init(path: String, connections: Int = 4, logger: Logger) async throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var opened: [SQLiteConnection] = []
        do {
            for _ in 0..<max(2, connections) {
                let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
                opened.append(connection)
                let sql = connection.sql()
                // WAL lets readers run beside the one writer; busy_timeout makes a second
                // writer wait for the lock instead of failing at once.
                for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA busy_timeout = 10000", "PRAGMA foreign_keys = ON",
                               "PRAGMA synchronous = NORMAL"] {
                    try await sql.raw(SQLQueryString(pragma)).run()
                }
            }
        } catch {
            for connection in opened { try? await connection.close() }
            throw StoreError("cannot open SQLite database \(path): \(error)")
        }
        writer = Pool([opened[0]])
        readers = Pool(Array(opened.dropFirst()))
    }

    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let connection = try await readers.take()
        defer { readers.give(connection) }
        return try await body(connection.sql())
    }

    /// `BEGIN IMMEDIATE` takes the write lock at once, so a writer in another process
    /// waits at the start (busy_timeout) rather than failing on a lock upgrade mid-way.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let connection = try await writer.take()
        defer { writer.give(connection) }
        return try await inTransaction(connection.sql(), begin: "BEGIN IMMEDIATE", body)
    }

    /// SQLite keeps no statistics unless asked, and without them it may read a tenant's
    /// findings through the wrong index. `optimize` analyses only the tables that grew a
    /// lot since their last analysis, on a sample, so calling it after each scan is cheap.
    public func refreshStatistics() async throws {
        let connection = try await writer.take()
        defer { writer.give(connection) }
        try await connection.sql().raw("PRAGMA analysis_limit = 1000").run()
        try await connection.sql().raw("PRAGMA optimize = 0x10002").run()
    }

    public func shutdown() async throws {
        for connection in writer.drain() + readers.drain() { try await connection.close() }
    }

    /// Idle connections and the tasks waiting for one, first come first served.
    private final class Pool: Sendable {
        private struct State {
            var idle: [SQLiteConnection]
            var waiting: [CheckedContinuation<SQLiteConnection, any Error>] = []
            var closed = false
        }

        private let state: Mutex<State>

        init(_ connections: [SQLiteConnection]) {
            state = Mutex(State(idle: connections))
        }

        func take() async throws -> SQLiteConnection {
            try await withCheckedThrowingContinuation { continuation in
                state.withLock { state in
                    if state.closed {
                        continuation.resume(throwing: StoreError("the database is shut down"))
                    } else if let connection = state.idle.popLast() {
                        continuation.resume(returning: connection)
                    } else {
                        state.waiting.append(continuation)
                    }
                }
            }
        }

        func give(_ connection: SQLiteConnection) {
            let waiter: CheckedContinuation<SQLiteConnection, any Error>? = state.withLock { state in
                if state.waiting.isEmpty {
                    state.idle.append(connection)
                    return nil
                }
                return state.waiting.removeFirst()
            }
            waiter?.resume(returning: connection)
        }

        func drain() -> [SQLiteConnection] {
            let (idle, waiting) = state.withLock { state in
                state.closed = true
                defer { state.idle = []; state.waiting = [] }
                return (state.idle, state.waiting)
            }
            for waiter in waiting { waiter.resume(throwing: StoreError("the database is shut down")) }
            return idle
        }
    }
}
