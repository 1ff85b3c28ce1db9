import Foundation
import Testing
import VegaModel
import VegaReports

/// SARIF logs shaped like other tools write them: CodeQL (rules in a query pack extension,
/// `partialFingerprints`, CWE tags, numeric security-severity) and Semgrep (rules in the
/// driver, snippets, no fingerprints, "CWE-89: …" tags, levels only).
enum ThirdPartySARIF {
    static func codeQL(line: Int = 14, lineHash: String = "7d4e2f2c9a1b3e55:1", message: String = "This log entry depends on a user-provided value.") -> Data {
        Data("""
        {
          "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
          "version": "2.1.0",
          "runs": [{
            "tool": {
              "driver": {"name": "CodeQL", "organization": "GitHub", "semanticVersion": "2.17.6", "notifications": []},
              "extensions": [{
                "name": "codeql/javascript-queries", "semanticVersion": "1.0.1",
                "rules": [
                  {"id": "js/log-injection", "name": "js/log-injection",
                   "shortDescription": {"text": "Log injection"},
                   "fullDescription": {"text": "Building log entries from user-controlled sources is vulnerable to insertion of forged log entries by a malicious user."},
                   "defaultConfiguration": {"enabled": true, "level": "error"},
                   "properties": {"tags": ["security", "external/cwe/cwe-117"], "kind": "path-problem", "precision": "medium",
                                  "security-severity": "7.8", "problem.severity": "error"}},
                  {"id": "js/reflected-xss", "name": "js/reflected-xss",
                   "shortDescription": {"text": "Reflected cross-site scripting"},
                   "defaultConfiguration": {"level": "error"},
                   "properties": {"tags": ["security", "external/cwe/cwe-079", "external/cwe/cwe-116"], "security-severity": "6.1"}}
                ]
              }]
            },
            "invocations": [{"executionSuccessful": true, "toolExecutionNotifications": []}],
            "artifacts": [{"location": {"uri": "src/server/routes.js", "uriBaseId": "%SRCROOT%", "index": 0}}],
            "results": [
              {"ruleId": "js/log-injection", "ruleIndex": 0, "rule": {"id": "js/log-injection", "index": 0, "toolComponent": {"index": 0}},
               "message": {"text": "\(message)"},
               "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/server/routes.js", "uriBaseId": "%SRCROOT%", "index": 0},
                              "region": {"startLine": \(line), "startColumn": 21, "endColumn": 44}}}],
               "partialFingerprints": {"primaryLocationLineHash": "\(lineHash)", "primaryLocationStartColumnFingerprint": "16"},
               "codeFlows": [{"threadFlows": [{"locations": []}]}]},
              {"ruleId": "js/reflected-xss", "rule": {"id": "js/reflected-xss", "index": 1, "toolComponent": {"index": 0}},
               "message": {"text": "Cross-site scripting vulnerability due to a [user-provided value](1)."},
               "locations": [{"physicalLocation": {"artifactLocation": {"index": 0},
                              "region": {"startLine": 30, "startColumn": 14, "endLine": 31, "endColumn": 3}}}],
               "partialFingerprints": {"primaryLocationLineHash": "aa01bb02cc03dd04:1"}}
            ],
            "columnKind": "utf16CodeUnits",
            "properties": {"semmle.formatSpecifier": "sarif-latest"}
          }]
        }
        """.utf8)
    }

