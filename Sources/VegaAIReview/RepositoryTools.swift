import Foundation
import VegaModel
import VegaWorkspace

/// The model's only view of the repository: read-only, confined to the files the
/// workspace admitted under the scan root. The tools answer from that list, so a path
/// with `..`, an absolute path or a link leading out of the root (which the workspace
/// skips) names no file; and nothing here writes, runs code or opens a connection.
/// Every answer is bounded, so a tool result cannot blow up a conversation.
struct RepositoryTools: Sendable {
    static let maxLinesPerRead = 300
    static let maxBytesPerResult = 24 * 1024
    static let maxListed = 200
    static let maxGrepMatches = 50
    static let maxGrepLineLength = 240

    let root: String
    let files: [String: SourceFile]
    let maxFileSize: Int

    init(target: ScanTarget, maxFileSize: Int) {
        root = target.root
        files = Dictionary(target.files.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        self.maxFileSize = maxFileSize
    }

    static let definitions: [ToolDefinition] = [
        tool("list_files", "List the repository's files under a directory (\"\" or \".\" for the root).", ["dir": "Directory, relative to the repository root."], required: ["dir"]),
        tool(
            "read_file", "Read lines of a file (1-based, inclusive; at most \(maxLinesPerRead) lines a call).",
            ["path": "File path, relative to the repository root.", "start_line": "First line (1-based).", "end_line": "Last line (inclusive)."],
            types: ["start_line": "integer", "end_line": "integer"], required: ["path"]
        ),
        tool(
            "grep", "Find lines containing a fixed string (not a regular expression), in a file or directory or the whole repository.",
            ["pattern": "The exact text to look for.", "path": "Optional file or directory to limit the search to."], required: ["pattern"]
        ),
    ]

    private static func tool(
        _ name: String, _ description: String, _ parameters: [String: String], types: [String: String] = [:], required: [String]
    ) -> ToolDefinition {
        ToolDefinition(function: .init(
            name: name, description: description,
            parameters: .init(
                properties: Dictionary(uniqueKeysWithValues: parameters.map { name, description in
                    (name, ToolDefinition.Property(type: types[name] ?? "string", description: description))
                }),
                required: required
            )
        ))
    }

    /// The tool's answer as text for the model; a refusal or a mistake is an answer too.
    func run(_ call: ToolCall.Function) -> String {
        guard let data = call.arguments.data(using: .utf8),
              let arguments = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return "error: arguments are not a JSON object" }
        switch call.name {
        case "list_files":
            return listFiles(arguments["dir"] as? String ?? "")
        case "read_file":
            guard let path = arguments["path"] as? String else { return "error: path is required" }
            return readFile(path, start: Self.integer(arguments["start_line"]) ?? 1, end: Self.integer(arguments["end_line"]))
        case "grep":
            guard let pattern = arguments["pattern"] as? String, !pattern.isEmpty else { return "error: pattern is required" }
            return grep(pattern, under: arguments["path"] as? String)
        default:
            return "error: no tool named \(call.name) (tools: list_files, read_file, grep)"
        }
    }

    private static func integer(_ value: Any?) -> Int? {
        if let number = value as? NSNumber { return number.intValue }
        return (value as? String).flatMap { Int($0) }
    }

    /// A repository-relative path, or why it is refused.
    static func confine(_ path: String) -> Result<String, Refusal> {
        if path.hasPrefix("/") || path.hasPrefix("~") || path.contains("\\") || path.contains("\0") {
            return .failure(Refusal("refused: only paths relative to the repository root are allowed"))
        }
        let parts = path.split(separator: "/").filter { $0 != "." }
        if parts.contains("..") { return .failure(Refusal("refused: paths may not contain '..'")) }
        return .success(parts.joined(separator: "/"))
    }

    struct Refusal: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    private func matching(under directory: String) -> [String] {
        let prefix = directory.isEmpty ? "" : directory + "/"
        return files.keys.filter { prefix.isEmpty || $0.hasPrefix(prefix) || $0 == directory }.sorted()
    }

    func listFiles(_ requested: String) -> String {
        let directory: String
        switch Self.confine(requested) {
        case .failure(let refusal): return refusal.message
        case .success(let path): directory = path
        }
        let found = matching(under: directory)
        if found.isEmpty { return "no files under '\(directory)'" }
        let shown = found.prefix(Self.maxListed).joined(separator: "\n")
        return found.count > Self.maxListed ? shown + "\n… \(found.count - Self.maxListed) more (list a subdirectory)" : shown
    }

    func readFile(_ requested: String, start: Int, end: Int?) -> String {
        let path: String
        switch Self.confine(requested) {
        case .failure(let refusal): return refusal.message
        case .success(let confined): path = confined
        }
        guard let lines = lines(of: path) else { return "error: no readable text file '\(path)' in the repository" }
        let first = max(1, start)
        let last = min(lines.count, end ?? (first + Self.maxLinesPerRead - 1), first + Self.maxLinesPerRead - 1)
        guard first <= last else { return "\(path) has \(lines.count) lines" }
        var text = ""
        for number in first...last {
            let line = "\(number): \(lines[number - 1])\n"
            if text.utf8.count + line.utf8.count > Self.maxBytesPerResult {
                return text + "… truncated at line \(number - 1) of \(lines.count); read on from line \(number)"
            }
            text += line
        }
        return last < lines.count ? text + "… \(lines.count) lines in all" : text
    }

    func grep(_ pattern: String, under requested: String?) -> String {
        let scope: String
        switch Self.confine(requested ?? "") {
        case .failure(let refusal): return refusal.message
        case .success(let confined): scope = confined
        }
        var matches: [String] = []
        for path in matching(under: scope) {
            guard let lines = lines(of: path) else { continue }
            for (index, line) in lines.enumerated() where line.contains(pattern) {
                if matches.count == Self.maxGrepMatches {
                    return matches.joined(separator: "\n") + "\n… more matches (narrow the path)"
                }
                matches.append("\(path):\(index + 1): \(line.prefix(Self.maxGrepLineLength))")
            }
        }
        return matches.isEmpty ? "no matches" : matches.joined(separator: "\n")
    }

    /// The file's lines, when it is an admitted text file whose real path is still inside the root.
    func lines(of path: String) -> [Substring]? {
        guard let file = files[path], isInsideRoot(file.absolutePath),
              case .text(let bytes) = FileReader.read(file, maxSize: maxFileSize)
        else { return nil }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// Defence in depth against a link swapped in after the walk.
    private func isInsideRoot(_ absolutePath: String) -> Bool {
        let realRoot = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
        let real = URL(fileURLWithPath: absolutePath).resolvingSymlinksInPath().path
        return real.hasPrefix(realRoot.hasSuffix("/") ? realRoot : realRoot + "/")
    }
}
