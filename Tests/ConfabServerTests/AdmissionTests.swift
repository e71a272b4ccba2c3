// Connections that never finish a handshake, never finish a request head or
// never join are closed at their deadline; connections not yet authenticated
// are capped per source, and the cap makes room by closing the oldest.
//
//   raw TCP (silent, or half a ClientHello) ─▶ closed at tlsHandshakeTimeoutMs
//   TLS, then half a request head           ─▶ closed at httpRequestTimeoutMs
//   WebSocket that pings but never joins    ─▶ close 1008 at joinTimeoutMs
//   more than the per-source cap            ─▶ the oldest closed at once; a real client still joins

import ConfabProtocol
@testable import ConfabServer
import ConfabTestSupport
import Foundation
import Glibc
import NIOCore
import NIOPosix
import NIOSSL
import Testing

@Suite("Admission deadlines and caps")
struct AdmissionTests {
    /// Short deadlines, so a test waits about a second for each.
    static func limits(perSource: Int = 64) -> AdmissionLimits {
        var limits = AdmissionLimits()
        limits.tlsHandshakeTimeoutMs = 800
        limits.httpRequestTimeoutMs = 800
        limits.joinTimeoutMs = 800
        limits.maximumUnauthenticatedPerSource = perSource
        return limits
    }

