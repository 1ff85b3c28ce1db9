import Foundation
import SQLKit
import VegaLifecycle
import VegaModel

/// Which findings to list; every field narrows.
public struct FindingFilter: Sendable, Hashable {
    public var repositoryID: String?
    public var states: [FindingState]?
    public var severities: [Severity]?
    public var ruleID: String?
    public var engine: String?
    /// Words matched against the title and the path: every word must be a word there
    /// (`module42` finds `src/module42/x.py`); a `*` at the end makes the last word a prefix
    /// (`aws acc*` finds "AWS access key"). Case and punctuation do not matter.
    public var text: String?

    public init(
        repositoryID: String? = nil, states: [FindingState]? = nil, severities: [Severity]? = nil, ruleID: String? = nil,
        engine: String? = nil, text: String? = nil
    ) {
        self.repositoryID = repositoryID
        self.states = states
        self.severities = severities
        self.ruleID = ruleID
        self.engine = engine
        self.text = text
    }
}

/// A finding as lists show it: the tracked record and its repository.
public struct ListedFinding: Sendable, Hashable {
    public var repositoryID: String
    public var tracked: TrackedFinding

    public init(repositoryID: String, tracked: TrackedFinding) {
        self.repositoryID = repositoryID
        self.tracked = tracked
    }
}

/// One page of a list, and where the next one starts (nil on the last page).
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: String?
}

extension Store {
    /// Findings across the tenant, most severe first, then by repository and fingerprint
    /// (both descending).
    /// Keyset pagination: `cursor` is opaque, and a page never repeats or skips a finding
    /// whatever is inserted meanwhile.
    public func findings(
        matching filter: FindingFilter, after cursor: String? = nil, limit: Int = 100, in scope: TenantScope
    ) async throws -> Page<ListedFinding> {
        var condition: SQLQueryString = "1 = 1"
        if let repository = filter.repositoryID { condition += " AND repository_id = \(bind: repository)" }
        if let states = filter.states {
            condition += states.isEmpty ? " AND 1 = 0" : " AND state IN (\(binds: states.map(\.rawValue)))"
        }
        if let severities = filter.severities {
            // By rank, which the indexes hold: one severity is then a range of the list index.
            condition += severities.isEmpty ? " AND 1 = 0" : " AND severity_rank IN (\(binds: severities.map(\.rank)))"
        }
        if let rule = filter.ruleID { condition += " AND rule_id = \(bind: rule)" }
        if let engine = filter.engine { condition += " AND engine = \(bind: engine)" }
        // A text search is answered from the word index, then sorted: walking the list index
        // and testing each finding's words costs the whole tenant when the words are rare.
        // The sort takes only the keys; the bodies of the one page are read after it.
        var sortMatchesFirst = false
        if let text = filter.text {
            let (words, prefix) = Self.searchWords(text)
            if words.isEmpty {
                // Punctuation alone names no word, so nothing matches it (it is never a wildcard).
                condition += " AND 1 = 0"
            } else {
                switch database.kind {
                case .sqlite:
                    // Quoted terms: FTS5 syntax in the text is only ever text.
                    let query = words.map { "\"\($0)\"" }.joined(separator: " ") + (prefix ? "*" : "")
                    condition += " AND rowid IN (SELECT rowid FROM findings_search WHERE findings_search MATCH \(bind: query))"
                case .postgres:
                    let query = words.joined(separator: " & ") + (prefix ? ":*" : "")
                    condition += " AND search @@ to_tsquery('simple', \(bind: query))"
                }
                sortMatchesFirst = true
            }
        }
        if let cursor {
            guard let position = Cursor(cursor) else { throw InvalidCursor() }
            condition += """
                 AND (severity_rank < \(bind: position.rank)
                      OR (severity_rank = \(bind: position.rank) AND (repository_id < \(bind: position.repository)
                          OR (repository_id = \(bind: position.repository) AND fingerprint < \(bind: position.fingerprint)))))
                """
        }
        let size = max(1, min(limit, 1_000))
        // Every key descending, so an index in the list's order is read backwards instead of
        // the whole tenant being sorted per page.
        let order: SQLQueryString = "ORDER BY severity_rank DESC, repository_id DESC, fingerprint DESC"
        let page: SQLQueryString = order + " LIMIT \(literal: size + 1)"
        let (matching, matchesFirst) = (condition, sortMatchesFirst)
        let columns: SQLQueryString = "repository_id, severity_rank, fingerprint, body"
        // A finding's key: SQLite's rowid (which its word index holds), PostgreSQL's primary key.
        let key: SQLQueryString = database.kind == .sqlite ? "rowid" : "repository_id, fingerprint"
        let rows = try await database.withConnection { db in
            let sql = ScopedSQL(db: db, scope: scope)
            guard matchesFirst else { return try await sql.select(columns, from: .findings, where: matching, then: page) }
            // `+ 0` matches no index, so neither planner walks the list index for the order.
            let keys = sql.subquery(key, from: .findings, where: matching, then: """
                ORDER BY severity_rank + 0 DESC, repository_id DESC, fingerprint DESC LIMIT \(literal: size + 1)
                """)
            return try await sql.select(columns, from: .findings, where: "(\(key)) IN (\(keys))", then: order)
        }
        let decoder = JSONDecoder()
        var items: [ListedFinding] = []
        for row in rows.prefix(size) {
            let body = try row.decode(column: "body", as: String.self)
            items.append(ListedFinding(
                repositoryID: try row.decode(column: "repository_id", as: String.self),
                tracked: try decoder.decode(TrackedFinding.self, from: Data(body.utf8))
            ))
        }
        let next = rows.count > size ? items.last.map {
            Cursor(rank: $0.tracked.finding.severity.rank, repository: $0.repositoryID, fingerprint: $0.tracked.fingerprint).encoded
        } : nil
        return Page(items: items, nextCursor: next)
    }

