/// Maps byte offsets of one file to 1-based line numbers. Built once per file so that
/// locating N packages costs O(N log L), never a rescan of the text per package.
struct LineIndex: Sendable {
    /// Byte offset at which each line starts; `starts[0] == 0`.
    private let starts: [Int]

    init(_ bytes: [UInt8]) {
        var starts = [0]
        starts.reserveCapacity(bytes.count / 32 + 1)
        bytes.withUnsafeBufferPointer { buffer in
            for i in buffer.indices where buffer[i] == UInt8(ascii: "\n") {
                starts.append(i + 1)
            }
        }
        self.starts = starts
    }

    /// The 1-based line holding byte `offset` (clamped to the file).
    func line(at offset: Int) -> Int {
        var low = 0, high = starts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if starts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return low + 1
    }
}
