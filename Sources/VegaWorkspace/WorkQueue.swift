import Dispatch
import Foundation

/// A shared pile of jobs that workers take from and add to; it runs out once it is
/// empty and no worker is still busy (a busy worker may add more).
final class WorkQueue<Job: Sendable>: @unchecked Sendable {
    // `pending` and `busy` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var pending: [Job]
    private var busy = 0

    init(_ jobs: [Job]) {
        pending = jobs
    }

    /// Runs `work` on `workers` threads (the caller's included) until the queue runs
    /// out. `work` returns the jobs it found.
    func drain(workers: Int, _ work: @Sendable @escaping (Job) -> [Job]) {
        DispatchQueue.concurrentPerform(iterations: max(workers, 1)) { _ in
            while let job = take() {
                complete(adding: work(job))
            }
        }
    }

    private func take() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while pending.isEmpty {
            if busy == 0 { return nil }
            condition.wait()
        }
        busy += 1
        return pending.removeLast()
    }

    private func complete(adding jobs: [Job]) {
        condition.lock()
        defer { condition.unlock() }
        pending.append(contentsOf: jobs)
        busy -= 1
        // Wakes idle workers for the new jobs, or lets them see the queue ran out.
        condition.broadcast()
    }
}
