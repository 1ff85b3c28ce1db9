import Foundation
import Synchronization
import VegaModel

/// Terminal facts and output, in one place so commands stay declarative.
enum Terminal {
    static var stdoutIsTTY: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }
    /// https://no-color.org: any non-empty value disables colour.
    static var colorAllowed: Bool { (ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty }

    static var width: Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 120
    }

    /// Replaces the default (die at once) on SIGINT and SIGTERM with `handler`; cancel the
    /// returned sources to stop listening.
    static func onInterrupt(_ handler: @escaping @Sendable () -> Void) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }

    static func writeError(_ text: some StringProtocol) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Inputs a command could not read in full, one `path:line: message` line each.
    static func printWarnings(_ warnings: [ScanWarning]) {
        for warning in warnings {
            writeError("vega: warning: \(warning.path)\(warning.line.map { ":\($0)" } ?? ""): \(warning.message)")
        }
    }
}

/// A one-line progress display on stderr (files, MB, MB/s), redrawn at most ten times a
/// second; engines call it from many threads.
final class ProgressLine: Sendable {
    private struct State {
        var lastDraw = ContinuousClock.now - .seconds(1)
        var drawn = false
    }
    private let state = Mutex(State())
    private let started = ContinuousClock.now

    func update(_ event: ProgressEvent) {
        let now = ContinuousClock.now
        let line: String? = state.withLock { state in
            guard now - state.lastDraw >= .milliseconds(100) else { return nil }
            state.lastDraw = now
            state.drawn = true
            let seconds = max((now - started).seconds, 0.001)
            let mb = Double(event.bytes) / 1_048_576
            return String(format: "\r\u{1B}[Kscanning: %d files, %.1f MB, %.1f MB/s", event.files, mb, mb / seconds)
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    func finish() {
        if state.withLock({ $0.drawn }) { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
