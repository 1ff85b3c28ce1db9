import Foundation
import SQLKit
import Testing
import VegaStoreTestSupport
import VegaModel
@testable import VegaStore

private func graph(_ source: String, _ packages: [(String, String)], ecosystem: Ecosystem = .npm) -> DependencyGraph {
    DependencyGraph(source: source, format: "package-lock.json", packages: packages.map { name, version in
        Package(ecosystem: ecosystem, name: name, version: version, purl: "pkg:npm/\(name)@\(version)", direct: true)
    })
}

@Suite struct ComponentTests {
    @Test(arguments: TestDatabase.all)
    func answersWhichRepositoriesUseAPackageAcrossTheTenant(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await store.createTenant(name: "acme")
            let project = try await store.createProject(name: "web", by: .tester(in: acme))
            var repositories: [String] = []
            for (index, version) in ["4.17.20", "4.17.21"].enumerated() {
                let repository = try await store.addRepository("https://git.example.com/app\(index).git", project: project, by: .tester(in: acme))
                let scan = try await store.createScan(repositoryID: repository, ref: "main", engines: ["deps"], by: .tester(in: acme))
                try await store.replaceComponents([graph("package-lock.json", [("lodash", version), ("react", "18.2.0")])],
                                                  scanID: scan, repositoryID: repository, in: acme)
                repositories.append(repository)
            }
            // Another tenant with the same package sees only its own.
            let other = try await store.createTenant(name: "other")
            let otherProject = try await store.createProject(name: "x", by: .tester(in: other))
            let otherRepository = try await store.addRepository("https://git.example.com/x.git", project: otherProject, by: .tester(in: other))
            let otherScan = try await store.createScan(repositoryID: otherRepository, ref: "main", engines: ["deps"], by: .tester(in: other))
            try await store.replaceComponents([graph("package-lock.json", [("lodash", "4.17.20")])],
                                              scanID: otherScan, repositoryID: otherRepository, in: other)

            let all = try await store.repositories(using: "lodash", ecosystem: "npm", in: acme)
            #expect(all.map(\.repositoryID) == repositories)
            #expect(all.map(\.version) == ["4.17.20", "4.17.21"])
            let vulnerable = try await store.repositories(using: "lodash", ecosystem: "npm", versions: ["4.17.20", "4.17.19"], in: acme)
            #expect(vulnerable.map(\.repositoryURL) == ["https://git.example.com/app0.git"])
            #expect(try await store.repositories(using: "lodash", ecosystem: "npm", in: other).map(\.repositoryID) == [otherRepository])
            #expect(try await store.repositories(using: "lodash", ecosystem: "PyPI", in: acme).isEmpty)

            // A later scan's inventory replaces the earlier one: lodash gone from app0.
            let rescan = try await store.createScan(repositoryID: repositories[0], ref: "main", engines: ["deps"], by: .tester(in: acme))
            try await store.replaceComponents([graph("package-lock.json", [("react", "18.3.1")])],
                                              scanID: rescan, repositoryID: repositories[0], in: acme)
            #expect(try await store.repositories(using: "lodash", ecosystem: "npm", in: acme).map(\.repositoryID) == [repositories[1]])
            // Another tenant cannot write into acme's repository.
            await #expect(throws: Store.NotFound.self) {
                try await store.replaceComponents([], scanID: rescan, repositoryID: repositories[0], in: other)
            }
        }
    }

    @Test(arguments: TestDatabase.all)
    func largeInventoriesAreWrittenInBatches(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let tenant = try await store.createTenant(name: "big")
            let project = try await store.createProject(name: "mono", by: .tester(in: tenant))
            let repository = try await store.addRepository("https://git.example.com/mono.git", project: project, by: .tester(in: tenant))
            let scan = try await store.createScan(repositoryID: repository, ref: "main", engines: ["deps"], by: .tester(in: tenant))
            let packages = (0..<1_234).map { ("pkg-\($0)", "1.0.\($0 % 7)") }
            // The same lockfile listed twice (a format that repeats entries) stores each package once.
            try await store.replaceComponents([graph("package-lock.json", packages + packages.prefix(10))],
                                              scanID: scan, repositoryID: repository, in: tenant)
            let count = try await store.database.withConnection { db in
                try await db.raw("SELECT COUNT(*) AS n FROM sbom_components").first()!.decode(column: "n", as: Int.self)
            }
            #expect(count == 1_234)
        }
    }
}
