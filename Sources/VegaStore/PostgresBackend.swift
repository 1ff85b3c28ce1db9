import Foundation
import Logging
import PostgresKit

/// PostgreSQL through PostgresNIO's `PostgresClient`, the maintained connection pool.
public final class PostgresBackend: StoreDatabase {
    public let kind = DatabaseKind.postgres
    private let client: PostgresClient
    /// The pool's run loop. It lives exactly as long as this backend: `shutdown` ends it.
    private let runner: Task<Void, Never>

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
        runner = Task { await client.run() }
    }

    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in try await body(connection.sql()) }
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in try await inTransaction(connection.sql(), begin: "BEGIN", body) }
    }

    public func shutdown() async throws {
        runner.cancel()
        await runner.value
    }

    /// The URL without its password, for messages.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "****"
        return components.string ?? "postgres://…"
    }
}
