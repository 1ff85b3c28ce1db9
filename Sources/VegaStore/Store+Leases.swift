import SQLKit

extension Store {
    /// Throws `LeaseLost` once the claim no longer holds its scan: it was cancelled, or its
    /// lease expired and the reaper gave it to another worker. One indexed row read, cheap
    /// enough for a running scan to ask twice a second.
    public func checkLease(_ claimed: ClaimedScan) async throws {
        let held = try await database.withConnection { db in
            try await db.raw("SELECT 1 AS held FROM scans WHERE id = \(bind: claimed.scanID) AND \(Self.holds(claimed, db))").first() != nil
        }
        if !held { throw LeaseLost(scanID: claimed.scanID) }
    }
}
