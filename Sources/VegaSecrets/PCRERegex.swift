import CPCRE2

/// A compiled PCRE2 pattern (JIT when the platform supports it) matched over raw bytes.
/// The compiled code is immutable after init and PCRE2 documents it as safe to share
/// between threads; per-thread state lives in `MatchScratch`.
final class PCRERegex: @unchecked Sendable {
    let pattern: String
    private let code: OpaquePointer
    let captureCount: Int

    struct CompileError: Error, CustomStringConvertible {
        let pattern: String
        let offset: Int
        let message: String
        var description: String { "invalid regex at offset \(offset): \(message) — \(pattern)" }
    }

    /// `anchored` patterns only match starting exactly at the offset they are given
    /// (compiled in, so the JIT still applies).
    init(_ pattern: String, anchored: Bool = false) throws {
        self.pattern = pattern
        var errorCode: Int32 = 0
        var errorOffset = 0
        let bytes = Array(pattern.utf8)
        let options = anchored ? UInt32(PCRE2_ANCHORED) : 0
        let compiled = bytes.withUnsafeBufferPointer { buf in
            pcre2_compile_8(buf.baseAddress, buf.count, options, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            throw CompileError(pattern: pattern, offset: errorOffset, message: Self.message(for: errorCode))
        }
        code = compiled
        // JIT failure (e.g. unsupported CPU) leaves the interpreter, which is still correct.
        _ = pcre2_jit_compile_8(code, UInt32(PCRE2_JIT_COMPLETE))
        var count: UInt32 = 0
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_CAPTURECOUNT), &count)
        captureCount = Int(count)
    }

    deinit { pcre2_code_free_8(code) }

    static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = pcre2_get_error_message_8(code, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[0..<Int(n)], as: UTF8.self) : "PCRE2 error \(code)"
    }

    /// Calls `body` with the group ranges (index 0 = whole match; absolute offsets into
    /// `subject`) of every non-overlapping match inside `window`.
    func forEachMatch(
        in subject: UnsafeBufferPointer<UInt8>, window: Range<Int>, scratch: MatchScratch,
        _ body: ([Range<Int>?]) -> Void
    ) {
        guard let base = subject.baseAddress else { return }
        let windowBase = base + window.lowerBound
        let length = window.count
        var start = 0
        while start <= length {
            let rc = pcre2_match_8(code, windowBase, length, start, 0, scratch.data, scratch.context)
            // No match, or a resource limit hit by a pathological input: either way stop here.
            if rc < 0 { return }
            body(groups(rc, scratch: scratch, shift: window.lowerBound))
            let ovector = pcre2_get_ovector_pointer_8(scratch.data)!
            start = ovector[1] > ovector[0] ? ovector[1] : ovector[1] + 1
        }
    }

    /// One match beginning at `start` (for patterns compiled `anchored`), reading no
    /// further than `end`. Text before `start` stays visible to lookbehinds and `\b`.
    func match(
        in subject: UnsafeBufferPointer<UInt8>, at start: Int, end: Int, scratch: MatchScratch
    ) -> [Range<Int>?]? {
        guard let base = subject.baseAddress else { return nil }
        let rc = pcre2_match_8(code, base, end, start, 0, scratch.data, scratch.context)
        return rc < 0 ? nil : groups(rc, scratch: scratch, shift: 0)
    }

    private func groups(_ rc: Int32, scratch: MatchScratch, shift: Int) -> [Range<Int>?] {
        let ovector = pcre2_get_ovector_pointer_8(scratch.data)!
        var groups: [Range<Int>?] = []
        groups.reserveCapacity(captureCount + 1)
        for i in 0...captureCount {
            let lo = ovector[2 * i], hi = ovector[2 * i + 1]
            if i < Int(rc), lo != PCRE2_UNSET_VALUE, hi >= lo {
                groups.append((shift + lo)..<(shift + hi))
            } else {
                groups.append(nil)
            }
        }
        return groups
    }
}

/// `PCRE2_UNSET` is a macro Swift cannot import.
private let PCRE2_UNSET_VALUE = Int.max

/// Per-thread match state: PCRE2 match data must not be shared between threads.
final class MatchScratch {
    let data: OpaquePointer
    let context: OpaquePointer?

    init(maxCaptures: Int) {
        data = pcre2_match_data_create_8(UInt32(maxCaptures + 1), nil)
        context = pcre2_match_context_create_8(nil)
        // Bound backtracking so a hostile file cannot stall a scan.
        if let context {
            pcre2_set_match_limit_8(context, 2_000_000)
            pcre2_set_depth_limit_8(context, 10_000)
        }
    }

    deinit {
        pcre2_match_data_free_8(data)
        if let context { pcre2_match_context_free_8(context) }
    }
}
