// The plain HTTP side of the port, and the certificate clients pin.

import ConfabProtocol
import ConfabServer
import ConfabTestSupport
import Foundation
import Testing

@Suite("HTTP endpoints and the certificate")
struct HTTPTests {
    @Test("/healthz answers ok over TLS with the pinned fingerprint")
    func health() async throws {
        try await TestServer.start().run { server in
            let (status, body) = try await FingerprintClient.get("/healthz", port: server.port, fingerprint: server.server.identity.fingerprint)
            #expect(status == "HTTP/1.1 200 OK")
            #expect(body == "ok\n")
        }
    }

    @Test("/metrics counts joins, leaves, messages, errors by code, rooms and peers")
    func metrics() async throws {
        try await TestServer.start().run { server in
            let (alice, bob) = try await server.joinHostAndSpeaker()
            bob.send(#"{"v": 1, "type": "peer.remove", "id": "x", "peer": "alice"}"#)
            #expect(errorCode(try await bob.next(.error)) == .cannotRemovePeers)
            bob.send(#"{"v": 1, "type": "leave", "id": "l"}"#)
            _ = try await bob.closeFrame()
            _ = try await alice.next(.peerLeft)
            let (_, text) = try await FingerprintClient.get("/metrics", port: server.port, fingerprint: server.server.identity.fingerprint)
            #expect(text.contains("confab_joins_total 2"))
            #expect(text.contains(#"confab_leaves_total{reason="left"} 1"#))
            #expect(text.contains(#"confab_errors_total{code="3005"} 1"#))
            #expect(text.contains("confab_rooms 1"))
            #expect(text.contains("confab_peers 1"))
            #expect(text.contains("confab_messages_total 4"))
            // Every metric served is in README's table, which operators read.
            let readme = try RepositoryFile.text("README.md")
            let served = Set(
                text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
                    line.split(whereSeparator: { $0 == "{" || $0 == " " }).first.map(String.init)
                })
            #expect(!served.isEmpty)
            for name in served.sorted() where name.hasPrefix("confab_") {
                #expect(readme.contains("`\(name)"), "README's metrics table lacks \(name)")
            }
        }
    }

    @Test("/metrics shows the media plane: bound peers, forwarded packets and bytes, drops by reason after hostile traffic")
    func mediaMetrics() async throws {
        try await TestServer.start().run { server in
            let room = try await MediaRoom.make(server)
            _ = try await waitForMedia(server) { $0.boundPeers == 3 }
            let before = try await scrape(server)
            #expect(before["confab_media_bound_peers"] == 3)
            #expect(before["confab_media_forwarded_packets_total"] == 0)
            #expect(before[#"confab_media_dropped_total{reason="unboundSource"}"#] == 0)

            // Hostile: junk, alice's SSRC from an address nobody bound, a wrong password; then one real packet.
            let attacker = try MediaPeer(room.aliceMedia.media)
            for _ in 0..<20 { attacker.send([0x42] + [UInt8](repeating: 0, count: 30)) }
            for sequence in 0..<7 { attacker.send(MediaPeer.rtp(ssrc: MediaRoom.aliceSSRC, sequence: UInt16(sequence))) }
            attacker.send(try attacker.bindingRequest(password: "not-the-password-at-all!"))
            attacker.send([UInt8](repeating: 0x80, count: 1_600))
            let packet = MediaPeer.rtp(ssrc: MediaRoom.aliceSSRC, sequence: 100)
            room.aliceMedia.send(packet)
            _ = try await waitForMedia(server) { $0.counters.forwardedPackets == 1 && $0.counters.totalDropped >= 29 }

            let after = try await scrape(server)
            #expect(after[#"confab_media_dropped_total{reason="malformed"}"#] == 20)
            #expect(after[#"confab_media_dropped_total{reason="unboundSource"}"#] == 7)
            #expect(after[#"confab_media_dropped_total{reason="unauthenticated"}"#] == 1)
            #expect(after[#"confab_media_dropped_total{reason="oversized"}"#] == 1)
            #expect(after["confab_media_forwarded_packets_total"] == 1)
            #expect(after["confab_media_forwarded_bytes_total"] == packet.count)
            // To bob and lee.
            #expect(after["confab_media_sent_datagrams_total"] == 2)
            #expect(after["confab_media_bound_peers"] == 3)
            #expect(after["confab_media_bindings_total"] == 3, "the attacker bound nothing")
        }
    }

    /// The samples of /metrics by name (with labels), as integers.
    func scrape(_ server: TestServer) async throws -> [String: Int] {
        let (_, text) = try await FingerprintClient.get("/metrics", port: server.port, fingerprint: server.server.identity.fingerprint)
        var samples: [String: Int] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = Int(value)
        }
        return samples
    }

    @Test("the served certificate has the fingerprint the server reports; another pin is refused")
    func fingerprintPin() async throws {
        try await TestServer.start().run { server in
            let fingerprint = server.server.identity.fingerprint
            #expect(fingerprint.description.hasPrefix("SHA256:") && fingerprint.description.count == 71)
            let fromFile = try ServerIdentity.fingerprint(ofPEMFile: server.data.file("server-cert.pem"))
            #expect(fromFile == fingerprint)
            let wrong = try #require(CertificateFingerprint(sha256Digest: [UInt8](repeating: 0xAB, count: 32)))
            await #expect(throws: (any Error).self) {
                _ = try await FingerprintClient.get("/healthz", port: server.port, fingerprint: wrong)
            }
        }
    }

    @Test("a restarted server keeps its certificate and secret; the files are private")
    func dataDirectoryIsStable() async throws {
        let first = try await TestServer.start()
        let fingerprint = first.server.identity.fingerprint
        await first.stop()
        let second = try await TestServer.start(data: first.data)
        #expect(second.server.identity.fingerprint == fingerprint)
        #expect(second.secret == first.secret)
        for file in ["server-key.pem", "token-secret", "confab.sqlite", "confab.sqlite-wal", "confab.sqlite-shm"]
        where FileManager.default.fileExists(atPath: first.data.file(file)) || file == "confab.sqlite" {
            let attributes = try FileManager.default.attributesOfItem(atPath: first.data.file(file))
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(file)")
        }
        await second.stop()
    }
}
