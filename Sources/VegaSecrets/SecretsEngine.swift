import Dispatch
import Foundation
import Synchronization
import VegaModel
import VegaWorkspace

/// Finds hard-coded credentials: keyword pre-filter, PCRE2 rules around the hits,
/// entropy and allowlists to keep false positives down.
public struct SecretsEngine: ScanEngine {
    public let id = RuleSet.engineID
    public let ruleSet: RuleSet
    public let maxFileSize: Int
    public let concurrency: Int

    public var rules: [RuleDescriptor] { ruleSet.descriptors }

    public init(ruleSet: RuleSet, maxFileSize: Int = 10 * 1024 * 1024, concurrency: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.ruleSet = ruleSet
        self.maxFileSize = maxFileSize
        self.concurrency = max(1, concurrency)
    }

    public func scan(_ target: ScanTarget, progress: @escaping ProgressHandler) async throws -> EngineResult {
        let engine = self
        return try await BlockingWork.cancellable { flag in
            target.history
                ? try engine.scanHistory(root: target.root, cancel: flag, progress: progress)
                : engine.scanFiles(target.files, cancel: flag, progress: progress)
        }
    }

    private final class Results: Sendable {
        struct State {
            var detections: [[Detection]]
            var skipped: [SkippedFile] = []
            var files = 0
            var bytes = 0
        }
        let state: Mutex<State>
        let next = Atomic<Int>(0)
        init(count: Int) { state = Mutex(State(detections: Array(repeating: [], count: count))) }
    }

    func scanFiles(_ files: [SourceFile], cancel: CancellationFlag = CancellationFlag(), progress: @escaping ProgressHandler) -> EngineResult {
        let results = Results(count: files.count)
        DispatchQueue.concurrentPerform(iterations: min(concurrency, max(files.count, 1))) { _ in
            let scanner = FragmentScanner(ruleSet: ruleSet)
            var localFiles = 0, localBytes = 0
            func flush() {
                let (files, bytes) = results.state.withLock { state in
                    state.files += localFiles
                    state.bytes += localBytes
                    return (state.files, state.bytes)
                }
                localFiles = 0
                localBytes = 0
                progress(ProgressEvent(files: files, bytes: bytes))
            }
            while true {
                let index = results.next.add(1, ordering: .relaxed).oldValue
                guard index < files.count, !cancel.isCancelled else { break }
                let file = files[index]
                if scanner.pathAllowed(file.path) { continue }
                switch FileReader.read(file, maxSize: maxFileSize) {
                case .skipped(let reason):
                    results.state.withLock { $0.skipped.append(SkippedFile(path: file.path, reason: reason)) }
                case .text(let bytes):
                    let found = bytes.withUnsafeBufferPointer { scanner.scan($0, path: file.path) }
                    localFiles += 1
                    localBytes += bytes.count
                    if !found.isEmpty { results.state.withLock { $0.detections[index] = found } }
                }
                if localFiles >= 64 || localBytes >= 4 << 20 { flush() }
            }
            flush()
        }
        return results.state.withLock { state in
            EngineResult(
                detections: state.detections.flatMap { $0 },
                coverage: Coverage(
                    filesScanned: state.files, bytesScanned: state.bytes,
                    skipped: state.skipped.sorted { $0.path < $1.path }
                )
            )
        }
    }

    /// Like gitleaks' git mode: every commit's added lines, each finding tagged with its commit.
    func scanHistory(root: String, cancel: CancellationFlag = CancellationFlag(), progress: ProgressHandler) throws -> EngineResult {
        let scanner = FragmentScanner(ruleSet: ruleSet)
        var detections: [Detection] = []
        var commits = 0, bytes = 0, files = 0
        try GitHistory.forEachCommit(repo: root) { patch in
            if cancel.isCancelled { throw CancellationError() }
            commits += 1
            for file in patch.files where !file.addedLines.isEmpty && !scanner.pathAllowed(file.path) {
                var text: [UInt8] = []
                for line in file.addedLines {
                    text.append(contentsOf: line.text.utf8)
                    text.append(0x0A)
                }
                let numbers = file.addedLines.map(\.number)
                files += 1
                bytes += text.count
                detections += text.withUnsafeBufferPointer {
                    scanner.scan($0, path: file.path, commit: patch.commit) { numbers[min($0, numbers.count) - 1] }
                }
            }
            progress(ProgressEvent(files: files, bytes: bytes))
        }
        return EngineResult(
            detections: detections,
            coverage: Coverage(filesScanned: files, bytesScanned: bytes, commitsScanned: commits)
        )
    }
}
