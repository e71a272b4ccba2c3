// The management API from the client side (`confab admin`): one HTTPS
// request per call, over TLS checked like every Confab connection (the pinned
// fingerprint or known_servers, ServerTrust), with the admin token as
// `Authorization: Bearer` (RFC 6750 §2.1).
//
//   request ─▶ TCP ─▶ TLS (verification callback: ServerTrust) ─▶ HTTP/1.1, Connection: close
//           ─▶ read until the server closes ─▶ status + JSON body
//           ─▶ 2xx: the body; else the catalog error of its {"error": {…}} body (SessionError.server)

import ConfabProtocol
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

public struct AdminHTTPClient: Sendable {
    public var endpoint: ServerEndpoint
    public var trust: ServerTrust
    public var token: String
    public var timeout: Duration

    public init(endpoint: ServerEndpoint, trust: ServerTrust, token: String, timeout: Duration = .seconds(15)) {
        self.endpoint = endpoint
        self.trust = trust
        self.token = token
        self.timeout = timeout
    }

    /// A reply with a 2xx status: the status and the body (empty for 204).
    public struct Reply: Sendable {
        public var status: Int
        public var body: [UInt8]
    }

    /// Sends `method path` with an optional JSON body. Throws the server's
    /// coded error for a non-2xx reply, or why the request did not get one.
    public func send(_ method: String, _ path: String, json body: [UInt8]? = nil) async throws(SessionError) -> Reply {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(endpoint.hostAndPort)\r\nUser-Agent: confab\r\n"
        // An empty token sends none (a meeting code's exchange needs none).
        if !token.isEmpty { head += "Authorization: Bearer \(token)\r\n" }
        head += "Connection: close\r\nAccept: application/json\r\n"
        if body != nil { head += "Content-Type: application/json\r\n" }
        head += "Content-Length: \(body?.count ?? 0)\r\n\r\n"
        let response = try await exchange(Array(head.utf8) + (body ?? []))
        return try Self.parse(response)
    }

    private func exchange(_ request: [UInt8]) async throws(SessionError) -> [UInt8] {
        let refusal = Mutex<String?>(nil)
        let (trust, hostAndPort, host) = (self.trust, endpoint.hostAndPort, endpoint.host)
        let task = Task { () throws -> [UInt8] in
            var configuration = TLSConfiguration.makeClientConfiguration()
            // The callback replaces chain and name checks (as for the WebSocket).
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates([])
            let context = try NIOSSLContext(configuration: configuration)
            let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: host, port: endpoint.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = try NIOSSLClientHandler(
                            context: context, serverHostname: isAddress ? nil : host,
                            customVerificationCallback: { certificates, promise in
                                guard let der = certificates.first.flatMap({ try? $0.toDERBytes() }) else {
                                    refusal.withLock { $0 = "the server presented no certificate" }
                                    return promise.succeed(.failed)
                                }
                                let presented = CertificateFingerprint(certificateDER: der)
                                let message = KnownServersFile.evaluate(trust, presented: presented, hostAndPort: hostAndPort)
                                refusal.withLock { $0 = message }
                                promise.succeed(message == nil ? .certificateVerified : .failed)
                            })
                        try channel.pipeline.syncOperations.addHandler(handler)
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(bytes: request))
                var response: [UInt8] = []
                do {
                    for try await chunk in inbound { response += Array(buffer: chunk) }
                } catch NIOSSLError.uncleanShutdown {
                    // Closed without close_notify after `Connection: close`: the reply is whole.
                }
                return response
            }
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            task.cancel()
        }
        defer { timer.cancel() }
        do {
            return try await task.value
        } catch {
            if let message = refusal.withLock({ $0 }) { throw .certificateRejected(message) }
            if task.isCancelled { throw .transport("no reply from \(hostAndPort) within \(timeout)") }
            throw .transport("cannot reach \(hostAndPort): \(WebSocketTransport.describe(error))")
        }
    }

    /// The status and body of an HTTP/1.1 response read to its end.
    static func parse(_ response: [UInt8]) throws(SessionError) -> Reply {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = response.firstRange(of: separator) else {
            throw .protocolViolation("the server's reply is not an HTTP response")
        }
        let head = String(decoding: response[..<end.lowerBound], as: UTF8.self)
        // What the server wrote is shown in errors: never its control characters.
        let statusLine = TextSanitizer.clean(String(head.split(separator: "\r\n", maxSplits: 1).first ?? ""), lineBreaks: .singleLine)
        guard let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw .protocolViolation("the server's reply has no status: \(statusLine)")
        }
        let body = Array(response[end.upperBound...])
        guard (200..<300).contains(status) else {
            if let error = try? JSONDecoder().decode(AdminErrorBody.self, from: Data(body)),
                let code = ErrorCode(rawValue: error.error.code)
            {
                throw .server(
                    CodedError(
                        code, TextSanitizer.clean(error.error.message, lineBreaks: .singleLine),
                        retryAfterMs: IncomingText.wait(error.error.retryAfterMs)))
            }
            throw .protocolViolation("the server answered \(statusLine) without a Confab error")
        }
        return Reply(status: status, body: body)
    }
}
