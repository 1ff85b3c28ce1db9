import Foundation
import SQLKit
import Testing
import VegaModel
import VegaStoreTestSupport
@testable import VegaStore

/// 2023-11-14T22:13:20Z: the next UTC day starts 6,400 s later.
private let t0 = Date(timeIntervalSince1970: 1_700_000_000)
private let untilMidnight = 6_400

/// A tenant with two repositories, submitting as one member.
private struct Tenant {
    let store: Store
    let scope: TenantScope
    let actor: Principal
    let repository: String
    let other: String

    init(_ store: Store, name: String = "acme") async throws {
        self.store = store
        scope = try await store.createTenant(name: name, now: t0)
        actor = .tester(in: scope)
        let project = try await store.createProject(name: "p", by: actor, now: t0)
        repository = try await store.addRepository("https://git.example.com/\(name)/r.git", project: project, by: actor, now: t0)
        other = try await store.addRepository("https://git.example.com/\(name)/s.git", project: project, by: actor, now: t0)
    }

    func submit(
        ref: String = "main", engines: [String] = ["secrets"], repository: String? = nil, key: String? = nil, request: String = "r",
        quota: ScanQuota = .unlimited, at time: Date = t0
    ) async throws -> SubmittedScan {
        try await store.submitScan(
            ScanSubmission(repositoryID: repository ?? self.repository, ref: ref, engines: engines,
                           idempotency: key.map { IdempotencyKey(key: $0, request: request) }),
            by: actor, quota: quota, now: time
        )
    }

    func scans() async throws -> [ScanRecord] { try await store.scans(matching: ScanFilter(), in: scope).items }

    func events(_ action: String) async throws -> [AuditEvent] {
        try await store.auditEvents(in: scope).filter { $0.action == action }
    }

    func cancel(_ id: String, at time: Date = t0) async throws {
        _ = try await store.cancelScan(id: id, by: actor, now: time)
    }

    /// The refusal `body` throws, or a failed test when it throws none.
    func refusal(_ body: () async throws -> SubmittedScan) async throws -> Store.QuotaExceeded {
        do {
            let answer = try await body()
            Issue.record("not refused: \(answer.outcome) \(answer.scan.id)")
            throw CancellationError()
        } catch let refusal as Store.QuotaExceeded {
            return refusal
        }
    }
}

