import Testing
import VegaModel
@testable import VegaReports

@Suite struct TableReportTests {
    @Test func sortsBySeverityThenLocationAndSummarises() {
        let text = TableReport.render(Fixture.report(), color: false, width: 200)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].hasPrefix("SEVERITY  RULE"))
        let severities = lines[1...5].map { $0.split(separator: " ").first.map(String.init) }
        #expect(severities == ["critical", "critical", "high", "medium", "info"])
        // The two critical findings are in location order; the history one names its commit.
        #expect(lines[1].contains("docs/日本語 ファイル.md:7 @4b825dc"))
        #expect(lines[2].contains("src/my config/über.env:12"))
        #expect(lines[1].hasSuffix("key: AKIA****"))
        #expect(text.contains("\n5 findings (2 critical, 1 high, 1 medium, 1 info)\n"))
        #expect(text.contains("\n2 findings suppressed by baseline.\n"))
        #expect(text.contains("\nsecrets: scanned 120 files (47.1 KiB, 15 commits) in 0.75s; 2 skipped\n"))
    }

    @Test func withoutColorThereAreNoEscapeSequences() {
        let plain = TableReport.render(Fixture.report(), color: false, width: 120)
        #expect(!plain.contains("\u{1B}"))
        // The snippet's own escape sequence and tab are neutralised, not passed to the terminal.
        #expect(plain.contains("// TODO security: \u{FFFD}[31mfix\u{FFFD}[0m now"))

        let colored = TableReport.render(Fixture.report(), color: true, width: 120)
        #expect(colored.contains("\u{1B}[1;31mcritical\u{1B}[0m  "))
        #expect(colored.contains("\u{1B}[2minfo\u{1B}[0m      "))
        #expect(!colored.contains("\u{1B}[31mfix"))
    }

    @Test(arguments: [60, 80, 100])
    func rowsFitTheWidth(width: Int) {
        let text = TableReport.render(Fixture.report(), color: false, width: width)
        let rows = text.split(separator: "\n").prefix(6)
        #expect(rows.allSatisfy { TableReport.columnsTaken(by: String($0)) <= width }, "\(rows)")
    }

    @Test func narrowTerminalTruncatesLocationFromTheStartAndSnippetAtTheEnd() {
        let rows = TableReport.render(Fixture.report(), color: false, width: 60).split(separator: "\n")
        #expect(rows.contains { $0.contains("  aws-access-token  …イル.md:7 @4b825dc ") })
        #expect(rows.contains { $0.hasSuffix("  -----BEGI…") })
    }

    @Test func unlimitedWidthTruncatesNothing() {
        let text = TableReport.render(Fixture.report(), color: false, width: 0)
        #expect(!text.contains("…"))
        #expect(text.contains("-----BEGIN RSA PRIVATE KEY-----"))
    }

    @Test func emptyReportSaysSo() {
        #expect(TableReport.render(Fixture.empty, color: true, width: 80)
            == "No findings.\nsecrets: scanned 0 files (0 B) in 0.10s\n")
        let suppressed = TableReport.render(Fixture.report(findings: [], suppressed: 1), color: false, width: 80)
        #expect(suppressed.hasPrefix("No findings.\n1 finding suppressed by baseline.\n"))
    }
}
