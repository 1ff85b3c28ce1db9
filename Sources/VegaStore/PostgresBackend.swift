import Foundation
import Logging
import PostgresKit
import Synchronization

/// PostgreSQL through PostgresNIO's `PostgresClient`, the maintained connection pool.
public final class PostgresBackend: StoreDatabase {
    public let kind = DatabaseKind.postgres
    private let client: PostgresClient
    /// The pool's run loop. It lives exactly as long as this backend: `shutdown` ends it.
    private let runner: Task<Void, Never>
    /// Wakes this process's idle workers when any process queues a scan.
    let wakeups = ScanWakeups()
    private let listening: Mutex<Listening> = Mutex(.notStarted)
    private let connectionConfiguration: PostgresConnection.Configuration
    private let logger: Logger

    private enum Listening {
        case notStarted, running(Task<Void, Never>), shutDown
    }

    /// `url`: `postgres://user:password@host:port/database[?sslmode=…]`.
    public init(url: String, logger: Logger) throws {
        let parsed: SQLPostgresConfiguration
        do {
            parsed = try SQLPostgresConfiguration(url: url)
        } catch {
            throw StoreError("not a PostgreSQL URL (postgres://user:password@host:port/database): \(Self.redacted(url))")
        }
        let core = parsed.coreConfiguration
        guard let host = core.host else { throw StoreError("the PostgreSQL URL names no host: \(Self.redacted(url))") }
        let tls: PostgresClient.Configuration.TLS = if let context = core.tls.sslContext {
            core.tls.isEnforced ? .require(context.configuration) : .prefer(context.configuration)
        } else {
            .disable
        }
        let configuration = PostgresClient.Configuration(
            host: host, port: core.port ?? 5432, username: core.username, password: core.password,
            database: core.database, tls: tls
        )
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        connectionConfiguration = core
        self.logger = logger
        runner = Task { await client.run() }
    }

    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in try await body(GuardedConnection(connection)) }
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in try await inTransaction(GuardedConnection(connection), begin: "BEGIN", body) }
    }

    public func shutdown() async throws {
        let listener = listening.withLock { state in
            defer { state = .shutDown }
            guard case .running(let task) = state else { return nil as Task<Void, Never>? }
            return task
        }
        listener?.cancel()
        await listener?.value
        runner.cancel()
        await runner.value
    }

    /// Starts, once, the connection that LISTENs for queued scans (see `ScanWakeups`): by
    /// the first idle worker, so an API-only process holds none.
    func listenForQueuedScans() {
        listening.withLock { state in
            guard case .notStarted = state else { return }
            state = .running(Task { [connectionConfiguration, wakeups, logger] in
                await Self.listen(configuration: connectionConfiguration, wakeups: wakeups, logger: logger)
            })
        }
    }

    /// LISTENs on a connection of its own (the pool would hand a pooled one to other work)
    /// until cancelled. A lost connection is logged and opened again after 0.5 s, doubling
    /// up to 30 s, while the workers keep polling; each (re)connection wakes them once, for
    /// the scans queued while nobody listened.
    private static func listen(configuration: PostgresConnection.Configuration, wakeups: ScanWakeups, logger: Logger) async {
        var retry = Duration.milliseconds(500)
        var lost = false
        while !Task.isCancelled {
            var failure: (any Error)?
            do {
                let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
                do {
                    try await connection.listen(on: Store.scanChannel) { notifications in
                        if lost { logger.notice("listening for queued scans again") }
                        lost = false
                        retry = .milliseconds(500)
                        wakeups.wakeAll()
                        for try await notification in notifications {
                            wakeups.scanQueued(runAt: Int64(notification.payload) ?? 0)
                        }
                    }
                } catch {
                    failure = error
                }
                try? await connection.close()
            } catch {
                failure = error
            }
            guard !Task.isCancelled else { return }
            lost = true
            logger.warning("not listening for queued scans: polling until the connection is back", metadata: [
                "error": "\(failure.map { "\($0)" } ?? "the connection closed")", "retry_in": "\(retry)",
            ])
            try? await Task.sleep(for: retry)
            retry = min(retry * 2, .seconds(30))
        }
    }

    /// The URL without its password, for messages.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "****"
        return components.string ?? "postgres://…"
    }
}

/// A connection's SQL, where a statement on a connection the server closed (a restart, a
/// lost network) fails at once. PostgresNIO drops a query written to a channel that is
/// closed and torn down without failing it, so its caller — a transaction's next statement
/// or its ROLLBACK after the server went away — would wait forever. On the connection's
/// event loop, a channel still open when the query is written hands it to the protocol
/// handler, which fails it properly if the channel closes later.
private struct GuardedConnection: SQLDatabase {
    let connection: PostgresConnection
    let base: any SQLDatabase

    init(_ connection: PostgresConnection) {
        self.connection = connection
        base = connection.sql()
    }

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { connection.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        connection.eventLoop.flatSubmit { [connection, base] in
            connection.isClosed
                ? connection.eventLoop.makeFailedFuture(ConnectionClosed())
                : base.execute(sql: query, onRow)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await execute(sql: query, onRow).get()
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await closure(self)
    }
}

/// The server closed the connection a statement was for (`Store.isUnavailable`: worth another try).
struct ConnectionClosed: Error, CustomStringConvertible {
    var description: String { "the connection to PostgreSQL closed" }
}
