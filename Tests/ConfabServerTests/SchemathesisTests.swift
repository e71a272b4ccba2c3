// schemathesis (PyPI, in the venv `make deps` makes) fuzzes the management API
// from the OpenAPI document the server serves: valid and invalid requests for
// every operation, with an admin token, against a real server over TLS pinned
// to its certificate. No request may get a 5xx, a status the document does not
// list, or a body its schema does not allow.

import ConfabProtocol
import ConfabServer
import ConfabTestSupport
import Foundation
import Testing

@Suite("Management API: schemathesis")
struct SchemathesisTests {
    static let executable = RepositoryFile.root.appendingPathComponent(".build/schemathesis-venv/bin/schemathesis").path

    @Test("schemathesis on /api/v1/openapi.json finds no server error, undocumented status or body")
    func fuzz() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            Issue.record("schemathesis is not installed at \(Self.executable): run make deps")
            return
        }
        try await TestServer.start().run { server in
            let admin = try await AdminClient.make(server)
            // Something to find: a live room with a peer, and a code.
            let (alice, _) = try await server.join("alice", role: "host", room: "standup")
            _ = try await admin.call("POST", "/api/v1/rooms/{room}/codes", ["room": "standup"], body: #"{"role": "speaker"}"#)
            let token = try await AdminClient.adminToken(server, ttlSeconds: 3_600)
            let reports = try TempDirectory(prefix: "confab-schemathesis")
            let base = "https://127.0.0.1:\(server.port)"
            let run = try ChildProcess(
                Self.executable,
                [
                    "run", base + "/api/v1/openapi.json", "--url", base, "--header", "Authorization: Bearer \(token)",
                    "--tls-verify", server.data.file("server-cert.pem"),
                    "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
                    "--max-examples", "25", "--workers", "1", "--seed", "7", "--no-color",
                    "--report-dir", reports.path, "--generation-database", "none",
                ],
                environment: ProcessInfo.processInfo.environment.merging(["SCHEMATHESIS_TELEMETRY": "false"]) { $1 })
            let status = await run.wait(seconds: 600)
            #expect(status == 0, "schemathesis found problems:\n\(run.standardOutput.suffix(6_000))\n\(run.standardError.suffix(2_000))")
            // It ran: every operation was tried.
            #expect(run.standardOutput.contains("/api/v1/rooms/{room}/codes"), "\(run.standardOutput.suffix(2_000))")
            alice.close()
        }
    }
}
