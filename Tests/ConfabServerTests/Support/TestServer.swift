// An in-process `confab serve` on a free loopback port, with a scratch data
// directory, short timers, and helpers to mint tokens and open clients.

import ConfabProtocol
import ConfabRooms
import ConfabServer
import ConfabServerTestSupport
import ConfabTestSupport
import Foundation
import NIOSSL
import Testing

final class TestServer: Sendable {
    private let running: InProcessServer
    var server: ConfabServer { running.server }
    var port: Int { running.port }
    var data: TempDirectory { running.data }
    var secret: [UInt8] { running.secret }

    /// Rooms use `template` (the built-in one with a 3 s resume grace by
    /// default); the sweeper runs every 50 ms. Test clients do not ping, so
    /// connections are dead only after 60 s of silence unless a test asks
    /// for less: when the whole suite runs, other tests can starve the
    /// cooperative thread pool (two threads here) for seconds, and on a slow
    /// host a client waiting through a whole case was once silent past 10 s.
    static func start(
        template: RoomTemplate = TestServer.template(),
        deadAfterMs: Int = 60_000,
        connectionRate: RateLimit = RateLimits.allMessages,
        data: TempDirectory? = nil,
        trackHealth: TrackHealthConfiguration = TrackHealthConfiguration(),
        host: String = "127.0.0.1",
        mediaHost: String? = nil,
        admission: AdmissionLimits = TestServer.admission,
        webhooks: WebhookSettings = WebhookSettings(),
        templates: [RoomName: RoomTemplate] = [:]
    ) async throws -> TestServer {
        let data = try data ?? TempDirectory(prefix: "confab-server-test")
        var configuration = ServerConfiguration(
            host: host, port: 0, dataDirectory: data.path, templates: templates, defaultTemplate: template,
            keepalive: KeepaliveInfo(pingIntervalMs: 200, deadAfterMs: deadAfterMs), sweepIntervalMs: 50,
            connectionRate: connectionRate)
        configuration.trackHealth = trackHealth
        configuration.mediaAdvertisedHost = mediaHost
        configuration.admission = admission
        configuration.webhooks = webhooks
        return TestServer(
            running: try await InProcessServer.start(configuration: configuration, data: data, label: "confab.test"))
    }

    private init(running: InProcessServer) {
        self.running = running
    }

    /// The deadlines as long as the dead-connection timer, for the same reason.
    static let admission: AdmissionLimits = {
        var limits = AdmissionLimits()
        limits.tlsHandshakeTimeoutMs = 10_000
        limits.httpRequestTimeoutMs = 10_000
        limits.joinTimeoutMs = 10_000
        return limits
    }()

    /// One server shared by the parameterised suites (each case uses its
    /// own room), so a matrix does not start dozens of servers at once.
    static let shared = Task { try await TestServer.start() }

    /// A room name no other test uses.
    static func uniqueRoom(_ prefix: String = "room") -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8))"
    }

    static func template(resumeGraceMs: Int = 3_000, emptyRoomTimeoutMs: Int = 60_000) -> RoomTemplate {
        var template = RoomTemplate.standard
        template.resumeGraceMs = resumeGraceMs
        template.emptyRoomTimeoutMs = emptyRoomTimeoutMs
        return template
    }

    /// Graceful shutdown, as on SIGTERM; returns when the server has stopped.
    func stop() async { await running.stop() }

    /// A token signed with this server's secret (`secret` to forge one).
    func token(
        room: String = "standup", user: String, role: String, name: String? = nil, ttlSeconds: Int64 = 3_600,
        secret: [UInt8]? = nil
    ) async throws -> String {
        try await running.token(room: room, user: user, role: role, name: name, ttlSeconds: ttlSeconds, secret: secret)
    }

    /// A user token (presence and calls).
    func userToken(_ user: String, name: String? = nil) async throws -> String {
        try await running.userToken(user, name: name)
    }

    /// A client connected to `/room` (not joined yet).
    /// `via`: the address to reach the server at (a literal; IPv6 without brackets).
    func connect(room: String = "standup", via host: String = "127.0.0.1") async throws -> RawClient {
        try await RawClient.connect(host: host, port: port, room: room, tls: pinnedTLS())
    }

    /// Connects and joins; returns the client and its `joined` reply.
    func join(
        _ user: String, role: String, room: String = "standup", muted: Bool = true, extra: String = "",
        via host: String = "127.0.0.1"
    ) async throws -> (RawClient, Joined) {
        let client = try await connect(room: room, via: host)
        let token = try await token(room: room, user: user, role: role, name: user.capitalized)
        client.send(
            #"{"v": 1, "type": "join", "id": "j1", "room": "\#(room)", "token": "\#(token)", "muted": \#(muted)\#(extra)}"#
        )
        let reply = try await client.next()
        guard case .joined(let joined) = reply.body else {
            throw ToolError("\(user) expected joined, got \(reply)")
        }
        return (client, joined)
    }

    /// Trusts exactly this server's certificate: the client-side pin. (The
    /// fingerprint check itself is in FingerprintClient.)
    func pinnedTLS() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(data.file("server-cert.pem")))
        tls.certificateVerification = .noHostnameVerification
        return tls
    }
}

extension TestServer {
    /// Alice as host and Bob as speaker in `standup`, once Alice has seen Bob join.
    func joinHostAndSpeaker(
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (alice: RawClient, bob: RawClient) {
        let (alice, bob, _) = try await joinHost(and: "bob", role: "speaker", sourceLocation: sourceLocation)
        return (alice, bob)
    }

    /// Alice as host, then `user` in `role`, once alice has seen them join;
    /// with `user`'s `joined` (its resume token).
    func joinHost(
        and user: String, role: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (alice: RawClient, other: RawClient, joined: Joined) {
        let (alice, _) = try await join("alice", role: "host")
        let (other, joined) = try await join(user, role: role)
        try await expectJoined(alice, [user], sourceLocation: sourceLocation)
        return (alice, other, joined)
    }
}

extension TestServer {
    /// Runs `body` with this server, then stops it, also when `body` throws.
    func run(_ body: (TestServer) async throws -> Void) async throws {
        do {
            try await body(self)
        } catch {
            await stop()
            throw error
        }
        await stop()
    }
}
