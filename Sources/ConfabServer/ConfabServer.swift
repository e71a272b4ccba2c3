// `confab serve`: one TLS port for WebSocket signalling and plain HTTP.
//
//   TCP :7443 ─▶ TLS ─▶ HTTP/1.1 ─┬─ Upgrade: websocket, GET /ROOM ─▶ SignalingConnection ─▶ RoomRegistry ─▶ RoomHost
//                                 ├─ Upgrade: websocket, GET / ─▶ SignalingConnection (presence) ─▶ CallManager
//                                 ├─ GET /healthz ─▶ "ok"
//                                 ├─ GET /metrics ─▶ Prometheus text
//                                 └─ /api/v1/… ─▶ AdminAPI (the management API, admin token)
//   UDP :media port ─▶ MediaPlane (own thread): STUN binding, SFU forwarding (Media/)
//
// Routing is by the Upgrade header (RFC 6455 §4.2.1), not by reserved names:
// a WebSocket upgrade to any valid room name is signalling (even a room
// called "metrics"), and plain HTTP requests go to the HTTP routes.
//
// Until a connection has joined (or connected), ConnectionAdmission bounds it: deadlines
// for the TLS handshake, the HTTP request head and the first join, and caps on
// how many such connections there may be (ConnectionAdmission.swift).
//
// Shutdown (swift-service-lifecycle): on graceful shutdown the server first
// tells every peer `server.goingAway` and closes its WebSocket with 1001,
// closes the connections that never authenticated, then shuts the HTTP server
// down gracefully (no cancellation: Hummingbird logs a cancelled accept loop
// as an error), then checkpoints and closes the database. The Hummingbird
// application runs in its own service group on purpose: inside the service's
// task it would inherit the graceful-shutdown signal and start closing
// WebSockets with 1000 before the peers had been told why.

import ConfabProtocol
import ConfabRooms
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

public final class ConfabServer: Service, Sendable {
    public let configuration: ServerConfiguration
    public let identity: ServerIdentity
    public let metrics: ServerMetrics
    let store: any ServerStore
    let registry: RoomRegistry
    let authority: TokenAuthority
    /// Admin tokens, for the management API (/api/v1/, Admin/).
    let adminAuthority: AdminTokenAuthority
    let adminAudit: AdminAuditLog
    /// Presence and calls (the server-root connection).
    let calls: CallManager
    /// The UDP media port: STUN binding and forwarding, on its own thread.
    public let media: MediaPlane
    private let logger: Logger
    let admission: ConnectionAdmission
    private let boundPort = PortBox()
    /// A cluster node's room leases (nil for a single server).
    private let placement: RoomPlacement?
    /// This node's row in the cluster's node table (with `--database`).
    let node: NodeRegistration?
    private let onListening: @Sendable (Int) -> Void

