import Foundation
import Testing
import VegaStoreTestSupport
import VegaLifecycle
import VegaModel
@testable import VegaStore

@Suite struct FindingQueryTests {
    @Test(arguments: TestDatabase.all)
    func listsFilterAndPageWithoutRepeatsOrGaps(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let scope = try await store.createTenant(name: "acme")
            let project = try await store.createProject(name: "p", by: .tester(in: scope))
            let severities: [Severity] = [.critical, .high, .medium, .low, .info]
            var repositories: [String] = []
            for r in 0..<2 {
                let repository = try await store.addRepository("https://git.example.com/r\(r).git", project: project, by: .tester(in: scope))
                repositories.append(repository)
                let scan = try await store.createScan(repositoryID: repository, ref: "main", engines: ["secrets"], by: .tester(in: scope))
                let findings = (0..<15).map { i in
                    Finding(ruleId: i % 2 == 0 ? "aws-access-token" : "generic-api-key", title: "Key \(i) in r\(r)",
                            severity: severities[i % 5], cwe: nil, message: "",
                            location: Location(path: "src/file\(i).py", startLine: 1, startColumn: 1, endLine: 1, endColumn: 2),
                            snippet: "", engine: "secrets", fingerprint: String(format: "fp-%02d", i))
                }
                try await store.record(ScanObservation(scanID: scan, branch: "main", completeness: .complete, engines: ["secrets"], at: Date(), findings: findings),
                                       repositoryID: repository, in: scope)
            }

            var seen: [ListedFinding] = []
            var cursor: String?
            repeat {
                let page = try await store.findings(matching: FindingFilter(), after: cursor, limit: 7, in: scope)
                #expect(page.items.count <= 7)
                seen += page.items
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen.count == 30)
            #expect(Set(seen.map { "\($0.repositoryID)/\($0.tracked.fingerprint)" }).count == 30)
            let ranks = seen.map(\.tracked.finding.severity.rank)
            #expect(ranks == ranks.sorted(by: >), "most severe first across pages")

            let critical = try await store.findings(matching: FindingFilter(severities: [.critical]), in: scope)
            #expect(critical.items.count == 6 && critical.nextCursor == nil)
            let oneRepo = try await store.findings(matching: FindingFilter(repositoryID: repositories[1], ruleID: "aws-access-token"), in: scope)
            #expect(oneRepo.items.count == 8 && oneRepo.items.allSatisfy { $0.repositoryID == repositories[1] })
            let text = try await store.findings(matching: FindingFilter(repositoryID: repositories[0], text: "KEY 1*"), in: scope)
            #expect(Set(text.items.map(\.tracked.finding.title)) == ["Key 1 in r0", "Key 10 in r0", "Key 11 in r0", "Key 12 in r0",
                                                                     "Key 13 in r0", "Key 14 in r0"])
            let path = try await store.findings(matching: FindingFilter(text: "FILE3.py"), in: scope)
            #expect(path.items.count == 2, "the path matches too, in both repositories")
            let wildcard = try await store.findings(matching: FindingFilter(text: "%"), in: scope)
            #expect(wildcard.items.isEmpty, "% is not a wildcard")
            let prefix = try await store.findings(matching: FindingFilter(text: "fil*"), in: scope)
            #expect(prefix.items.count == 30, "the last word matches the words it begins")
            let notLast = try await store.findings(matching: FindingFilter(text: "ke 1*"), in: scope)
            #expect(notLast.items.isEmpty, "the other words match whole words")
            let exact = try await store.findings(matching: FindingFilter(repositoryID: repositories[0], text: "key 1"), in: scope)
            #expect(exact.items.map(\.tracked.finding.title) == ["Key 1 in r0"], "without *, every word is whole")
            let paged = try await store.findings(matching: FindingFilter(text: "key"), limit: 4, in: scope)
            let rest = try await store.findings(matching: FindingFilter(text: "key"), after: paged.nextCursor, limit: 100, in: scope)
            #expect(paged.items.count == 4 && rest.items.count == 26 && rest.nextCursor == nil, "text results page like the rest")
            let inside = try await store.findings(matching: FindingFilter(text: "ile3"), in: scope)
            #expect(inside.items.isEmpty, "but not the middle of a word")
            let quoted = try await store.findings(matching: FindingFilter(text: "\"key\" OR * NEAR("), in: scope)
            #expect(quoted.items.isEmpty, "search syntax in the text is only words: key, or, near")
            let none = try await store.findings(matching: FindingFilter(states: [.fixed]), in: scope)
            #expect(none.items.isEmpty)
            await #expect(throws: Store.InvalidCursor.self) {
                try await store.findings(matching: FindingFilter(), after: "not-a-cursor!", in: scope)
            }
            let other = try await store.createTenant(name: "other")
            #expect(try await store.findings(matching: FindingFilter(), in: other).items.isEmpty)
        }
    }
}
