import Foundation
import Hummingbird
import VegaLifecycle
import VegaModel
import VegaStore

/// Triage: one finding read with its history, one or many findings dismissed or restored.
extension APIRoutes {
    /// The most findings one bulk request may change.
    static let maxTriageItems = 1_000

    struct StateChange: Decodable {
        static let members: Set<String> = ["state", "reason", "comment", "risk_owner", "expires_at"]

        var state: FindingState
        var reason: DismissalReason?
        var comment: String?
        var riskOwner: String?
        var expiresAt: Date?

        enum CodingKeys: String, CodingKey {
            case state, reason, comment, riskOwner = "risk_owner", expiresAt = "expires_at"
        }

        /// What the change asks the store to do, by whom.
        func decision(by principal: Principal, at now: Date = Date()) throws -> TriageDecision {
            switch state {
            case .dismissed:
                guard let reason else {
                    throw APIError(.unprocessableContent, "reason_required", "dismissing needs a reason: \(DismissalReason.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return .dismiss(Dismissal(
                    reason: reason, comment: comment ?? "", actor: principal.id, at: now, riskOwner: riskOwner, expiresAt: expiresAt
                ))
            case .open:
                return .restore(actor: principal.id, comment: comment, at: now)
            case .fixed, .reopened:
                throw APIError(.unprocessableContent, "invalid_state_change", "only scans fix or reopen a finding; set dismissed or open")
            }
        }
    }

    /// A bulk change: the same `StateChange` fields, for every finding in `items`.
    struct BulkStateChange: Decodable {
        struct Item: Decodable {
            var repositoryId: String
            var fingerprint: String

            enum CodingKeys: String, CodingKey {
                case repositoryId = "repository_id", fingerprint
            }
        }

        var items: [Item]
        var change: StateChange

        enum CodingKeys: String, CodingKey { case items }

        init(from decoder: any Decoder) throws {
            items = try decoder.container(keyedBy: CodingKeys.self).decode([Item].self, forKey: .items)
            change = try StateChange(from: decoder)
        }
    }

    @Sendable func getFinding(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let scope = try context.scope
        let key = FindingKey(repositoryID: try context.parameters.require("repository"), fingerprint: try context.parameters.require("fingerprint"))
        guard let tracked = try await store.finding(repositoryID: key.repositoryID, fingerprint: key.fingerprint, in: scope) else {
            throw APIError.notFound("finding")
        }
        var item = FindingItem(ListedFinding(repositoryID: key.repositoryID, tracked: tracked))
        item.history = try await store.history(of: key, in: scope)
        return try JSONBody.response(item)
    }

    @Sendable func changeFinding(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.member, .triage)
        let key = FindingKey(repositoryID: try context.parameters.require("repository"), fingerprint: try context.parameters.require("fingerprint"))
        let change = try await JSONBody.decode(StateChange.self, allowing: StateChange.members, from: request, context: context)
        let outcome = try await store.triage([key], try change.decision(by: principal), in: TenantScope(tenantID: principal.tenantID))
        guard let updated = outcome.findings.first else { throw APIError.notFound("finding") }
        return try JSONBody.response(FindingItem(updated))
    }

    /// Dismisses or restores up to 1,000 findings at once: all of them or, when one is
    /// missing or the change does not apply, none.
    @Sendable func changeFindings(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.member, .triage)
        let input = try await JSONBody.decode(
            BulkStateChange.self, allowing: StateChange.members.union(["items"]), from: request, context: context
        )
        guard (1...Self.maxTriageItems).contains(input.items.count) else {
            throw APIError(.unprocessableContent, "invalid_items", "items must list 1 to \(Self.maxTriageItems) findings")
        }
        let keys = input.items.map { FindingKey(repositoryID: $0.repositoryId, fingerprint: $0.fingerprint) }
        let outcome = try await store.triage(keys, try input.change.decision(by: principal), in: TenantScope(tenantID: principal.tenantID))
        return try JSONBody.response(["items": outcome.findings.map(FindingItem.init)])
    }
}