    /// Prepares the storage (the data directory, or PostgreSQL with
    /// `configuration.database`: ServerStorage.swift) and the server; nothing
    /// listens until `run`.
    public init(
        configuration: ServerConfiguration, logger: Logger = Logger(label: "confab.server"),
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws(SetupError) {
        let storage = try await ServerStorage.open(configuration, logger: logger)
        store = storage.store
        try await Self.prepareMeetingCodes(in: storage.store)
        try await Self.prepareSharedState(in: storage.store)
        identity = storage.identity
        authority = await TokenAuthority(secret: storage.tokenSecret)
        adminAuthority = await AdminTokenAuthority(secret: storage.tokenSecret)
        metrics = ServerMetrics()
        do {
            media = try MediaPlane(configuration: configuration.mediaPlane, logger: logger)
        } catch {
            store.close()
            throw SetupError("cannot open the UDP media port: \(error.description)")
        }
        if let cluster = storage.cluster {
            do {
                node = try await NodeRegistration.claim(
                    id: configuration.nodeID ?? NodeSettings.defaultID(port: configuration.port),
                    advertisedURL: NodeSettings.advertisedURL(configuration, boundPort: nil), store: cluster, logger: logger)
            } catch {
                media.stop()
                store.close()
                throw error
            }
        } else {
            node = nil
        }
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
        adminAudit = AdminAuditLog(path: DataDirectory(path: configuration.dataDirectory).adminAuditLogPath, logger: logger)
        admission = ConnectionAdmission(limits: configuration.admission, metrics: metrics, logger: logger)
        placement = node.flatMap { node in
            storage.cluster.map { RoomPlacement(node: node.id, store: $0, logger: logger) }
        }
        registry = RoomRegistry(
            configuration: configuration, store: store, metrics: metrics, media: media, callRooms: CallRoomDirectory(),
            logger: logger)
        calls = CallManager(
            configuration: configuration.calls, keepalive: configuration.keepalive, authority: authority, store: store,
            registry: registry, metrics: metrics, logger: logger)
        if let node, let cluster = storage.cluster, let placement {
            await registry.attach(placement)
            await calls.attach(
                PresenceRelay(node: node.id, store: cluster, calls: calls, logger: logger), nodes: { placement.nodeURLs },
                refresh: { await placement.refreshNodes() })
        }
    }

    /// What the call manager tracks, counted: all zero on an idle server.
    public func callBookkeeping() async -> CallBookkeeping {
        await calls.bookkeeping()
    }

    /// The media figures (levels, loss, jitter, forwarded packets) of one
    /// room's peers, as of the media thread's last 100 ms tick.
    public func mediaReports(room: RoomName) async -> [PeerID: MediaPeerReport] {
        await registry.mediaReports(room: room)
    }

    /// The port the server listens on, once it does.
    public var port: Int? { boundPort.value }

    /// Waits until the server listens; nil if it did not within `timeout`.
    public func waitUntilListening(timeout: Duration = .seconds(10)) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let port { return port }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Connections not yet authenticated, and how many were closed for a
    /// passed deadline or to make room, since start.
    public var unauthenticatedConnections: (open: Int, evicted: Int, timedOut: Int) {
        let counts = admission.counts
        return (counts.unauthenticated, counts.evicted, counts.timedOut)
    }

    public func run() async throws {
        let application = try makeApplication()
        let applicationGroup = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [application], logger: logger))
        let applicationTask = Task.detached { try await applicationGroup.run() }
        media.start()
        defer {
            media.stop()
            store.close()
        }
        try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Returns when the application stops: on its own (an error
                    // such as a port in use) or cancelled after shutdown.
                    try await applicationTask.value
                }
                // The room timers rest while no room is live (an idle server
                // does not wake up); the first room to open starts them.
                group.addTask { [registry, configuration] in
                    while true {
                        try await registry.waitForLiveRoom()
                        try await Task.sleep(for: .milliseconds(configuration.sweepIntervalMs))
                        await registry.sweep()
                    }
                }
                group.addTask { [registry, configuration] in
                    while true {
                        try await registry.waitForLiveRoom()
                        try await Task.sleep(for: .milliseconds(configuration.speakersIntervalMs))
                        await registry.publishSpeakers()
                    }
                }
                if registry.webhooks.isEnabled {
                    // Posts room and call events to the webhooks, until cancelled.
                    group.addTask { [registry] in await registry.webhooks.run() }
                }
                group.addTask { [calls] in
                    // Call rooms' membership, and ring timeouts when they fall due.
                    await calls.run()
                }
                if let node {
                    group.addTask { try await self.heartbeat(node) }
                }
                group.addTask { [registry, calls, admission, logger, node] in
                    try await gracefulShutdown()
                    logger.info("shutting down: telling peers")
                    let notice = ServerGoingAway(reason: "the server is shutting down", retryAfterMs: 3_000)
                    await calls.shutDown(notice)
                    await registry.shutDown()
                    // Give the writers a moment to send goingAway and the close frames.
                    let deadline = ContinuousClock.now + .seconds(3)
                    while await registry.connectionCount() + calls.connectionCount > 0, ContinuousClock.now < deadline {
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                    admission.closeAll()
                    await node?.release(await registry.placement)
                    await applicationGroup.triggerGracefulShutdown()
                    // Quiescing waits for every open connection. One that came in
                    // meanwhile (a client reconnecting at once) will not be
                    // admitted now: close it rather than wait for its deadline.
                    // This task is cancelled when the application has stopped.
                    let cutoff = ContinuousClock.now + .seconds(5)
                    while !Task.isCancelled, ContinuousClock.now < cutoff {
                        try? await Task.sleep(for: .milliseconds(50))
                        admission.closeAll()
                    }
                    if !Task.isCancelled { applicationTask.cancel() }
                }
                do {
                    try await group.next()
                } catch is CancellationError {
                    // The application was cancelled after a graceful shutdown.
                }
                group.cancelAll()
            }
        } onCancel: {
            applicationTask.cancel()
        }
        logger.info("stopped")
    }

    private func makeApplication() throws -> some ApplicationProtocol {
        // HEAD wherever GET is (RFC 9110 §9.3.2): /healthz, /metrics, the API's reads.
        let router = Router(context: AdminRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.get("healthz") { _, _ -> String in
            "ok\n"
        }
        router.get("metrics") { [metrics, media, node] _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(
                        string: ServerMetrics.labelled(metrics.render(media: media.statistics), node: node?.id))))
        }
        var admin = AdminAPI(
            registry: registry, calls: calls, store: store, authority: adminAuthority, tokens: authority,
            configuration: configuration, audit: adminAudit,
            nodeID: { [node, configuration, boundPort] in
                node?.id ?? configuration.nodeID ?? NodeSettings.defaultID(port: boundPort.value ?? configuration.port)
            })
        if let node, let placement {
            admin.cluster = AdminClusterForwarder(
                node: node.id, placement: placement, identity: identity,
                ownURL: { [configuration, boundPort] in NodeSettings.advertisedURL(configuration, boundPort: boundPort.value) })
        }
        admin.register(on: router)
        let webSocket = WebSocketServerConfiguration(
            maxFrameSize: configuration.maximumFrameBytes,
            // Liveness is the protocol's JSON ping (PROTOCOL.md, keepalive);
            // WebSocket pings would not tell the room anything more.
            autoPing: .disabled,
            closeTimeout: .seconds(2))
        let connection = ConnectionContext(
            registry: registry, calls: calls, authority: authority, configuration: configuration, metrics: metrics,
            admission: admission,
            watch: ConnectionWatch(
                joinTimeoutMs: configuration.admission.joinTimeoutMs, deadAfterMs: configuration.keepalive.deadAfterMs,
                admission: admission),
            logger: logger)
        let shouldUpgrade:
            @Sendable (HTTPRequest, any Channel, Logger) async throws -> ShouldUpgradeResult<
                WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>
            > = { request, channel, _ in
                // The path is the room: "/standup" (a query string is ignored).
                let path = (request.path ?? "").split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
                // "/" is the presence connection: no room name is empty.
                let room = RoomName(rawValue: String(path.dropFirst()))
                guard path.hasPrefix("/"), room != nil || path == "/" else {
                    return .dontUpgrade
                }
                // The address the client reached: its media goes there too (a wildcard bind).
                let localAddress = channel.localAddress?.ipAddress
                return .upgrade([:]) { inbound, outbound, _ in
                    var signalling = connection.connection(for: room, channel: channel)
                    signalling.localAddress = localAddress
                    await signalling.run(inbound: inbound, outbound: outbound)
                }
            }
        let server = HTTPServerBuilder { [identity, admission] responder in
            try AdmittedTLSChannel(
                HTTP1WebSocketUpgradeChannel(
                    responder: responder, configuration: .init(ws: webSocket), shouldUpgrade: shouldUpgrade),
                tlsConfiguration: identity.tlsConfiguration, admission: admission)
        }
        let onListening = onListening
        return Application(
            router: router,
            server: server,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil,
                availableConnectionsDelegate: DescriptorBudget()),
            onServerRunning: { [boundPort] channel in
                let port = channel.localAddress?.port ?? 0
                boundPort.set(port)
                onListening(port)
            },
            logger: logger)
    }
}

