/// Case-insensitive multi-literal search (Aho–Corasick compiled to a DFA): one table
/// lookup per input byte, however many keywords the rules declare. This is the
/// pre-filter that keeps regexes away from the vast majority of text.
struct KeywordMatcher: Sendable {
    /// Bytes that occur in no keyword share class 0; case-folded letters share a class.
    /// Fewer columns keep the DFA small enough to stay in cache.
    private let byteClass: [UInt8]
    private let classCount: Int
    /// Row-major DFA: entry `row + class` holds the next state's row offset
    /// (`next * classCount`), bit-inverted (negative) when that state ends a keyword, so
    /// the hot loop needs one dependent load and a sign test per byte.
    private let transitions: [Int32]
    /// For each state, the keywords that end there (including via failure links).
    private let outputs: [[Int32]]
    private let keywordLengths: [Int]

    init(keywords: [String]) {
        let folded = keywords.map { Array($0.lowercased().utf8) }
        keywordLengths = folded.map(\.count)

        var classes = [UInt8](repeating: 0, count: 256)
        var nextClass: UInt8 = 1
        for byte in Set(folded.joined()).sorted() {
            classes[Int(byte)] = nextClass
            if byte >= 0x61 && byte <= 0x7A { classes[Int(byte) - 0x20] = nextClass }
            nextClass += 1
        }
        let width = Int(nextClass)

        // The trie, over classes.
        var children: [[Int32]] = [[Int32](repeating: -1, count: width)]
        var outs: [[Int32]] = [[]]
        for (id, word) in folded.enumerated() where !word.isEmpty {
            var state = 0
            for byte in word {
                let c = Int(classes[Int(byte)])
                if children[state][c] < 0 {
                    children.append([Int32](repeating: -1, count: width))
                    outs.append([])
                    children[state][c] = Int32(children.count - 1)
                }
                state = Int(children[state][c])
            }
            outs[state].append(Int32(id))
        }

        // Failure links breadth-first, folding them into full DFA transitions.
        let stateCount = children.count
        var next = [Int32](repeating: 0, count: stateCount * width)
        var fail = [Int32](repeating: 0, count: stateCount)
        var queue: [Int] = []
        for c in 0..<width where children[0][c] >= 0 {
            next[c] = children[0][c]
            queue.append(Int(children[0][c]))
        }
        var head = 0
        while head < queue.count {
            let state = queue[head]
            head += 1
            outs[state].append(contentsOf: outs[Int(fail[state])])
            for c in 0..<width {
                let fallback = next[Int(fail[state]) * width + c]
                let child = children[state][c]
                if child >= 0 {
                    next[state * width + c] = child
                    fail[Int(child)] = fallback
                    queue.append(Int(child))
                } else {
                    next[state * width + c] = fallback
                }
            }
        }
        byteClass = classes
        classCount = width
        transitions = next.map { target in
            let row = target * Int32(width)
            return outs[Int(target)].isEmpty ? row : ~row
        }
        outputs = outs
    }

    /// Calls `body(keywordIndex, startOffset)` for every occurrence, in text order.
    @inline(__always)
    func forEachHit(in text: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        transitions.withUnsafeBufferPointer { table in
            byteClass.withUnsafeBufferPointer { classes in
                var row: Int32 = 0
                for i in 0..<text.count {
                    row = table[Int(row) &+ Int(classes[Int(text[i])])]
                    if row < 0 {
                        row = ~row
                        for id in outputs[Int(row) / classCount] {
                            body(Int(id), i + 1 - keywordLengths[Int(id)])
                        }
                    }
                }
            }
        }
    }

    /// Whether any keyword occurs in `text`.
    func containsAny(in text: UnsafeBufferPointer<UInt8>) -> Bool {
        transitions.withUnsafeBufferPointer { table in
            byteClass.withUnsafeBufferPointer { classes in
                var row: Int32 = 0
                for byte in text {
                    row = table[Int(row) &+ Int(classes[Int(byte)])]
                    if row < 0 { return true }
                }
                return false
            }
        }
    }
}
