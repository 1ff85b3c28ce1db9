import Glibc
import VegaModel

/// Parses `git log -p --cc -U0 --format=<headerFormat>` output as it streams in and
/// hands over one `CommitPatch` per commit.
struct GitLogParser {
    /// NUL-separated fields behind a leading NUL: no diff line can start with NUL, and
    /// none of the fields can contain one.
    static let headerFormat = "%x00%H%x00%an%x00%ae%x00%aI"

    private let emit: (CommitPatch) throws -> Void
    /// The unfinished last line of the previous chunk.
    private var carry: [UInt8] = []
    private var commit: CommitInfo?
    private var files: [PatchFile] = []
    /// The file whose hunks are being read; nil for a deleted file or before "+++".
    private var file: PatchFile?
    private var hunk: Hunk?

    /// What is left of the current hunk. A hunk has one column per parent (two or more
    /// for a merge): in column i, '-' marks a line only parent i has, '+' a line parent i
    /// lacks, ' ' a line parent i shares with the result.
    private struct Hunk {
        var parentLinesLeft: [Int]
        var resultLinesLeft: Int
        var nextLine: Int

        var isDone: Bool { resultLinesLeft <= 0 && parentLinesLeft.allSatisfy { $0 <= 0 } }
    }

    init(emit: @escaping (CommitPatch) throws -> Void) {
        self.emit = emit
    }

    mutating func consume(_ chunk: UnsafeRawBufferPointer) throws {
        var start = 0
        while start < chunk.count {
            guard let found = memchr(chunk.baseAddress! + start, 0x0A, chunk.count - start) else {
                carry += chunk[start...]
                return
            }
            let end = chunk.baseAddress!.distance(to: UnsafeRawPointer(found))
            if carry.isEmpty {
                try handle(UnsafeRawBufferPointer(rebasing: chunk[start..<end]))
            } else {
                carry += chunk[start..<end]
                let line = carry
                carry.removeAll(keepingCapacity: true)
                try line.withUnsafeBytes { try handle($0) }
            }
            start = end + 1
        }
    }

    /// Call at end of output: flushes the last commit.
    mutating func finish() throws {
        if !carry.isEmpty {
            let line = carry
            carry = []
            try line.withUnsafeBytes { try handle($0) }
        }
        try finishCommit()
    }

    private mutating func handle(_ line: UnsafeRawBufferPointer) throws {
        if line.first == 0 {
            try finishCommit()
            commit = GitLogParser.commitInfo(line)
            return
        }
        if hunk != nil, let first = line.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-")
            || first == UInt8(ascii: " ") || first == UInt8(ascii: "\\") {
            hunkLine(line)
            return
        }
        hunk = nil
        if line.starts(with: "diff ".utf8) {
            finishFile()
        } else if line.starts(with: "+++ ".utf8) {
            finishFile()
            file = GitLogParser.newPath(line.dropFirst(4)).map { PatchFile(path: $0, addedLines: []) }
        } else if line.starts(with: "@@".utf8) {
            hunk = GitLogParser.hunkHeader(line)
        }
        // Everything else (index, mode, rename and "Binary files" lines) says nothing
        // about added text.
    }

    private mutating func hunkLine(_ line: UnsafeRawBufferPointer) {
        guard var current = hunk else { return }
        // "\ No newline at end of file" belongs to the line before it.
        if line.first == UInt8(ascii: "\\") { return }
        let columns = current.parentLinesLeft.count
        let prefix = line.prefix(columns)
        let inResult = !prefix.contains(UInt8(ascii: "-"))
        for (column, mark) in prefix.enumerated() where mark != UInt8(ascii: "+") {
            current.parentLinesLeft[column] -= 1
        }
        if inResult {
            // Only a line no parent has is new in this commit.
            if prefix.count == columns, prefix.allSatisfy({ $0 == UInt8(ascii: "+") }) {
                let text = String(decoding: line.dropFirst(columns), as: UTF8.self)
                file?.addedLines.append(AddedLine(number: current.nextLine, text: text))
            }
            current.nextLine += 1
            current.resultLinesLeft -= 1
        }
        hunk = current.isDone ? nil : current
    }

