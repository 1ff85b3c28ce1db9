import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import SQLKit
import Testing
import VegaModel
import VegaStore
import VegaTestSupport

/// `vega serve` as an operator starts it: embedded SQLite in a data folder, the first
/// start's one-time credentials (the login signs in, here over plain HTTP with
/// `--insecure-cookies`), a working API, and a clean stop on SIGTERM.
@Suite struct ServeCommandTests {
    @Test func firstStartPrintsAKeyThatWorksAndSIGTERMStopsCleanly() async throws {
        let data = try TestRepo(git: false)
        defer { data.remove() }
        let port = Int.random(in: 20_000...60_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try vegaPath())
        process.arguments = ["serve", "--data-dir", data.path, "--port", String(port), "--insecure-cookies"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // A server that never prints would leave the read below waiting: stop it, so the
        // test fails instead of hanging.
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: watchdog)
        defer { watchdog.cancel() }

        // The first lines carry the credentials; read until the API key shows.
        var text = ""
        let reader = output.fileHandleForReading
        while !text.contains("Keep these now") {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let token = try #require(text.split(separator: "\n").first { $0.contains("API key:") }?
            .split(separator: " ").last.map(String.init))
        #expect(token.hasPrefix("vega_"))
        #expect(FileManager.default.fileExists(atPath: data.root.appendingPathComponent("vega.sqlite").path))

        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/me")!)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        var body: Data?
        for _ in 0..<100 where body == nil {  // the listener may open a moment after the print
            if let (data, response) = try? await URLSession.shared.data(for: request), (response as? HTTPURLResponse)?.statusCode == 200 {
                body = data
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let answer = try #require(body)
        let me = try #require(try JSONSerialization.jsonObject(with: answer) as? [String: Any])
        #expect(me["role"] as? String == "owner")

        func printed(_ label: String) throws -> String {
            try #require(text.split(separator: "\n").first { $0.contains(label) }?.split(separator: " ").last.map(String.init))
        }
        var login = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/auth/login")!)
        login.httpMethod = "POST"
        login.setValue("application/json", forHTTPHeaderField: "Content-Type")
        login.httpBody = try JSONSerialization.data(withJSONObject: ["email": try printed("login:"), "password": try printed("password:")])
        let (_, signedIn) = try await URLSession.shared.data(for: login)
        let cookie = try #require((signedIn as? HTTPURLResponse)?.value(forHTTPHeaderField: "Set-Cookie"))
        #expect(cookie.hasPrefix("vega_session=") && cookie.contains("HttpOnly"))
        #expect(!cookie.contains("Secure"), "--insecure-cookies drops Secure")

        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "SIGTERM is a clean shutdown")

        // A second start finds the tenant and prints no new credentials.
        let again = Process()
        again.executableURL = process.executableURL
        again.arguments = ["migrate", "--data-dir", data.path]
        let againOutput = Pipe()
        again.standardOutput = againOutput
        try again.run()
        again.waitUntilExit()
        let migrate = String(decoding: againOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(again.terminationStatus == 0 && migrate.contains("up to date"))
    }
}

/// `vega admin`: users from the command line, and the audit chain checked end to end.
@Suite struct AdminCommandTests {
    @Test func createUserThenVerifyAuditCatchesATamperedEvent() async throws {
        let data = try TestRepo(git: false)
        defer { data.remove() }
        let created = try vega("admin", "create-user", "--data-dir", data.path, "--tenant", "acme", "--email", "ana@acme.test", "--role", "admin")
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("created admin ana@acme.test in tenant acme"))
        #expect(created.stdout.contains("password: "))
        let weak = try vega("admin", "create-user", "--data-dir", data.path, "--email", "x@acme.test", environment: ["VEGA_PASSWORD": "short"])
        #expect(weak.status == 2)

        // Events to verify: two API keys through the store, as the server would write them.
        let database = try await DatabaseConnector.open(url: data.root.appendingPathComponent("vega.sqlite").path, logger: Logger(label: "test"))
        let store = Store(database: database)
        let tenant = try #require(try await store.tenant(named: "acme"))
        let owner = Principal(kind: .user, id: "usr_ops", tenantID: tenant.tenantID, role: .owner)
        _ = try await store.createAPIKey(name: "a", role: .viewer, by: owner)
        _ = try await store.createAPIKey(name: "b", role: .viewer, by: owner)

        let intact = try vega("admin", "verify-audit", "--data-dir", data.path)
        #expect(intact.status == 0 && intact.stdout.contains("acme: intact, 2 events"))

        try await database.transaction { db in try await db.raw("UPDATE events SET actor = 'usr_mallory' WHERE sequence = 1").run() }
        try await database.shutdown()
        let tampered = try vega("admin", "verify-audit", "--data-dir", data.path)
        #expect(tampered.status == 1)
        #expect(tampered.stdout.contains("acme: BROKEN at event 1"))
    }
}
