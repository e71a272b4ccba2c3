import ConfabClient
import ConfabProtocol
import Foundation
import Synchronization

// An in-memory room server for session tests: speaks the protocol through
// the SignallingTransport seam, with a small default behaviour (join, resume,
// chat, ping, ok for the rest) that a test can override per message type.

enum Fixture {
    static let t0 = Timestamp(millisecondsSince1970: 1_763_000_000_000)
    static let host = Role(
        name: "host", priority: 100, publishAudio: true, subscribesTo: ["host", "speaker"], chat: .all,
        permissions: .all)
    static let listener = Role(
        name: "listener", priority: 10, publishAudio: false, subscribesTo: ["host"],
        chat: ChatPermissions(broadcast: true, toRoles: true, direct: false),
        permissions: RolePermissions(
            muteOthers: false, askToUnmute: false, changeRoles: false, removePeers: false, endRoom: false,
            raiseHand: true))
    static let room = RoomInfo(name: "standup", startedAt: t0, roles: [host, listener])

    static func peer(_ id: PeerID, role: RoleName = "host", name: String? = nil, joinedAt: Int = 0) -> PeerInfo {
        PeerInfo(
            id: id, name: name ?? id.rawValue.capitalized, role: role, joinedAt: t0.adding(milliseconds: joinedAt),
            tracks: role == "host" ? [TrackInfo(id: TrackID.microphone(of: id), muted: true)] : [])
    }

    static func message(_ seq: Int, from: PeerID = "bob", text: String? = nil, target: ChatTarget = .broadcast)
        -> ChatMessage
    {
        ChatMessage(
            id: MessageID(uncheckedRawValue: "m\(seq)"), seq: seq, sentAt: t0.adding(milliseconds: seq), from: from,
            fromName: from.rawValue.capitalized, fromRole: "host", target: target, text: text ?? "message \(seq)")
    }

    static func joined(
        you: PeerInfo = peer("alice"), peers: [PeerInfo] = [peer("bob", joinedAt: -10)], history: [ChatMessage] = [],
        hasMore: Bool = false, resumed: Bool = false, token: String = "rt-1",
        keepalive: KeepaliveInfo = KeepaliveInfo()
    ) -> Joined {
        Joined(
            room: room, you: you, peers: peers, history: ChatPage(messages: history, hasMore: hasMore),
            joinedAt: t0, joinTimeMs: 2, resumed: resumed, reconnect: ReconnectInfo(resumeToken: token),
            keepalive: keepalive)
    }

    static func configuration(
        reconnect: ReconnectPolicy = ReconnectPolicy(
            initialDelayMs: 20, maximumDelayMs: 80, multiplier: 2, jitter: 0, giveUpAfterMs: 2_000),
        requestTimeoutMs: Int = 2_000
    ) -> SessionConfiguration {
        var configuration = SessionConfiguration(
            endpoint: ServerEndpoint(host: "127.0.0.1", port: 7443, room: "standup"), token: "token-alice")
        configuration.reconnect = reconnect
        configuration.requestTimeoutMs = requestTimeoutMs
        return configuration
    }
}

/// What the fake server does with one client message: the messages to send back.
typealias FakeHandler = @Sendable (ClientMessage, FakeServer) -> [ServerMessage]

final class FakeServer: SignallingTransport, Sendable {
    private struct State {
        var connections: [FakeConnection] = []
        var received: [ClientMessage] = []
        var connectTimes: [ContinuousClock.Instant] = []
        var refuseNextConnections = 0
        var refusal = SessionError.transport("connection refused (fake)")
        var handlers: [ClientMessageType: FakeHandler] = [:]
        var log: [ChatMessage] = []
        var validResumeTokens: Set<String> = []
        var tokenCounter = 0
        var joinedTemplate = Fixture.joined()
    }

    private let state = Mutex(State())
    private let codec = ProtocolCodec()

    init() {}

    // MARK: Test controls

    /// Every message the clients sent, in order.
    var received: [ClientMessage] { state.withLock { $0.received } }
    var receivedTypes: [ClientMessageType] { received.map(\.type) }
    /// Messages of `type` received so far; in a handler, the one it handles included.
    func count(_ type: ClientMessageType) -> Int { received.lazy.filter { $0.type == type }.count }
    var connectTimes: [ContinuousClock.Instant] { state.withLock { $0.connectTimes } }
    var connectionCount: Int { state.withLock { $0.connections.count } }
    var current: FakeConnection? { state.withLock { $0.connections.last } }
    /// Every connection opened, oldest first.
    var connections: [FakeConnection] { state.withLock { $0.connections } }

    /// The next `count` connections fail with `refusal` (a refused TCP connection by default).
    func refuseConnections(_ count: Int, with refusal: SessionError = .transport("connection refused (fake)")) {
        state.withLock { state in
            state.refuseNextConnections = count
            state.refusal = refusal
        }
    }
    func handle(_ type: ClientMessageType, with handler: @escaping FakeHandler) {
        state.withLock { $0.handlers[type] = handler }
    }
    func setJoined(_ joined: Joined) { state.withLock { $0.joinedTemplate = joined } }
    func forgetSessions() { state.withLock { $0.validResumeTokens = [] } }
    func appendToLog(_ messages: [ChatMessage]) { state.withLock { $0.log += messages } }

