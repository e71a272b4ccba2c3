// The session talks to the server through this small seam: open a
// connection, send text messages, read text messages until it closes. The
// real one is `WebSocketTransport` (TLS with a pinned certificate); tests use
// an in-memory fake server.

import ConfabProtocol

/// Opens connections to a room server.
public protocol SignallingTransport: Sendable {
    /// Opens a connection, or throws a `SessionError` (`.transport` for
    /// network failures, `.certificateRejected` when the pin does not match).
    func connect(to endpoint: ServerEndpoint) async throws(SessionError) -> any SignallingConnection
    /// The same, accepting only a certificate with this fingerprint when one
    /// is given: another node of the cluster the session already trusts (one
    /// identity, one certificate), reached by a redirect or on reconnection.
    func connect(to endpoint: ServerEndpoint, pinning fingerprint: CertificateFingerprint?) async throws(SessionError)
        -> any SignallingConnection
}

extension SignallingTransport {
    /// Transports without certificates (in-memory ones) ignore the pin.
    public func connect(to endpoint: ServerEndpoint, pinning fingerprint: CertificateFingerprint?)
        async throws(SessionError) -> any SignallingConnection
    {
        try await connect(to: endpoint)
    }
}

/// A transport that holds every connection to the certificate a cluster
/// already presented: a call's room joined through a node other than the URL
/// given (that node died) is held to the identity the presence connection trusted.
struct ClusterPinnedTransport: SignallingTransport {
    let base: any SignallingTransport
    let fingerprint: CertificateFingerprint

    func connect(to endpoint: ServerEndpoint) async throws(SessionError) -> any SignallingConnection {
        try await base.connect(to: endpoint, pinning: fingerprint)
    }

    func connect(to endpoint: ServerEndpoint, pinning fingerprint: CertificateFingerprint?) async throws(SessionError)
        -> any SignallingConnection
    {
        try await base.connect(to: endpoint, pinning: fingerprint ?? self.fingerprint)
    }
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
    /// The fingerprint of the certificate the server presented; nil without TLS.
    var certificateFingerprint: CertificateFingerprint? { get }
}

extension SignallingConnection {
    public var certificateFingerprint: CertificateFingerprint? { nil }
}
