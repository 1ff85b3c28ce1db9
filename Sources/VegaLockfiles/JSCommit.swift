import Foundation

/// The git commit a JavaScript lockfile pins in a resolution URL, following the forms
/// npm and yarn write (osv-scalibr's commitextractor): `git+ssh://…#<sha>`,
/// `https://…/repo.git#<sha>`, codeload tarballs, `#commit=<sha>`, `github:owner/repo#<sha>`,
/// and the fragment or `?ref=` of github.com/gitlab.com/bitbucket.org URLs.
enum JSCommit {
    static func extract(from resolution: String) -> String? {
        let s = Array(resolution.utf8)
        guard !s.isEmpty else { return nil }
        let lastHash = s.lastIndex(of: UInt8(ascii: "#"))
        let fragment = lastHash.map { Array(s[($0 + 1)...]) } ?? []
        let fragmentIsWord = !fragment.isEmpty && fragment.allSatisfy(isWord)

        if let hash = lastHash, fragmentIsWord {
            // <scheme>://…#sha, the scheme at the start or right after "user@".
            for scheme in gitSchemes where schemeStarts(s, scheme, before: hash - 1) {
                return string(fragment)
            }
            // https://….git#sha
            if hash >= 4, has(s, at: hash - 4, dotGit), schemeStarts(s, https, before: hash - 5) {
                return string(fragment)
            }
        }
        if let commit = codeloadCommit(s) { return commit }
        if let hash = lastHash, hash >= 1 {
            for m in commitMarkers {
                if s.count > hash + m.count, has(s, at: hash, m), s[(hash + m.count)...].allSatisfy(isWord) {
                    return string(Array(s[(hash + m.count)...]))
                }
            }
        }
        if let hash = lastHash, fragmentIsWord {
            for prefix in ["github:", "gitlab:", "bitbucket:"] where resolution.hasPrefix(prefix) {
                if hash > prefix.utf8.count { return string(fragment) }
            }
        }
        return hostedRef(s)
    }

    private static let gitSchemes = ["git://", "git+ssh://", "git+https://", "ssh://"].map { Array($0.utf8) }
    private static let https = Array("https://".utf8)
    private static let dotGit = Array(".git".utf8)
    private static let commitMarkers = ["#commit:", "#commit="].map { Array($0.utf8) }
    private static let codeload = Array("https://codeload.github.com/".utf8)
    private static let tarGz = Array("tar.gz".utf8)
    private static let schemeSeparator = Array("://".utf8)
    private static let hostedGitHosts: Set<[UInt8]> = Set(["bitbucket.org", "github.com", "gitlab.com"].map { Array($0.utf8) })
    private static let refParameter = Array("ref=".utf8)

    /// `https://codeload.github.com/<owner>/<repo>/tar.gz/<sha>` anywhere in the string.
    static func codeloadCommit(_ s: [UInt8]) -> String? {
        let marker = codeload
        var start = 0
        while let at = Bytes.find(marker, in: s[start...]) {
            let rest = s[(at + marker.count - 1)...]
            let parts = rest.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            if parts.count == 5, parts[0].isEmpty,
               !parts[1].isEmpty, parts[1].allSatisfy(isSegment),
               !parts[2].isEmpty, parts[2].allSatisfy(isSegment),
               parts[3].elementsEqual(tarGz),
               !parts[4].isEmpty, parts[4].allSatisfy(isWord) {
                return string(Array(parts[4]))
            }
            start = at + 1
        }
        return nil
    }

    /// For github.com, gitlab.com and bitbucket.org URLs: the `ref` query parameter, or
    /// the fragment when there is no query.
    private static func hostedRef(_ s: [UInt8]) -> String? {
        guard let schemeEnd = Bytes.find(schemeSeparator, in: s[...]) else { return nil }
        let authorityStart = schemeEnd + schemeSeparator.count
        var authorityEnd = authorityStart
        while authorityEnd < s.count, s[authorityEnd] != UInt8(ascii: "/"), s[authorityEnd] != UInt8(ascii: "?"),
              s[authorityEnd] != UInt8(ascii: "#") {
            authorityEnd += 1
        }
        var hostStart = authorityStart, hostEnd = authorityEnd
        if let at = s[authorityStart..<authorityEnd].lastIndex(of: UInt8(ascii: "@")) { hostStart = at + 1 }
        if let colon = s[hostStart..<hostEnd].lastIndex(of: UInt8(ascii: ":")) { hostEnd = colon }
        let host = s[hostStart..<hostEnd].map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 }
        guard hostedGitHosts.contains(host) else { return nil }
        let hash = s[authorityEnd...].firstIndex(of: UInt8(ascii: "#")) ?? s.count
        let fragment = hash < s.count ? Array(s[(hash + 1)...]) : []
        guard let question = s[authorityEnd..<hash].firstIndex(of: UInt8(ascii: "?")) else {
            return fragment.isEmpty ? nil : string(fragment)
        }
        for pair in s[(question + 1)..<hash].split(separator: UInt8(ascii: "&")) {
            guard pair.starts(with: refParameter) else { continue }
            let value = string(Array(pair.dropFirst(refParameter.count)))
            return value.isEmpty ? nil : (value.removingPercentEncoding ?? value)
        }
        return nil
    }

    /// Whether `scheme` starts at 0 or right after an "@" (with something before it), and
    /// ends before index `limit` (so at least one character follows it).
    private static func schemeStarts(_ s: [UInt8], _ m: [UInt8], before limit: Int) -> Bool {
        if m.count <= limit, has(s, at: 0, m) { return true }
        var p = 2
        while p + m.count <= limit {
            if s[p - 1] == UInt8(ascii: "@"), has(s, at: p, m) { return true }
            p += 1
        }
        return false
    }

    /// Whether `s` holds `m` at `at`, without copying.
    private static func has(_ s: [UInt8], at: Int, _ m: [UInt8]) -> Bool {
        guard at >= 0, at + m.count <= s.count else { return false }
        for k in 0..<m.count where s[at + k] != m[k] { return false }
        return true
    }

    static func isWord(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
    }

    private static func isSegment(_ b: UInt8) -> Bool { isWord(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") }

    private static func string(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
