// The chat log survives a SIGKILL: a real `confab serve` process is killed
// mid-meeting and restarted on the same data directory.

import ConfabProtocol
import ConfabServer
import ConfabTestSupport
import Foundation
import Glibc
import NIOSSL
import Testing

@Suite("Persistence")
struct PersistenceTests {
    /// A `confab serve` child process on a free port.
    struct ServeProcess {
        let process: ChildProcess
        let port: Int

        static func start(data: String) async throws -> ServeProcess {
            let process = try ChildProcess(BuiltProducts.confab, ["serve", "--port", "0", "--data", data])
            var port: Int?
            _ = await waitUntil(timeout: .seconds(15)) {
                let output = process.standardOutput
                guard let range = output.range(of: "wss://127.0.0.1:") else { return false }
                port = Int(output[range.upperBound...].prefix { $0.isNumber })
                return port != nil
            }
            if let port { return ServeProcess(process: process, port: port) }
            throw ToolError("confab serve did not start: \(process.standardError)")
        }
    }

    static func join(_ user: String, port: Int, data: String, historyLimit: Int = 50) async throws -> (RawClient, Joined) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(data + "/server-cert.pem"))
        tls.certificateVerification = .noHostnameVerification
        let client = try await RawClient.connect(port: port, room: "standup", tls: tls)
        let now = Int64(Date().timeIntervalSince1970)
        let secret = try DataDirectory(path: data).tokenSecret(create: false)
        let token = try await TokenAuthority(secret: secret).sign(
            TokenClaims(room: "standup", peer: PeerID(uncheckedRawValue: user), name: nil, role: "host", issuedAt: now, expiresAt: now + 600))
        client.send(#"{"v": 1, "type": "join", "id": "j", "room": "standup", "token": "\#(token)", "historyLimit": \#(historyLimit)}"#)
        guard case .joined(let joined) = try await client.next(timeout: .seconds(10)).body else {
            throw ToolError("no joined")
        }
        return (client, joined)
    }

    @Test("every acknowledged message is in the history after SIGKILL and restart; numbering continues")
    func survivesKill() async throws {
        let data = try TempDirectory(prefix: "confab-persist")
        let first = try await ServeProcess.start(data: data.path)
        var acknowledged: [Int: String] = [:]
        var clients: [RawClient] = []
        for user in ["alice", "bob", "carol"] {
            let (client, _) = try await Self.join(user, port: first.port, data: data.path)
            clients.append(client)
        }
        // 3 peers × 10 messages (each peer's burst), acknowledged one by one…
        for round in 1...10 {
            for (index, client) in clients.enumerated() {
                let text = "message \(round) from \(index)"
                client.send(#"{"v": 1, "type": "chat.send", "id": "c\#(round)", "target": {"kind": "broadcast"}, "text": "\#(text)"}"#)
                let ack = try await client.next(.chatAck)
                if case .chatAck(let body) = ack.body { acknowledged[body.seq] = text }
            }
        }
        // …and a few more in flight when the server dies.
        for client in clients {
            client.send(#"{"v": 1, "type": "chat.send", "id": "late", "target": {"kind": "broadcast"}, "text": "in flight"}"#)
        }
        kill(first.process.pid, SIGKILL)
        #expect(await first.process.wait(seconds: 5) == -9)
        #expect(acknowledged.count == 30)

        let second = try await ServeProcess.start(data: data.path)
        let (reader, joined) = try await Self.join("dave", port: second.port, data: data.path, historyLimit: 200)
        let history = joined.history.messages
        let seqs = history.map(\.seq)
        #expect(seqs == Array(1...(seqs.last ?? 0)), "no gaps, no duplicates")
        for (seq, text) in acknowledged {
            #expect(history.first { $0.seq == seq }?.text == text, "acknowledged message \(seq) is missing")
        }
        // Numbering continues after the last committed message.
        reader.send(#"{"v": 1, "type": "chat.send", "id": "next", "target": {"kind": "broadcast"}, "text": "after the restart"}"#)
        let ack = try await reader.next(.chatAck)
        if case .chatAck(let body) = ack.body {
            #expect(body.seq == (seqs.last ?? 0) + 1)
        }
        second.process.interrupt()
        #expect(await second.process.wait(seconds: 10) == 0)
    }
}
