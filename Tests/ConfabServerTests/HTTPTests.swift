// The plain HTTP side of the port, and the certificate clients pin.

import ConfabProtocol
import ConfabServer
import Foundation
import Testing

@Suite("HTTP endpoints and the certificate")
struct HTTPTests {
    @Test("/healthz answers ok over TLS with the pinned fingerprint")
    func health() async throws {
        let server = try await TestServer.start()
        let (status, body) = try await FingerprintClient.get("/healthz", port: server.port, fingerprint: server.server.identity.fingerprint)
        #expect(status == "HTTP/1.1 200 OK")
        #expect(body == "ok\n")
        await server.stop()
    }

    @Test("/metrics counts joins, leaves, messages, errors by code, rooms and peers")
    func metrics() async throws {
        let server = try await TestServer.start()
        let (alice, _) = try await server.join("alice", role: "host")
        let (bob, _) = try await server.join("bob", role: "speaker")
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
        await server.stop()
    }

    @Test("the served certificate has the fingerprint the server reports; another pin is refused")
    func fingerprintPin() async throws {
        let server = try await TestServer.start()
        let fingerprint = server.server.identity.fingerprint
        #expect(fingerprint.description.hasPrefix("SHA256:") && fingerprint.description.count == 71)
        let fromFile = try ServerIdentity.fingerprint(ofPEMFile: server.data.file("server-cert.pem"))
        #expect(fromFile == fingerprint)
        let wrong = try #require(CertificateFingerprint(sha256Digest: [UInt8](repeating: 0xAB, count: 32)))
        await #expect(throws: (any Error).self) {
            _ = try await FingerprintClient.get("/healthz", port: server.port, fingerprint: wrong)
        }
        await server.stop()
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
