import Foundation
import Hummingbird
import VegaArtifacts
import VegaLifecycle
import VegaModel
import VegaStore
import VegaWorkspace

/// The /v1 API: thin handlers — decode, authorise, call the store, encode.
struct APIRoutes {
    let store: Store
    /// Where the worker put scans' reports.
    let artifacts: any ArtifactStore
    /// Whether `file://` repositories may be registered (they read the server's disk).
    let allowFileRepositories: Bool
    /// Whether the session cookie is marked Secure (sent over HTTPS only).
    let secureCookies: Bool
    /// Every tenant's limits on scans, unless the operator set its own.
    let scanQuota: ScanQuota
    /// The largest archive `POST …/scans/archive` takes (`vega serve --max-upload-bytes`).
    let maxUploadBytes: Int64
    /// How `GET /v1/scans/{id}/events` polls and keeps its connection alive.
    let scanEventTiming: ScanEventTiming

    func register(on router: RouterGroup<VegaRequestContext>) {
        router.get("me", use: me)
        router.get("projects", use: listProjects)
        router.post("projects", use: createProject)
        router.get("repositories", use: listRepositories)
        router.post("repositories", use: createRepository)
        router.get("findings", use: listFindings)
        router.get("repositories/:repository/findings/:fingerprint", use: getFinding)
        router.patch("repositories/:repository/findings/:fingerprint", use: changeFinding)
        router.post("findings/state", use: changeFindings)
        router.post("repositories/:repository/results", use: uploadResults)
        router.post("scans", use: submitScan)
        router.get("scans", use: listScans)
        router.post("repositories/:repository/scans/archive", use: uploadArchive)
        router.get("scans/:id", use: getScan)
        router.get("scans/:id/events", use: scanEvents)
        router.post("scans/:id/cancel", use: cancelScan)
        router.post("scans/:id/retry", use: retryScan)
        router.get("scans/:id/report.sarif", use: downloadSARIF)
        router.get("scans/:id/report.json", use: downloadJSON)
        router.get("scans/:id/artifacts", use: listArtifacts)
        router.get("scans/:id/artifacts/:kind", use: downloadArtifact)
        router.get("usage", use: usage)
        router.get("quotas", use: quotas)
        router.get("components", use: components)
        router.get("events", use: events)
        router.post("api-keys", use: createAPIKey)
        router.delete("api-keys/:id", use: revokeAPIKey)
        registerAuth(on: router)
        registerMembers(on: router)
        registerLLM(on: router)
    }

    // MARK: Who am I

    struct Me: Encodable {
        var kind: String
        var id: String
        var tenantId: String
        var role: Role
    }

