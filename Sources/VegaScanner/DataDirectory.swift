import Foundation

/// The one folder that holds Vega's local state (advisory database, later the SQLite file
/// and artifacts): `--data-dir`, else `VEGA_DATA_DIR`, else `./vega-data`.
public enum DataDirectory {
    public static let environmentVariable = "VEGA_DATA_DIR"
    public static let defaultPath = "vega-data"

    public static func resolve(_ flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let chosen = flag ?? environment[environmentVariable].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath
        return URL(fileURLWithPath: chosen).standardizedFileURL.path
    }

    public static func advisories(in dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent("advisories")
    }
}
