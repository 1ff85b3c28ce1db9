import Foundation
import Testing
import VegaModel
@testable import VegaSecrets

/// A small rule file so these tests pin the engine's mechanics, not the bundled rules.
private let testRules = """
version: 1
allowlist:
  stopwords: [example]
  regexes: ['^\\$\\{']
  paths: ['(^|/)vendor/']
rules:
  - id: demo-token
    title: Demo token
    severity: high
    regex: '\\b(dmo_[a-z0-9]{16})\\b'
    keywords: [dmo_]
  - id: demo-assignment
    title: Demo assignment
    severity: medium
    regex: '(?i)demo_secret\\s*[:=]\\s*["'']?([^\\s"'']+)'
    keywords: [demo_secret]
    entropy: 3.0
    allowlist:
      regexes: ['test']
      target: line
  - id: demo-key-block
    title: Demo key block
    severity: critical
    regex: '-----BEGIN DEMO KEY-----[\\s\\S]{10,}?-----END DEMO KEY-----'
    keywords: ['-----begin demo key']
    multiline: true
"""

private func scan(_ text: String, path: String = "app/config.txt", rules: RuleSet? = nil) throws -> [Detection] {
    let ruleSet = try rules ?? RuleSet(file: RuleSet.decode(testRules, source: "test"))
    let scanner = FragmentScanner(ruleSet: ruleSet)
    if scanner.pathAllowed(path) { return [] }
    return Array(text.utf8).withUnsafeBufferPointer { scanner.scan($0, path: path) }
}

@Suite struct KeywordMatcherTests {
    @Test func findsEveryOccurrenceCaseInsensitively() {
        let matcher = KeywordMatcher(keywords: ["key", "api_key", "Token", "ke"])
        var hits: [(String, Int)] = []
        let words = ["key", "api_key", "token", "ke"]
        Array("API_KEY=1; token: KEY".utf8).withUnsafeBufferPointer { buf in
            matcher.forEachHit(in: buf) { id, offset in hits.append((words[id], offset)) }
        }
        let got = Set(hits.map { "\($0.0)@\($0.1)" })
        #expect(got == ["api_key@0", "key@4", "ke@4", "token@11", "ke@13", "key@18", "ke@18"])
    }

    @Test func containsAny() {
        let matcher = KeywordMatcher(keywords: ["changeme", "xxxx"])
        #expect(Array("pass=CHANGEME".utf8).withUnsafeBufferPointer { matcher.containsAny(in: $0) })
        #expect(!Array("pass=s3cr3t".utf8).withUnsafeBufferPointer { matcher.containsAny(in: $0) })
    }
}

@Suite struct EntropyTests {
    @Test func values() {
        #expect(shannonEntropy(Array("aaaa".utf8)) == 0)
        #expect(abs(shannonEntropy(Array("abcd".utf8)) - 2.0) < 1e-9)
        #expect(shannonEntropy(Array("8f3Kq1Zp0xLm9Wv2".utf8)) > 3.5)
    }
}

@Suite struct DetectionTests {
    @Test func findsTokenWithExactLocationAndRedaction() throws {
        let text = "line one\n  token = \"dmo_abcdef0123456789\" # prod\n"
        let found = try scan(text)
        #expect(found.count == 1)
        let d = try #require(found.first)
        #expect(d.rule.id == "demo-token")
        #expect(d.location.startLine == 2 && d.location.endLine == 2)
        #expect(d.location.startColumn == 12 && d.location.endColumn == 31)
        #expect(d.identity == "dmo_abcdef0123456789")
        #expect(!d.snippet.contains("dmo_abcdef0123456789"))
        #expect(!d.message.contains("dmo_abcdef0123456789"))
        #expect(d.snippet == "token = \"dmo_****\" # prod")
    }

    @Test func keywordlessTextRunsNoRegex() throws {
        #expect(try scan("nothing to see: abcdef0123456789abcdef").isEmpty)
    }

    @Test func inlineIgnoreSuppressesTheLine() throws {
        #expect(try scan("t = dmo_abcdef0123456789 # vega:ignore").isEmpty)
        #expect(try scan("t = dmo_abcdef0123456789 // gitleaks:allow").isEmpty)
        #expect(try scan("# vega:ignore\nt = dmo_abcdef0123456789").count == 1)
    }

