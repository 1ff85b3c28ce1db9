/// Case-insensitive multi-literal search (Aho–Corasick compiled to a byte DFA): one
/// table lookup per input byte, however many keywords the rules declare. This is the
/// pre-filter that keeps regexes away from the vast majority of text.
struct KeywordMatcher: Sendable {
    private let transitions: [Int32]
    /// For each state, the keywords that end there (including via failure links).
    private let outputs: [[Int32]]
    /// Mirrors `outputs.isEmpty` as a flat table so the hot loop does one cheap check.
    private let hasOutput: [Bool]
    private let keywordLengths: [Int]

    init(keywords: [String]) {
        let folded = keywords.map { Array($0.lowercased().utf8) }
        keywordLengths = folded.map(\.count)
        var children: [[UInt8: Int32]] = [[:]]
        var outs: [[Int32]] = [[]]
        for (id, word) in folded.enumerated() where !word.isEmpty {
            var state = 0
            for byte in word {
                if let next = children[state][byte] {
                    state = Int(next)
                } else {
                    children.append([:])
                    outs.append([])
                    children[state][byte] = Int32(children.count - 1)
                    state = children.count - 1
                }
            }
            outs[state].append(Int32(id))
        }
        let stateCount = children.count
        var table = [Int32](repeating: 0, count: stateCount * 256)
        var fail = [Int32](repeating: 0, count: stateCount)
        var queue: [Int] = []
        for byte in 0..<256 {
            if let child = children[0][Self.fold(UInt8(byte))] {
                table[byte] = child
                queue.append(Int(child))
            }
        }
        // Breadth-first, so a state's failure target is complete before its children use it.
        var head = 0
        var seen = Set(queue)
        while head < queue.count {
            let state = queue[head]
            head += 1
            outs[state].append(contentsOf: outs[Int(fail[state])])
            for byte in 0..<256 {
                let fallback = table[Int(fail[state]) * 256 + byte]
                if let child = children[state][Self.fold(UInt8(byte))] {
                    table[state * 256 + byte] = child
                    if seen.insert(Int(child)).inserted {
                        fail[Int(child)] = fallback
                        queue.append(Int(child))
                    }
                } else {
                    table[state * 256 + byte] = fallback
                }
            }
        }
        transitions = table
        outputs = outs
        hasOutput = outs.map { !$0.isEmpty }
    }

    @inline(__always)
    private static func fold(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    /// Calls `body(keywordIndex, startOffset)` for every occurrence, in text order.
    func forEachHit(in text: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        transitions.withUnsafeBufferPointer { table in
            hasOutput.withUnsafeBufferPointer { flagged in
                var state = 0
                var i = 0
                let n = text.count
                while i < n {
                    state = Int(table[state &* 256 &+ Int(text[i])])
                    if flagged[state] {
                        for id in outputs[state] {
                            body(Int(id), i + 1 - keywordLengths[Int(id)])
                        }
                    }
                    i &+= 1
                }
            }
        }
    }

    /// Whether any keyword occurs in `text`.
    func containsAny(in text: UnsafeBufferPointer<UInt8>) -> Bool {
        transitions.withUnsafeBufferPointer { table in
            hasOutput.withUnsafeBufferPointer { flagged in
                var state = 0
                for byte in text {
                    state = Int(table[state &* 256 &+ Int(byte)])
                    if flagged[state] { return true }
                }
                return false
            }
        }
    }
}
