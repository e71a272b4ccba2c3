import ConfabProtocol

/// Why a session request or the session itself failed.
///
/// A refusal from the server keeps its catalog code (`code`) and message;
/// everything else is a client-side condition with no catalog number.
public enum SessionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The server refused the request with a catalog error.
    case server(CodedError)
    /// No reply came within the request timeout.
    case timedOut(request: ClientMessageType, afterMs: Int)
    /// The request was not sent: the session is not connected (not joined
    /// yet, reconnecting, or over).
    case notConnected
    /// The connection dropped before the reply came. The request may or may
    /// not have taken effect.
    case connectionLost
    /// The connection could not be opened (DNS, refused, TLS handshake, …).
    case transport(String)
    /// The server's certificate did not match the pinned fingerprint or the
    /// one recorded in known_servers. Never retried.
    case certificateRejected(String)
    /// The server sent something this client cannot accept (another
    /// protocol version, a reply of the wrong type).
    case protocolViolation(String)
    /// The caller passed something unusable (a malformed URL, an empty name).
    case invalidArgument(String)

    /// The catalog code, for refusals from the server.
    public var code: ErrorCode? {
        if case .server(let error) = self { return error.code }
        return nil
    }

    /// A short stable name for the kind of failure (the headless client's `kind`).
    public var kind: String {
        switch self {
        case .server: "server"
        case .timedOut: "timeout"
        case .notConnected: "notConnected"
        case .connectionLost: "connectionLost"
        case .transport: "transport"
        case .certificateRejected: "certificate"
        case .protocolViolation: "protocol"
        case .invalidArgument: "invalidArgument"
        }
    }

    /// For people, one line.
    public var message: String {
        switch self {
        case .server(let error): error.message
        case .timedOut(let request, let afterMs): "no reply to \(request.rawValue) within \(afterMs) ms"
        case .notConnected: "not connected to the room"
        case .connectionLost: "the connection dropped before the reply came"
        case .transport(let detail): detail
        case .certificateRejected(let detail): detail
        case .protocolViolation(let detail): detail
        case .invalidArgument(let detail): detail
        }
    }

    public var description: String {
        if let code { return "\(code.rawValue) \(message)" }
        return message
    }

    /// When the server said the same request would be let through (a rate
    /// limit's `retryAfterMs`), in milliseconds from its refusal.
    public var retryAfterMs: Int? {
        if case .server(let error) = self { return error.retryAfterMs }
        return nil
    }

    /// The message as a person reads it: with a rate limit's wait, in whole
    /// seconds rounded up, when the server gave one.
    public var messageWithWait: String {
        guard let waitMs = IncomingText.wait(retryAfterMs) else { return message }
        return "\(message); retry in \(max(1, (waitMs + 999) / 1_000)) s"
    }

    /// Whether trying again later might work (used by reconnection: a
    /// refused token or a changed certificate will not fix themselves).
    var isRetryable: Bool {
        switch self {
        case .server(let error):
            switch error.code.area {
            case .authentication: error.code == .resumeRejected
            case .server: true
            case .roomState: error.code == .roomFull || error.code == .joinsRateLimited
            default: false
            }
        case .timedOut, .connectionLost, .transport, .notConnected: true
        case .certificateRejected, .protocolViolation, .invalidArgument: false
        }
    }
}

extension SessionError {
    /// A reply of the wrong kind for its request.
    static func unexpected(_ reply: ServerBody, for request: ClientMessageType) -> SessionError {
        .protocolViolation("the server answered \(request.rawValue) with \(reply.type.rawValue)")
    }
}
