import Foundation

/// Shannon entropy in bits per byte: how random a candidate secret looks.
func shannonEntropy<S: Sequence>(_ bytes: S) -> Double where S.Element == UInt8 {
    var counts = [Int](repeating: 0, count: 256)
    var total = 0
    for b in bytes {
        counts[Int(b)] += 1
        total += 1
    }
    guard total > 0 else { return 0 }
    var entropy = 0.0
    let n = Double(total)
    for c in counts where c > 0 {
        let p = Double(c) / n
        entropy -= p * log2(p)
    }
    return entropy
}
