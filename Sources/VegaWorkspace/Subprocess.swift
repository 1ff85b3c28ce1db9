import Foundation
import Glibc
import Synchronization

/// A child process (git, a benchmark's peer tool) with an empty stdin and stdout/stderr piped back.
///
/// It runs in a session of its own: with no controlling terminal neither git nor ssh can
/// stop to prompt for a password, and the whole group (git plus the remote helpers and
/// ssh it starts) can be killed at once on a timeout or cancellation.
public final class Subprocess: Sendable {
    let pid: pid_t
    private let stdoutFD: Int32
    private let stderrFD: Int32
    /// Set once the child is reaped; its pid (and so its group id) may then be reused,
    /// so nothing may be killed under that id any more.
    private let reaped = Mutex(false)

    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)
        case timedOut

        public var description: String {
            switch self {
            case .exited(let code): "exit status \(code)"
            case .signalled(let signal): "killed by signal \(signal)"
            case .timedOut: "timed out"
            }
        }
    }

    public struct Completion: Sendable {
        public let outcome: Outcome
        /// Trimmed; at most the first `stderrLimit` bytes.
        public let stderr: String
    }

    static let stderrLimit = 64 * 1024

    /// Variables that would point git at some other repository than the one asked for
    /// (git exports them to hooks, so a scan run from a hook would inherit them).
    private static let repositoryVariables: Set<String> = [
        "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX",
    ]

    /// Starts `arguments[0]` (looked up on PATH) with the current environment, minus the
    /// repository variables, plus `environment`; with `environment` alone when
    /// `inheritEnvironment` is false (a scan runner must not see the server's credentials).
    public init(_ arguments: [String], environment: [String: String] = [:], inheritEnvironment: Bool = true) throws {
        // stdin is a pipe with no writer: the child reads end-of-file at once, which
        // does not depend on /dev/null being the device it should be.
        var pipes: [[Int32]] = []
        for _ in 0..<3 {
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else {
                let message = Posix.errorMessage()
                pipes.joined().forEach { close($0) }
                throw WorkspaceError("cannot create a pipe: \(message)")
            }
            // Keeps these ends out of processes other threads start; dup2 below clears
            // the flag on the child's copies. (Swift's Glibc module does not offer pipe2.)
            for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            pipes.append(ends)
        }
        let (inPipe, outPipe, errPipe) = (pipes[0], pipes[1], pipes[2])
        close(inPipe[1])

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaulted = sigset_t()
        sigemptyset(&defaulted)
        sigaddset(&defaulted, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaulted)
        let common = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if posix_spawnattr_setflags(&attributes, Int16(common | Subprocess.spawnSetSID)) != 0 {
            // glibc before 2.26 has no POSIX_SPAWN_SETSID: a new process group still
            // allows killing the whole group.
            posix_spawnattr_setpgroup(&attributes, 0)
            posix_spawnattr_setflags(&attributes, Int16(common | POSIX_SPAWN_SETPGROUP))
        }

        var variables = inheritEnvironment
            ? ProcessInfo.processInfo.environment.filter { !Subprocess.repositoryVariables.contains($0.key) } : [:]
        variables.merge(environment) { _, new in new }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }

        var child: pid_t = 0
        let status = posix_spawnp(&child, arguments[0], &actions, &attributes, argv, envp)
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        guard status == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            throw WorkspaceError(status == ENOENT
                ? "\(arguments[0]) is not installed or not on PATH"
                : "cannot run \(arguments[0]): \(Posix.errorMessage(status))")
        }
        pid = child
        stdoutFD = outPipe[0]
        stderrFD = errPipe[0]
    }

    /// glibc's value for POSIX_SPAWN_SETSID, which Swift's Glibc module leaves out
    /// because it sits behind _GNU_SOURCE.
    private static let spawnSetSID: Int32 = 0x80

    /// Feeds stdout to `onOutput` as it arrives, collects stderr, and waits for the child
    /// to exit. Past `deadline` the group is killed and the outcome is `timedOut`. If
    /// `onOutput` throws, the group is killed and the error rethrown once it has exited.
    /// Call once.
    public func communicate(
        deadline: ContinuousClock.Instant? = nil, onOutput: (UnsafeRawBufferPointer) throws -> Void = { _ in }
    ) throws -> Completion {
        var polled = [pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0),
                      pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)]
        var stderr: [UInt8] = []
        var failure: (any Error)? = nil
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var cutoff = deadline
        var timedOut = false
        var killed = false
        func kill() {
            terminate()
            killed = true
            // Once the group is dead its pipes close at once; anything still holding them
            // after this grace period escaped the group and is not waited for.
            cutoff = .now + .seconds(2)
        }

        while polled.contains(where: { $0.fd >= 0 }) {
            var wait: Int32 = -1
            if let cutoff {
                let left = cutoff - .now
                if left <= .zero {
                    if killed { break }
                    timedOut = true
                    kill()
                    continue
                }
                let (seconds, attoseconds) = left.components
                wait = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            }
            if poll(&polled, nfds_t(polled.count), wait) < 0 {
                if errno == EINTR { continue }
                failure = WorkspaceError("waiting for \(pid) failed: \(Posix.errorMessage())")
                kill()
                break
            }
            for index in polled.indices where polled[index].fd >= 0 && polled[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(polled[index].fd, $0.baseAddress, $0.count) }
                if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                guard count > 0 else {
                    close(polled[index].fd)
                    polled[index].fd = -1
                    continue
                }
                if index == 1 {
                    stderr += buffer[..<min(count, max(Subprocess.stderrLimit - stderr.count, 0))]
                } else if failure == nil {
                    do {
                        try buffer.withUnsafeBytes { try onOutput(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                    } catch {
                        // Keep draining so the killed group can exit and be reaped.
                        failure = error
                        kill()
                    }
                }
            }
        }
        for entry in polled where entry.fd >= 0 { close(entry.fd) }

        var status: Int32 = 0
        // Polled rather than blocking, so a deadline still applies to a child that closed
        // its pipes but lingers, and so `terminate` never waits on the lock meanwhile.
        while !reap(&status) {
            if let cutoff, !killed, cutoff <= .now {
                timedOut = true
                kill()
            }
            usleep(2000)
        }
        if let failure { throw failure }
        let message = String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if timedOut { return Completion(outcome: .timedOut, stderr: message) }
        // Decoded by hand: the WIFEXITED family are C macros Swift cannot import.
        let signal = status & 0x7F
        return Completion(outcome: signal == 0 ? .exited((status >> 8) & 0xFF) : .signalled(signal), stderr: message)
    }

    /// Kills the child's whole group, unless it has been reaped already. Safe from any thread.
    public func terminate() {
        signalGroup(SIGKILL)
    }

    /// Asks the child's whole group to stop (SIGTERM), unless it has been reaped already.
    public func interrupt() {
        signalGroup(SIGTERM)
    }

    private func signalGroup(_ signal: Int32) {
        reaped.withLock { done in
            if !done { kill(-pid, signal) }
        }
    }

    /// True once the child has been reaped, with its wait status in `status`.
    private func reap(_ status: inout Int32) -> Bool {
        reaped.withLock { done in
            let result = waitpid(pid, &status, WNOHANG)
            done = result == pid || (result < 0 && errno != EINTR)
            return done
        }
    }
}