    /// Semgrep OSS 1.x output, with the cases an importer must refuse or normalise.
    static func semgrep(queryLine: Int = 12, extra: String = "") -> Data {
        Data("""
        {
          "version": "2.1.0",
          "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json",
          "runs": [{
            "tool": {"driver": {
              "name": "Semgrep OSS", "semanticVersion": "1.85.0",
              "rules": [
                {"id": "python.lang.security.audit.formatted-sql-query.formatted-sql-query",
                 "name": "python.lang.security.audit.formatted-sql-query.formatted-sql-query",
                 "shortDescription": {"text": "Semgrep Finding: python.lang.security.audit.formatted-sql-query.formatted-sql-query"},
                 "fullDescription": {"text": "Detected possible formatted SQL query. Use parameterized queries instead."},
                 "defaultConfiguration": {"level": "warning"},
                 "help": {"text": "Use parameterized queries.", "markdown": "Use **parameterized** queries."},
                 "properties": {"precision": "very-high",
                                "tags": ["CWE-89: Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')",
                                         "LOW CONFIDENCE", "OWASP-A03:2021 - Injection", "security"]}},
                {"id": "generic.secrets.security.detected-generic-secret",
                 "shortDescription": {"text": "Generic Secret detected"},
                 "defaultConfiguration": {"level": "error"},
                 "properties": {"tags": ["CWE-798: Use of Hard-coded Credentials"]}}
              ]
            }},
            "invocations": [{"executionSuccessful": true, "toolExecutionNotifications": []}],
            "originalUriBaseIds": {"SRCROOT": {"uri": "file:///home/ci/work/"}},
            "results": [
              {"ruleId": "python.lang.security.audit.formatted-sql-query.formatted-sql-query",
               "level": "error",
               "message": {"text": "Detected possible formatted SQL query. Use parameterized queries instead."},
               "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app/db.py", "uriBaseId": "%SRCROOT%"},
                              "region": {"startLine": \(queryLine), "startColumn": 5, "endLine": \(queryLine), "endColumn": 52,
                                         "snippet": {"text": "    cursor.execute(\\"SELECT * FROM users WHERE id = %s\\" % uid)"}}}}]},
              {"ruleId": "python.lang.security.audit.formatted-sql-query.formatted-sql-query",
               "message": {"text": "Detected possible formatted SQL query. Use parameterized queries instead."},
               "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app/db.py"},
                              "region": {"startLine": 40, "startColumn": 5, "endColumn": 52,
                                         "snippet": {"text": "cursor.execute(\\"SELECT * FROM users WHERE id = %s\\" % uid)"}}}}]},
              {"ruleId": "generic.secrets.security.detected-generic-secret",
               "message": {"text": "Generic Secret detected"},
               "locations": [{"physicalLocation": {"artifactLocation": {"uri": "file:///home/ci/work/config/settings.py"},
                              "region": {"startLine": 3, "snippet": {"text": "API_SECRET = \\"s3cr3t-value-123\\""}}}}]},
              {"ruleId": "generic.secrets.security.detected-generic-secret", "message": {"text": "normalised"},
               "locations": [{"physicalLocation": {"artifactLocation": {"uri": "./app/../scripts\\\\deploy.sh"}, "region": {"startLine": 2}}}]},
              {"ruleId": "generic.secrets.security.detected-generic-secret", "message": {"text": "no location"}},
              {"ruleId": "generic.secrets.security.detected-generic-secret", "message": {"text": "climbs out"},
               "locations": [{"physicalLocation": {"artifactLocation": {"uri": "../../etc/passwd"}}}]},
              {"ruleId": "generic.secrets.security.detected-generic-secret", "message": {"text": "absolute elsewhere"},
               "locations": [{"physicalLocation": {"artifactLocation": {"uri": "file:///etc/shadow"}}}]},
              {"ruleId": "generic.secrets.security.detected-generic-secret", "message": {"text": "a web page"},
               "locations": [{"physicalLocation": {"artifactLocation": {"uri": "https://example.com/a.py"}}}]},
              {"ruleId": "generic.secrets.security.detected-generic-secret", "message": {"text": "nosemgrep"},
               "suppressions": [{"kind": "inSource"}],
               "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app/ok.py"}, "region": {"startLine": 1}}}]},
              {"ruleId": "generic.secrets.security.detected-generic-secret", "kind": "pass", "message": {"text": "passed"},
               "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app/ok.py"}, "region": {"startLine": 1}}}]}
              \(extra)
            ]
          }]
        }
        """.utf8)
    }
}

/// A minimal log around some results, for one question at a time.
private func log(tool: String = "Tool", rules: [[String: Any]] = [], results: [[String: Any]]?, run extra: [String: Any] = [:]) throws -> Data {
    var run: [String: Any] = ["tool": ["driver": ["name": tool, "rules": rules]]]
    if let results { run["results"] = results }
    run.merge(extra) { _, new in new }
    return try JSONSerialization.data(withJSONObject: ["version": "2.1.0", "runs": [run]])
}

private func result(_ rule: String = "r", path: String = "a.py", line: Int = 1, level: String? = nil, properties: [String: Any]? = nil) -> [String: Any] {
    var result: [String: Any] = [
        "ruleId": rule, "message": ["text": "m"],
        "locations": [["physicalLocation": ["artifactLocation": ["uri": path], "region": ["startLine": line]]]],
    ]
    if let level { result["level"] = level }
    if let properties { result["properties"] = properties }
    return result
}