    @Test("a silent TCP connection and one that sends half a ClientHello are closed at the TLS deadline")
    func silentAndPartialHello() async throws {
        try await TestServer.start(admission: Self.limits()).run { server in
            let silent = try LoopbackSocket(port: server.port)
            let partial = try LoopbackSocket(port: server.port)
            // A TLS record header and the start of a ClientHello, then nothing.
            partial.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])
            let started = ContinuousClock.now
            #expect(await silent.waitUntilClosed(timeout: .seconds(20)))
            #expect(await partial.waitUntilClosed(timeout: .seconds(20)))
            // Not before the deadline.
            #expect(ContinuousClock.now - started >= .milliseconds(700))
            #expect(server.server.unauthenticatedConnections.timedOut >= 2)
        }
    }

    @Test("a TLS connection that never finishes its request head is closed at the HTTP deadline")
    func partialRequestHead() async throws {
        try await TestServer.start(admission: Self.limits()).run { server in
            let group = MultiThreadedEventLoopGroup.singleton
            let tls = try server.pinnedTLS()
            let context = try NIOSSLContext(configuration: tls)
            let channel = try await ClientBootstrap(group: group).channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                }
            }.connect(host: "127.0.0.1", port: server.port).get()
            // Half a request head, then silence (slowloris).
            try await channel.writeAndFlush(ByteBuffer(string: "GET /standup HTTP/1.1\r\nHost: localhost\r\n")).get()
            let closed = await waitUntil(timeout: .seconds(20)) { !channel.isActive }
            #expect(closed, "the server kept a connection with an unfinished request head")
            if !closed { try? await channel.close() }
        }
    }

    @Test("a WebSocket that pings but never joins is closed with 1008 at the join deadline")
    func pingsButNeverJoins() async throws {
        try await TestServer.start(admission: Self.limits()).run { server in
            let client = try await server.connect()
            client.send(#"{"v": 1, "type": "ping", "id": "p0"}"#)
            #expect(try await client.next().type == .pong)
            let pinger = Task {
                try await paced(every: .milliseconds(100), count: 200) { index in
                    client.send(#"{"v": 1, "type": "ping", "id": "p\#(index + 1)"}"#)
                }
            }
            defer { pinger.cancel() }
            let frame = try await client.closeFrame(timeout: .seconds(20))
            #expect(frame?.closeCode == .policyViolation)
            #expect(frame?.reason?.hasPrefix("1006") == true)
        }
    }

    @Test("a joined connection is not closed at the join deadline")
    func joinedStays() async throws {
        try await TestServer.start(admission: Self.limits()).run { server in
            let (alice, _) = try await server.join("alice", role: "host")
            try await Task.sleep(for: .milliseconds(1_500))
            #expect(try await alice.expectQuiet() == nil)
        }
    }

    @Test("over the per-source cap the oldest unauthenticated connections are closed at once; a real client still joins")
    func perSourceCap() async throws {
        var limits = Self.limits(perSource: 4)
        limits.tlsHandshakeTimeoutMs = 60_000
        limits.httpRequestTimeoutMs = 60_000
        let server = try await TestServer.start(admission: limits)
        var sockets: [LoopbackSocket] = []
        for _ in 0..<10 { sockets.append(try LoopbackSocket(port: server.port)) }
        // Six go at once, long before any deadline. (Which six depends on the
        // order the event loops register them in: nearly, not exactly, arrival.)
        #expect(await waitUntil(timeout: .seconds(10)) { sockets.filter(\.isClosed).count == 6 })
        #expect(server.server.unauthenticatedConnections.open == 4)
        // A client from the same address displaces one more and joins.
        let (alice, _) = try await server.join("alice", role: "host")
        #expect(try await alice.expectQuiet() == nil)
        #expect(await waitUntil(timeout: .seconds(10)) { sockets.filter(\.isClosed).count == 7 })
        #expect(server.server.unauthenticatedConnections.evicted == 7)
        let (_, metrics) = try await FingerprintClient.get(
            "/metrics", port: server.port, fingerprint: server.server.identity.fingerprint)
        #expect(metrics.contains(#"confab_connections_closed_total{reason="cap"} 7"#))
        // Authenticated, it no longer counts.
        #expect(await waitUntil(timeout: .seconds(10)) { server.server.unauthenticatedConnections.open == 3 })
        await server.stop()
    }
}

@Suite("Admission: what counts as one source")
struct SourceKeyTests {
    @Test("an IPv4 address is one source; IPv6 addresses group by /64; a mapped IPv4 address is its IPv4 self")
    func sources() throws {
        func key(_ address: String) throws -> String {
            ConnectionAdmission.sourceKey(try SocketAddress(ipAddress: address, port: 443))
        }
        #expect(try key("127.0.0.2") == "127.0.0.2")
        #expect(try key("127.0.0.2") != key("127.0.0.1"))
        #expect(try key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        #expect(try key("2001:db8:1:2::1") == "2001:0db8:0001:0002::/64")
        #expect(try key("2001:db8:1:2::1") != key("2001:db8:1:3::1"))
        #expect(try key("::ffff:10.0.0.1") != key("::ffff:10.0.0.2"))
    }
}

@Suite("Config file: [connections]")
struct ConnectionsConfigTests {
    @Test("the deadlines and caps are read from [connections]")
    func applied() throws {
        let file = try ConfigFile.parse(
            """
            [connections]
            tlsHandshakeTimeoutMs = 2000
            httpRequestTimeoutMs = 3000
            joinTimeoutMs = 4000
            maxUnauthenticated = 100
            maxUnauthenticatedPerSource = 10
            """, path: "confab.toml")
        var configuration = ServerConfiguration(dataDirectory: "/tmp/unused")
        file.apply(to: &configuration)
        var expected = AdmissionLimits()
        expected.tlsHandshakeTimeoutMs = 2_000
        expected.httpRequestTimeoutMs = 3_000
        expected.joinTimeoutMs = 4_000
        expected.maximumUnauthenticated = 100
        expected.maximumUnauthenticatedPerSource = 10
        #expect(configuration.admission == expected)
    }

    @Test("an out-of-range value is refused with its line")
    func refused() {
        let error = #expect(throws: ConfigError.self) {
            try ConfigFile.parse("[connections]\ntlsHandshakeTimeoutMs = 2000\njoinTimeoutMs = 0\n", path: "c.toml")
        }
        #expect(error?.description == "c.toml:3: connections.joinTimeoutMs must be 100...300000")
    }
}

/// A plain TCP connection to 127.0.0.1, closed when the value goes away.
final class LoopbackSocket {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ToolError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let error = String(cString: strerror(errno))
            close(descriptor)
            throw ToolError("connect: \(error)")
        }
    }

    deinit { close(descriptor) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Whether the server has closed the connection (end of stream or reset), now.
    var isClosed: Bool {
        var byte: UInt8 = 0
        let count = recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// Whether the server closed the connection (end of stream or reset) within `timeout`.
    func waitUntilClosed(timeout: Duration) async -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4_096)
        return await waitUntil(timeout: timeout) {
            while true {
                // Read whatever the server sent, until end of stream, an error or nothing more now.
                let count = buffer.withUnsafeMutableBytes {
                    recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
                }
                if count > 0 { continue }
                return count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
            }
        }
    }
}
