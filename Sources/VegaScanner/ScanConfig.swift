import Foundation
import VegaModel
import VegaSecrets
import Yams

/// `.vega.yaml`: the config file layer. Flags override it; it overrides defaults.
public struct ScanConfig: Codable, Sendable, Equatable {
    public var engines: [String]?
    public var failOn: FailThreshold?
    /// Bytes, or a size with a unit: "512KB", "10MB", "1GB".
    public var maxFileSize: ByteSize?
    /// gitignore-syntax patterns, relative to the scanned root.
    public var exclude: [String]?
    public var secrets: SecretsConfig?

    enum CodingKeys: String, CodingKey {
        case engines, exclude, secrets
        case failOn = "fail_on"
        case maxFileSize = "max_file_size"
    }

    public init(
        engines: [String]? = nil, failOn: FailThreshold? = nil, maxFileSize: ByteSize? = nil,
        exclude: [String]? = nil, secrets: SecretsConfig? = nil
    ) {
        self.engines = engines
        self.failOn = failOn
        self.maxFileSize = maxFileSize
        self.exclude = exclude
        self.secrets = secrets
    }

    public static let defaultFileName = ".vega.yaml"

    public static func load(path: String) throws -> ScanConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ScanError("cannot read config \(path): \(error.localizedDescription)")
        }
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return ScanConfig() }
        do {
            return try YAMLDecoder().decode(ScanConfig.self, from: text)
        } catch {
            throw ScanError("invalid config \(path): \(error)")
        }
    }
}

/// The `--fail-on` policy: the lowest severity that fails the run, or none.
public enum FailThreshold: String, Codable, Sendable, CaseIterable {
    case critical, high, medium, low, none

    public func fails(_ findings: [Finding]) -> Bool {
        guard let floor = Severity(rawValue: rawValue) else { return false }
        return findings.contains { $0.severity >= floor }
    }
}

/// A byte count written as an integer or with a unit (KB, MB, GB; powers of 1024).
public struct ByteSize: Codable, Sendable, Equatable, CustomStringConvertible {
    public var bytes: Int

    public init(bytes: Int) { self.bytes = bytes }

    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Int)] = [("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1)]
        var multiplier = 1
        var number = trimmed
        for (suffix, value) in units where trimmed.hasSuffix(suffix) {
            multiplier = value
            number = String(trimmed.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces)
            break
        }
        guard let n = Double(number), n > 0, n * Double(multiplier) < Double(Int.max) else { return nil }
        bytes = Int(n * Double(multiplier))
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let n = try? container.decode(Int.self), n > 0 {
            bytes = n
        } else if let text = try? container.decode(String.self), let parsed = ByteSize(parsing: text) {
            self = parsed
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a size such as 1048576 or \"10MB\"")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(bytes)
    }

    public var description: String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20)MB" : bytes % 1024 == 0 ? "\(bytes >> 10)KB" : "\(bytes)B"
    }
}

public struct ScanError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
