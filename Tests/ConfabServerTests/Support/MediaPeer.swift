// A test peer's UDP side: binds its address with STUN (RFC 8489) using the
// credentials of its `joined.media`, sends RTP-shaped datagrams, and reads
// what the server forwards. Waits never block a cooperative thread: the
// socket is polled with a zero timeout (`waitFor`).

import ConfabProtocol
import ConfabSocket
import ConfabTestSupport
import ConfabWire
import Foundation

final class MediaPeer: @unchecked Sendable {
    let socket: UDPSocket
    let server: SocketAddress
    let media: MediaEndpoint
    private let batch = DatagramBatch(capacity: 64, bufferSize: 2_048)

    init(_ media: MediaEndpoint) throws {
        self.media = media
        server = try SocketAddress(host: media.host, port: media.port)
        socket = try UDPSocket(bindTo: server.family == AF_INET6 ? "::1" : "127.0.0.1", port: 0)
    }

    /// A binding request with this peer's USERNAME and MESSAGE-INTEGRITY
    /// (or the given password's), and FINGERPRINT.
    /// `software`: a SOFTWARE attribute too (a bigger request, as the SDK sends).
    /// `consent`: the CONSENT-TOKEN the server asked this address to echo.
    func bindingRequest(
        password: String? = nil, id: STUNTransactionID = .random(), software: String? = nil,
        consent: STUNConsentToken? = nil
    ) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 256)
        let key = STUNIntegrityKey(shortTermPassword: password ?? media.password)
        return try buffer.withUnsafeMutableBytes { raw in
            var builder = try STUNMessageBuilder(type: .bindingRequest, transactionID: id, into: raw)
            try builder.appendUsername(media.username)
            if let software { try builder.appendSoftware(software) }
            if let consent { try builder.appendConsentToken(consent) }
            try builder.appendMessageIntegrity(key: key)
            try builder.appendFingerprint()
            return Array(builder.bytes)
        }
    }

    /// Binds this socket's address as the SDK does: a request, its answer's
    /// CONSENT-TOKEN echoed in a second request, whose answer (without one)
    /// says the address is bound. Returns the XOR-MAPPED-ADDRESS the server saw.
    /// `software` as in `bindingRequest`; `consentAnswerHasFingerprint`: what
    /// the answer asking for the echo must carry. Every answer is checked to be
    /// no bigger than its request.
    func bind(
        timeout: Duration = .seconds(10), software: String? = "confab media 1.0", consentAnswerHasFingerprint: Bool = true
    ) async throws -> STUNAddress {
        let key = STUNIntegrityKey(shortTermPassword: media.password)
        let deadline = ContinuousClock.now + timeout
        var consent: STUNConsentToken?
        while ContinuousClock.now < deadline {
            let id = STUNTransactionID.random()
            let request = try bindingRequest(id: id, software: software, consent: consent)
            send(request)
            for datagram in try await receive(for: .milliseconds(200)) {
                let answer: (mapped: STUNAddress?, token: STUNConsentToken?, fingerprint: Bool)? = datagram.withUnsafeBytes { raw in
                    guard let message = try? STUNMessage.parse(raw), message.type == .bindingSuccess,
                        message.transactionID == id, message.verifyMessageIntegrity(key: key, in: raw),
                        raw.count <= request.count
                    else { return nil }
                    return (message.xorMappedAddress(in: raw), message.consentToken(in: raw), message.verifyFingerprint(in: raw))
                }
                guard let answer else { continue }
                if let token = answer.token {
                    guard answer.fingerprint == consentAnswerHasFingerprint else { continue }
                    consent = token
                    break
                }
                guard answer.fingerprint, let mapped = answer.mapped else { continue }
                return mapped
            }
        }
        throw ToolError("no binding success within \(timeout)")
    }

    func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = socket.send($0, to: server) }
    }

    /// Everything that arrives within `duration` (for proving nothing does).
    func receive(for duration: Duration) async throws -> [[UInt8]] {
        var received: [[UInt8]] = []
        _ = try await waitUntil(timeout: duration, every: .milliseconds(5)) {
            try drain(into: &received)
            return false
        }
        return received
    }

    /// Waits until `count` datagrams arrived (or the timeout); returns them.
    func receive(count: Int, timeout: Duration = .seconds(10)) async throws -> [[UInt8]] {
        var received: [[UInt8]] = []
        _ = try await waitUntil(timeout: timeout, every: .milliseconds(2)) {
            try drain(into: &received)
            return received.count >= count
        }
        return received
    }

    /// Appends what the socket holds now, without waiting.
    private func drain(into received: inout [[UInt8]]) throws {
        while true {
            let count = try socket.receive(into: batch, timeoutMs: 0)
            for i in 0..<count { received.append(Array(batch.datagram(i))) }
            if count < batch.capacity { return }
        }
    }

    /// An RTP packet shaped like Confab's (RFC 6464 level in a one-byte RFC 8285
    /// extension) with `payload` standing in for the SRTP-encrypted bytes.
    static func rtp(ssrc: UInt32, sequence: UInt16, level: UInt8 = 30, voice: Bool = true, payload: [UInt8] = Array(repeating: 0xAB, count: 60)) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 1_500)
        var extensions = HeaderExtensionList()
        try? extensions.append(audioLevel: AudioLevel(level: level, voiceActivity: voice))
        let length = buffer.withUnsafeMutableBytes { raw in
            payload.withUnsafeBytes { body in
                (try? RTPPacket.write(
                    header: RTPHeaderFields(
                        payloadType: 111, sequenceNumber: sequence, timestamp: UInt32(sequence) &* 960, ssrc: ssrc),
                    extensions: extensions, payload: body, into: raw)) ?? 0
            }
        }
        return Array(buffer.prefix(length))
    }
}
