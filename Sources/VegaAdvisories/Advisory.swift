import Foundation
import VegaModel

/// One OSV record (https://ossf.github.io/osv-schema/). Fields Vega does not use (credits,
/// upstream) are not kept; unknown fields are ignored. Decoding checks what matching relies on:
/// a record that fails is skipped with the reason, never stored.
public struct Advisory: Codable, Sendable, Hashable {
    public var schemaVersion: String?
    public var id: String
    /// OSV timestamps stay as written: databases differ in how they format them (see
    /// `Timestamp.parse`).
    public var modified: String
    public var published: String?
    public var withdrawn: String?
    public var aliases: [String]
    public var related: [String]
    public var summary: String?
    public var details: String?
    public var severity: [SeverityScore]
    public var affected: [Affected]
    public var references: [Reference]
    /// E.g. GitHub's `{"severity": "MODERATE", "cwe_ids": [...]}`.
    public var databaseSpecific: JSONValue?

    public struct SeverityScore: Codable, Sendable, Hashable {
        /// "CVSS_V2", "CVSS_V3", "CVSS_V4" or "Ubuntu".
        public var type: String
        /// A vector string for CVSS types; a word for "Ubuntu".
        public var score: String
    }

    public struct Affected: Codable, Sendable, Hashable {
        public var package: PackageRef
        public var severity: [SeverityScore]
        public var ranges: [Range]
        public var versions: [String]
        public var ecosystemSpecific: JSONValue?
        public var databaseSpecific: JSONValue?

        enum CodingKeys: String, CodingKey {
            case package, severity, ranges, versions
            case ecosystemSpecific = "ecosystem_specific", databaseSpecific = "database_specific"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            package = try c.decode(PackageRef.self, forKey: .package)
            severity = try c.decodeIfPresent([SeverityScore].self, forKey: .severity) ?? []
            ranges = try c.decodeIfPresent([Range].self, forKey: .ranges) ?? []
            versions = try c.decodeIfPresent([String].self, forKey: .versions) ?? []
            if decoder.userInfo[.osvMatchingOnly] as? Bool == true {
                ecosystemSpecific = nil
                databaseSpecific = try c.decodeSeverityOnly(forKey: .databaseSpecific)
            } else {
                ecosystemSpecific = try c.decodeIfPresent(JSONValue.self, forKey: .ecosystemSpecific)
                databaseSpecific = try c.decodeIfPresent(JSONValue.self, forKey: .databaseSpecific)
            }
        }
    }

    public struct PackageRef: Codable, Sendable, Hashable {
        /// As OSV writes it, possibly with a suffix ("Debian:11", "Maven:https://…").
        public var ecosystem: String
        public var name: String
        public var purl: String?

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            ecosystem = try c.decode(String.self, forKey: .ecosystem)
            name = try c.decode(String.self, forKey: .name)
            purl = try c.decodeIfPresent(String.self, forKey: .purl)
            guard !ecosystem.isEmpty, !name.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .name, in: c, debugDescription: "empty package ecosystem or name")
            }
        }
    }

    public struct Range: Codable, Sendable, Hashable {
        /// "ECOSYSTEM", "SEMVER" or "GIT"; other types are kept and ignored by matching.
        public var type: String
        public var events: [Event]
        public var repo: String?
    }

    /// One point of a range's timeline; OSV allows exactly one key per event object.
    public enum Event: Codable, Sendable, Hashable {
        case introduced(String)
        case fixed(String)
        case lastAffected(String)
        case limit(String)

        enum CodingKeys: String, CodingKey {
            case introduced, fixed, lastAffected = "last_affected", limit
        }

        public var version: String {
            switch self {
            case .introduced(let v), .fixed(let v), .lastAffected(let v), .limit(let v): v
            }
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let present = c.allKeys
            guard present.count == 1, let key = present.first else {
                throw DecodingError.dataCorrupted(DecodingError.Context(
                    codingPath: c.codingPath,
                    debugDescription: "an event needs exactly one of introduced, fixed, last_affected, limit"
                ))
            }
            let version = try c.decode(String.self, forKey: key)
            switch key {
            case .introduced: self = .introduced(version)
            case .fixed: self = .fixed(version)
            case .lastAffected: self = .lastAffected(version)
            case .limit: self = .limit(version)
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .introduced(let v): try c.encode(v, forKey: .introduced)
            case .fixed(let v): try c.encode(v, forKey: .fixed)
            case .lastAffected(let v): try c.encode(v, forKey: .lastAffected)
            case .limit(let v): try c.encode(v, forKey: .limit)
            }
        }
    }

    public struct Reference: Codable, Sendable, Hashable {
        public var type: String?
        public var url: String
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", id, modified, published, withdrawn, aliases, related
        case summary, details, severity, affected, references, databaseSpecific = "database_specific"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decodeIfPresent(String.self, forKey: .schemaVersion)
        id = try c.decode(String.self, forKey: .id)
        modified = try c.decode(String.self, forKey: .modified)
        published = try c.decodeIfPresent(String.self, forKey: .published)
        withdrawn = try c.decodeIfPresent(String.self, forKey: .withdrawn)
        aliases = try c.decodeIfPresent([String].self, forKey: .aliases) ?? []
        related = try c.decodeIfPresent([String].self, forKey: .related) ?? []
        summary = try c.decodeIfPresent(String.self, forKey: .summary)
        details = try c.decodeIfPresent(String.self, forKey: .details)
        severity = try c.decodeIfPresent([SeverityScore].self, forKey: .severity) ?? []
        affected = try c.decodeIfPresent([Affected].self, forKey: .affected) ?? []
        references = try c.decodeIfPresent([Reference].self, forKey: .references) ?? []
        databaseSpecific = decoder.userInfo[.osvMatchingOnly] as? Bool == true
            ? try c.decodeSeverityOnly(forKey: .databaseSpecific)
            : try c.decodeIfPresent(JSONValue.self, forKey: .databaseSpecific)
        guard !id.isEmpty, !modified.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .id, in: c, debugDescription: "empty id or modified")
        }
    }

    /// Whether the record was withdrawn: it then matches nothing.
    public var isWithdrawn: Bool { withdrawn != nil }
}

