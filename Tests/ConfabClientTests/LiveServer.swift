// The real room server in-process for the end-to-end tests: `confab serve`
// on a free loopback port with a scratch data directory and short timers,
// plus what a test needs around it — tokens signed with its secret (or
// forged), its certificate fingerprint, and a transport whose connections a
// test can cut or freeze.
//
//   test ─▶ LiveServer.start ─▶ ConfabServer (ServiceGroup task) ─▶ wss://127.0.0.1:PORT/ROOM
//   test ─▶ LiveSession.session(…, transport: CuttableTransport) ─▶ WebSocketTransport (pinned)

import ConfabClient
import ConfabProtocol
import ConfabRooms
import ConfabServer
import ConfabServerTestSupport
import ConfabTestSupport
import Foundation
import Logging
import Synchronization

final class LiveServer: Sendable {
    private let running: InProcessServer
    var server: ConfabServer { running.server }
    var port: Int { running.port }
    var data: TempDirectory { running.data }

    /// `deadAfterMs`: silence after which a connection is dropped (clients
    /// ping every quarter of it). `resumeGraceMs`: how long a dropped peer's
    /// session is kept.
    static func start(
        deadAfterMs: Int = 10_000, resumeGraceMs: Int = 15_000, template: RoomTemplate = .standard,
        mediaBindingTimeoutMs: Int = 20_000, calls: CallSettings = CallSettings()
    ) async throws -> LiveServer {
        let data = try TempDirectory(prefix: "confab-e2e")
        var template = template
        template.resumeGraceMs = resumeGraceMs
        var configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, dataDirectory: data.path, defaultTemplate: template,
            keepalive: KeepaliveInfo(pingIntervalMs: max(50, deadAfterMs / 4), deadAfterMs: deadAfterMs),
            sweepIntervalMs: 50)
        configuration.mediaBindingTimeoutMs = mediaBindingTimeoutMs
        configuration.calls = calls
        return LiveServer(
            running: try await InProcessServer.start(
                configuration: configuration, data: data, label: "confab.e2e.server", listenTimeout: .seconds(60)))
    }

    private init(running: InProcessServer) {
        self.running = running
    }

    /// Graceful shutdown, as on SIGTERM; returns when the server has stopped.
    func stop() async { await running.stop() }

    /// The fingerprint `confab serve` prints.
    var fingerprint: String { running.fingerprint }

    func url(_ room: String) -> String { "wss://127.0.0.1:\(port)/\(room)" }

    /// A token as `confab token` makes it; `secret` to forge one, a
    /// negative `ttlSeconds` for an expired one.
    func token(
        room: String, user: String, role: String, name: String? = nil, ttlSeconds: Int64 = 3_600,
        secret: [UInt8]? = nil
    ) async throws -> String {
        try await running.token(room: room, user: user, role: role, name: name, ttlSeconds: ttlSeconds, secret: secret)
    }

    /// A user token as `confab token --user` makes it (presence and calls).
    func userToken(_ user: String, name: String? = nil) async throws -> String {
        try await running.userToken(user, name: name)
    }

    /// `wss://127.0.0.1:PORT`: the server root, where users go online.
    var serverURL: String { "wss://127.0.0.1:\(port)" }

    /// A call client for `user` (not connected yet), pinned to this server's certificate.
    func callClient(
        _ user: String, prepareRoom: CallClient.RoomPreparation? = nil
    ) async throws -> CallClient {
        try CallClient(
            url: serverURL, token: try await userToken(user, name: user.capitalized), fingerprint: fingerprint,
            knownServersPath: nil, prepareRoom: prepareRoom)
    }

    /// A session of `user`, joined to `room` with `role` (its token names no display name).
    func joined(room: String, user: String, role: String) async throws -> ConfabSession {
        try await LiveSession.join(
            url: url(room), token: try await token(room: room, user: user, role: role), fingerprint: fingerprint)
    }

    /// A session for `user` (not joined yet), pinned to this server's
    /// certificate, over `transport` (a fresh cuttable one by default).
    func session(
        room: String, user: String, role: String, transport: CuttableTransport? = nil, fingerprint: String? = nil,
        receives: AudioPayloadFormats = .all
    ) async throws -> ConfabSession {
        let token = try await token(room: room, user: user, role: role, name: user.capitalized)
        return try LiveSession.session(
            url: url(room), token: token, fingerprint: fingerprint ?? self.fingerprint,
            reconnect: LiveSession.testReconnect, transport: transport, receives: receives)
    }
}