    /// Sends an event on the current connection.
    func push(_ body: ServerBody) { current?.deliver(ServerMessage(body)) }

    /// Drops the current connection without a close handshake.
    func drop() { current?.finish() }

    // MARK: SignallingTransport

    func connect(to endpoint: ServerEndpoint) async throws(SessionError) -> any SignallingConnection {
        let refusal: SessionError? = state.withLock { state in
            state.connectTimes.append(ContinuousClock.now)
            guard state.refuseNextConnections > 0 else { return nil }
            state.refuseNextConnections -= 1
            return state.refusal
        }
        if let refusal { throw refusal }
        let connection = FakeConnection(server: self)
        state.withLock { $0.connections.append(connection) }
        return connection
    }

    // MARK: Behaviour

    fileprivate func receive(_ text: String, on connection: FakeConnection) {
        guard let message = try? codec.decode(Data(text.utf8), as: ClientMessage.self) else { return }
        let handler = state.withLock { state in
            state.received.append(message)
            return state.handlers[message.type]
        }
        let replies = handler.map { $0(message, self) } ?? defaultReplies(to: message)
        for reply in replies { connection.deliver(reply) }
        if replies.contains(where: { if case .error(let error) = $0.body { error.code.closesConnection } else { false } })
        {
            connection.finish()
        }
        if case .leave = message.body { connection.finish() }
    }

    /// A fresh resume token the server will accept once.
    func issueToken() -> String {
        state.withLock { state in
            state.tokenCounter += 1
            let token = "rt-\(state.tokenCounter)"
            state.validResumeTokens.insert(token)
            return token
        }
    }

    func defaultReplies(to message: ClientMessage) -> [ServerMessage] {
        switch message.body {
        case .join:
            var joined = state.withLock { $0.joinedTemplate }
            joined.reconnect = ReconnectInfo(resumeToken: issueToken())
            let log = state.withLock { $0.log }
            if !log.isEmpty { joined.history = ChatPage(messages: Array(log.suffix(50)), hasMore: log.count > 50) }
            return [ServerMessage(id: message.id, .joined(joined))]
        case .resume(let request):
            let accepted = state.withLock { $0.validResumeTokens.remove(request.resumeToken) != nil }
            guard accepted else {
                return [ServerMessage(id: message.id, .error(CodedError(.resumeRejected, "resume token unknown")))]
            }
            var joined = state.withLock { $0.joinedTemplate }
            joined.resumed = true
            joined.reconnect = ReconnectInfo(resumeToken: issueToken())
            let missed = state.withLock { $0.log }.filter { $0.seq > request.lastSeenSequence }
            joined.history = ChatPage(messages: missed, hasMore: false)
            return [ServerMessage(id: message.id, .joined(joined))]
        case .sendChat(let request):
            let posted: ChatMessage = state.withLock { state in
                let seq = (state.log.last?.seq ?? 0) + 1
                let posted = ChatMessage(
                    id: MessageID(uncheckedRawValue: "m\(seq)"), seq: seq, sentAt: Fixture.t0.adding(milliseconds: seq),
                    from: "alice", fromName: "Alice", fromRole: "host", target: request.target, text: request.text)
                state.log.append(posted)
                return posted
            }
            return [
                ServerMessage(.chatMessage(posted)),
                ServerMessage(id: message.id, .chatAck(ChatAck(message: posted.id, seq: posted.seq, sentAt: posted.sentAt))),
            ]
        case .fetchHistory(let request):
            let log = state.withLock { $0.log }
            let page: [ChatMessage]
            let hasMore: Bool
            if let after = request.after {
                let newer = log.filter { $0.seq > after }
                page = Array(newer.prefix(request.limit))
                hasMore = newer.count > request.limit
            } else {
                let older = log.filter { $0.seq < (request.before ?? Int.max) }
                page = Array(older.suffix(request.limit))
                hasMore = older.count > request.limit
            }
            return [ServerMessage(id: message.id, .chatPage(ChatPage(messages: page, hasMore: hasMore)))]
        case .ping:
            return [ServerMessage(id: message.id, .pong(Pong(serverTime: Fixture.t0)))]
        default:
            return [ServerMessage(id: message.id, .ok(OkReply()))]
        }
    }
}

final class FakeConnection: SignallingConnection {
    let incoming: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let server: FakeServer
    private let codec = ProtocolCodec()
    private let closed = Mutex(false)

    fileprivate init(server: FakeServer) {
        self.server = server
        (incoming, continuation) = AsyncStream<String>.makeStream()
    }

    var isClosed: Bool { closed.withLock { $0 } }

    func deliver(_ message: ServerMessage) {
        continuation.yield(String(decoding: codec.encode(message), as: UTF8.self))
    }

    /// Delivers raw text (for malformed-input tests).
    func deliver(raw text: String) {
        continuation.yield(text)
    }

    func finish() {
        closed.withLock { $0 = true }
        continuation.finish()
    }

    func send(_ text: String) async throws(SessionError) {
        guard !isClosed else { throw .connectionLost }
        server.receive(text, on: self)
    }

    func close() async {
        finish()
    }
}