extension CodingUserInfoKey {
    /// Set to true to decode only what importing and matching read: `ecosystem_specific` is
    /// skipped and `database_specific` keeps just its `severity` and RustSec's `informational`. Decoding free-form JSON is most
    /// of a record's decoding time.
    static let osvMatchingOnly = CodingUserInfoKey(rawValue: "vega.osv.matchingOnly")!
}

private struct SeverityOnly: Decodable {
    var severity: String?
    var informational: String?
}

private extension KeyedDecodingContainer {
    /// `database_specific` reduced to `{"severity": …, "informational": …}`; nil when it has
    /// neither (or is not an object, which the schema does not allow but matching can do without).
    func decodeSeverityOnly(forKey key: Key) throws -> JSONValue? {
        guard let kept = try? decodeIfPresent(SeverityOnly.self, forKey: key) else { return nil }
        var object: [String: JSONValue] = [:]
        if let severity = kept.severity { object["severity"] = .string(severity) }
        if let informational = kept.informational { object["informational"] = .string(informational) }
        return object.isEmpty ? nil : .object(object)
    }
}

/// Arbitrary JSON, for the schema's free-form `database_specific` and `ecosystem_specific`.
public enum JSONValue: Codable, Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        // Most common kinds first: each failed attempt throws, which is what costs.
        if c.decodeNil() {
            self = .null
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let o = try? c.decode([String: JSONValue].self) {
            self = .object(o)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else {
            self = .number(try c.decode(Double.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { o[key] } else { nil }
    }

    public var stringValue: String? {
        if case .string(let s) = self { s } else { nil }
    }
}

/// OSV timestamps. The schema asks for RFC 3339 in UTC, but real databases write variants
/// ("2023-11-07 20:24:23.946863+00:00" in PyPA's), so parsing accepts a space or "T", any
/// fraction, and "Z" or a numeric offset.
enum Timestamp {
    static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= b.count else { return nil }
            var n = 0
            for i in start..<start + count {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                n = n * 10 + Int(b[i] - 48)
            }
            return n
        }
        guard b.count >= 19, b[4] == 45, b[7] == 45, b[10] == 84 || b[10] == 32 || b[10] == 116,
              b[13] == 58, b[16] == 58,
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == 46 {
            var scale = 0.1
            i += 1
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        var offset = 0
        if i < b.count, b[i] == 90 || b[i] == 122 {
            i += 1
        } else if i < b.count, b[i] == 43 || b[i] == 45, let h = number(i + 1, 2), i + 3 < b.count, b[i + 3] == 58,
                  let m = number(i + 4, 2) {
            offset = (h * 60 + m) * 60 * (b[i] == 45 ? -1 : 1)
            i += 6
        } else if i != b.count {
            return nil
        }
        guard i == b.count else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm), to avoid a Calendar per call.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let seconds = Double(days * 86_400 + hour * 3_600 + minute * 60 + second - offset) + fraction
        return Date(timeIntervalSince1970: seconds)
    }
}
