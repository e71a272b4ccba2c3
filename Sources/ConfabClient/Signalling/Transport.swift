// The session talks to the server through this small seam: open a
// connection, send text messages, read text messages until it closes. The
// real one is `WebSocketTransport` (TLS with a pinned certificate); tests use
// an in-memory fake server.

/// Opens connections to a room server.
public protocol SignallingTransport: Sendable {
    /// Opens a connection, or throws a `SessionError` (`.transport` for
    /// network failures, `.certificateRejected` when the pin does not match).
    func connect(to endpoint: ServerEndpoint) async throws(SessionError) -> any SignallingConnection
}

/// One open connection: one JSON message per text frame, both ways.
public protocol SignallingConnection: Sendable {
    /// The server's messages in order. Finishes when the connection closes
    /// (normally or not); a consumer reads it once.
    var incoming: AsyncStream<String> { get }
    /// Sends one message; throws `.connectionLost` when the connection is gone.
    func send(_ text: String) async throws(SessionError)
    /// Closes the connection (a normal WebSocket close); `incoming` then finishes.
    func close() async
}
