import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import VegaArtifacts
import VegaLLMProxy
import VegaStore

/// Builds the HTTP application; `vega serve` runs it, tests run the same one on loopback.
public enum VegaServer {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// The data folder: without `artifacts`, reports are read from its `artifacts` folder.
        public var dataDirectory: String
        /// Where scans' reports are read from; nil: the data folder's `artifacts`.
        public var artifacts: (any ArtifactStore)?
        /// `file://` repositories read the server's own disk: off unless the operator says.
        public var allowFileRepositories: Bool
        /// When set, `/metrics` (every tenant's counts) wants it as a bearer token.
        public var metricsToken: String?
        /// Marks the session cookie `Secure`, so browsers send it over HTTPS only. On by
        /// default: Vega is meant to sit behind a TLS proxy, and browsers accept Secure
        /// cookies from http://localhost too. Off only for plain HTTP to another host.
        public var secureCookies: Bool
        /// Every tenant's limits on scans (`vega serve --max-active-scans`, `--max-scans-per-day`),
        /// unless the operator set the tenant's own (`vega admin set-quota`).
        public var scanQuota: ScanQuota
        /// The largest archive a scan may be uploaded as (`vega serve --max-upload-bytes`); larger is 413.
        public var maxUploadBytes: Int64
        /// How a scan's event stream polls and keeps its connection alive (tests make it quicker).
        public var scanEvents: ScanEventTiming
        /// The LLM proxy, mounted at `/llm` (`vega serve --llm-prices`); nil: its routes answer 404.
        public var llmProxy: LLMProxy?

        public init(
            host: String = "127.0.0.1", port: Int = 8080, dataDirectory: String = "vega-data", artifacts: (any ArtifactStore)? = nil,
            allowFileRepositories: Bool = false, metricsToken: String? = nil, secureCookies: Bool = true, scanQuota: ScanQuota = ScanQuota(),
            maxUploadBytes: Int64 = 1 << 30, scanEvents: ScanEventTiming = ScanEventTiming(), llmProxy: LLMProxy? = nil
        ) {
            self.host = host
            self.port = port
            self.dataDirectory = dataDirectory
            self.artifacts = artifacts
            self.allowFileRepositories = allowFileRepositories
            self.metricsToken = metricsToken
            self.secureCookies = secureCookies
            self.scanQuota = scanQuota
            self.maxUploadBytes = maxUploadBytes
            self.scanEvents = scanEvents
            self.llmProxy = llmProxy
        }
    }

    /// The OpenAPI 3.1 document, bundled; served at /v1/openapi.json.
    public static let openAPIDocument: Data = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
              let data = try? Data(contentsOf: url) else { return Data("{}".utf8) }
        return data
    }()

    /// `services` run beside the HTTP server and stop with it (the scan worker).
    public static func buildApplication(
        store: Store, configuration: Configuration = Configuration(), services: [any Service] = [], logger: Logger
    ) -> some ApplicationProtocol {
        Application(
            router: buildRouter(store: store, configuration: configuration),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "vega"),
            services: services,
            logger: logger
        )
    }

    /// Every route, for the application and for the test that holds them to the OpenAPI document.
    static func buildRouter(store: Store, configuration: Configuration) -> Router<VegaRequestContext> {
        let router = Router(context: VegaRequestContext.self)
        let metrics = ServerMetrics(store: store, token: configuration.metricsToken.map(OperatorToken.init))
        let artifacts = configuration.artifacts ?? LocalArtifactStore.inDataDirectory(configuration.dataDirectory)
        // Outermost first: the request id and the timing see the problem+json answer of an error.
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ProblemMiddleware())

        router.get("healthz") { _, _ in try JSONBody.response(["status": "ok"]) }
        router.get("readyz") { _, context in
            try await Readiness(store: store, artifacts: artifacts, logger: context.logger).check()
            return try JSONBody.response(["status": "ready"])
        }
        router.get("metrics", use: metrics.respond)
        router.get("v1/openapi.json") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: openAPIDocument)))
        }
        let routes = APIRoutes(
            store: store, artifacts: artifacts, allowFileRepositories: configuration.allowFileRepositories,
            secureCookies: configuration.secureCookies, scanQuota: configuration.scanQuota,
            maxUploadBytes: configuration.maxUploadBytes, scanEventTiming: configuration.scanEvents
        )
        // Signing in needs no credentials: mounted beside the authenticated group, not in it.
        routes.registerSignIn(on: router.group("v1"))
        let api = router.group("v1").add(middleware: AuthMiddleware(store: store)).add(middleware: LogContextMiddleware())
        routes.register(on: api)
        APIRoutes.mountLLMProxy(configuration.llmProxy, on: router.group("llm"))
        return router
    }
}
