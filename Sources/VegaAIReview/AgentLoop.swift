/// One conversation: the model calls tools until it answers in text, within a bound on turns.
struct AgentLoop: Sendable {
    let client: ChatClient
    let tools: RepositoryTools
    let maxTurns: Int

    struct TurnLimitReached: Error {}

    /// The model's final text answer.
    func run(system: String, user: String) async throws -> String {
        var messages: [ChatMessage] = [.system(system), .user(user)]
        for _ in 0..<maxTurns {
            let response = try await client.complete(ChatRequest(
                model: client.configuration.model, messages: messages, tools: RepositoryTools.definitions,
                maxTokens: client.configuration.maxTokens
            ))
            guard let message = response.choices.first?.message else {
                throw AIReviewError("the model provider answered with no choices")
            }
            guard let calls = message.toolCalls, !calls.isEmpty else { return message.content ?? "" }
            messages.append(ChatMessage(role: "assistant", content: message.content, toolCalls: calls))
            for call in calls {
                messages.append(.tool(call.id, tools.run(call.function)))
            }
        }
        throw TurnLimitReached()
    }
}
