import Foundation
import Testing
import VegaModel
import VegaSecrets
import VegaWorkspace

/// The bundled rules on realistic files: each credential family is found, and the
/// classic false positives (documented examples, placeholders, references, lockfile
/// hashes, public keys, data URIs) are not.
@Suite struct BundledRulesTests {
    private func scan(_ files: [String: String]) async throws -> [Detection] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vega-rules-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var sources: [SourceFile] = []
        for (name, text) in files.sorted(by: { $0.key < $1.key }) {
            let url = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
            sources.append(SourceFile(path: name, absolutePath: url.path, size: text.utf8.count))
        }
        let engine = SecretsEngine(ruleSet: try RuleSet.load())
        return try await engine.scan(ScanTarget(root: dir.path, files: sources), progress: { _ in }).detections
    }

    @Test func findsEachCredentialFamily() async throws {
        let cases: [String: (file: String, text: String)] = [
            "cloud (AWS)": ("aws.env", "AWS_ACCESS_KEY_ID=AKIAR7TQ2WZ5LMN3PQ4X\nAWS_SECRET_ACCESS_KEY=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\n"),
            "cloud (Azure)": ("azure.cfg", "AZURE_CLIENT_SECRET = \"EOz8Q~kR3vT9xL2mN7pQ4wY6zA1cE5gH8jK0bD3f\"\n"),
            "cloud (GCP)": ("gcp.json", "{\"api_key\": \"AIzaSyD3kR9vT2xL7mN4pQ8wY1zA6cE0gH5jK3b\"}\n"),
            "VCS (GitHub)": ("gh.sh", "export GH_TOKEN=ghp_Kq3Rv9Tx2Lm7Np4Qw8Yz1Ac6Eg0Hj5Kb3Df9Gs\n"),
            "VCS (GitLab)": ("gl.yml", "token: glpat-Xr4Tq8Lm2Np6Vw9Zb3Kd\n"),
            "chat (Slack)": ("slack.py", "SLACK_BOT = \"xoxb-52839104726-483920174658-Qk7Rm2Xp9Lw4Nz6Vb8Tc1Hd\"\n"),
            "payment (Stripe)": ("pay.rb", "Stripe.api_key = \"sk_live_51HqX9bK2mN7pQ4rT6vW8yZ0\"\n"),
            "AI (Anthropic)": ("ai.env", "ANTHROPIC_API_KEY=sk-ant-api03-" + String(repeating: "Qk7Rm2Xp9Lw4Nz6Vb8Tc1Hd", count: 4) + "XAA\n"),
            "private key": ("id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\n" + String(repeating: "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n", count: 6) + "-----END OPENSSH PRIVATE KEY-----\n"),
            "connection string": ("db.properties", "spring.datasource.url=postgresql://admin:c826Xq9Lm2Tz7Rb4@db.prod.internal:5432/orders\n"),
            "generic assignment": ("svc.ini", "[service]\napi_secret = gYWPnsuvBqbwq7sdTWx6uX9MGE2sNVbY\n"),
            "Vega's own API key": ("ci.yml", "env:\n  VEGA_TOKEN: vega_vjASde5Kgy_NdHocfCBeqfLCd5MhpRRNdMNAdpcL7itBjKhMuL5\n"),
        ]
        let found = try await scan(Dictionary(uniqueKeysWithValues: cases.values.map { ($0.file, $0.text) }))
        for (family, sample) in cases {
            #expect(found.contains { $0.location.path == sample.file }, "no finding for \(family)")
        }
        #expect(found.first { $0.location.path == "ci.yml" }?.rule.id == "vega-api-key")
    }

    @Test func classicFalsePositivesAreNotFindings() async throws {
        let found = try await scan([
            "docs/aws.md": "AWS_ACCESS_KEY_ID = \"AKIAIOSFODNN7EXAMPLE\"\nAWS_SECRET_ACCESS_KEY = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"\n",
            "config.py": """
            API_KEY = "your-api-key-here"
            api_token = "<TOKEN>"
            password = "changeme"
            SECRET_KEY = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            GITHUB_TOKEN = os.environ["GITHUB_TOKEN"]
            stripe_key = os.getenv("STRIPE_SECRET_KEY")
            db_password = "${DB_PASSWORD}"
            auth_token = "REPLACE_ME"
            secret = "********"
            client_secret = "{{ .Values.clientSecret }}"
            """,
            "app.js": "const token = process.env.SLACK_TOKEN;\nconst apiKey = config.get('apiKey');\nconst keyPath = '/etc/ssl/private/server.key';\n",
            ".github/workflows/ci.yml": "env:\n  GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n  NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
            "package-lock.json": """
            {"packages": {"node_modules/lodash": {"version": "4.17.21",
              "integrity": "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg=="}}}
            """,
            "go.sum": "github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\n",
            "keys/server.pub": "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----\n",
            "page.html": "<img src=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\">\n",
        ])
        #expect(found.isEmpty, "false positives: \(found.map { "\($0.rule.id) at \($0.location.path):\($0.location.startLine)" })")
    }
}
