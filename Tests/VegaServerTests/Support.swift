import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VegaModel
import VegaStore
import VegaStoreTestSupport

/// Sends one request: `token` as a bearer key, `body` as JSON unless `headers` name another content type.
func send(
    _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, body: String? = nil,
    headers: HTTPFields = [:]
) async throws -> TestResponse {
    var headers = headers
    if let token { headers[.authorization] = "Bearer \(token)" }
    if body != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
    return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
}

/// The response's body as a JSON object; any other body fails the test, showing it.
func json(_ response: TestResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any], "\(String(buffer: response.body))")
}

/// `send`, answered as the status and the body's JSON object (empty when the body is not one).
func call(
    _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil
) async throws -> (status: HTTPResponse.Status, json: [String: Any]) {
    let response = try await send(client, method, uri, token: token, body: body)
    return (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:])
}

/// A tenant with an owner user "owner@<name>.test" (password `TestTenant.password`) and the owner's API key.
struct TestTenant: Sendable {
    /// The owner's password, for tests that sign in.
    static let password = "owner password 1"

    let store: Store
    let name: String
    let scope: TenantScope
    let owner: Principal
    let ownerToken: String
    let ownerKeyID: String

    /// Creates tenant `name` in `store`, with its owner and an owner key.
    static func make(_ name: String = "acme", in store: Store) async throws -> TestTenant {
        let scope = try await store.createTenant(name: name)
        let user = try await store.createUser(email: "owner@\(name).test", name: "Owner", role: .owner, password: password, in: scope)
        let owner = Principal(kind: .user, id: user.id, tenantID: scope.tenantID, role: .owner)
        let key = try await store.createAPIKey(name: "owner", role: .owner, by: owner)
        return TestTenant(store: store, name: name, scope: scope, owner: owner, ownerToken: key.token, ownerKeyID: key.key.id)
    }

    /// Another API key, of `role`, made by the owner.
    func key(_ role: Role, name: String? = nil) async throws -> IssuedAPIKey {
        try await store.createAPIKey(name: name ?? role.rawValue, role: role, by: owner)
    }

    /// Project "app" with one repository, https://git.example.com/<name>/app.git on main; the repository's id.
    func addRepository() async throws -> String {
        let project = try await store.createProject(name: "app", by: owner)
        return try await store.addRepository("https://git.example.com/\(name)/app.git", project: project, by: owner)
    }
}
