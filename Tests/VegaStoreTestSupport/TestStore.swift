import Foundation
import VegaModel
import VegaStore

extension TestDatabase {
    /// Runs `body` with a store on a fresh, migrated database of this kind.
    public func withStore(_ body: (Store) async throws -> Void) async throws {
        try await withFresh { database in
            try await Migrator.migrate(database)
            try await body(Store(database: database))
        }
    }
}

extension Store {
    /// Adds a repository at `url` (no credentials in it, so shown as given), default branch main, to `project`; its id.
    public func addRepository(_ url: String, project: String, by actor: Principal, now: Date = Date()) async throws -> String {
        try await createRepository(projectID: project, url: url, maskedURL: url, defaultBranch: "main", by: actor, now: now)
    }
}
