import Foundation
import SQLKit
import VegaLifecycle

/// A calendar day in UTC, written YYYY-MM-DD: the unit usage is counted in.
public struct CalendarDay: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Days since 1970-01-01.
    let ordinal: Int

    private init(ordinal: Int) { self.ordinal = ordinal }

    /// The day `date` falls on in UTC.
    public init(_ date: Date) {
        ordinal = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    /// A day written exactly YYYY-MM-DD that exists in the calendar (no 2025-02-30).
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.map(\.count) == [4, 2, 2], let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              let date = Self.calendar.date(from: DateComponents(year: year, month: month, day: day)) else { return nil }
        self.init(date)
        guard description == text else { return nil }
    }

    public func adding(days: Int) -> CalendarDay { CalendarDay(ordinal: ordinal + days) }

    /// Days from `self` to `other`; negative when `other` is earlier.
    public func days(to other: CalendarDay) -> Int { other.ordinal - ordinal }

    public var description: String {
        let parts = Self.calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(ordinal) * 86_400))
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    public static func < (lhs: CalendarDay, rhs: CalendarDay) -> Bool { lhs.ordinal < rhs.ordinal }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let day = CalendarDay(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected YYYY-MM-DD"))
        }
        self = day
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}

/// What a tenant's scans did over some days: the sums quotas and bills are made of.
public struct UsageCounts: Codable, Sendable, Hashable {
    public var scans = 0
    public var files = 0
    public var bytes = 0
    public var findings = 0
    /// Calls through the LLM proxy, their tokens (prompt and completion) and their cost in micro-dollars.
    public var llmCalls = 0
    public var llmTokens = 0
    public var llmCostMicroUSD = 0

    public init() {}

    static func + (lhs: UsageCounts, rhs: UsageCounts) -> UsageCounts {
        var sum = lhs
        sum.scans += rhs.scans
        sum.files += rhs.files
        sum.bytes += rhs.bytes
        sum.findings += rhs.findings
        sum.llmCalls += rhs.llmCalls
        sum.llmTokens += rhs.llmTokens
        sum.llmCostMicroUSD += rhs.llmCostMicroUSD
        return sum
    }
}

/// One day's usage.
public struct UsageDay: Codable, Sendable, Hashable {
    public var day: CalendarDay
    public var scans: Int
    public var files: Int
    public var bytes: Int
    public var findings: Int
    public var llmCalls: Int
    public var llmTokens: Int
    public var llmCostMicroUSD: Int

    init(day: CalendarDay, counts: UsageCounts) {
        self.day = day
        scans = counts.scans
        files = counts.files
        bytes = counts.bytes
        findings = counts.findings
        llmCalls = counts.llmCalls
        llmTokens = counts.llmTokens
        llmCostMicroUSD = counts.llmCostMicroUSD
    }
}

/// A tenant's usage over a range of days (every day listed, zero when nothing ran), and
/// what it holds now.
public struct Usage: Codable, Sendable, Hashable {
    public struct Current: Codable, Sendable, Hashable {
        public var repositories: Int
        /// Open or reopened: what still needs someone's attention.
        public var openFindings: Int
    }

    public var from: CalendarDay
    public var to: CalendarDay
    public var days: [UsageDay]
    public var totals: UsageCounts
    public var current: Current
}

extension Store {
    /// A tenant's usage from `from` to `to` (both included).
    public func usage(from: CalendarDay, to: CalendarDay, in scope: TenantScope) async throws -> Usage {
        try await database.withConnection { db in
            let sql = ScopedSQL(db: db, scope: scope)
            var counted: [CalendarDay: UsageCounts] = [:]
            for row in try await sql.select(
                "day, scans, files, bytes, findings, llm_calls, llm_tokens, llm_cost_micro_usd", from: .usageDays,
                where: "day >= \(bind: from.description) AND day <= \(bind: to.description)"
            ) {
                guard let day = CalendarDay(try row.decode(column: "day", as: String.self)) else { continue }
                var counts = UsageCounts()
                counts.scans = try row.decode(column: "scans", as: Int.self)
                counts.files = try row.decode(column: "files", as: Int.self)
                counts.bytes = try row.decode(column: "bytes", as: Int.self)
                counts.findings = try row.decode(column: "findings", as: Int.self)
                counts.llmCalls = try row.decode(column: "llm_calls", as: Int.self)
                counts.llmTokens = try row.decode(column: "llm_tokens", as: Int.self)
                counts.llmCostMicroUSD = try row.decode(column: "llm_cost_micro_usd", as: Int.self)
                counted[day] = counts
            }
            let days: [UsageDay] = from > to ? [] : (0...from.days(to: to)).map { offset in
                let day = from.adding(days: offset)
                return UsageDay(day: day, counts: counted[day] ?? UsageCounts())
            }
            let active = FindingState.allCases.filter(\.isActive).map(\.rawValue)
            return Usage(
                from: from, to: to, days: days, totals: counted.values.reduce(UsageCounts(), +),
                current: Usage.Current(
                    repositories: try await Self.count(sql, .repositories, where: "1 = 1"),
                    openFindings: try await Self.count(sql, .findings, where: "state IN (\(binds: active))")
                )
            )
        }
    }

    static func count(_ sql: ScopedSQL, _ table: TenantTable, where condition: SQLQueryString) async throws -> Int {
        try await sql.select("COUNT(*) AS count", from: table, where: condition).first?.decode(column: "count", as: Int.self) ?? 0
    }

    /// Adds one finished scan to its tenant's day; both databases speak this upsert.
    static func addUsage(_ usage: ScanUsage, on day: CalendarDay, _ sql: ScopedSQL) async throws {
        try await sql.insert(into: .usageDays, [
            "day": day.description, "scans": 1, "files": usage.files, "bytes": usage.bytes, "findings": usage.findings,
        ], conflict: """
            ON CONFLICT (tenant_id, day) DO UPDATE SET
                scans = usage_days.scans + excluded.scans, files = usage_days.files + excluded.files,
                bytes = usage_days.bytes + excluded.bytes, findings = usage_days.findings + excluded.findings
            """)
    }
}