@Suite struct SubmissionTests {
    @Test(arguments: TestDatabase.all)
    func aQueuedOrRunningScanOfTheSameThingIsAnsweredInsteadOfANewOne(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await Tenant(store)
            let first = try await acme.submit(engines: ["secrets", "deps"])
            #expect(first.outcome == .created && first.scan.state == .queued)
            #expect(first.scan.engines == ["deps", "secrets"], "kept sorted")

            // The same set in another order, repeated: that scan, nothing new and nothing audited.
            let again = try await acme.submit(engines: ["deps", "secrets", "deps"], at: t0 + 1)
            #expect(again.outcome == .duplicate && again.scan.id == first.scan.id)
            #expect(try await acme.scans().count == 1)
            #expect(try await acme.events("scan.submitted").count == 1)

            // Running, it still answers.
            let claimed = try #require(try await store.claimNextScan(now: t0 + 2))
            #expect(claimed.scanID == first.scan.id)
            let whileRunning = try await acme.submit(engines: ["secrets", "deps"], at: t0 + 3)
            #expect(whileRunning.outcome == .duplicate && whileRunning.scan.id == first.scan.id && whileRunning.scan.state == .running)

            // Ended, it no longer does.
            try await store.finishScan(claimed, state: .succeeded, now: t0 + 4)
            let second = try await acme.submit(engines: ["secrets", "deps"], at: t0 + 5)
            #expect(second.outcome == .created && second.scan.id != first.scan.id)

            // A row written before engines were kept sorted is the same set.
            try await store.database.transaction { db in
                try await db.raw("UPDATE scans SET engines = 'secrets,deps' WHERE id = \(bind: second.scan.id)").run()
            }
            #expect(try await acme.submit(engines: ["deps", "secrets"], at: t0 + 6).scan.id == second.scan.id)
            #expect(try await acme.scans().count == 2)
            #expect(try await acme.events("scan.submitted").count == 2)
        }
    }

    @Test(arguments: TestDatabase.all)
    func anotherRefEngineSetOrRepositoryIsAnotherScan(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await Tenant(store)
            let main = try await acme.submit()
            let variants = [
                try await acme.submit(ref: "feature"),
                try await acme.submit(engines: ["deps"]),
                try await acme.submit(engines: ["secrets", "deps"]),
                // The defaults are whatever the worker has then: not the same as a named set.
                try await acme.submit(engines: []),
                try await acme.submit(repository: acme.other),
            ]
            #expect(variants.allSatisfy { $0.outcome == .created })
            #expect(Set(variants.map(\.scan.id) + [main.scan.id]).count == 6)
            #expect(try await acme.submit(engines: []).scan.id == variants[3].scan.id, "no engines is a set too")

            // Another tenant's scan of its own repository is never an answer here, nor ours there.
            let globex = try await Tenant(store, name: "globex")
            #expect(try await globex.submit().outcome == .created)
            #expect(try await acme.submit().scan.id == main.scan.id)

            // A queued scan of an uploaded archive reads other files than the repository's.
            let upload = try await store.createScan(repositoryID: acme.repository, ref: "upload", engines: ["secrets"], by: acme.actor, now: t0)
            try await store.database.transaction { db in
                try await db.raw("UPDATE scans SET source_archive = 'archives/x.tar' WHERE id = \(bind: upload)").run()
            }
            let fromGit = try await acme.submit(ref: "upload")
            #expect(fromGit.outcome == .created && fromGit.scan.id != upload)

            // A cancelled scan is over: submitting again queues a new one.
            try await acme.cancel(main.scan.id)
            let fresh = try await acme.submit()
            #expect(fresh.outcome == .created && fresh.scan.id != main.scan.id)
        }
    }

    @Test(arguments: TestDatabase.all)
    func anIdempotencyKeyAnswersItsFirstScanForADay(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await Tenant(store)
            let first = try await acme.submit(key: "deploy-42", request: "scan main")
            #expect(first.outcome == .created)
            try await acme.cancel(first.scan.id, at: t0 + 10)

            // Replayed after the scan ended, with the scan as it now is.
            let replay = try await acme.submit(key: "deploy-42", request: "scan main", at: t0 + 3_600)
            #expect(replay.outcome == .replayed && replay.scan.id == first.scan.id && replay.scan.state == .cancelled)

            // The key with another request: refused, nothing written.
            await #expect(throws: Store.IdempotencyKeyReused.self) {
                try await acme.submit(ref: "feature", key: "deploy-42", request: "scan feature", at: t0 + 3_601)
            }
            #expect(try await acme.scans().count == 1)
            #expect(try await acme.events("scan.submitted").count == 1)

            // Keys are per tenant.
            let globex = try await Tenant(store, name: "globex")
            #expect(try await globex.submit(key: "deploy-42", request: "scan feature").outcome == .created)

            // A key answered by a duplicate keeps that scan.
            let feature = try await acme.submit(ref: "feature", key: "f-1")
            let duplicate = try await acme.submit(ref: "feature", key: "f-2")
            #expect(duplicate.outcome == .duplicate && duplicate.scan.id == feature.scan.id)
            try await acme.cancel(feature.scan.id)
            #expect(try await acme.submit(ref: "feature", key: "f-2").scan.id == feature.scan.id)

            // After 24 hours the key is free again, for any request.
            let later = t0 + Store.idempotencyWindow + 1
            let reused = try await acme.submit(ref: "release", key: "deploy-42", request: "scan release", at: later)
            #expect(reused.outcome == .created && reused.scan.ref == "release")
            #expect(try await acme.submit(ref: "release", key: "deploy-42", request: "scan release", at: later + 1).outcome == .replayed)
        }
    }

    @Test(arguments: TestDatabase.all)
    func concurrentSubmissionsQueueOneScanAndRespectTheQuota(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await Tenant(store)
            let answers = try await withThrowingTaskGroup(of: SubmittedScan.self) { group in
                for _ in 0..<20 { group.addTask { try await acme.submit(engines: ["secrets", "deps"]) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.filter { $0.outcome == .created }.count == 1)
            #expect(Set(answers.map(\.scan.id)).count == 1)
            #expect(try await acme.scans().count == 1)
            #expect(try await acme.events("scan.submitted").count == 1)

            // Twenty different scans at once against room for five (one is taken): four get in.
            let quota = ScanQuota(maxActiveScans: 5, maxScansPerDay: 0)
            let outcomes = await withTaskGroup(of: Bool?.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        do {
                            return try await acme.submit(ref: "branch-\(i)", quota: quota).outcome == .created
                        } catch is Store.QuotaExceeded {
                            return false
                        } catch {
                            return nil
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == true }.count == 4 && outcomes.filter { $0 == false }.count == 16)
            #expect(try await acme.scans().count == 5)
        }
    }

    @Test(arguments: TestDatabase.all)
    func quotasRefuseTheScanOverTheLimitButNeverADuplicateOrAReplay(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await Tenant(store)
            let quota = ScanQuota(maxActiveScans: 2, maxScansPerDay: 3)
            let a = try await acme.submit(ref: "a", key: "ka", quota: quota)
            _ = try await acme.submit(ref: "b", quota: quota)
            let active = try await acme.refusal { try await acme.submit(ref: "c", quota: quota) }
            #expect(active.quota == .activeScans && active.limit == 2 && active.used == 2)
            #expect(active.retryAfterSeconds == Store.activeQuotaRetryAfter)
            #expect(try await acme.scans().count == 2)

            // At the limit, the same scan and the same key still answer.
            #expect(try await acme.submit(ref: "a", quota: quota).outcome == .duplicate)
            #expect(try await acme.submit(ref: "a", key: "ka", quota: quota).outcome == .replayed)

            // A scan that ends frees a place; each submitted one counts for the day.
            try await acme.cancel(a.scan.id)
            let c = try await acme.submit(ref: "c", quota: quota)
            #expect(c.outcome == .created)
            for scan in try await acme.scans() where scan.state == .queued { try await acme.cancel(scan.id) }
            let daily = try await acme.refusal { try await acme.submit(ref: "d", quota: quota, at: t0 + 60) }
            #expect(daily.quota == .scansPerDay && daily.limit == 3 && daily.used == 3)
            #expect(daily.retryAfterSeconds == untilMidnight - 60, "until midnight UTC")

            // Uploaded results are a finished scan, run by no worker: neither quota counts them.
            _ = try await store.recordUploadedResults(
                UploadedResults(ref: "main", commit: nil, engines: ["sarif:semgrep"], completeEngines: [], findings: [], skipped: 0),
                repositoryID: acme.repository, by: acme.actor, now: t0 + 61
            )
            let status = try await store.quotaStatus(defaults: quota, in: acme.scope, now: t0 + 62)
            #expect(status.scansPerDay.used == 3 && status.scansPerDay.limit == 3 && !status.scansPerDay.overridden)
            #expect(status.activeScans.used == 0 && status.activeScans.limit == 2)
            #expect(status.day.description == "2023-11-14" && status.resetsAt == t0 + Double(untilMidnight))

            // The next UTC day starts from zero.
            #expect(try await acme.submit(ref: "d", quota: quota, at: t0 + Double(untilMidnight)).outcome == .created)
            #expect(try await store.quotaStatus(defaults: quota, in: acme.scope, now: t0 + Double(untilMidnight)).scansPerDay.used == 1)
        }
    }

    @Test(arguments: TestDatabase.all)
    func theOperatorsLimitsForATenantOverrideTheDefaultsAndAreAudited(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await Tenant(store)
            let globex = try await Tenant(store, name: "globex")
            let defaults = ScanQuota(maxActiveScans: 1, maxScansPerDay: 100)
            _ = try await acme.submit(ref: "a", quota: defaults)
            _ = try await acme.refusal { try await acme.submit(ref: "b", quota: defaults) }

            let raised = try await store.setQuota(maxActiveScans: .limit(3), maxScansPerDay: nil, in: acme.scope, now: t0 + 1)
            #expect(raised == QuotaOverride(maxActiveScans: 3, maxScansPerDay: nil))
            #expect(try await acme.submit(ref: "b", quota: defaults).outcome == .created)
            let status = try await store.quotaStatus(defaults: defaults, in: acme.scope, now: t0 + 2)
            #expect(status.activeScans.limit == 3 && status.activeScans.overridden && status.activeScans.used == 2)
            #expect(status.scansPerDay.limit == 100 && !status.scansPerDay.overridden)

            let event = try #require(try await acme.events("tenant.quota_changed").last)
            #expect(event.actor == "operator" && event.subject == "tenant:\(acme.scope.tenantID)")
            #expect(event.before == #"{"max_active_scans":"default","max_scans_per_day":"default"}"#)
            #expect(event.after == #"{"max_active_scans":"3","max_scans_per_day":"default"}"#)

            // 0 is unlimited; another tenant keeps the defaults.
            try await store.setQuota(maxActiveScans: .limit(0), maxScansPerDay: .limit(5), in: acme.scope)
            for ref in ["c", "d", "e"] { #expect(try await acme.submit(ref: ref, quota: defaults).outcome == .created) }
            let perDay = try await acme.refusal { try await acme.submit(ref: "f", quota: defaults) }
            #expect(perDay.quota == .scansPerDay && perDay.limit == 5)
            _ = try await globex.submit(ref: "a", quota: defaults)
            _ = try await globex.refusal { try await globex.submit(ref: "b", quota: defaults) }

            // Back to the server's defaults.
            let reset = try await store.setQuota(maxActiveScans: .serverDefault, maxScansPerDay: .serverDefault, in: acme.scope)
            #expect(reset == QuotaOverride())
            #expect(try await store.quotaOverride(in: acme.scope) == QuotaOverride())
            #expect(try await acme.refusal { try await acme.submit(ref: "f", quota: defaults) }.quota == .activeScans)
            #expect(try await acme.events("tenant.quota_changed").count == 3)
            #expect(try await store.verifyAudit(in: acme.scope).isIntact)
        }
    }

    @Test(arguments: TestDatabase.all)
    func maintenanceRemovesKeysOlderThanADay(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let acme = try await Tenant(store)
            let globex = try await Tenant(store, name: "globex")
            _ = try await acme.submit(ref: "old", key: "old", request: "old")
            let young = try await acme.submit(ref: "young", key: "young", request: "young", at: t0 + 43_200)
            _ = try await globex.submit(key: "old", request: "old")

            let sweep = t0 + Store.idempotencyWindow + 1
            #expect(try await store.removeExpiredIdempotencyKeys(now: sweep) == 2, "one per tenant")
            #expect(try await store.removeExpiredIdempotencyKeys(now: sweep) == 0)
            let remaining = try await store.database.withConnection { db in
                try await db.raw("SELECT idempotency_key FROM idempotency_keys").all().map { try $0.decode(column: "idempotency_key", as: String.self) }
            }
            #expect(remaining == ["young"])
            #expect(try await acme.submit(ref: "young", key: "young", request: "young", at: sweep).scan.id == young.scan.id)
        }
    }
}
