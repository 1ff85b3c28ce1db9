import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VegaModel

/// One chat-completions call with bounded retries. Budget exhaustion is not retried:
/// waiting does not refill a scan's budget.
struct ChatClient: Sendable {
    let configuration: AIReviewConfiguration
    let httpClient: HTTPClient

    func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let body = try JSONEncoder().encode(request)
        var backoff = configuration.initialBackoff
        var attempt = 1
        while true {
            let outcome: Outcome
            do {
                outcome = try await send(body)
            } catch let error as HTTPClientError {
                // Connection refused, reset or timed out: as transient as a 5xx.
                outcome = .retry("provider unreachable (\(error))")
            }
            switch outcome {
            case .answer(let response):
                return response
            case .retry where attempt < configuration.attempts:
                try await Task.sleep(for: backoff)
                backoff *= 2
                attempt += 1
            case .retry(let reason):
                throw AIReviewError("the model provider failed after \(attempt) attempts: \(reason)")
            }
        }
    }

    private enum Outcome {
        case answer(ChatResponse)
        case retry(String)
    }

    private func send(_ body: Data) async throws -> Outcome {
        var request = HTTPClientRequest(url: configuration.baseURL + "/chat/completions")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "authorization", value: "Bearer \(configuration.apiKey)")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await httpClient.execute(request, timeout: .seconds(max(1, Int64(configuration.requestTimeout.seconds))))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        let data = Data(bytes.readableBytesView)
        let status = Int(response.status.code)
        if (200..<300).contains(status) {
            do {
                return .answer(try JSONDecoder().decode(ChatResponse.self, from: data))
            } catch {
                throw AIReviewError("the model provider's answer is not a chat completion: \(error)")
            }
        }
        let detail = try? JSONDecoder().decode(ChatErrorBody.self, from: data).error
        let described = "HTTP \(status)" + (detail?.code.map { " \($0)" } ?? "") + (detail?.message.map { ": \($0)" } ?? "")
        // The proxy answers 402 budget_exceeded (type insufficient_quota); OpenAI itself 429 insufficient_quota.
        let quotaCodes: Set<String?> = ["budget_exceeded", "insufficient_quota"]
        if status == 402 || (status == 429 && (quotaCodes.contains(detail?.code) || quotaCodes.contains(detail?.type))) {
            throw BudgetExhausted(message: described)
        }
        if status == 429 || status >= 500 { return .retry(described) }
        throw AIReviewError("the model provider refused the call: \(described)")
    }
}
