// The real `confab serve` in the test process: a free loopback port, a scratch
// data directory, the ServiceGroup that runs it, and tokens signed with its
// secret. The server tests (TestServer) and the end-to-end client tests
// (LiveServer) put their own defaults and helpers around this one start-up.

import ConfabProtocol
import ConfabServer
import ConfabTestSupport
import Foundation
import Logging
import ServiceLifecycle

public final class InProcessServer: Sendable {
    public let server: ConfabServer
    public let port: Int
    public let data: TempDirectory
    public let secret: [UInt8]
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// Starts a server on `configuration` (its port should be 0, its data
    /// directory `data`). Logs are silent unless CONFAB_TEST_LOG is set.
    /// The wait is generous: when the whole package's tests run, suites
    /// that block cooperative threads can stall every task for seconds.
    public static func start(
        configuration: ServerConfiguration, data: TempDirectory, label: String,
        listenTimeout: Duration = .seconds(90)
    ) async throws -> InProcessServer {
        var logger = Logger(label: label)
        logger.logLevel = ProcessInfo.processInfo.environment["CONFAB_TEST_LOG"] == nil ? .critical : .debug
        let server = try await ConfabServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [server], logger: logger))
        let task = Task { try await group.run() }
        guard let port = await server.waitUntilListening(timeout: listenTimeout) else {
            task.cancel()
            throw ToolError("the server did not start listening")
        }
        let secret =
            if let url = configuration.database {
                try await ClusterIdentity.load(url: url, createFor: nil, logger: logger).tokenSecret
            } else {
                try DataDirectory(path: data.path).tokenSecret(create: false)
            }
        return InProcessServer(server: server, port: port, data: data, secret: secret, group: group, task: task)
    }

    private init(
        server: ConfabServer, port: Int, data: TempDirectory, secret: [UInt8], group: ServiceGroup,
        task: Task<Void, any Error>
    ) {
        self.server = server
        self.port = port
        self.data = data
        self.secret = secret
        self.group = group
        self.task = task
    }

    /// Graceful shutdown, as on SIGTERM; returns when the server has stopped.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// The fingerprint `confab serve` prints.
    public var fingerprint: String { server.identity.fingerprint.description }

    /// A room token as `confab token` makes it; `secret` to forge one, a
    /// negative `ttlSeconds` for an expired one.
    public func token(
        room: String, user: String, role: String, name: String? = nil, ttlSeconds: Int64 = 3_600,
        secret: [UInt8]? = nil
    ) async throws -> String {
        let now = Int64(Date().timeIntervalSince1970)
        let claims = TokenClaims(
            room: RoomName(uncheckedRawValue: room), peer: PeerID(uncheckedRawValue: user), name: name,
            role: RoleName(uncheckedRawValue: role), issuedAt: now, expiresAt: now + ttlSeconds)
        return try await TokenAuthority(secret: secret ?? self.secret).sign(claims)
    }

    /// A user token as `confab token --user` makes it (presence and calls).
    public func userToken(_ user: String, name: String? = nil) async throws -> String {
        let now = Int64(Date().timeIntervalSince1970)
        let claims = TokenClaims(user: PeerID(uncheckedRawValue: user), name: name, issuedAt: now, expiresAt: now + 3_600)
        return try await TokenAuthority(secret: secret).sign(claims)
    }
}
