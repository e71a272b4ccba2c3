import ConfabClient
import ConfabProtocol

// For the end-to-end tests against the real server: a session over real TLS,
// pinned to the fingerprint the server printed, with reconnection tuned for
// tests and no known_servers file touched.

enum LiveSession {
    /// Retries fast (50 ms, up to 500 ms apart) and gives up after 10 s.
    static let testReconnect = ReconnectPolicy(
        initialDelayMs: 50, maximumDelayMs: 500, multiplier: 2, jitter: 0.5, giveUpAfterMs: 10_000)

    /// Joins `url` (`wss://127.0.0.1:PORT/ROOM`) with `token`, pinning `fingerprint` (`SHA256:…`).
    static func join(
        url: String, token: String, fingerprint: String, name: String? = nil,
        reconnect: ReconnectPolicy = testReconnect, requestTimeoutMs: Int = 5_000
    ) async throws -> ConfabSession {
        let session = try session(
            url: url, token: token, fingerprint: fingerprint, name: name, reconnect: reconnect,
            requestTimeoutMs: requestTimeoutMs)
        try await session.join()
        return session
    }

    /// The same session, not joined yet (to subscribe to events first).
    /// `transport` wraps the pinned WebSocketTransport (to cut connections).
    static func session(
        url: String, token: String, fingerprint: String, name: String? = nil,
        reconnect: ReconnectPolicy = .standard, requestTimeoutMs: Int = 5_000, transport: CuttableTransport? = nil,
        receives: AudioPayloadFormats = .all
    ) throws -> ConfabSession {
        guard let pin = CertificateFingerprint(fingerprint) else {
            throw SessionError.invalidArgument("not a fingerprint: \(fingerprint)")
        }
        var configuration = SessionConfiguration(endpoint: try ServerEndpoint(url: url), token: token, displayName: name)
        configuration.reconnect = reconnect
        configuration.requestTimeoutMs = requestTimeoutMs
        configuration.receives = receives
        return ConfabSession(
            configuration: configuration,
            transport: transport ?? WebSocketTransport(trust: .pinned(pin, knownServersPath: nil)))
    }

    /// The real pinned transport, wrapped so a test can cut or freeze it.
    static func cuttableTransport(fingerprint: String) throws -> CuttableTransport {
        guard let pin = CertificateFingerprint(fingerprint) else {
            throw SessionError.invalidArgument("not a fingerprint: \(fingerprint)")
        }
        return CuttableTransport(inner: WebSocketTransport(trust: .pinned(pin, knownServersPath: nil)))
    }
}
