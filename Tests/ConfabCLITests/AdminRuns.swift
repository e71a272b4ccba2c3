// `confab …` run to the end, and `confab admin …` against a `ServerProcess`,
// as the admin and meeting-code tests run them.

import ConfabTestSupport
import Foundation
import Testing

/// One finished run of `confab`: its exit status and what it printed.
struct ConfabRun {
    var status: Int32
    var output: String
    var error: String
}

/// Runs `confab ARGUMENTS` and waits for it to exit (at most `seconds`).
func confab(_ arguments: [String], seconds: Double = 30) async throws -> ConfabRun {
    let run = try ChildProcess(BuiltProducts.confab, arguments)
    let status = await run.wait(seconds: seconds)
    return ConfabRun(status: status, output: run.standardOutput, error: run.standardError)
}

/// `confab admin ARGUMENTS` against `server` (`scheme://127.0.0.1:PORT`), pinned to `fingerprint`
/// (the server's own by default), with a known_servers file in the server's data folder.
func admin(
    _ server: ServerProcess, token: String, _ arguments: [String], scheme: String = "https", fingerprint: String? = nil,
    knownServers: String = "known_servers"
) async throws -> ConfabRun {
    try await confab(
        ["admin"] + arguments + [
            "--server", "\(scheme)://127.0.0.1:\(server.port)", "--token", token,
            "--fingerprint", fingerprint ?? server.fingerprint, "--known-servers", server.data.file(knownServers),
        ])
}

/// A new admin token for `server`, from `confab token --admin` on its data folder.
func adminToken(_ server: ServerProcess, _ arguments: [String] = []) async throws -> String {
    let minted = try await confab(["token", "--admin", "--data", server.dataPath] + arguments)
    #expect(minted.status == 0, "\(minted.error)")
    return minted.output.trimmingCharacters(in: .whitespacesAndNewlines)
}
