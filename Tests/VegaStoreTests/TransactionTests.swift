import Foundation
import Testing
import VegaStoreTestSupport
@testable import VegaStore

@Suite struct TransactionTests {
    /// A caller cancelled inside a transaction (a client gone, a server stopping) rolls it
    /// back, and the connection takes the next write.
    @Test(arguments: TestDatabase.all)
    func aCancelledTransactionRollsBackAndLeavesTheWriterUsable(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let started = AsyncStream<Void>.makeStream()
            let writer = Task {
                try await store.database.transaction { db in
                    try await db.raw("INSERT INTO tenants (id, name, created_at) VALUES ('ten_gone', 'gone', 0)").run()
                    started.continuation.yield()
                    try await Task.sleep(for: .seconds(30))
                }
            }
            var events = started.stream.makeAsyncIterator()
            await events.next()
            writer.cancel()
            await #expect(throws: CancellationError.self) { try await writer.value }

            let scope = try await store.createTenant(name: "after")
            #expect(try await store.tenants().map(\.name) == ["after"], "the cancelled insert was rolled back")
            #expect(try await store.tenant(named: "after") == scope)
        }
    }
}
