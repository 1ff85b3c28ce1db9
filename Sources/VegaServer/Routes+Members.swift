import Foundation
import Hummingbird
import VegaModel
import VegaStore

extension APIRoutes {
    func registerMembers(on router: RouterGroup<VegaRequestContext>) {
        router.get("tenant", use: currentTenant)
        router.get("members", use: listMembers)
        router.post("members", use: addMember)
        router.patch("members/:id", use: changeMemberRole)
        router.delete("members/:id", use: removeMember)
    }

    @Sendable func currentTenant(_ request: Request, context: VegaRequestContext) async throws -> Response {
        try JSONBody.response(try await store.tenant(try context.scope))
    }

    @Sendable func listMembers(_ request: Request, context: VegaRequestContext) async throws -> Response {
        try JSONBody.response(["items": try await store.members(in: try context.scope)])
    }

    struct NewMember: Decodable {
        var email: String
        var name: String
        var role: Role
        var password: String?
    }

    struct AddedMemberBody: Encodable {
        var member: User
        /// Only when the server generated the password: shown this once, stored as a hash.
        var generatedPassword: String?
    }

    @Sendable func addMember(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.admin, .admin)
        let input = try await JSONBody.decode(NewMember.self, allowing: ["email", "name", "role", "password"], from: request, context: context)
        let email = input.email.trimmingCharacters(in: .whitespacesAndNewlines)
        guard Self.looksLikeEmail(email) else {
            throw APIError(.unprocessableContent, "invalid_email", "email must be an address like ana@example.com")
        }
        let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count) else { throw APIError(.unprocessableContent, "invalid_name", "name must be 1 to 200 characters") }
        let added = try await store.addMember(email: email, name: name, role: input.role, password: input.password, by: principal)
        return try JSONBody.response(AddedMemberBody(member: added.user, generatedPassword: added.generatedPassword), status: .created)
    }

    struct RoleChange: Decodable {
        var role: Role
    }

    @Sendable func changeMemberRole(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.admin, .admin)
        let change = try await JSONBody.decode(RoleChange.self, allowing: ["role"], from: request, context: context)
        let member = try await store.changeRole(memberID: try context.parameters.require("id"), to: change.role, by: principal)
        return try JSONBody.response(member)
    }

    @Sendable func removeMember(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.admin, .admin)
        try await store.removeMember(id: try context.parameters.require("id"), by: principal)
        return Response(status: .noContent)
    }

    /// One `@` between a non-empty local part and a domain with a dot, no spaces or
    /// controls, at most 254 characters: enough to catch typos; the address is not mailed.
    static func looksLikeEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        return email.utf8.count <= 254 && parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
            && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
            && !email.unicodeScalars.contains { $0.properties.isWhitespace || $0.properties.generalCategory == .control }
    }
}
