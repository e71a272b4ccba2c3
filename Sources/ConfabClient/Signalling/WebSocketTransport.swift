import ConfabProtocol
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import Synchronization

// The real transport: WebSocket (RFC 6455) over TLS with a pinned certificate.
//
//   TCP (HummingbirdWSClient's ClientConnection)
//    ─▶ NIOSSLClientHandler + custom verification callback (ServerTrust: pin / known_servers)
//    ─▶ HTTP/1.1 upgrade (NIOTypedWebSocketClientUpgrader)
//    ─▶ WebSocket frames ─▶ text messages (ServerFrameAssembler) ─▶ `incoming`
//
// HummingbirdWSClient's WebSocketClient builds its NIOSSLClientHandler itself,
// with no way to pass a verification callback, so this file sets up the same
// pipeline (modelled on swift-websocket's WebSocketClientChannel) with one.

/// Connects with TLS, checking the server certificate against a `ServerTrust`.
public struct WebSocketTransport: SignallingTransport {
    public var trust: ServerTrust
    public var connectTimeout: Duration
    public var eventLoopGroup: any EventLoopGroup
    public var logger: Logger

    public init(
        trust: ServerTrust, connectTimeout: Duration = .seconds(10),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "confab.client.transport")
    ) {
        self.trust = trust
        self.connectTimeout = connectTimeout
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    public func connect(to endpoint: ServerEndpoint) async throws(SessionError) -> any SignallingConnection {
        try await connect(to: endpoint, pinning: nil)
    }

    public func connect(to endpoint: ServerEndpoint, pinning fingerprint: CertificateFingerprint?)
        async throws(SessionError) -> any SignallingConnection
    {
        // The verification callback runs on the event loop; it leaves the
        // refusal here so the handshake error can be explained.
        let refusal = Mutex<String?>(nil)
        let presentedFingerprint = Mutex<CertificateFingerprint?>(nil)
        let trust = fingerprint.map { ServerTrust.pinned($0, knownServersPath: self.trust.knownServersPath) } ?? self.trust
        let hostAndPort = endpoint.hostAndPort
        let verify: PinnedWebSocketChannel.VerificationCallback = { certificates, promise in
            guard let leaf = certificates.first, let der = try? leaf.toDERBytes() else {
                refusal.withLock { $0 = "the server presented no certificate" }
                promise.succeed(.failed)
                return
            }
            let presented = CertificateFingerprint(certificateDER: der)
            presentedFingerprint.withLock { $0 = presented }
            if let message = KnownServersFile.evaluate(trust, presented: presented, hostAndPort: hostAndPort) {
                refusal.withLock { $0 = message }
                promise.succeed(.failed)
            } else {
                promise.succeed(.certificateVerified)
            }
        }

        let sslContext = try Self.clientContext.get()

        let opened = OneShot<any SignallingConnection>()
        let channel = PinnedWebSocketChannel(
            endpoint: endpoint, sslContext: sslContext, verify: verify, opened: opened,
            presented: { presentedFingerprint.withLock { $0 } })
        let client = ClientConnection(
            channel, address: .hostname(endpoint.host, port: endpoint.port), eventLoopGroup: eventLoopGroup,
            logger: logger)

        let timeout = connectTimeout
        let connectionTask = Task {
            do {
                try await client.run()
                opened.fail(.transport("the server closed the connection during the WebSocket upgrade"))
            } catch {
                if let message = refusal.withLock({ $0 }) {
                    opened.fail(.certificateRejected(message))
                } else {
                    opened.fail(.transport("cannot connect to \(hostAndPort): \(Self.describe(error))"))
                }
            }
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            opened.fail(.transport("cannot connect to \(hostAndPort): timed out after \(timeout)"))
            connectionTask.cancel()
        }
        defer { timer.cancel() }
        return try await opened.value()
    }

    /// One TLS context for every connection. The verification callback
    /// (made per connection) does all the trusting, so the context needs no
    /// trust roots: with the default ones, making a context per connection
    /// parsed the system's whole CA bundle on every join and reconnection
    /// (most of a join's client-side CPU; found with `confab bench signaling`).
    private static let clientContext: Result<NIOSSLContext, SessionError> = {
        var configuration = TLSConfiguration.makeClientConfiguration()
        // The callback replaces chain and name checks; it runs only when
        // verification is on, so it must not be `.none`.
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates([])
        do {
            return .success(try NIOSSLContext(configuration: configuration))
        } catch {
            return .failure(.transport("TLS setup failed: \(error)"))
        }
    }()

    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return describe(first.error) }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return describe(dns) }
        }
        if let error = error as? NIOSSLError { return "TLS handshake failed (\(error))" }
        // NIO's own wording ("SocketAddressError.UnknownHost: Name or service not known (error -2)") says little to a person.
        if let error = error as? SocketAddressError.UnknownHost {
            return "no such host \"\(error.host)\" (check the address, or the network's DNS)"
        }
        return "\(error)"
    }
}

/// The channel set-up: TLS with our verification callback, then the
/// WebSocket upgrade; `handle` runs the frame loop for the connection's life.
struct PinnedWebSocketChannel: ClientConnectionChannel {
    enum UpgradeResult: Sendable {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case notUpgraded
    }

