import Dispatch

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
}
