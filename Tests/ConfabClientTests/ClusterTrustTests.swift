// Following a cluster's redirect keeps the trust the session started with:
// the other node must present the certificate the first node presented.
// Two real servers with certificates of their own stand in for a node and an
// impostor.

@testable import ConfabClient
import ConfabProtocol
import ConfabTestSupport
import Testing

@Suite("Another node of a cluster is held to the first node's certificate")
struct ClusterTrustTests {
    /// A node and an impostor (two servers with certificates of their own), a
    /// transport that trusts on first use, and the certificate the node
    /// presented to it on a first connection (closed again).
    struct NodeAndImpostor {
        let first: LiveServer
        let other: LiveServer
        let transport: WebSocketTransport
        let presented: CertificateFingerprint
        /// Holds the transport's known_servers file.
        private let home: TempDirectory

        static func start() async throws -> NodeAndImpostor {
            let first = try await LiveServer.start()
            let other = try await LiveServer.start()
            let home = try TempDirectory(prefix: "confab-cluster-trust")
            let transport = WebSocketTransport(trust: .trustOnFirstUse(knownServersPath: home.file("known_servers")))
            let opened = try await transport.connect(to: ServerEndpoint(url: first.url("r")))
            let presented = try #require(opened.certificateFingerprint)
            #expect(presented.description == first.fingerprint)
            await opened.close()
            return NodeAndImpostor(first: first, other: other, transport: transport, presented: presented, home: home)
        }

        func stop() async {
            await first.stop()
            await other.stop()
        }
    }

    @Test("a connection reports the certificate it checked; pinned to it, a server with another one is refused")
    func pinnedToTheFirstNode() async throws {
        let nodes = try await NodeAndImpostor.start()
        let presented = nodes.presented
        // Unknown to known_servers, so trust on first use alone would accept it: the pin does not.
        do {
            let refused = try await nodes.transport.connect(to: ServerEndpoint(url: nodes.other.url("r")), pinning: presented)
            await refused.close()
            Issue.record("a server with another certificate was accepted")
        } catch {
            guard case .certificateRejected(let message) = error else {
                Issue.record("expected certificateRejected, got \(error)")
                return
            }
            #expect(message.contains("not the pinned \(presented)"), "\(message)")
        }
        // The same node again, pinned: accepted.
        let again = try await nodes.transport.connect(to: ServerEndpoint(url: nodes.first.url("r")), pinning: presented)
        #expect(again.certificateFingerprint == presented)
        await again.close()
        await nodes.stop()
    }

    @Test("a call's room joined through another node is held to the certificate the presence connection trusted")
    func callRoomThroughAnotherNode() async throws {
        let nodes = try await NodeAndImpostor.start()
        let pinned = ClusterPinnedTransport(base: nodes.transport, fingerprint: nodes.presented)
        // A plain connect (the room session's first) is pinned too: trust on first use would take the impostor.
        do {
            let refused = try await pinned.connect(to: ServerEndpoint(url: nodes.other.url("r")))
            await refused.close()
            Issue.record("a server with another certificate was accepted")
        } catch {
            guard case .certificateRejected = error else {
                Issue.record("expected certificateRejected, got \(error)")
                return
            }
        }
        let again = try await pinned.connect(to: ServerEndpoint(url: nodes.first.url("r")))
        #expect(again.certificateFingerprint == nodes.presented)
        await again.close()
        await nodes.stop()
    }
}