    typealias Value = EventLoopFuture<UpgradeResult>
    /// NIOSSL's callback type, made Sendable to live in this Sendable channel description.
    typealias VerificationCallback = @Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>) -> Void

    let endpoint: ServerEndpoint
    let sslContext: NIOSSLContext
    let verify: VerificationCallback
    let opened: OneShot<any SignallingConnection>
    /// The fingerprint the verification callback saw.
    let presented: @Sendable () -> CertificateFingerprint?

    init(
        endpoint: ServerEndpoint, sslContext: NIOSSLContext, verify: @escaping VerificationCallback,
        opened: OneShot<any SignallingConnection>, presented: @escaping @Sendable () -> CertificateFingerprint?
    ) {
        self.endpoint = endpoint
        self.sslContext = sslContext
        self.verify = verify
        self.opened = opened
        self.presented = presented
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let upgrader = NIOTypedWebSocketClientUpgrader<UpgradeResult>(
                maxFrameSize: ProtocolLimits.maximumServerMessageBytes,
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        let asyncChannel = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                            wrappingChannelSynchronously: channel)
                        return UpgradeResult.websocket(asyncChannel)
                    }
                })
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: endpoint.hostAndPort)
            headers.add(name: "User-Agent", value: "confab")
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: endpoint.path, headers: headers)
            let upgradeConfiguration = NIOTypedHTTPClientUpgradeConfiguration<UpgradeResult>(
                upgradeRequestHead: head, upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeSucceededFuture(.notUpgraded)
                })
            var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgradeConfiguration)
            pipeline.leftOverBytesStrategy = .forwardBytes
            // SNI carries host names only; an IP address there is refused by NIOSSL.
            let isAddress = (try? SocketAddress(ipAddress: endpoint.host, port: 0)) != nil
            let tls = try NIOSSLClientHandler(
                context: sslContext, serverHostname: isAddress ? nil : endpoint.host,
                customVerificationCallback: verify)
            try channel.pipeline.syncOperations.addHandler(tls, position: .first)
            return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
        }
    }

    func handle(value: Value, logger: Logger) async throws {
        switch try await value.get() {
        case .notUpgraded:
            throw WebSocketClientError.webSocketUpgradeFailed
        case .websocket(let asyncChannel):
            try await asyncChannel.executeThenClose { inbound, outbound in
                let connection = WebSocketConnection(
                    channel: asyncChannel.channel, outbound: outbound, certificateFingerprint: presented())
                opened.succeed(connection)
                await connection.readFrames(from: inbound)
            }
        }
    }
}

/// An open WebSocket: text messages in and out, pings answered, the close
/// handshake done (RFC 6455 §5.5, §7).
final class WebSocketConnection: SignallingConnection {
    let incoming: AsyncStream<String>
    private let incomingContinuation: AsyncStream<String>.Continuation
    private let channel: any Channel
    private let outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>
    private let closeSent = Mutex(false)
    let certificateFingerprint: CertificateFingerprint?

    init(
        channel: any Channel, outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>,
        certificateFingerprint: CertificateFingerprint?
    ) {
        self.channel = channel
        self.outbound = outbound
        self.certificateFingerprint = certificateFingerprint
        (incoming, incomingContinuation) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
    }

    func send(_ text: String) async throws(SessionError) {
        // Client frames are masked (RFC 6455 §5.3); the encoder applies the key.
        let frame = WebSocketFrame(
            fin: true, opcode: .text, maskKey: .random(), data: channel.allocator.buffer(string: text))
        do {
            try await outbound.write(frame)
        } catch {
            throw .connectionLost
        }
    }

    func close() async {
        await sendClose(.normalClosure)
        // The server answers with its own close and the read loop ends; a
        // server that does not is cut off after a short wait.
        let channel = self.channel
        Task {
            try? await Task.sleep(for: .seconds(2))
            try? await channel.close()
        }
    }

    private func sendClose(_ code: WebSocketErrorCode) async {
        let first = closeSent.withLock { sent in
            defer { sent = true }
            return !sent
        }
        guard first else { return }
        var data = channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: code)
        try? await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: data))
    }

    /// Reads frames until the connection closes, joining fragments into messages.
    func readFrames(from inbound: NIOAsyncChannelInboundStream<WebSocketFrame>) async {
        defer { incomingContinuation.finish() }
        var assembler = ServerFrameAssembler()
        do {
            for try await frame in inbound {
                switch frame.opcode {
                case .ping:
                    try? await outbound.write(
                        WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData))
                case .pong:
                    continue
                case .connectionClose:
                    await sendClose(.normalClosure)
                    return
                default:
                    switch assembler.take(frame.opcode, fin: frame.fin, data: frame.unmaskedData) {
                    case .none: continue
                    case .message(let text): incomingContinuation.yield(text)
                    case .close(let code):
                        await sendClose(code)
                        return
                    }
                }
            }
        } catch {
            // A reset or TLS failure ends the connection like a close does;
            // the session notices `incoming` finishing and reconnects.
        }
    }
}
