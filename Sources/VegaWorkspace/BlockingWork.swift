import Dispatch
import Synchronization

/// Runs blocking work (file system walks, reads, waiting on a child process) on a
/// Dispatch thread, so it never occupies one of the few threads of Swift's cooperative
/// pool that async code everywhere else in the process depends on.
public enum BlockingWork {
    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try work() })
            }
        }
    }

    /// As `run`, for long work that polls `flag` and stops early when the calling task
    /// is cancelled; then throws `CancellationError` whatever the work returned.
    public static func cancellable<T: Sendable>(_ work: @escaping @Sendable (CancellationFlag) throws -> T) async throws -> T {
        let flag = CancellationFlag()
        let result = try await withTaskCancellationHandler {
            try await run { try work(flag) }
        } onCancel: {
            flag.cancel()
        }
        if flag.isCancelled { throw CancellationError() }
        return result
    }
}

/// Tells blocking work that its task was cancelled.
public final class CancellationFlag: Sendable {
    private let cancelled = Atomic<Bool>(false)

    public init() {}

    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    public func cancel() { cancelled.store(true, ordering: .relaxed) }
}