private func refusal(_ data: Data) -> SARIFImportError? {
    do {
        _ = try SARIFImport.read(data)
        return nil
    } catch {
        return error as? SARIFImportError
    }
}

@Suite struct SARIFImportTests {
    @Test func readsBackWhatVegaWrites() throws {
        let report = Fixture.withDependency
        let imported = try SARIFImport.read(try SARIFReport.encode(report))
        #expect(imported.engines == ["sarif:vega"] && imported.completeEngines == ["sarif:vega"])
        #expect(imported.skipped.isEmpty)
        #expect(imported.findings.count == report.findings.count)
        let rules = Dictionary(uniqueKeysWithValues: report.rules.map { ($0.id, $0) })
        for original in report.findings {
            let copy = try #require(imported.findings.first { $0.location == original.location }, "\(original.location.path)")
            #expect(copy.ruleId == original.ruleId)
            #expect(copy.title == rules[original.ruleId]?.title)
            #expect(copy.message == original.message)
            #expect(copy.snippet == original.snippet, "snippets are kept as written")
            #expect(copy.cwe == original.cwe)
            #expect(copy.engine == "sarif:vega")
            // Vega writes info as security-severity 0.0 and level note: a score of 0 says
            // nothing, so the level decides — low.
            #expect(copy.severity == (original.severity == .info ? .low : original.severity), "\(original.ruleId)")
        }
        #expect(Set(imported.findings.map(\.fingerprint)).count == imported.findings.count)
        #expect(try SARIFImport.read(try SARIFReport.encode(report)).findings.map(\.fingerprint) == imported.findings.map(\.fingerprint))
    }

    @Test func readsACodeQLLog() throws {
        let imported = try SARIFImport.read(ThirdPartySARIF.codeQL())
        #expect(imported.engines == ["sarif:codeql"] && imported.completeEngines == ["sarif:codeql"])
        #expect(imported.findings.count == 2)
        let log = try #require(imported.findings.first { $0.ruleId == "js/log-injection" })
        #expect(log.title == "Log injection")
        #expect(log.severity == .high, "security-severity 7.8")
        #expect(log.cwe == "CWE-117")
        #expect(log.location == Location(path: "src/server/routes.js", startLine: 14, startColumn: 21, endLine: 14, endColumn: 43))
        #expect(log.message == "This log entry depends on a user-provided value.")
        let xss = try #require(imported.findings.first { $0.ruleId == "js/reflected-xss" })
        #expect(xss.severity == .medium && xss.cwe == "CWE-79", "6.1, and cwe-079 without its zero")
        #expect(xss.location.path == "src/server/routes.js", "the path comes from run.artifacts by index")
        #expect(xss.location.startLine == 30 && xss.location.endLine == 31 && xss.location.endColumn == 2)

        // The tool's partial fingerprint follows the code: the line moving keeps the finding,
        // as does a reworded message; another line hash is another finding.
        let moved = try SARIFImport.read(ThirdPartySARIF.codeQL(line: 90, message: "Reworded."))
        #expect(moved.findings.map(\.fingerprint).sorted() == imported.findings.map(\.fingerprint).sorted())
        let other = try SARIFImport.read(ThirdPartySARIF.codeQL(lineHash: "0000000000000000:1"))
        #expect(other.findings.first { $0.ruleId == "js/log-injection" }?.fingerprint != log.fingerprint)
    }

    @Test func readsASemgrepLogAndSkipsWhatItCannotPlace() throws {
        let imported = try SARIFImport.read(ThirdPartySARIF.semgrep())
        #expect(imported.engines == ["sarif:semgrep-oss"])
        #expect(imported.findings.map(\.location.path).sorted() == ["app/db.py", "app/db.py", "config/settings.py", "scripts/deploy.sh"],
                "absolute file URIs under the declared root become relative; ./ and a/.. and \\ are normalised")
        let query = try #require(imported.findings.first { $0.location.path == "app/db.py" && $0.location.startLine == 12 })
        #expect(query.severity == .high, "the result's level error beats the rule's warning")
        #expect(query.cwe == "CWE-89")
        #expect(query.title == "Semgrep Finding: python.lang.security.audit.formatted-sql-query.formatted-sql-query")
        #expect(query.snippet == #"    cursor.execute("SELECT * FROM users WHERE id = %s" % uid)"#)
        let secret = try #require(imported.findings.first { $0.location.path == "config/settings.py" })
        #expect(secret.snippet == #"API_SECRET = "s3cr3t-value-123""#, "uploaded snippets are stored as the tool wrote them")
        #expect(secret.severity == .high && secret.cwe == "CWE-798")
        #expect(Set(imported.findings.map(\.fingerprint)).count == 4, "the same code twice in one file is two findings")

