import Crypto
import Foundation
import SQLKit
import VegaModel

/// One entry of a tenant's append-only audit log.
public struct AuditEvent: Codable, Sendable, Hashable {
    /// 1, 2, 3, … per tenant, without gaps.
    public var sequence: Int
    public var id: String
    public var at: Date
    /// The user or API key id; "system" for what scans and timers do.
    public var actor: String
    /// e.g. "finding.state_changed", "api_key.created".
    public var action: String
    /// What it happened to, e.g. "finding:rep_…/fp".
    public var subject: String
    /// JSON of the relevant state before and after; nil where there is none.
    public var before: String?
    public var after: String?
    /// SHA-256 (hex) of the previous event's hash and this event's fields: changing,
    /// removing or reordering any event breaks every hash after it.
    public var previousHash: String
    public var hash: String
}

/// What an event says, before the log gives it a place in the chain.
public struct AuditEntry: Sendable {
    public var actor: String
    public var action: String
    public var subject: String
    public var before: String?
    public var after: String?

    public init(actor: String, action: String, subject: String, before: String? = nil, after: String? = nil) {
        self.actor = actor
        self.action = action
        self.subject = subject
        self.before = before
        self.after = after
    }
}

/// The hash chain: appends inside the caller's transaction (so a change and its event
/// commit together or not at all) and verifies a tenant's whole log.
enum AuditLog {
    static let genesis = String(repeating: "0", count: 64)

    /// Serialises a tenant's audited transactions: call first, before the transaction locks
    /// anything else, so two of them never wait on each other's rows (a deadlock) and never
    /// race for one sequence number. On SQLite the single writer already does this.
    static func lockTenant(_ sql: ScopedSQL, kind: DatabaseKind) async throws {
        guard kind == .postgres else { return }
        // NO KEY UPDATE: it does not conflict with the KEY SHARE locks that inserts of rows
        // referencing the tenant take.
        _ = try await sql.db.raw("SELECT id FROM tenants WHERE id = \(bind: sql.scope.tenantID) FOR NO KEY UPDATE").all()
    }

    /// Appends entries in order, in the caller's transaction (which took `lockTenant` first).
    static func append(_ entries: [AuditEntry], at now: Date, _ sql: ScopedSQL) async throws {
        guard !entries.isEmpty else { return }
        let last = try await sql.select("sequence, hash", from: .events, then: "ORDER BY sequence DESC LIMIT 1").first
        var sequence = try last?.decode(column: "sequence", as: Int.self) ?? 0
        var previous = try last?.decode(column: "hash", as: String.self) ?? genesis
        for entry in entries {
            sequence += 1
            let event = AuditEvent(
                sequence: sequence, id: Store.newID("evt"), at: Date(milliseconds: now.milliseconds), actor: entry.actor,
                action: entry.action, subject: entry.subject, before: entry.before, after: entry.after,
                previousHash: previous, hash: ""
            )
            let hash = digest(event, tenant: sql.scope.tenantID)
            try await sql.insert(into: .events, [
                "sequence": sequence, "id": event.id, "at": event.at.milliseconds, "actor": event.actor,
                "action": event.action, "subject": event.subject, "before_state": event.before,
                "after_state": event.after, "previous_hash": previous, "hash": hash,
            ])
            previous = hash
        }
    }

    /// `subject`: only the events about it.
    static func events(_ sql: ScopedSQL, after sequence: Int = 0, subject: String? = nil, limit: Int = 1_000) async throws -> [AuditEvent] {
        var condition: SQLQueryString = "sequence > \(bind: sequence)"
        if let subject { condition += " AND subject = \(bind: subject)" }
        return try await sql.select(
            "sequence, id, at, actor, action, subject, before_state, after_state, previous_hash, hash", from: .events,
            where: condition, then: "ORDER BY sequence LIMIT \(literal: limit)"
        ).map { row in
            AuditEvent(
                sequence: try row.decode(column: "sequence", as: Int.self), id: try row.decode(column: "id", as: String.self),
                at: Date(milliseconds: try row.decode(column: "at", as: Int64.self)),
                actor: try row.decode(column: "actor", as: String.self), action: try row.decode(column: "action", as: String.self),
                subject: try row.decode(column: "subject", as: String.self),
                before: try row.decode(column: "before_state", as: String?.self),
                after: try row.decode(column: "after_state", as: String?.self),
                previousHash: try row.decode(column: "previous_hash", as: String.self),
                hash: try row.decode(column: "hash", as: String.self)
            )
        }
    }

    /// The hash of an event: its tenant, place and fields, length-prefixed so no two
    /// different events serialise alike.
    static func digest(_ event: AuditEvent, tenant: String) -> String {
        var hasher = SHA256()
        let fields = [
            "vega-audit-v1", tenant, String(event.sequence), event.id, String(event.at.milliseconds), event.actor,
            event.action, event.subject, event.before ?? "\u{0}null", event.after ?? "\u{0}null", event.previousHash,
        ]
        for field in fields {
            let bytes = Array(field.utf8)
            hasher.update(data: Array(String(bytes.count).utf8) + [0x3A] + bytes)
        }
        return hasher.finalize().hexString
    }
}

/// The outcome of checking a tenant's audit chain.
public struct AuditVerification: Sendable, Hashable {
    public var events: Int
    /// The first event whose hash or link does not match, if any.
    public var firstBroken: Int?
    public var isIntact: Bool { firstBroken == nil }
}
