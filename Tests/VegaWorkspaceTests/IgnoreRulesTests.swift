import Testing
@testable import VegaWorkspace

/// One gitignore file's contents, a path relative to its directory, and whether git
/// would ignore that path (nil: no pattern matches at all).
struct IgnoreCase: CustomTestStringConvertible, Sendable {
    let patterns: String
    let path: String
    let isDirectory: Bool
    let ignored: Bool?

    init(_ patterns: String, _ path: String, directory: Bool = false, _ ignored: Bool?) {
        self.patterns = patterns
        self.path = path
        self.isDirectory = directory
        self.ignored = ignored
    }

    var testDescription: String { "\(patterns.debugDescription) vs \(path)\(isDirectory ? "/" : "")" }
}

@Suite struct IgnoreRulesTests {
    static let cases: [IgnoreCase] = [
        // Names without a slash match at any depth.
        IgnoreCase("*.log", "a.log", true),
        IgnoreCase("*.log", "deep/er/a.log", true),
        IgnoreCase("*.log", "a.log.txt", nil),
        IgnoreCase("secret", "x/secret", true),
        IgnoreCase("secret", "x/secrets", nil),
        // A leading or middle slash anchors to the file's directory.
        IgnoreCase("/root.txt", "root.txt", true),
        IgnoreCase("/root.txt", "sub/root.txt", nil),
        IgnoreCase("doc/frotz", "doc/frotz", true),
        IgnoreCase("doc/frotz", "a/doc/frotz", nil),
        IgnoreCase("x/a*b", "x/acb", true),
        IgnoreCase("x/a*b", "x/a/b", nil),
        // Trailing slash: directories only.
        IgnoreCase("build/", "build", directory: true, true),
        IgnoreCase("build/", "build", nil),
        IgnoreCase("build/", "src/build", directory: true, true),
        IgnoreCase("/build/", "src/build", directory: true, nil),
        // `**` forms.
        IgnoreCase("**/foo", "foo", true),
        IgnoreCase("**/foo", "a/b/foo", true),
        IgnoreCase("**/foo/bar", "foo/bar", true),
        IgnoreCase("**/foo/bar", "x/y/foo/bar", true),
        IgnoreCase("foo/**", "foo/a", true),
        IgnoreCase("foo/**", "foo/a/b", true),
        IgnoreCase("foo/**", "foo", directory: true, nil),
        IgnoreCase("a/**/b", "a/b", true),
        IgnoreCase("a/**/b", "a/x/b", true),
        IgnoreCase("a/**/b", "a/x/y/b", true),
        IgnoreCase("a/**/b", "a/xb", nil),
        IgnoreCase("x/a**b", "x/acdb", true),
        IgnoreCase("x/a**b", "x/a/y/b", nil),  // not between slashes: a plain `*`
        IgnoreCase("**", "any/thing", true),
        // Negation: the last matching line wins.
        IgnoreCase("*.txt\n!keep.txt", "keep.txt", false),
        IgnoreCase("*.txt\n!keep.txt", "drop.txt", true),
        IgnoreCase("!keep.txt\n*.txt", "keep.txt", true),
        // Comments, blanks, escapes, trailing spaces, CRLF, BOM.
        IgnoreCase("# comment\n\n   \nfile", "# comment", nil),
        IgnoreCase("# comment\n\nfile", "file", true),
        IgnoreCase("\\#hash", "#hash", true),
        IgnoreCase("\\!bang", "!bang", true),
        IgnoreCase("trailing   ", "trailing", true),
        IgnoreCase("escaped\\ ", "escaped ", true),
        IgnoreCase("escaped\\ ", "escaped", nil),
        IgnoreCase("crlf\r\nnext", "crlf", true),
        IgnoreCase("\u{FEFF}bom", "bom", true),
        // `?` and classes.
        IgnoreCase("?.c", "a.c", true),
        IgnoreCase("?.c", "ab.c", nil),
        IgnoreCase("x/a?b", "x/a/b", nil),
        IgnoreCase("[a-c].md", "b.md", true),
        IgnoreCase("[a-c].md", "d.md", nil),
        IgnoreCase("[!a-c].md", "d.md", true),
        IgnoreCase("[!a-c].md", "b.md", nil),
        IgnoreCase("[^x]y", "ay", true),
        IgnoreCase("[^x]y", "xy", nil),
        IgnoreCase("[]]z", "]z", true),
        IgnoreCase("[a-]z", "-z", true),
        IgnoreCase("[[:digit:]]x", "7x", true),
        IgnoreCase("[[:digit:]]x", "ax", nil),
        IgnoreCase("[[:upper:][:digit:]]", "Q", true),
        IgnoreCase("\\*star", "*star", true),
        IgnoreCase("\\*star", "xstar", nil),
        // Patterns git can never match.
        IgnoreCase("[unterminated", "[unterminated", nil),
        IgnoreCase("[[:nope:]]", "n", nil),
        IgnoreCase("dangling\\", "dangling\\", nil),
    ]

    @Test(arguments: cases)
    func matchesLikeGit(_ testCase: IgnoreCase) {
        let rules = IgnoreRuleSet(contents: Array(testCase.patterns.utf8), baseLength: 0)
        let path = Array(testCase.path.utf8)
        let nameStart = (path.lastIndex(of: UInt8(ascii: "/")) ?? -1) + 1
        let decision = path.withUnsafeBufferPointer {
            rules.decision(path: $0, nameStart: nameStart, isDirectory: testCase.isDirectory)
        }
        #expect(decision == testCase.ignored)
    }

    @Test func patternsAreRelativeToTheirFilesDirectory() {
        // A rule set from "sub/.gitignore": base "sub/".
        let rules = IgnoreRuleSet(contents: Array("/anchored\nloose".utf8), baseLength: 4)
        func decide(_ path: String) -> Bool? {
            let bytes = Array(path.utf8)
            let nameStart = (bytes.lastIndex(of: UInt8(ascii: "/")) ?? -1) + 1
            return bytes.withUnsafeBufferPointer { rules.decision(path: $0, nameStart: nameStart, isDirectory: false) }
        }
        #expect(decide("sub/anchored") == true)
        #expect(decide("sub/deeper/anchored") == nil)
        #expect(decide("sub/deeper/loose") == true)
    }

    @Test func manyStarsStayFast() {
        // Exponential backtracking would take far longer than the limit (which is loose:
        // the suite runs on 2 shared cores).
        let glob = Glob(Array("*a*a*a*a*a*a*a*a*a*a*a*a*b".utf8)[...])!
        let text = Array(repeating: UInt8(ascii: "a"), count: 200)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(!text.withUnsafeBufferPointer { glob.matches($0) })
        }
        #expect(elapsed < .seconds(20))
    }
}