        #expect(imported.skipped.map(\.result) == [4, 5, 6, 7, 8, 9])
        #expect(imported.skipped.map(\.reason) == [
            "no file location", "its path is outside the repository", "its path is outside the repository",
            "its location is not a file of the repository", "suppressed in the source",
            "its kind says it is not a problem (pass or notApplicable)",
        ])

        // No fingerprints from Semgrep: the snippet (whitespace folded) identifies the
        // finding, so lines inserted above keep it, and an edit of the line makes a new one.
        let moved = try SARIFImport.read(ThirdPartySARIF.semgrep(queryLine: 20))
        #expect(moved.findings.first { $0.location.startLine == 20 }?.fingerprint == query.fingerprint)
        #expect(Set(moved.findings.map(\.fingerprint)) == Set(imported.findings.map(\.fingerprint)))
    }

    @Test(arguments: [
        (9.0, nil, Severity.critical), (10.0, nil, .critical), (8.9, nil, .high), (7.0, "note", .high), (6.9, nil, .medium),
        (4.0, nil, .medium), (3.9, "error", .low), (0.1, nil, .low), (0.0, "error", .high),
        (nil, "error", .high), (nil, "warning", .medium), (nil, "note", .low), (nil, "none", .info), (nil, nil, .medium),
    ] as [(Double?, String?, Severity)])
    func severityFromScoreElseLevel(score: Double?, level: String?, expected: Severity) throws {
        let properties = score.map { ["security-severity": String($0)] as [String: Any] }
        let imported = try SARIFImport.read(try log(results: [result(level: level, properties: properties)]))
        #expect(imported.findings.first?.severity == expected)
    }

    @Test func aScoreOnTheRuleCountsAndANumberIsAcceptedToo() throws {
        let rules: [[String: Any]] = [["id": "r", "properties": ["security-severity": 9.8, "tags": [42, "x"]]]]
        let imported = try SARIFImport.read(try log(rules: rules, results: [result()]))
        #expect(imported.findings.first?.severity == .critical, "a misshapen tags array does not lose the upload")
    }

    @Test func onlyRunsThatFinishedAndListedResultsProveAbsence() throws {
        #expect(try SARIFImport.read(try log(results: [])).completeEngines == ["sarif:tool"])
        #expect(try SARIFImport.read(try log(results: nil)).completeEngines.isEmpty, "no results array: nothing was looked for")
        let failed = try SARIFImport.read(try log(results: [result()], run: ["invocations": [["executionSuccessful": false]]]))
        #expect(failed.completeEngines.isEmpty && failed.findings.count == 1, "what a failed run saw still counts")
    }

    @Test(arguments: [
        ("not json", "the body is not JSON"),
        ("[]", "not a SARIF log"),
        (#"{"version": "2.0.0", "runs": []}"#, "not a SARIF 2.1.0 log"),
        (#"{"$schema": "x", "runs": []}"#, "not a SARIF 2.1.0 log"),
        (#"{"version": "2.1.0"}"#, "has no runs"),
        (#"{"version": "2.1.0", "runs": []}"#, "has no runs"),
        (#"{"version": "2.1.0", "runs": [{"results": []}]}"#, "runs[0] has no tool"),
        (#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": 7}}}]}"#, "runs[0].tool.driver.name has the wrong type"),
        (#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "…"}}}]}"#, "no letters or digits"),
        (#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": [{"locations": "x"}]}]}"#, "runs[0].results[0].locations"),
    ])
    func refusesWhatIsNotUsableSARIF(body: String, message: String) throws {
        let error = try #require(refusal(Data(body.utf8)), "\(body)")
        #expect(error.description.contains(message), "\(error.description)")
        #expect(error.code == (body == "not json" ? SARIFImportError.Code.notJSON : .invalid))
    }

    @Test func limitsSizeAndResults() throws {
        #expect(refusal(Data(count: SARIFImport.maxBytes + 1))?.code == .tooLarge)
        let results = "[" + Array(repeating: "{}", count: SARIFImport.maxResults + 1).joined(separator: ",") + "]"
        let tooMany = #"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": \#(results)}]}"#
        #expect(refusal(Data(tooMany.utf8))?.code == .tooManyResults)
    }
}
