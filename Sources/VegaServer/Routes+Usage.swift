import Foundation
import Hummingbird
import VegaStore

/// Usage: what the tenant's scans did per day, and what it holds now (for quotas).
extension APIRoutes {
    /// The longest range one request may ask for, in days (both ends included).
    static let maxUsageDays = 366

    /// `?from=YYYY-MM-DD&to=YYYY-MM-DD` (UTC days, both included); by default the last 30 days.
    @Sendable func usage(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let scope = try context.scope
        let query = request.uri.queryParameters
        func day(_ name: String) throws -> CalendarDay? {
            guard let raw = query[name[...]] else { return nil }
            guard let day = CalendarDay(String(raw)) else {
                throw APIError(.badRequest, "invalid_date", "\(name) must be a date written YYYY-MM-DD")
            }
            return day
        }
        let to = try day("to") ?? CalendarDay(Date())
        let from = try day("from") ?? to.adding(days: -29)
        let span = from.days(to: to) + 1
        guard (1...Self.maxUsageDays).contains(span) else {
            throw APIError(.badRequest, "invalid_range", "from must not be after to, and the range must be at most \(Self.maxUsageDays) days")
        }
        return try JSONBody.response(try await store.usage(from: from, to: to, in: scope))
    }
}
