import Foundation
import Testing
import VegaStore
import VegaStoreTestSupport

@Suite struct LLMBudgetStoreTests {
    static let roomy = LLMKeyLimits(budgetTokens: 1_000_000, budgetMicroUSD: 1_000_000_000, requestsPerMinute: 1_000, maxConcurrent: 100)

    @Test(arguments: TestDatabase.all)
    func keysAuthenticateByTheirTokenOnly(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let tenant = try await store.createTenant(name: "acme")
            let issued = try await store.createLLMKey(name: "scan 1", scanID: "scn_1", limits: Self.roomy, in: tenant, by: "usr_tester")
            #expect(issued.token.hasPrefix("vega_llm_"))
            let key = try #require(try await store.authenticateLLMKey(token: issued.token))
            #expect(key.id == issued.key.id && key.tenant == tenant && key.scanID == "scn_1" && key.limits == Self.roomy)
            // The same public prefix with another secret, and an API key's shape, are nobody.
            let forged = String(issued.token.dropLast(4)) + "zzzz"
            #expect(try await store.authenticateLLMKey(token: forged) == nil)
            #expect(try await store.authenticateLLMKey(token: "vega_\(issued.key.prefix)_" + String(repeating: "a", count: 40)) == nil)
            // Minting is audited.
            #expect(try await store.auditEvents(in: tenant).contains { $0.action == "llm_key.created" })
        }
    }

    /// 64 reservations at once against a budget that holds 33 of them: exactly 33 are
    /// granted, whichever database decides, and the budget is never overshot.
    @Test(arguments: TestDatabase.all)
    func concurrentReservationsNeverOvershoot(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let tenant = try await store.createTenant(name: "acme")
            let limits = LLMKeyLimits(budgetTokens: 1_000, budgetMicroUSD: 1_000_000, requestsPerMinute: 1_000, maxConcurrent: 100)
            let key = try await store.createLLMKey(name: "k", limits: limits, in: tenant, by: "usr_tester").key
            let granted = try await withThrowingTaskGroup(of: LLMReservation?.self) { group in
                for _ in 0..<64 {
                    group.addTask { try await store.reserveLLMBudget(keyID: key.id, tokens: 30, microUSD: 10, in: tenant) }
                }
                var granted: [LLMReservation] = []
                for try await reservation in group { if let reservation { granted.append(reservation) } }
                return granted
            }
            #expect(granted.count == 33)
            #expect(granted.allSatisfy { $0.remaining.tokens >= 0 })
            let state = try await store.llmBudget(keyID: key.id, in: tenant)
            #expect(state.reservedTokens == 990 && state.reservedMicroUSD == 330 && state.spentTokens == 0)

            // Settling charges the real use and releases the rest of each reservation.
            for reservation in granted {
                let call = LLMCall(
                    keyID: key.id, scanID: nil, api: "openai.chat", model: "m", promptTokens: 8, completionTokens: 2, cachedTokens: 0,
                    priceVersion: "v1", costMicroUSD: 3, latencyMilliseconds: 5, status: .ok, httpStatus: 200
                )
                try await store.settleLLMCall(call, releasing: reservation, in: tenant)
            }
            let settled = try await store.llmBudget(keyID: key.id, in: tenant)
            #expect(settled.reservedTokens == 0 && settled.reservedMicroUSD == 0)
            #expect(settled.spentTokens == 330 && settled.spentMicroUSD == 99)
            let ledger = try await store.llmCalls(keyID: key.id, in: tenant)
            #expect(ledger.count == 33 && ledger.allSatisfy { $0.priceVersion == "v1" && $0.status == .ok })
        }
    }

    /// The USD budget binds on its own, and a key is invisible to another tenant.
    @Test(arguments: TestDatabase.all)
    func dollarsBindAndTenantsAreApart(_ kind: TestDatabase) async throws {
        try await kind.withStore { store in
            let tenant = try await store.createTenant(name: "acme")
            let other = try await store.createTenant(name: "globex")
            let limits = LLMKeyLimits(budgetTokens: 1_000_000, budgetMicroUSD: 100, requestsPerMinute: 10, maxConcurrent: 1)
            let key = try await store.createLLMKey(name: "k", limits: limits, in: tenant, by: "usr_tester").key
            #expect(try await store.reserveLLMBudget(keyID: key.id, tokens: 1, microUSD: 101, in: tenant) == nil)
            #expect(try await store.reserveLLMBudget(keyID: key.id, tokens: 1, microUSD: 60, in: other) == nil)
            let first = try #require(try await store.reserveLLMBudget(keyID: key.id, tokens: 1, microUSD: 60, in: tenant))
            #expect(first.remaining == LLMBudgetRemaining(tokens: 999_999, microUSD: 40))
            #expect(try await store.reserveLLMBudget(keyID: key.id, tokens: 1, microUSD: 41, in: tenant) == nil)
            #expect(try await store.llmCalls(keyID: key.id, in: other).isEmpty)
        }
    }
}
