import Foundation
import Hummingbird
import VegaLifecycle
import VegaModel
import VegaStore
import VegaWorkspace

/// The /v1 API: thin handlers — decode, authorise, call the store, encode.
struct APIRoutes {
    let store: Store
    /// Where artifacts' locations are relative to.
    let dataDirectory: String
    /// Whether `file://` repositories may be registered (they read the server's disk).
    let allowFileRepositories: Bool

    func register(on router: RouterGroup<VegaRequestContext>) {
        router.get("me", use: me)
        router.get("projects", use: listProjects)
        router.post("projects", use: createProject)
        router.get("repositories", use: listRepositories)
        router.post("repositories", use: createRepository)
        router.get("findings", use: listFindings)
        router.patch("repositories/:repository/findings/:fingerprint", use: changeFinding)
        router.post("scans", use: submitScan)
        router.get("scans/:id", use: getScan)
        router.post("scans/:id/cancel", use: cancelScan)
        router.get("scans/:id/report.sarif", use: downloadSARIF)
        router.get("scans/:id/report.json", use: downloadJSON)
        router.get("components", use: components)
        router.get("events", use: events)
        router.post("api-keys", use: createAPIKey)
        router.delete("api-keys/:id", use: revokeAPIKey)
    }

    // MARK: Who am I

    struct Me: Encodable {
        var kind: String
        var id: String
        var tenantId: String
        var role: Role
    }

