import ConfabClient
import ConfabProtocol

// For the end-to-end tests against the real server (after the server and
// client branches meet): a joined session over real TLS, pinned to the
// fingerprint the server printed, with reconnection tuned for tests and no
// known_servers file touched.

enum LiveSession {
    /// Joins `url` (`wss://127.0.0.1:PORT/ROOM`) with `token`, pinning `fingerprint` (`SHA256:…`).
    static func join(
        url: String, token: String, fingerprint: String, name: String? = nil,
        reconnect: ReconnectPolicy = ReconnectPolicy(
            initialDelayMs: 50, maximumDelayMs: 500, multiplier: 2, jitter: 0.5, giveUpAfterMs: 10_000),
        requestTimeoutMs: Int = 5_000
    ) async throws -> ConfabSession {
        let session = try session(
            url: url, token: token, fingerprint: fingerprint, name: name, reconnect: reconnect,
            requestTimeoutMs: requestTimeoutMs)
        try await session.join()
        return session
    }

    /// The same session, not joined yet (to subscribe to events first).
    static func session(
        url: String, token: String, fingerprint: String, name: String? = nil,
        reconnect: ReconnectPolicy = .standard, requestTimeoutMs: Int = 5_000
    ) throws -> ConfabSession {
        guard let pin = CertificateFingerprint(fingerprint) else {
            throw SessionError.invalidArgument("not a fingerprint: \(fingerprint)")
        }
        var configuration = SessionConfiguration(endpoint: try ServerEndpoint(url: url), token: token, displayName: name)
        configuration.reconnect = reconnect
        configuration.requestTimeoutMs = requestTimeoutMs
        return ConfabSession(
            configuration: configuration, transport: WebSocketTransport(trust: .pinned(pin, knownServersPath: nil)))
    }
}
