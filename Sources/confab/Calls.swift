// `confab calls wss://HOST:PORT --token T [--json]`: your call history on a server.
import ArgumentParser
import ConfabClient
import ConfabProtocol
import ConfabTUI
import Foundation
import Logging

struct Calls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print your call history on a server (newest first).",
        discussion: """
            --token takes a user token, made on the server:
              confab token --user NAME
            """)

    @Argument(help: "The server: wss://HOST:PORT.")
    var url: String

    @OptionGroup var server: ServerAccessOptions

    @Option(help: "How many calls, 1...200.")
    var limit = 50

    @Flag(help: "Print the history as a JSON array (PROTOCOL.md's call records).")
    var json = false

    func validate() throws {
        guard (1...ProtocolLimits.maximumHistoryPageSize).contains(limit) else {
            throw ValidationError("--limit must be 1...200")
        }
    }

    func run() async throws {
        let token = server.resolvedToken ?? ""
        var logger = Logger(label: "confab.calls")
        logger.logLevel = .warning
        let records: [CallRecord]
        do {
            let client = try CallClient(
                url: url, token: token, fingerprint: server.fingerprint,
                knownServersPath: server.knownServersPath, logger: logger)
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
        // Local time and the words the call screen uses ("no answer", not `noResponse`); --json keeps the protocol's.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .current
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        for record in records {
            let when = formatter.string(
                from: Date(timeIntervalSince1970: Double(record.startedAt.millisecondsSince1970) / 1_000))
            let arrow = record.direction == .outgoing ? "→" : "←"
            let seconds = record.durationMs / 1_000
            let duration = record.outcome == .answered ? String(format: " %d:%02d", seconds / 60, seconds % 60) : ""
            let peers = record.peers.map(\.rawValue).joined(separator: ", ")
            FileHandleOutput.standardOutput("\(when)  \(arrow) \(peers)  \(HomeView.outcome(record).0)\(duration)")
        }
    }
}