    @Sendable func me(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.viewer)
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
        let principal = try context.require(.admin)
        let input = try await JSONBody.decode(NewProject.self, allowing: ["name"], from: request, context: context)
        let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count) else { throw APIError(.unprocessableContent, "invalid_name", "name must be 1 to 200 characters") }
        let scope = TenantScope(tenantID: principal.tenantID)
        let id = try await store.createProject(name: name, in: scope)
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
        let principal = try context.require(.admin)
        let input = try await JSONBody.decode(NewRepository.self, allowing: ["project_id", "url", "default_branch"], from: request, context: context)
        do {
            _ = try RepositoryAddress.check(input.url, allowFile: allowFileRepositories)
        } catch {
            throw APIError(.unprocessableContent, "invalid_url", "\(error)")
        }
        let scope = TenantScope(tenantID: principal.tenantID)
        let id = try await store.createRepository(
            projectID: input.projectId, url: input.url, defaultBranch: input.defaultBranch ?? "main", in: scope
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
        func list<T: RawRepresentable<String>>(_ name: String, _ type: T.Type) throws -> [T]? {
            guard let raw = query[name[...]] else { return nil }
            return try raw.split(separator: ",").map { part in
                guard let value = T(rawValue: String(part)) else {
                    throw APIError(.badRequest, "invalid_filter", "\(name) has an unknown value \(part)")
                }
                return value
            }
        }
        let filter = FindingFilter(
            repositoryID: query["repository_id"].map(String.init), states: try list("state", FindingState.self),
            severities: try list("severity", Severity.self), ruleID: query["rule_id"].map(String.init),
            engine: query["engine"].map(String.init), text: query["q"].map(String.init)
        )
        var limit = 100
        if let raw = query["limit"] {
            guard let value = Int(raw), (1...1_000).contains(value) else {
                throw APIError(.badRequest, "invalid_limit", "limit must be a number from 1 to 1000")
            }
            limit = value
        }
        let page = try await store.findings(matching: filter, after: query["cursor"].map(String.init), limit: limit, in: try context.scope)
        return try JSONBody.response(FindingPage(items: page.items.map(FindingItem.init), nextCursor: page.nextCursor))
    }

    struct StateChange: Decodable {
        var state: FindingState
        var reason: DismissalReason?
        var comment: String?
        var riskOwner: String?
        var expiresAt: Date?

        enum CodingKeys: String, CodingKey {
            case state, reason, comment, riskOwner = "risk_owner", expiresAt = "expires_at"
        }
    }

    @Sendable func changeFinding(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.member)
        let repository = try context.parameters.require("repository")
        let fingerprint = try context.parameters.require("fingerprint")
        let change = try await JSONBody.decode(
            StateChange.self, allowing: ["state", "reason", "comment", "risk_owner", "expires_at"], from: request, context: context
        )
        let scope = TenantScope(tenantID: principal.tenantID)
        switch change.state {
        case .dismissed:
            guard let reason = change.reason else {
                throw APIError(.unprocessableContent, "reason_required", "dismissing needs a reason: \(DismissalReason.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            try await store.dismiss(fingerprint: fingerprint, repositoryID: repository, with: Dismissal(
                reason: reason, comment: change.comment ?? "", actor: principal.id, at: Date(),
                riskOwner: change.riskOwner, expiresAt: change.expiresAt
            ), in: scope)
        case .open:
            try await store.restore(fingerprint: fingerprint, repositoryID: repository, by: principal.id, in: scope)
        case .fixed, .reopened:
            throw APIError(.unprocessableContent, "invalid_state_change", "only scans fix or reopen a finding; set dismissed or open")
        }
        guard let updated = try await store.finding(repositoryID: repository, fingerprint: fingerprint, in: scope) else {
            throw APIError.notFound("finding")
        }
        return try JSONBody.response(FindingItem(ListedFinding(repositoryID: repository, tracked: updated)))
    }

    // MARK: Scans

    struct NewScan: Decodable {
        var repositoryId: String
        var engines: [String]?

        enum CodingKeys: String, CodingKey {
            case repositoryId = "repository_id", engines
        }
    }

    /// Queues a scan of a repository's default branch; a worker runs it.
    @Sendable func submitScan(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.member)
        let input = try await JSONBody.decode(NewScan.self, allowing: ["repository_id", "engines"], from: request, context: context)
        let known = ["secrets", "deps"]
        if let engines = input.engines, engines.isEmpty || !engines.allSatisfy(known.contains) {
            throw APIError(.unprocessableContent, "invalid_engines", "engines must be a non-empty list of: \(known.joined(separator: ", "))")
        }
        let scope = TenantScope(tenantID: principal.tenantID)
        guard let repository = try await store.repository(id: input.repositoryId, in: scope) else {
            throw APIError.notFound("repository \(input.repositoryId)")
        }
        let id = try await store.createScan(
            repositoryID: repository.id, ref: repository.defaultBranch, engines: input.engines ?? [], in: scope
        )
        guard let scan = try await store.scan(id: id, in: scope) else { throw APIError.notFound("scan") }
        return try JSONBody.response(scan, status: .accepted)
    }

    @Sendable func getScan(_ request: Request, context: VegaRequestContext) async throws -> Response {
        guard let scan = try await store.scan(id: try context.parameters.require("id"), in: try context.scope) else {
            throw APIError.notFound("scan")
        }
        return try JSONBody.response(scan)
    }

    @Sendable func cancelScan(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.member)
        return try JSONBody.response(try await store.cancelScan(id: try context.parameters.require("id"), by: principal))
    }

    @Sendable func downloadSARIF(_ request: Request, context: VegaRequestContext) async throws -> Response {
        try await download("report.sarif", contentType: "application/sarif+json", request: request, context: context)
    }

    @Sendable func downloadJSON(_ request: Request, context: VegaRequestContext) async throws -> Response {
        try await download("report.json", contentType: "application/json", request: request, context: context)
    }

    /// A finished scan's report, as the worker kept it.
    func download(_ kind: String, contentType: String, request: Request, context: VegaRequestContext) async throws -> Response {
        let scope = try context.scope
        let id = try context.parameters.require("id")
        guard try await store.scan(id: id, in: scope) != nil else { throw APIError.notFound("scan") }
        guard let artifact = try await store.artifacts(scanID: id, in: scope).first(where: { $0.kind == kind }) else {
            throw APIError(.notFound, "no_report", "this scan has no \(kind) (it has not succeeded)")
        }
        let path = URL(fileURLWithPath: dataDirectory).appendingPathComponent(artifact.location).path
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw APIError(.gone, "artifact_missing", "the report's file is no longer in the artifact store")
        }
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: contents)))
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
        var expiresAt: Date?

        enum CodingKeys: String, CodingKey {
            case name, role, expiresAt = "expires_at"
        }
    }

    struct IssuedKey: Encodable {
        var key: APIKey
        /// Shown once: only its hash is kept.
        var token: String
    }

    @Sendable func createAPIKey(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.admin)
        let input = try await JSONBody.decode(NewKey.self, allowing: ["name", "role", "expires_at"], from: request, context: context)
        guard input.role <= principal.role else { throw APIError.forbidden(input.role.rawValue) }
        if let expiry = input.expiresAt, expiry <= Date() {
            throw APIError(.unprocessableContent, "invalid_expiry", "expires_at must be in the future")
        }
        let issued = try await store.createAPIKey(name: input.name, role: input.role, expiresAt: input.expiresAt, by: principal)
        return try JSONBody.response(IssuedKey(key: issued.key, token: issued.token), status: .created)
    }

    @Sendable func revokeAPIKey(_ request: Request, context: VegaRequestContext) async throws -> Response {
        let principal = try context.require(.admin)
        try await store.revokeAPIKey(id: try context.parameters.require("id"), by: principal)
        return Response(status: .noContent)
    }
}
