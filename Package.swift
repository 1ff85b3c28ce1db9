// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "vega",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vega", targets: ["vega"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // PCRE2 (Debian's libpcre2-dev): a JIT regex engine that accepts the gitleaks/RE2 rule syntax.
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        .target(
            name: "VegaModel",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // zlib (zlib1g-dev, which ZIPFoundation needs too): archives are inflated byte-counted, see ArchiveInflate.swift.
        .systemLibrary(name: "CZlibInflate", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "VegaWorkspace", dependencies: ["VegaModel", "CZlibInflate"]),
        .target(
            name: "VegaSecrets",
            dependencies: ["VegaModel", "VegaWorkspace", "CPCRE2", .product(name: "Yams", package: "Yams")],
            // rules.yaml is the source people edit; scripts/rules-compile turns it into the
            // rules.json that ships (a test keeps them equal).
            exclude: ["Resources/rules.yaml"],
            resources: [.copy("Resources/rules.json")]
        ),
        .target(name: "VegaReports", dependencies: ["VegaModel", .product(name: "Crypto", package: "swift-crypto")]),
        // The dependency engine: lockfiles → packages → advisories → findings.
        .target(name: "VegaDeps", dependencies: ["VegaModel", "VegaWorkspace", "VegaLockfiles", "VegaAdvisories"]),
        // Version ordering per ecosystem (PEP 440, npm SemVer, Go, Maven, RubyGems, …).
        .target(name: "VegaVersions", dependencies: ["VegaModel"]),
        // Lockfile and manifest parsers → dependency graphs.
        .target(
            name: "VegaLockfiles",
            dependencies: ["VegaModel", .product(name: "Yams", package: "Yams"), .product(name: "TOMLKit", package: "TOMLKit")]
        ),
        // OSV advisories: import, local index, matching, CVSS.
        .target(
            name: "VegaAdvisories",
            dependencies: ["VegaModel", "VegaVersions", .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        // The findings lifecycle across scans: states, dismissals, SLA. Pure rules; the store applies them.
        .target(name: "VegaLifecycle", dependencies: ["VegaModel"]),
        // The one SQL layer over SQLite (embedded default) and PostgreSQL: migrations, tenant scoping, records.
        .target(
            name: "VegaStore",
            dependencies: [
                "VegaModel", "VegaLifecycle",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Where scans' reports and logs are kept: a folder, or an S3-compatible bucket (SigV4 over AsyncHTTPClient).
        .target(
            name: "VegaArtifacts",
            dependencies: [
                "VegaModel", "VegaWorkspace",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The HTTP API (/v1): routes, auth, problem+json, the OpenAPI document.
        .target(
            name: "VegaServer",
            dependencies: [
                "VegaModel", "VegaLifecycle", "VegaStore", "VegaWorkspace", "VegaReports", "VegaArtifacts",
                // Mounted at /llm when `vega serve --llm-prices` is given.
                "VegaLLMProxy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                // /metrics: a registry per application, written in Prometheus' text format.
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("Resources/openapi.json")]
        ),
        // The LLM proxy (vega llm-proxy): virtual keys, prices, budgets reserved before and settled after each call.
        .target(
            name: "VegaLLMProxy",
            dependencies: [
                "VegaStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The `ai` engine: an agent over an OpenAI-compatible API (normally the LLM proxy) with read-only tools.
        .target(
            name: "VegaAIReview",
            dependencies: ["VegaModel", "VegaWorkspace", .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        // One scan in a child process of its own: workspace, fetch, sandbox, limits, stop.
        .target(
            name: "VegaRunner",
            dependencies: ["VegaModel", "VegaWorkspace", "VegaScanner", .product(name: "Logging", package: "swift-log")]
        ),
        // Runs the platform's queued scans: claim, run (in a runner), record, report.
        .target(
            name: "VegaWorker",
            dependencies: [
                "VegaModel", "VegaLifecycle", "VegaStore", "VegaScanner", "VegaReports", "VegaArtifacts", "VegaRunner",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "VegaScanner",
            dependencies: ["VegaModel", "VegaWorkspace", "VegaSecrets", "VegaDeps", "VegaAIReview", "VegaReports", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "VegaCLI",
            dependencies: [
                "VegaModel", "VegaWorkspace", "VegaSecrets", "VegaReports", "VegaScanner", "VegaAdvisories", "VegaLockfiles",
                "VegaStore", "VegaServer", "VegaWorker", "VegaArtifacts", "VegaRunner", "VegaLLMProxy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                // The benchmarks' HTTP client (URLSession on Linux costs more per request than the server).
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(name: "vega", dependencies: ["VegaCLI"]),

        // Temp repositories, planted secrets and process helpers shared by the test targets.
        .target(name: "VegaTestSupport", path: "Tests/VegaTestSupport"),
        .testTarget(name: "VegaModelTests", dependencies: ["VegaModel"]),
        .testTarget(
            name: "VegaWorkspaceTests",
            // ZIPFoundation writes the test zips, hostile names and links included.
            dependencies: ["VegaWorkspace", "VegaTestSupport", .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        .testTarget(name: "VegaSecretsTests", dependencies: ["VegaSecrets", "VegaWorkspace"]),
        .testTarget(name: "VegaReportsTests", dependencies: ["VegaReports", "VegaTestSupport"]),
        .testTarget(name: "VegaVersionsTests", dependencies: ["VegaVersions"]),
        .testTarget(name: "VegaLockfilesTests", dependencies: ["VegaLockfiles"]),
        .testTarget(name: "VegaAdvisoriesTests", dependencies: ["VegaAdvisories", "VegaTestSupport"]),
        .testTarget(name: "VegaDepsTests", dependencies: ["VegaDeps", "VegaAdvisories", "VegaScanner", "VegaTestSupport"]),
        .testTarget(name: "VegaLifecycleTests", dependencies: ["VegaLifecycle"]),
        // Fresh SQLite and PostgreSQL databases for the tests that need a store.
        .target(
            name: "VegaStoreTestSupport",
            dependencies: ["VegaStore", .product(name: "Logging", package: "swift-log")],
            path: "Tests/VegaStoreTestSupport"
        ),
        .testTarget(name: "VegaStoreTests", dependencies: ["VegaStore", "VegaLifecycle", "VegaStoreTestSupport"]),
        // HTTP calls over HummingbirdTesting, for every test target that drives the API.
        .target(
            name: "VegaHTTPTestSupport",
            dependencies: [.product(name: "HummingbirdTesting", package: "hummingbird")],
            path: "Tests/VegaHTTPTestSupport"
        ),
        .testTarget(
            name: "VegaServerTests",
            dependencies: [
                "vega", "VegaServer", "VegaStore", "VegaWorker", "VegaRunner", "VegaStoreTestSupport", "VegaTestSupport", "VegaHTTPTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                // The server-sent events test reads a live stream.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The artifact stores: SigV4 against AWS's published vectors, the folder, and a real S3-compatible server (scripts/s3).
        .testTarget(
            name: "VegaArtifactsTests",
            dependencies: [
                "vega", "VegaArtifacts", "VegaServer", "VegaStore", "VegaWorker", "VegaRunner", "VegaCLI", "VegaStoreTestSupport", "VegaTestSupport",
                "VegaHTTPTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        // The LLM proxy against a fake OpenAI/Anthropic upstream on loopback, on both databases.
        .testTarget(
            name: "VegaLLMProxyTests",
            dependencies: [
                "vega", "VegaLLMProxy", "VegaStore", "VegaStoreTestSupport", "VegaTestSupport",
                // The proxy mounted in `vega serve`, its keys and ledger over the API.
                "VegaServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The ai engine against a scripted fake OpenAI-compatible provider on loopback.
        .testTarget(
            name: "VegaAIReviewTests",
            dependencies: [
                "VegaAIReview", "VegaModel", "VegaTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "VegaScannerTests", dependencies: ["VegaScanner", "VegaReports", "VegaTestSupport"]),
        .testTarget(name: "VegaRunnerTests", dependencies: ["vega", "VegaRunner", "VegaTestSupport"]),
        .testTarget(
            name: "VegaCLITests",
            dependencies: ["vega", "VegaTestSupport", "VegaStore", "VegaStoreTestSupport", .product(name: "SQLKit", package: "sql-kit"), .product(name: "Logging", package: "swift-log")]
        ),
    ]
)
