// `confab calls wss://HOST:PORT --token T [--json]`: your call history on a server.
import ArgumentParser
import ConfabClient
import ConfabProtocol
import Foundation
import Logging

struct Calls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print your call history on a server (newest first).")

    @Argument(help: "The server: wss://HOST:PORT.")
    var url: String

    @Option(help: "A user token from `confab token --user` (or set CONFAB_TOKEN).")
    var token: String?

    @Option(help: "Pin the server certificate: SHA256: and 64 hex digits, as `confab serve` prints it.")
    var fingerprint: String?

    @Option(name: .customLong("known-servers"), help: "The known_servers file (default ~/.config/confab/known_servers).")
    var knownServers: String?

    @Option(help: "How many calls, 1...200.")
    var limit = 50

    @Flag(help: "Print the history as a JSON array (PROTOCOL.md's call records).")
    var json = false

    func validate() throws {
        guard (1...ProtocolLimits.maximumHistoryPageSize).contains(limit) else {
            throw ValidationError("--limit must be 1...200")
        }
        if (token ?? ProcessInfo.processInfo.environment["CONFAB_TOKEN"]) == nil {
            throw ValidationError("--token is required (or set CONFAB_TOKEN)")
        }
    }

    func run() async throws {
        let token = self.token ?? ProcessInfo.processInfo.environment["CONFAB_TOKEN"] ?? ""
        var logger = Logger(label: "confab.calls")
        logger.logLevel = .warning
        let records: [CallRecord]
        do {
            let client = try CallClient(
                url: url, token: token, fingerprint: fingerprint,
                knownServersPath: knownServers ?? KnownServers.defaultPath(), logger: logger)
            try await client.connect()
            records = try await client.history(limit: limit)
            await client.disconnect()
        } catch {
            throw CommandFailure(error.message)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(records)) ?? Data("[]".utf8)
            FileHandleOutput.standardOutput(String(decoding: data, as: UTF8.self))
            return
        }
        guard !records.isEmpty else {
            FileHandleOutput.standardOutput("no calls yet")
            return
        }
        let formatter = ISO8601DateFormatter()
        for record in records {
            let when = formatter.string(
                from: Date(timeIntervalSince1970: Double(record.startedAt.millisecondsSince1970) / 1_000))
            let arrow = record.direction == .outgoing ? "→" : "←"
            let seconds = record.durationMs / 1_000
            let duration = record.outcome == .answered ? String(format: " %d:%02d", seconds / 60, seconds % 60) : ""
            let peers = record.peers.map(\.rawValue).joined(separator: ", ")
            FileHandleOutput.standardOutput("\(when)  \(arrow) \(peers)  \(record.outcome.rawValue)\(duration)")
        }
    }
}
