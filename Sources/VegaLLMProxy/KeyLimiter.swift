import Foundation
import VegaStore

/// Each virtual key's requests per minute and calls in flight, counted in this process:
/// two proxy processes on one database each allow the key its full rate (the budget, which
/// is in the database, holds across them).
actor KeyLimiter {
    private var inFlight: [String: Int] = [:]
    /// When each key's calls of the last minute started, oldest first.
    private var started: [String: [ContinuousClock.Instant]] = [:]

    /// Admits a call, or says which limit it meets. An admitted call must be `release`d.
    func acquire(_ key: LLMKey, now: ContinuousClock.Instant = .now) -> Refusal? {
        var recent = started[key.id, default: []]
        recent.removeFirst(recent.prefix { now - $0 >= .seconds(60) }.count)
        defer { started[key.id] = recent.isEmpty ? nil : recent }
        if recent.count >= key.limits.requestsPerMinute {
            return Refusal(status: 429, code: "rate_limited", message: "this key allows \(key.limits.requestsPerMinute) requests per minute")
        }
        if inFlight[key.id, default: 0] >= key.limits.maxConcurrent {
            return Refusal(status: 429, code: "concurrency_limited", message: "this key allows \(key.limits.maxConcurrent) calls at once")
        }
        recent.append(now)
        inFlight[key.id, default: 0] += 1
        return nil
    }

    func release(_ keyID: String) {
        let left = inFlight[keyID, default: 1] - 1
        inFlight[keyID] = left > 0 ? left : nil
    }
}
