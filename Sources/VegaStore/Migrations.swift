import Foundation
import SQLKit

/// One schema change. Migrations are numbered, run in order, and never edited once
/// released: a change to the schema is a new migration.
struct Migration: Sendable {
    let version: Int
    /// Why it exists, in one line (kept in `schema_migrations`).
    let summary: String
    /// Statements in the subset of SQL both SQLite and PostgreSQL accept. Times are
    /// milliseconds since 1970 (BIGINT), identifiers are TEXT, structured values are JSON
    /// in TEXT.
    let statements: [String]
    /// Run after `statements`, on that database only: what the two do differently (text
    /// search). Empty for most migrations.
    var sqlite: [String] = []
    var postgres: [String] = []

    func statements(for kind: DatabaseKind) -> [String] {
        statements + (kind == .sqlite ? sqlite : postgres)
    }
}

/// Applies the migrations a database has not run yet, each in its own transaction.
public enum Migrator {
    static let all: [Migration] = [
        Migration(version: 1, summary: "tenants, people, keys, projects, repositories, scans, findings, components, audit log", statements: [
            """
            CREATE TABLE tenants (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE users (
                id TEXT PRIMARY KEY,
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                email TEXT NOT NULL,
                name TEXT NOT NULL,
                role TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                UNIQUE (tenant_id, email)
            )
            """,
            """
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                name TEXT NOT NULL,
                prefix TEXT NOT NULL UNIQUE,
                secret_hash TEXT NOT NULL,
                role TEXT NOT NULL,
                scopes TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT,
                last_used_at BIGINT,
                revoked_at BIGINT
            )
            """,
            """
            CREATE TABLE projects (
                id TEXT PRIMARY KEY,
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                name TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                UNIQUE (tenant_id, name)
            )
            """,
            """
            CREATE TABLE repositories (
                id TEXT PRIMARY KEY,
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                project_id TEXT NOT NULL REFERENCES projects(id),
                url TEXT NOT NULL,
                default_branch TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                UNIQUE (tenant_id, url)
            )
            """,
            """
            CREATE TABLE scans (
                id TEXT PRIMARY KEY,
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                repository_id TEXT NOT NULL REFERENCES repositories(id),
                ref TEXT NOT NULL,
                commit_sha TEXT,
                state TEXT NOT NULL,
                completeness TEXT,
                engines TEXT NOT NULL,
                progress TEXT,
                error TEXT,
                queued_at BIGINT NOT NULL,
                started_at BIGINT,
                finished_at BIGINT
            )
            """,
            "CREATE INDEX scans_by_repository ON scans (tenant_id, repository_id, queued_at)",
            """
            CREATE TABLE findings (
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                repository_id TEXT NOT NULL REFERENCES repositories(id),
                fingerprint TEXT NOT NULL,
                rule_id TEXT NOT NULL,
                engine TEXT NOT NULL,
                severity TEXT NOT NULL,
                severity_rank BIGINT NOT NULL,
                state TEXT NOT NULL,
                path TEXT NOT NULL,
                title TEXT NOT NULL,
                first_seen_at BIGINT NOT NULL,
                last_seen_at BIGINT NOT NULL,
                sla_due_at BIGINT,
                body TEXT NOT NULL,
                PRIMARY KEY (repository_id, fingerprint)
            )
            """,
            "CREATE INDEX findings_by_tenant ON findings (tenant_id, state, severity_rank, last_seen_at)",
            """
            CREATE TABLE finding_occurrences (
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                scan_id TEXT NOT NULL REFERENCES scans(id),
                repository_id TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                path TEXT NOT NULL,
                start_line BIGINT NOT NULL,
                PRIMARY KEY (scan_id, fingerprint)
            )
            """,
            """
            CREATE TABLE events (
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                sequence BIGINT NOT NULL,
                id TEXT NOT NULL UNIQUE,
                at BIGINT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                subject TEXT NOT NULL,
                before_state TEXT,
                after_state TEXT,
                previous_hash TEXT NOT NULL,
                hash TEXT NOT NULL,
                PRIMARY KEY (tenant_id, sequence)
            )
            """,
            """
            CREATE TABLE artifacts (
                id TEXT PRIMARY KEY,
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                scan_id TEXT NOT NULL REFERENCES scans(id),
                kind TEXT NOT NULL,
                location TEXT NOT NULL,
                size BIGINT NOT NULL,
                sha256 TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE sbom_components (
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                repository_id TEXT NOT NULL REFERENCES repositories(id),
                scan_id TEXT NOT NULL REFERENCES scans(id),
                lockfile TEXT NOT NULL,
                ecosystem TEXT NOT NULL,
                name TEXT NOT NULL,
                version TEXT NOT NULL,
                purl TEXT NOT NULL,
                direct BIGINT,
                PRIMARY KEY (repository_id, lockfile, ecosystem, name, version)
            )
            """,
            "CREATE INDEX sbom_components_by_package ON sbom_components (tenant_id, ecosystem, name, version)",
            """
            CREATE TABLE usage_days (
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                day TEXT NOT NULL,
                scans BIGINT NOT NULL,
                files BIGINT NOT NULL,
                bytes BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, day)
            )
            """,
        ]),
        Migration(version: 2, summary: "findings lists read in their sort order", statements: [
            "CREATE INDEX findings_list ON findings (tenant_id, severity_rank, repository_id, fingerprint)",
        ]),
        // Every filter of the findings list reads an index in the list's order (most severe
        // first, then repository and fingerprint, all descending), so a page costs the same
        // whatever the tenant's size. The list index also carries `state`, so a state filter
        // is checked without reading the row.
        Migration(version: 3, summary: "findings lists: an index per filter and a word index for text search", statements: [
            "DROP INDEX findings_by_tenant",
            "DROP INDEX findings_list",
            "CREATE INDEX findings_list ON findings (tenant_id, severity_rank, repository_id, fingerprint, state)",
            "CREATE INDEX findings_by_state ON findings (tenant_id, state, severity_rank, repository_id, fingerprint)",
            "CREATE INDEX findings_by_repository ON findings (tenant_id, repository_id, severity_rank, fingerprint)",
            "CREATE INDEX findings_by_rule ON findings (tenant_id, rule_id, severity_rank, repository_id, fingerprint)",
            "CREATE INDEX findings_by_engine ON findings (tenant_id, engine, severity_rank, repository_id, fingerprint)",
        ], sqlite: [
            // FTS5 over the findings' own path and title (external content: nothing copied),
            // kept in step by triggers. Its rowids are the findings' rowids, which only a
            // VACUUM renumbers: docs/platform.md says how to rebuild it after one.
            """
            CREATE VIRTUAL TABLE findings_search USING fts5(
                path, title, content='findings', content_rowid='rowid', tokenize='unicode61')
            """,
            """
            CREATE TRIGGER findings_search_insert AFTER INSERT ON findings BEGIN
                INSERT INTO findings_search (rowid, path, title) VALUES (new.rowid, new.path, new.title);
            END
            """,
            """
            CREATE TRIGGER findings_search_update AFTER UPDATE OF path, title ON findings BEGIN
                INSERT INTO findings_search (findings_search, rowid, path, title) VALUES ('delete', old.rowid, old.path, old.title);
                INSERT INTO findings_search (rowid, path, title) VALUES (new.rowid, new.path, new.title);
            END
            """,
            """
            CREATE TRIGGER findings_search_delete AFTER DELETE ON findings BEGIN
                INSERT INTO findings_search (findings_search, rowid, path, title) VALUES ('delete', old.rowid, old.path, old.title);
            END
            """,
            "INSERT INTO findings_search (findings_search) VALUES ('rebuild')",
        ], postgres: [
            // The same words SQLite's unicode61 tokenizer sees: punctuation and spaces split them.
            // Stored, so a plan that walks the list index tests a ready tsvector per row, and
            // ANALYZE keeps word statistics for the planner to choose between the two indexes.
            """
            ALTER TABLE findings ADD COLUMN search tsvector GENERATED ALWAYS AS (
                to_tsvector('simple', regexp_replace(path || ' ' || title, '[[:punct:][:space:]]+', ' ', 'g'))) STORED
            """,
            "CREATE INDEX findings_search ON findings USING GIN (search)",
        ]),
        Migration(version: 4, summary: "web sign-in sessions (cookie token stored only as its SHA-256)", statements: [
            """
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                user_id TEXT NOT NULL REFERENCES users(id),
                csrf_token TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                last_seen_at BIGINT NOT NULL,
                revoked_at BIGINT
            )
            """,
            "CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id)",
        ]),
        Migration(version: 6, summary: "a finding's history read from the audit log by subject", statements: [
            "CREATE INDEX events_by_subject ON events (tenant_id, subject, sequence)",
        ]),
        Migration(version: 5, summary: "scan lists read newest first from an index; usage counts findings", statements: [
            "CREATE INDEX scans_list ON scans (tenant_id, queued_at, id)",
            // With the id, a repository's scans come out of the index in the list's full order.
            "DROP INDEX scans_by_repository",
            "CREATE INDEX scans_by_repository ON scans (tenant_id, repository_id, queued_at, id)",
            "ALTER TABLE usage_days ADD COLUMN findings BIGINT NOT NULL DEFAULT 0",
        ]),
        // The durable queue (Store+Queue.swift): a claim leases a scan to one worker for a
        // while, under a token that fences out a worker that lost it; the reaper finds
        // expired leases by (state, lease_expires_at), workers the next scan in the
        // partial index's order.
        Migration(version: 7, summary: "scan queue: priority, run-at, attempts, leases with fencing tokens", statements: [
            "ALTER TABLE scans ADD COLUMN priority BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE scans ADD COLUMN run_at BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE scans ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE scans ADD COLUMN max_attempts BIGINT NOT NULL DEFAULT 3",
            "ALTER TABLE scans ADD COLUMN lease_token TEXT",
            "ALTER TABLE scans ADD COLUMN lease_expires_at BIGINT",
            "ALTER TABLE scans ADD COLUMN heartbeat_at BIGINT",
            "UPDATE scans SET run_at = queued_at",
            // Scans the old in-process worker left running (it died with them) expire at once.
            "UPDATE scans SET attempts = 1, lease_token = 'migrated', lease_expires_at = 0 WHERE state = 'running'",
            "CREATE INDEX scans_queue ON scans (priority DESC, run_at, id) WHERE state = 'queued'",
            "CREATE INDEX scans_leases ON scans (state, lease_expires_at)",
        ]),
        // Submissions (Store+Submission.swift), each checked in the transaction that would
        // queue the scan: a queued or running scan of the same repository, ref and engines is
        // found in `scans_active` (whose predicate also serves the active-scans count); an
        // Idempotency-Key answers its first scan for 24 hours; the daily quota counts
        // `usage_days.submitted`; an operator's per-tenant limits override the server's.
        Migration(version: 8, summary: "scan submissions: duplicates, Idempotency-Key, per-tenant quotas", statements: [
            "CREATE INDEX scans_active ON scans (tenant_id, repository_id, ref) WHERE state IN ('queued', 'running')",
            """
            CREATE TABLE idempotency_keys (
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                idempotency_key TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                scan_id TEXT NOT NULL REFERENCES scans(id),
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, idempotency_key)
            )
            """,
            "CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at)",
            """
            CREATE TABLE tenant_quotas (
                tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
                max_active_scans BIGINT,
                max_scans_per_day BIGINT,
                updated_at BIGINT NOT NULL
            )
            """,
            "ALTER TABLE usage_days ADD COLUMN submitted BIGINT NOT NULL DEFAULT 0",
        ]),
        // Scans of an uploaded archive (POST /v1/repositories/{id}/scans/archive): the
        // artifact store's key of the archive the worker scans instead of cloning.
        Migration(version: 9, summary: "scans of uploaded archives: the archive's artifact key", statements: [
            "ALTER TABLE scans ADD COLUMN source_archive TEXT",
        ]),
        // The LLM proxy (vega llm-proxy): virtual keys with budgets, and a ledger row per
        // model call. `reserved_*` holds what calls in flight may still cost; a reservation
        // is one conditional UPDATE, so concurrent calls never overshoot the budget.
        Migration(version: 10, summary: "LLM proxy: virtual keys with token and USD budgets, the per-call ledger", statements: [
            """
            CREATE TABLE llm_keys (
                id TEXT PRIMARY KEY,
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                scan_id TEXT,
                name TEXT NOT NULL,
                prefix TEXT NOT NULL UNIQUE,
                secret_hash TEXT NOT NULL,
                budget_tokens BIGINT NOT NULL,
                budget_micro_usd BIGINT NOT NULL,
                spent_tokens BIGINT NOT NULL DEFAULT 0,
                spent_micro_usd BIGINT NOT NULL DEFAULT 0,
                reserved_tokens BIGINT NOT NULL DEFAULT 0,
                reserved_micro_usd BIGINT NOT NULL DEFAULT 0,
                requests_per_minute BIGINT NOT NULL,
                max_concurrent BIGINT NOT NULL,
                created_by TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                revoked_at BIGINT
            )
            """,
            """
            CREATE TABLE llm_calls (
                id TEXT PRIMARY KEY,
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                key_id TEXT NOT NULL REFERENCES llm_keys(id),
                scan_id TEXT,
                api TEXT NOT NULL,
                model TEXT NOT NULL,
                prompt_tokens BIGINT NOT NULL,
                completion_tokens BIGINT NOT NULL,
                cached_tokens BIGINT NOT NULL,
                cache_write_tokens BIGINT NOT NULL,
                price_version TEXT NOT NULL,
                cost_micro_usd BIGINT NOT NULL,
                latency_ms BIGINT NOT NULL,
                status TEXT NOT NULL,
                http_status BIGINT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX llm_calls_by_key ON llm_calls (tenant_id, key_id, created_at)",
            "CREATE INDEX llm_calls_by_scan ON llm_calls (tenant_id, scan_id, created_at)",
        ]),
        // The LLM proxy's calls in the tenant's daily usage, added as each call settles.
        Migration(version: 11, summary: "usage: LLM calls, tokens and cost per day", statements: [
            "ALTER TABLE usage_days ADD COLUMN llm_calls BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE usage_days ADD COLUMN llm_tokens BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE usage_days ADD COLUMN llm_cost_micro_usd BIGINT NOT NULL DEFAULT 0",
        ]),
    ]

    /// The highest version a database may be at for this build to use it.
    public static var latestVersion: Int { all.map(\.version).max() ?? 0 }

    /// Runs every migration newer than the database's version; returns the versions run.
    /// Refuses a database newer than this build, which would misread it.
    @discardableResult
    public static func migrate(_ database: any StoreDatabase, now: Date = Date()) async throws -> [Int] {
        try await database.transaction { db in
            try await db.raw("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY, summary TEXT NOT NULL, applied_at BIGINT NOT NULL)
                """).run()
        }
        let kind = database.kind
        var applied: [Int] = []
        for migration in all.sorted(by: { $0.version < $1.version }) {
            // Each step re-reads the version inside its transaction, so two processes
            // starting at once cannot both apply it.
            let ran = try await database.transaction { db in
                // SQLite's BEGIN IMMEDIATE already excludes other writers; PostgreSQL needs the lock.
                if kind == .postgres { try await db.raw("LOCK TABLE schema_migrations IN EXCLUSIVE MODE").run() }
                let current = try await currentVersion(db)
                guard current < migration.version else { return false }
                for statement in migration.statements(for: kind) { try await db.raw(SQLQueryString(statement)).run() }
                try await db.raw("""
                    INSERT INTO schema_migrations (version, summary, applied_at)
                    VALUES (\(bind: migration.version), \(bind: migration.summary), \(bind: now.milliseconds))
                    """).run()
                return true
            }
            if ran { applied.append(migration.version) }
        }
        let version = try await database.withConnection { try await currentVersion($0) }
        guard version <= latestVersion else {
            throw StoreError("the database is at schema version \(version), newer than this Vega (\(latestVersion)); upgrade Vega")
        }
        return applied
    }

    public static func version(of database: any StoreDatabase) async throws -> Int {
        try await database.withConnection { try await currentVersion($0) }
    }

    private static func currentVersion(_ db: any SQLDatabase) async throws -> Int {
        guard let row = try await db.raw("SELECT MAX(version) AS version FROM schema_migrations").first(),
              try !row.decodeNil(column: "version") else { return 0 }
        return try row.decode(column: "version", as: Int.self)
    }
}

extension Date {
    /// Milliseconds since 1970: how the schema stores times.
    var milliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    init(milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