    @Test func entropyThresholdAndAllowlists() throws {
        #expect(try scan("demo_secret = 8f3Kq1Zp0xLm9Wv2").count == 1)
        #expect(try scan("demo_secret = aaaaaaaaaaaa").isEmpty, "low entropy")
        #expect(try scan("demo_secret = 8f3Kq1Zp0xLm9Wv2 # test fixture").isEmpty, "rule allowlist on the line")
        #expect(try scan("demo_secret = ${DEMO_SECRET_FROM_ENV}").isEmpty, "global regex allowlist")
        #expect(try scan("demo_secret = 8f3KqEXAMPLE9Wv2").isEmpty, "global stopword")
        #expect(try scan("t = dmo_abcdef0123456789", path: "x/vendor/lib.txt").isEmpty, "global path allowlist")
    }

    @Test func multilineSecretFarFromKeyword() throws {
        let body = (0..<30).map { _ in "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=" }.joined(separator: "\n")
        let text = "x\n-----BEGIN DEMO KEY-----\n\(body)\n-----END DEMO KEY-----\n"
        let found = try scan(text)
        #expect(found.count == 1)
        #expect(found.first?.location.startLine == 2)
        #expect(found.first?.location.endLine == 33)
        #expect(found.first.map { !$0.snippet.contains("QUJD") } == true)
    }

    @Test func secretOnTheLineAfterItsKeyword() throws {
        let found = try scan("x = 1\ndemo_secret\n  = 8f3Kq1Zp0xLm9Wv2\n")
        #expect(found.map(\.location.startLine) == [3])
    }

    @Test func repeatsAreAllReported() throws {
        let text = (1...5).map { "t\($0) = dmo_abcdef012345678\($0)" }.joined(separator: "\n")
        let found = try scan(text)
        #expect(found.map(\.location.startLine) == [1, 2, 3, 4, 5])
    }
}

@Suite struct RuleSetTests {
    let file = try! RuleSet.decode(testRules, source: "test")

    @Test func userRulesAddReplaceAndDisable() throws {
        let config = SecretsConfig(
            rules: [
                RuleSpec(id: "acme-key", title: "ACME key", severity: .critical, regex: "acme_[0-9a-f]{8}", keywords: ["acme_"]),
                RuleSpec(id: "demo-token", title: "Replaced", severity: .low, regex: "dmo_[a-z]{3}", keywords: ["dmo_"]),
            ],
            disable: ["demo-key-block"]
        )
        let set = try RuleSet(file: file, config: config)
        #expect(set.descriptors.map(\.id).sorted() == ["acme-key", "demo-assignment", "demo-token"])
        #expect(set.descriptors.first { $0.id == "demo-token" }?.severity == .low)
        let found = try scan("k = acme_0123abcd", rules: set)
        #expect(found.map(\.rule.id) == ["acme-key"])
    }

    @Test func errorsNameTheRule() {
        let bad = SecretsConfig(rules: [RuleSpec(id: "broken", regex: "([a-z", keywords: ["x"])])
        #expect { try RuleSet(file: file, config: bad) } throws: { "\($0)".contains("broken") }
        let unknown = SecretsConfig(disable: ["no-such-rule"])
        #expect { try RuleSet(file: file, config: unknown) } throws: { "\($0)".contains("no-such-rule") }
        let group = SecretsConfig(rules: [RuleSpec(id: "g", regex: "a(b)", secretGroup: 3, keywords: ["a"])])
        #expect { try RuleSet(file: file, config: group) } throws: { "\($0)".contains("secret_group") }
    }

    @Test func unkeyedUserRuleRunsEverywhere() throws {
        let set = try RuleSet(file: file, config: SecretsConfig(rules: [RuleSpec(id: "pin", regex: "PIN-[0-9]{6}")]))
        #expect(try scan("x PIN-123456", rules: set).map(\.rule.id) == ["pin"])
    }

    @Test func shippedRulesMatchTheirYAMLSource() throws {
        let yamlPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/VegaSecrets/Resources/rules.yaml").path
        let source = try RuleSet.decode(String(contentsOfFile: yamlPath, encoding: .utf8), source: "rules.yaml")
        #expect(try RuleSet.bundledFile() == source, "rules.json is stale: run scripts/rules-compile")
    }

    @Test func bundledRulesAreWellFormed() throws {
        let bundled = try RuleSet.bundledFile()
        let set = try RuleSet(file: bundled)
        #expect(set.descriptors.count == bundled.rules.count)
        for rule in bundled.rules {
            #expect(!(rule.keywords ?? []).isEmpty, "bundled rule \(rule.id) has no keywords")
            #expect(rule.title != nil && rule.description != nil && rule.severity != nil, "bundled rule \(rule.id) lacks metadata")
        }
    }
}

@Suite struct ColumnTests {
    @Test func columnsCountCodePoints() throws {
        let found = try scan("név = \"dmo_abcdef0123456789\"")
        #expect(found.first?.location.startColumn == 8)
        #expect(found.first?.location.endColumn == 27)
    }
}
