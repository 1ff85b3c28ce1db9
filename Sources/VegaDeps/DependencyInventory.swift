import Foundation
import Synchronization
import VegaLockfiles
import VegaModel
import VegaWorkspace

/// Finds the lockfiles among a workspace's files and reads them into dependency graphs.
/// A malformed lockfile becomes a warning naming the file and line; the rest goes on.
public enum DependencyInventory {
    public struct Result: Sendable {
        public var graphs: [DependencyGraph]
        public var warnings: [ScanWarning]
        public var filesRead: Int
        public var bytesRead: Int
    }

    /// `root` is the scanned tree: files a lockfile refers to (a requirements file's `-r`,
    /// a Maven parent POM) are read from inside it only.
    public static func collect(
        _ files: [SourceFile], root: String, maxFileSize: Int, cancel: CancellationFlag = CancellationFlag()
    ) -> Result {
        let candidates: [(SourceFile, any LockfileParser)] = files.compactMap { file in
            Lockfiles.parser(for: file.path).map { (file, $0) }
        }
        let slots = Mutex([ParsedSlot](repeating: ParsedSlot(), count: candidates.count))
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: min(ProcessInfo.processInfo.activeProcessorCount, max(candidates.count, 1))) { _ in
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < candidates.count, !cancel.isCancelled else { break }
                let slot = LockfileFiles.$root.withValue(root) {
                    parse(candidates[index].0, with: candidates[index].1, maxFileSize: maxFileSize)
                }
                slots.withLock { $0[index] = slot }
            }
        }
        return slots.withLock { slots in
            Result(
                graphs: slots.compactMap(\.graph),
                warnings: slots.flatMap(\.warnings),
                filesRead: slots.filter { $0.graph != nil }.count,
                bytesRead: slots.map(\.bytes).reduce(0, +)
            )
        }
    }

    private struct ParsedSlot: Sendable {
        var graph: DependencyGraph?
        var warnings: [ScanWarning] = []
        var bytes = 0
    }

    private static func parse(_ file: SourceFile, with parser: any LockfileParser, maxFileSize: Int) -> ParsedSlot {
        switch FileReader.read(file, maxSize: maxFileSize) {
        case .skipped(let reason):
            return ParsedSlot(warnings: [ScanWarning(path: file.path, message: "\(parser.format) not read: \(reason.rawValue)")])
        case .text(let bytes):
            do {
                let parsed = try parser.parse(bytes, path: file.path)
                return ParsedSlot(graph: parsed.graph, warnings: parsed.warnings, bytes: bytes.count)
            } catch let error as LockfileError {
                return ParsedSlot(warnings: [ScanWarning(path: error.path, line: error.line, message: error.message)], bytes: bytes.count)
            } catch {
                return ParsedSlot(warnings: [ScanWarning(path: file.path, message: "\(error)")], bytes: bytes.count)
            }
        }
    }
}
