import Foundation
import VegaModel

/// Reads the fingerprints of an earlier scan, so `--baseline` can hide what was already
/// known. Accepts what Vega writes: its JSON report (schema_version "1") or SARIF 2.1.0.
public enum Baseline {
    /// `file` only names the input in error messages.
    public static func fingerprints(from data: Data, file: String? = nil) throws -> Set<String> {
        let name = file.map { "baseline \($0)" } ?? "baseline"
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw BaselineError("\(name) is neither a Vega JSON report nor SARIF (it is not a JSON object)")
        }
        if let version = object["schema_version"] {
            return try vegaReport(object, version: version, name: name)
        }
        if object["version"] as? String == "2.1.0", let runs = object["runs"] as? [Any] {
            return try sarif(runs, name: name)
        }
        throw BaselineError("\(name) is neither a Vega JSON report nor SARIF 2.1.0")
    }

    private static func vegaReport(_ object: [String: Any], version: Any, name: String) throws -> Set<String> {
        guard version as? String == JSONReport.schemaVersion else {
            throw BaselineError(
                "\(name) is a Vega JSON report of schema_version \(version); this vega reads version \(JSONReport.schemaVersion)"
            )
        }
        guard let findings = object["findings"] as? [Any] else {
            throw BaselineError("\(name) is a Vega JSON report without a findings array")
        }
        return try Set(findings.enumerated().map { index, finding in
            guard let fingerprint = (finding as? [String: Any])?["fingerprint"] as? String else {
                throw BaselineError("\(name): finding \(index) has no fingerprint")
            }
            return fingerprint
        })
    }

    /// Results without a Vega fingerprint (another tool's run in the same log) are skipped.
    private static func sarif(_ runs: [Any], name: String) throws -> Set<String> {
        var fingerprints: Set<String> = []
        for (index, run) in runs.enumerated() {
            guard let run = run as? [String: Any] else {
                throw BaselineError("\(name): SARIF run \(index) is not an object")
            }
            for case let result as [String: Any] in run["results"] as? [Any] ?? [] {
                if let partial = result["partialFingerprints"] as? [String: Any],
                   let fingerprint = partial[SARIFReport.fingerprintKey] as? String {
                    fingerprints.insert(fingerprint)
                }
            }
        }
        return fingerprints
    }
}

/// Why a baseline file could not be read; the description is meant for the user.
public struct BaselineError: Error, CustomStringConvertible, LocalizedError {
    public let description: String

    init(_ description: String) {
        self.description = description
    }

    public var errorDescription: String? { description }
}