    /// The words of a search: letters and digits, lowercased, split at everything else —
    /// as both databases' word indexes split the text they hold — and whether the last is a
    /// prefix (the text ends with `*`). Prefixes are asked for, not assumed: a short one
    /// matches a large part of a tenant.
    static func searchWords(_ text: String) -> (words: [String], prefix: Bool) {
        let words = text.lowercased().split { !($0.isLetter || $0.isNumber) }.prefix(16).map(String.init)
        return (words, text.trimmingCharacters(in: .whitespaces).hasSuffix("*"))
    }

    /// A cursor that this store did not hand out.
    public struct InvalidCursor: Error, CustomStringConvertible, Sendable {
        public var description: String { "the cursor is not one this server returned" }
    }
}

/// Where a page ended: the sort key of its last finding, base64url of "rank|repository|fingerprint".
struct Cursor {
    var rank: Int
    var repository: String
    var fingerprint: String

    init(rank: Int, repository: String, fingerprint: String) {
        self.rank = rank
        self.repository = repository
        self.fingerprint = fingerprint
    }

    init?(_ encoded: String) {
        guard let parts = Self.decode(encoded, parts: 3), let rank = Int(parts[0]) else { return nil }
        self.init(rank: rank, repository: parts[1], fingerprint: parts[2])
    }

    var encoded: String { Self.encode(["\(rank)", repository, fingerprint]) }

    /// Any list's cursor: the sort key's parts (none containing "|"), base64url of them
    /// joined by "|".
    static func encode(_ parts: [String]) -> String {
        Data(parts.joined(separator: "|").utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The parts of a cursor `encode` made, or nil when `encoded` is not one with `count` parts.
    static func decode(_ encoded: String, parts count: Int) -> [String]? {
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: "|", omittingEmptySubsequences: false)
        return parts.count == count ? parts.map(String.init) : nil
    }
}