/// What every connection shares.
struct ConnectionContext: Sendable {
    let registry: RoomRegistry
    let calls: CallManager
    let authority: TokenAuthority
    let configuration: ServerConfiguration
    let metrics: ServerMetrics
    let admission: ConnectionAdmission
    /// The join and keepalive deadlines of every connection.
    let watch: ConnectionWatch
    let logger: Logger

    func connection(for room: RoomName?, channel: any Channel) -> SignalingConnection {
        var logger = logger
        logger[metadataKey: "room"] = "\(room?.rawValue ?? "/")"
        return SignalingConnection(pathRoom: room, shared: self, channel: channel, logger: logger)
    }
}

/// The port once bound, read by `waitUntilListening`.
private final class PortBox: Sendable {
    private let port = Mutex<Int?>(nil)
    var value: Int? { port.withLock { $0 } }
    func set(_ value: Int) { port.withLock { $0 = value } }
}

extension ConfabServer {
    /// Runs until SIGINT or SIGTERM, then shuts down gracefully (`confab serve`).
    public func runUntilSignalled() async throws {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Log lines go to stderr (stdout is for what the command prints), at
    /// `info`, or `debug` when verbose. Call once per process.
    public static func bootstrapLogging(verbose: Bool) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .debug : .info
            return handler
        }
    }
}