/// A transport over the real pinned WebSocketTransport whose current
/// connection a test can cut (closed at once, as when a network drops) or
/// freeze (nothing more goes either way and nothing is closed, as when a
/// process hangs or a cable is pulled), and which can refuse new connections
/// for a while.
final class CuttableTransport: SignallingTransport {
    private let inner: any SignallingTransport
    private let state = Mutex<(current: CuttableConnection?, refusing: Bool, connects: Int)>((nil, false, 0))
    /// Server messages of these types never reach the session (see `withhold`).
    let withheld = WithheldMessages()

    init(inner: any SignallingTransport) {
        self.inner = inner
    }

    /// How many connections were opened.
    var connectCount: Int { state.withLock { $0.connects } }

    func connect(to endpoint: ServerEndpoint) async throws(SessionError) -> any SignallingConnection {
        if state.withLock({ $0.refusing }) { throw .transport("the test refuses connections") }
        let connection = CuttableConnection(try await inner.connect(to: endpoint), withheld: withheld)
        state.withLock {
            $0.current = connection
            $0.connects += 1
        }
        if endpoint.room == nil { serverRoot.withLock { $0 = connection } }
        return connection
    }

    /// The latest connection to the server root (a CallClient's presence connection).
    private let serverRoot = Mutex<CuttableConnection?>(nil)

    /// Closes the latest server-root connection, leaving room connections alone.
    func cutServerRoot() async {
        await serverRoot.withLock { $0 }?.cut()
    }
    /// Drops every server message of `type` (say `keys`) before the session
    /// sees it, from now on, on this and later connections.
    func withhold(_ type: String) { withheld.add(type) }

    /// New connections fail with a (retryable) transport error until `allowConnections`.
    func refuseConnections() { state.withLock { $0.refusing = true } }
    func allowConnections() { state.withLock { $0.refusing = false } }

    /// Closes the current connection under the session's feet.
    func cut() async {
        await state.withLock { $0.current }?.cut()
    }

    /// Stops all traffic on the current connection, both ways, without closing it.
    func freeze() {
        state.withLock { $0.current }?.freeze()
    }
}

final class CuttableConnection: SignallingConnection {
    let incoming: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let inner: any SignallingConnection
    private let frozen = Flag()

    init(_ inner: any SignallingConnection, withheld: WithheldMessages) {
        self.inner = inner
        (incoming, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        let continuation = self.continuation
        let frozen = self.frozen
        Task {
            for await text in inner.incoming where !frozen.isSet {
                if withheld.takes(text) { continue }
                continuation.yield(text)
            }
            // A frozen connection never tells the session it closed.
            if !frozen.isSet { continuation.finish() }
        }
    }

    func send(_ text: String) async throws(SessionError) {
        guard !frozen.isSet else { return }
        try await inner.send(text)
    }

    func close() async {
        guard !frozen.isSet else { return }
        await inner.close()
    }

    func cut() async {
        continuation.finish()
        await inner.close()
    }

    func freeze() {
        frozen.set()
    }
}

/// Server message types a test keeps from the session, and how many it kept.
final class WithheldMessages: Sendable {
    private let state = Mutex<(types: Set<String>, count: Int)>(([], 0))

    func add(_ type: String) { state.withLock { _ = $0.types.insert(type) } }

    /// How many messages were kept from the session so far.
    var count: Int { state.withLock { $0.count } }

    /// Whether `text` (one JSON message) is of a withheld type; counts it if so.
    func takes(_ text: String) -> Bool {
        guard state.withLock({ !$0.types.isEmpty }),
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let type = object["type"] as? String
        else { return false }
        return state.withLock { state in
            guard state.types.contains(type) else { return false }
            state.count += 1
            return true
        }
    }
}

/// A flag set once, read from any task.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

struct E2EError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