    @Sendable func me(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.viewer, nil)
        return try JSONBody.response(Me(kind: principal.kind.rawValue, id: principal.id, tenantId: principal.tenantID, role: principal.role))
    }

    // MARK: Projects and repositories

    struct NewProject: Decodable {
        var name: String
    }

    @Sendable func listProjects(_ request: Request, context: VegaRequestContext) async throws -> Response {
        try JSONBody.response(["items": try await store.projects(in: try context.scope)])
    }

    @Sendable func createProject(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.admin, .admin)
        let input = try await JSONBody.decode(NewProject.self, allowing: ["name"], from: request, context: context)
        let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count) else { throw APIError(.unprocessableContent, "invalid_name", "name must be 1 to 200 characters") }
        let scope = TenantScope(tenantID: principal.tenantID)
        let id = try await store.createProject(name: name, by: principal)
        return try JSONBody.response(try await store.project(id: id, in: scope), status: .created)
    }

    struct NewRepository: Decodable {
        var projectId: String
        var url: String
        var defaultBranch: String?

        enum CodingKeys: String, CodingKey {
            case projectId = "project_id", url, defaultBranch = "default_branch"
        }
    }

    @Sendable func listRepositories(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let project = request.uri.queryParameters["project_id"].map(String.init)
        return try JSONBody.response(["items": try await store.repositories(projectID: project, in: try context.scope).map(Self.shown)])
    }

    /// A repository as responses show it: credentials in its URL are masked.
    static func shown(_ repository: Repository) -> Repository {
        var shown = repository
        shown.url = RepositoryAddress.display(repository.url)
        return shown
    }

    @Sendable func createRepository(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.admin, .admin)
        let input = try await JSONBody.decode(NewRepository.self, allowing: ["project_id", "url", "default_branch"], from: request, context: context)
        do {
            _ = try RepositoryAddress.check(input.url, allowFile: allowFileRepositories)
        } catch {
            throw APIError(.unprocessableContent, "invalid_url", "\(error)")
        }
        let scope = TenantScope(tenantID: principal.tenantID)
        let id = try await store.createRepository(
            projectID: input.projectId, url: input.url, maskedURL: RepositoryAddress.display(input.url),
            defaultBranch: input.defaultBranch ?? "main", by: principal
        )
        return try JSONBody.response(try await store.repository(id: id, in: scope).map(Self.shown), status: .created)
    }

    // MARK: Findings

    struct FindingItem: Encodable {
        var repositoryId: String
        var fingerprint: String
        var state: FindingState
        var ruleId: String
        var title: String
        var severity: Severity
        var engine: String
        var message: String
        var path: String
        var startLine: Int
        var snippet: String
        var firstSeenAt: Date
        var lastSeenAt: Date
        var slaDueAt: Date?
        var dismissal: Dismissal?
        var vulnerability: Vulnerability?
        /// One finding's audit events (`GET …/findings/{fingerprint}` only).
        var history: [AuditEvent]?

        init(_ listed: ListedFinding) {
            let tracked = listed.tracked
            let finding = tracked.finding
            repositoryId = listed.repositoryID
            fingerprint = tracked.fingerprint
            state = tracked.state
            ruleId = finding.ruleId
            title = finding.title
            severity = finding.severity
            engine = finding.engine
            message = finding.message
            path = finding.location.path
            startLine = finding.location.startLine
            snippet = finding.snippet
            firstSeenAt = tracked.firstSeenAt
            lastSeenAt = tracked.lastSeenAt
            slaDueAt = tracked.slaDueAt
            dismissal = tracked.dismissal
            vulnerability = finding.vulnerability
        }
    }

    struct FindingPage: Encodable {
        var items: [FindingItem]
        var nextCursor: String?
    }

    @Sendable func listFindings(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let filter = FindingFilter(
            repositoryID: query["repository_id"].map(String.init), states: try Self.values("state", FindingState.self, in: query),
            severities: try Self.values("severity", Severity.self, in: query), ruleID: query["rule_id"].map(String.init),
            engine: query["engine"].map(String.init), text: query["q"].map(String.init)
        )
        let page = try await store.findings(
            matching: filter, after: query["cursor"].map(String.init), limit: try Self.pageLimit(in: query), in: try context.scope
        )
        return try JSONBody.response(FindingPage(items: page.items.map(FindingItem.init), nextCursor: page.nextCursor))
    }

    // MARK: Components, events, keys

    @Sendable func components(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        guard let ecosystem = query["ecosystem"], let name = query["name"] else {
            throw APIError(.badRequest, "missing_parameter", "ecosystem and name are required")
        }
        let versions: [String] = query.getAll("version").map { String($0) }
        let usages = try await store.repositories(
            using: String(name), ecosystem: String(ecosystem), versions: versions.isEmpty ? nil : versions, in: try context.scope
        )
        return try JSONBody.response(["items": usages])
    }

    @Sendable func events(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let after = query["after"].flatMap { Int($0) } ?? 0
        let limit = min(max(query["limit"].flatMap { Int($0) } ?? 100, 1), 1_000)
        let events = try await store.auditEvents(in: try context.scope, after: after, limit: limit)
        return try JSONBody.response(["items": events])
    }

    struct NewKey: Decodable {
        var name: String
        var role: Role
        /// Names, not `Scope`s, so an unknown one is 422 `invalid_scope`, not a 400.
        var scopes: [String]?
        var expiresAt: Date?

        enum CodingKeys: String, CodingKey {
            case name, role, scopes, expiresAt = "expires_at"
        }
    }

    struct IssuedKey: Encodable {
        var key: APIKey
        /// Shown once: only its hash is kept.
        var token: String
    }

    @Sendable func createAPIKey(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.admin, .admin)
        let input = try await JSONBody.decode(NewKey.self, allowing: ["name", "role", "scopes", "expires_at"], from: request, context: context)
        guard input.role <= principal.role else { throw APIError.forbidden(input.role.rawValue) }
        let scopes = try input.scopes.map(Self.checkedScopes)
        if let expiry = input.expiresAt, expiry <= Date() {
            throw APIError(.unprocessableContent, "invalid_expiry", "expires_at must be in the future")
        }
        let issued = try await store.createAPIKey(name: input.name, role: input.role, scopes: scopes, expiresAt: input.expiresAt, by: principal)
        return try JSONBody.response(IssuedKey(key: issued.key, token: issued.token), status: .created)
    }

    /// A key's scopes as asked for: at least one, each a known name (422 `invalid_scope`
    /// otherwise; an empty list would read as unrestricted, so it is refused too).
    static func checkedScopes(_ names: [String]) throws -> Set<Scope> {
        let known = Scope.allCases.map(\.rawValue).joined(separator: ", ")
        guard !names.isEmpty else {
            throw APIError(
                .unprocessableContent, "invalid_scope", "scopes must name at least one of \(known); leave it out for a key limited by its role alone"
            )
        }
        return Set(try names.map { name in
            guard let scope = Scope(rawValue: name) else {
                throw APIError(.unprocessableContent, "invalid_scope", "unknown scope \(name); scopes are \(known)")
            }
            return scope
        })
    }

    @Sendable func revokeAPIKey(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.admin, .admin)
        try await store.revokeAPIKey(id: try context.parameters.require("id"), by: principal)
        return Response(status: .noContent)
    }
}
