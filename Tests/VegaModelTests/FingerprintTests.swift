import Testing
import VegaModel

private let rule = RuleDescriptor(
    id: "test-rule", title: "Test", description: "A test rule", severity: .high, cwe: "CWE-798",
    engine: "secrets", help: "help"
)

private func detection(_ path: String, line: Int, identity: String, ruleID: String = "test-rule") -> Detection {
    var r = rule
    r.id = ruleID
    return Detection(
        rule: r, message: "m", location: Location(path: path, startLine: line, startColumn: 1, endLine: line, endColumn: 10),
        snippet: "s", identity: identity
    )
}

@Suite struct FingerprintTests {
    @Test func sameInputSameFingerprint() {
        let a = Fingerprint.assign([detection("a/b.swift", line: 3, identity: "secret")])
        let b = Fingerprint.assign([detection("a/b.swift", line: 3, identity: "secret")])
        #expect(a[0].fingerprint == b[0].fingerprint)
        #expect(a[0].fingerprint.count == 64)
    }

    @Test func lineShiftKeepsFingerprint() {
        let before = Fingerprint.assign([detection("a.py", line: 3, identity: "secret")])
        let after = Fingerprint.assign([detection("a.py", line: 40, identity: "secret")])
        #expect(before[0].fingerprint == after[0].fingerprint)
    }

    @Test func pathAndContentNormalisation() {
        let plain = Fingerprint.compute(ruleId: "r", path: "src/a.py", identity: "x  y", occurrence: 0)
        #expect(plain == Fingerprint.compute(ruleId: "r", path: "./src//a.py", identity: " x y ", occurrence: 0))
        #expect(plain == Fingerprint.compute(ruleId: "r", path: "src\\a.py", identity: "x\ty", occurrence: 0))
        #expect(plain != Fingerprint.compute(ruleId: "r", path: "src/b.py", identity: "x y", occurrence: 0))
        #expect(plain != Fingerprint.compute(ruleId: "other", path: "src/a.py", identity: "x y", occurrence: 0))
        #expect(plain != Fingerprint.compute(ruleId: "r", path: "src/a.py", identity: "x z", occurrence: 0))
    }

    @Test func repeatsAreNumberedInLocationOrder() {
        let findings = Fingerprint.assign([
            detection("a.py", line: 20, identity: "same"),
            detection("a.py", line: 5, identity: "same"),
            detection("a.py", line: 9, identity: "different"),
        ])
        #expect(findings.map(\.location.startLine) == [5, 9, 20])
        #expect(Set(findings.map(\.fingerprint)).count == 3)
        // The first repeat keeps its identity when the second moves.
        let moved = Fingerprint.assign([
            detection("a.py", line: 30, identity: "same"),
            detection("a.py", line: 6, identity: "same"),
        ])
        #expect(moved[0].fingerprint == findings[0].fingerprint)
        #expect(moved[1].fingerprint == findings[2].fingerprint)
    }
}

@Suite struct ModelTests {
    @Test func severityOrderAndScores() {
        #expect(Severity.critical > .high && Severity.high > .medium && Severity.medium > .low && Severity.low > .info)
        #expect(Severity.allCases.map(\.securityScore) == Severity.allCases.map(\.securityScore).sorted())
        #expect(Severity.high.securityScore >= 7.0 && Severity.high.securityScore < 9.0)
        #expect(Severity.critical.securityScore > 9.0)
    }

    @Test func redactionKeepsAtMostFourCharacters() {
        #expect(Redaction.redact("AKIAQWERTYUIOPASDFGH") == "AKIA****")
        #expect(Redaction.redact("short12") == "****")
        #expect(Redaction.redact("abcdefghij") == "ab****")
        for secret in ["sk_live_1234567890abcdef", "xoxb-1234", "p"] {
            let redacted = Redaction.redact(secret)
            #expect(redacted.hasSuffix(Redaction.mask))
            #expect(redacted.count - Redaction.mask.count <= 4)
        }
    }
}

@Suite struct HexTests {
    @Test func bytesBecomeTwoLowercaseDigitsEach() {
        #expect([UInt8]([0x00, 0x0f, 0xa0, 0xff]).hexString == "000fa0ff")
        #expect([UInt8]().hexString == "")
    }
}
