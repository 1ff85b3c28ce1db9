import AsyncHTTPClient
import VegaModel

/// The `ai` engine: pre-selects entry-point files, asks a model to find vulnerabilities in
/// each (discovery), then asks again in a fresh conversation whether each candidate holds
/// up (validation); only candidates at or above the confidence threshold are reported.
/// What was reviewed is always in the coverage, and a budget that runs out ends the scan
/// partial with a warning, never as a quiet empty result.
public struct AIReviewEngine: ScanEngine {
    public static let engineID = "ai"

    public let id = AIReviewEngine.engineID
    /// Rules are the weaknesses the model reports; they are known only after a scan.
    public let rules: [RuleDescriptor] = []
    let configuration: AIReviewConfiguration
    let maxFileSize: Int
    let httpClient: HTTPClient

    public init(configuration: AIReviewConfiguration, maxFileSize: Int, httpClient: HTTPClient = .shared) {
        self.configuration = configuration
        self.maxFileSize = maxFileSize
        self.httpClient = httpClient
    }

    /// No progress events: the progress line counts files read, and this engine reads a handful, slowly.
    public func scan(_ target: ScanTarget, progress: @escaping ProgressHandler) async throws -> EngineResult {
        if target.history {
            return EngineResult(detections: [], coverage: Coverage(notes: [
                "the ai engine reviews the working tree, not history; scan without --history for it",
            ]))
        }
        let (selected, eligible) = Preselection.select(target.files, limit: configuration.maxFiles)
        let tools = RepositoryTools(target: target, maxFileSize: maxFileSize)
        let agent = AgentLoop(
            client: ChatClient(configuration: configuration, httpClient: httpClient), tools: tools, maxTurns: configuration.maxTurns
        )
        var review = Review()
        var current: String?
        do {
            for file in selected {
                try Task.checkCancellation()
                current = file.path
                try await self.review(file, agent: agent, tools: tools, into: &review)
            }
            current = nil
        } catch let exhausted as BudgetExhausted {
            review.budgetMessage = exhausted.message
        }

        var notes = [
            "ai: reviewed \(review.reviewed.count) of \(selected.count) pre-selected entry-point files "
                + "(\(eligible) matched the name patterns, at most \(configuration.maxFiles) are reviewed; "
                + "files other engines flagged are not added yet); model \(configuration.model), prompts \(Prompts.version)",
        ]
        if selected.isEmpty { notes.append("ai: no file looks like an entry point (routes, handlers, controllers, …): nothing was reviewed") }
        if !review.reviewed.isEmpty { notes.append("ai: files reviewed: " + review.reviewed.joined(separator: ", ")) }
        if !review.unfinished.isEmpty {
            notes.append("ai: not reviewed, the conversation reached \(configuration.maxTurns) turns or gave no readable answer: "
                + review.unfinished.joined(separator: ", "))
        }
        if review.rejected > 0 { notes.append("ai: \(review.rejected) candidate(s) did not reach confidence \(configuration.threshold) in validation") }
        var warnings: [ScanWarning] = []
        if let message = review.budgetMessage {
            let left = selected.count - review.reviewed.count - review.unfinished.count
            let text = "partial: the model budget ran out (\(message)); \(left) pre-selected file(s) were not reviewed"
            notes.append("ai: " + text)
            warnings.append(ScanWarning(path: current ?? "", message: "ai engine " + text))
        }
        let bytes = review.reviewed.compactMap { path in selected.first { $0.path == path }?.size }.reduce(0, +)
        return EngineResult(
            detections: review.detections,
            coverage: Coverage(filesScanned: review.reviewed.count, bytesScanned: bytes, notes: notes),
            rules: review.rules.values.sorted { $0.id < $1.id },
            warnings: warnings
        )
    }

    private struct Review {
        var reviewed: [String] = []
        var unfinished: [String] = []
        var detections: [Detection] = []
        var rules: [String: RuleDescriptor] = [:]
        var rejected = 0
        var budgetMessage: String?
    }

    /// Discovery for one file, then a validation per candidate. Budget exhaustion and
    /// provider failures propagate; a conversation that runs out of turns costs that file only.
    private func review(_ file: SourceFile, agent: AgentLoop, tools: RepositoryTools, into review: inout Review) async throws {
        let candidates: [Candidate]
        do {
            let answer = try await agent.run(system: Prompts.discoverySystem, user: Prompts.discoveryUser(path: file.path))
            guard let list = Prompts.decode(Candidate.List.self, from: answer) else {
                review.unfinished.append(file.path)
                return
            }
            candidates = list.findings
        } catch is AgentLoop.TurnLimitReached {
            review.unfinished.append(file.path)
            return
        }
        for candidate in candidates {
            // A candidate must point at a line of a file in the repository; anything else is a hallucination.
            guard case .success(let path) = RepositoryTools.confine(candidate.path), let lines = tools.lines(of: path),
                  candidate.line >= 1, candidate.line <= lines.count
            else {
                review.rejected += 1
                continue
            }
            let verdict: Verdict?
            do {
                verdict = Prompts.decode(
                    Verdict.self, from: try await agent.run(system: Prompts.validationSystem, user: Prompts.validationUser(candidate))
                )
            } catch is AgentLoop.TurnLimitReached {
                verdict = nil
            }
            guard let verdict, verdict.confidence >= configuration.threshold else {
                review.rejected += 1
                continue
            }
            let line = lines[candidate.line - 1]
            let rule = Self.rule(for: candidate)
            review.rules[rule.id] = review.rules[rule.id] ?? rule
            review.detections.append(Detection(
                rule: rule,
                message: "\(candidate.title)\n\n\(candidate.explanation)\n\nExploit scenario: \(candidate.exploitScenario)\n\n"
                    + "Validation confidence \(verdict.confidence)" + (verdict.reason.map { ": \($0)" } ?? ""),
                location: Location(path: path, startLine: candidate.line, startColumn: 1, endLine: candidate.line, endColumn: line.count + 1),
                snippet: Self.snippet(line),
                // The flagged line's text, not its number, so the finding keeps its identity when lines move.
                identity: String(line)
            ))
        }
        review.reviewed.append(file.path)
    }

    /// The flagged line, trimmed, with long token-like runs masked: the model may well flag a
    /// hard-coded credential, and engines hand the pipeline snippets already redacted.
    static func snippet(_ line: Substring) -> String {
        let trimmed = String(line.trimmingPrefix(while: \.isWhitespace).prefix(200))
        return trimmed.replacing(/[A-Za-z0-9+\/=_\-]{20,}/) { Redaction.redact($0.output) }
    }

    /// One rule per weakness: `ai-cwe-89`, or `ai-<rule>` when the model gave no CWE.
    static func rule(for candidate: Candidate) -> RuleDescriptor {
        let cwe = candidate.cwe.flatMap { value -> String? in
            let upper = value.uppercased()
            guard upper.hasPrefix("CWE-"), Int(upper.dropFirst(4)) != nil else { return nil }
            return upper
        }
        let name = candidate.rule.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        let id = "ai-" + (cwe?.lowercased() ?? String(name.prefix(60)))
        return RuleDescriptor(
            id: id, title: cwe.map { "AI review: \($0)" } ?? "AI review: \(candidate.rule)",
            description: "A vulnerability a model reported and a second, independent model conversation confirmed.",
            severity: Severity(rawValue: candidate.severity.lowercased()) ?? .medium, cwe: cwe, engine: engineID,
            help: "Read the finding's explanation and exploit scenario, and confirm them in the code: AI findings are validated but can be wrong.",
            tags: ["ai"]
        )
    }
}