    private mutating func finishFile() {
        if let file, !file.addedLines.isEmpty { files.append(file) }
        file = nil
        hunk = nil
    }

    private mutating func finishCommit() throws {
        finishFile()
        if let commit { try emit(CommitPatch(commit: commit, files: files)) }
        commit = nil
        files = []
    }

    private static func commitInfo(_ line: UnsafeRawBufferPointer) -> CommitInfo {
        let fields = line.dropFirst().split(separator: 0, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        func field(_ index: Int) -> String { index < fields.count ? fields[index] : "" }
        return CommitInfo(sha: field(0), author: field(1), email: field(2), date: field(3))
    }

    /// `@@ -a,b +c,d @@` or, for a merge, `@@@ -a,b -c,d +e,f @@@`.
    private static func hunkHeader(_ line: UnsafeRawBufferPointer) -> Hunk? {
        let words = line.split(separator: UInt8(ascii: " "))
        var parents: [Int] = []
        var result: (start: Int, count: Int)? = nil
        for word in words.dropFirst() {
            guard let sign = word.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") else { break }
            guard let range = rangeValues(word.dropFirst()) else { return nil }
            if sign == UInt8(ascii: "-") {
                parents.append(range.count)
            } else {
                result = range
            }
        }
        guard let result, !parents.isEmpty else { return nil }
        return Hunk(parentLinesLeft: parents, resultLinesLeft: result.count, nextLine: result.start)
    }

    /// "start,count" or "start" (count 1).
    private static func rangeValues(_ text: Slice<UnsafeRawBufferPointer>) -> (start: Int, count: Int)? {
        let parts = text.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count),
              let start = Int(String(decoding: parts[0], as: UTF8.self)),
              let count = parts.count == 2 ? Int(String(decoding: parts[1], as: UTF8.self)) : 1
        else { return nil }
        return (start, count)
    }

    /// The path from a "+++ " line: nil for /dev/null (a deletion). git quotes names with
    /// unusual bytes C-style, and ends a name holding a space with a tab.
    static func newPath(_ raw: Slice<UnsafeRawBufferPointer>) -> String? {
        var bytes = Array(raw)
        if bytes.first == UInt8(ascii: "\"") {
            bytes = unquote(bytes)
        } else if bytes.last == UInt8(ascii: "\t") {
            bytes.removeLast()
        }
        if bytes.elementsEqual("/dev/null".utf8) { return nil }
        if bytes.starts(with: "b/".utf8) { bytes.removeFirst(2) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Undoes git's quote_c_style: `"…"` with \a \b \t \n \v \f \r \" \\ and \ooo escapes.
    static func unquote(_ quoted: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 1
        while i < quoted.count, quoted[i] != UInt8(ascii: "\"") {
            var byte = quoted[i]
            i += 1
            if byte == UInt8(ascii: "\\"), i < quoted.count {
                let escape = quoted[i]
                i += 1
                switch escape {
                case UInt8(ascii: "a"): byte = 0x07
                case UInt8(ascii: "b"): byte = 0x08
                case UInt8(ascii: "t"): byte = 0x09
                case UInt8(ascii: "n"): byte = 0x0A
                case UInt8(ascii: "v"): byte = 0x0B
                case UInt8(ascii: "f"): byte = 0x0C
                case UInt8(ascii: "r"): byte = 0x0D
                case UInt8(ascii: "0")...UInt8(ascii: "7"):
                    var value = Int(escape - UInt8(ascii: "0"))
                    var digits = 1
                    while digits < 3, i < quoted.count, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(quoted[i]) {
                        value = value * 8 + Int(quoted[i] - UInt8(ascii: "0"))
                        digits += 1
                        i += 1
                    }
                    byte = UInt8(truncatingIfNeeded: value)
                default: byte = escape  // \" and \\
                }
            }
            out.append(byte)
        }
        return out
    }
}
