import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

// HTTP calls for tests that drive a Vega application over HummingbirdTesting, shared by
// every test target that does.

/// Sends one request: `token` as a bearer key, `body` as JSON unless `headers` name another content type.
public func send(
    _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, body: String? = nil,
    headers: HTTPFields = [:]
) async throws -> TestResponse {
    var headers = headers
    if let token { headers[.authorization] = "Bearer \(token)" }
    if body != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
    return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
}

/// The response's body as a JSON object; any other body fails the test, showing it.
public func json(_ response: TestResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any], "\(String(buffer: response.body))")
}

/// `send`, answered as the status and the body's JSON object (empty when the body is not one).
public func call(
    _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil
) async throws -> (status: HTTPResponse.Status, json: [String: Any]) {
    let response = try await send(client, method, uri, token: token, body: body)
    return (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:])
}
