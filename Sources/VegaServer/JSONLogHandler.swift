import Foundation
import Logging
import Synchronization

/// swift-log's handler for `vega serve --log-format json`: one JSON object per line, with
/// `ts` (ISO 8601 UTC, milliseconds), `level`, `label`, `msg`, `source` and the metadata
/// flattened beside them (`request_id`, `tenant_id`, …), so a log shipper needs no parsing
/// rules. A metadata key named like one of those fields is written as `meta.<key>`.
public struct JSONLogHandler: LogHandler {
    /// Where lines go: standard error, or (in tests) anything that takes bytes.
    public struct Output: Sendable {
        let write: @Sendable (Data) -> Void

        public init(_ write: @escaping @Sendable (Data) -> Void) {
            self.write = write
        }

        /// One write per line under one lock, so lines of concurrent requests never interleave.
        public static let standardError = Output { line in
            lock.withLock { _ in FileHandle.standardError.write(line) }
        }

        private static let lock = Mutex(())
    }

    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    let label: String
    let output: Output

    public init(
        label: String, level: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil, output: Output = .standardError
    ) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static let fields: Set<String> = ["ts", "level", "label", "msg", "source"]
    private static let timestamp = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public func log(event: LogEvent) {
        // The handler's own metadata, then the provider's, then the call's: the nearest wins.
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        var line: [String: Any] = [:]
        for (key, value) in merged {
            line[Self.fields.contains(key) ? "meta.\(key)" : key] = Self.plain(value)
        }
        if let error = event.error, line["error"] == nil { line["error"] = "\(error)" }
        line["ts"] = Date().formatted(Self.timestamp)
        line["level"] = event.level.rawValue
        line["label"] = label
        line["msg"] = event.message.description
        line["source"] = event.source
        // Only strings, arrays and dictionaries of them go in, which always serialise.
        guard var data = try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        data.append(UInt8(ascii: "\n"))
        output.write(data)
    }

    /// A metadata value as JSON: strings stay strings (any other value is its description),
    /// lists and dictionaries keep their shape.
    static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(plain)
        case .dictionary(let dictionary): dictionary.mapValues(plain)
        }
    }
}
