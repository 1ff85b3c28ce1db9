/// Where a finding is: a path relative to the scanned root ('/'-separated) and a
/// 1-based, inclusive line/column range (columns count Unicode code points).
public struct Location: Codable, Sendable, Hashable {
    public var path: String
    public var startLine: Int
    public var startColumn: Int
    public var endLine: Int
    public var endColumn: Int

    public init(path: String, startLine: Int, startColumn: Int, endLine: Int, endColumn: Int) {
        self.path = path
        self.startLine = startLine
        self.startColumn = startColumn
        self.endLine = endLine
        self.endColumn = endColumn
    }
}

extension Location: Comparable {
    public static func < (a: Location, b: Location) -> Bool {
        (a.path, a.startLine, a.startColumn, a.endLine, a.endColumn)
            < (b.path, b.startLine, b.startColumn, b.endLine, b.endColumn)
    }
}
