// What a signalling connection makes of its WebSocket frames before any JSON
// is parsed: I/O-free, time passed in, so that every order of frames can be
// tested and fuzzed without a socket (SignalingConnection does the I/O).
//
//   frame ─▶ out of order (a continuation outside a message, a message inside one) ─▶ close 1002
//         ─▶ a token of the connection's rate, every frame (PROTOCOL.md, Limits)
//         ─▶ assemble the message (RFC 6455 §5.4: a message may span frames;
//            the limit is on the message, and only what can be used is kept)
//         ─▶ fin: over the rate ─▶ refuse 1008 (its id from the first KiB);
//                 refused again and again ─▶ close 1008
//             binary ─▶ refuse 1000 · too large ─▶ refuse 1001
//             not UTF-8 ─▶ close 1007 (RFC 6455 §8.1) · nested too deep ─▶ refuse 1000
//             else ─▶ the message, for the decoder

import ConfabProtocol
import ConfabRooms

package struct InboundMessageGate: Sendable {
    package enum FrameKind: Sendable {
        /// The first frame of a message.
        case text, binary
        case continuation
    }

    /// What a frame that ends a message comes to.
    package enum Outcome: Equatable, Sendable {
        /// A whole text message that passed every check: decode it.
        case message([UInt8])
        /// Refused unparsed; the connection stays open.
        case refuse(CodedError, id: RequestID?)
        /// Fail the connection (a frame out of order, text not UTF-8, over
        /// the rate for too long): count `error`, send it first when `sendError`,
        /// then close with `code` and the error as the reason.
        case close(code: UInt16, error: CodedError, sendError: Bool)
    }

    private let rateLimit: RateLimit
    private var rate: TokenBucket
    /// Refusals allowed on top (twice the burst, then the same rate): a
    /// client briefly over the rate is told so; one that keeps sending at
    /// twice the rate or more is closed.
    private var refusals: TokenBucket
    private var message: [UInt8] = []
    private var messageBytes = 0
    private var isText = true
    private var overRate = false
    /// A message has begun and its FIN frame has not come yet.
    private var inMessage = false

    package init(rate: RateLimit, now: Timestamp) {
        rateLimit = rate
        self.rate = TokenBucket(limit: rate, now: now)
        refusals = TokenBucket(limit: RateLimit(perSecond: rate.perSecond, burst: rate.burst * 2), now: now)
    }

    /// Takes one frame; nil until the frame that ends a message, unless the
    /// frame breaks the framing rules.
    package mutating func take(
        _ kind: FrameKind, fin: Bool, payload: some Collection<UInt8>, now: Timestamp
    ) -> Outcome? {
        // RFC 6455 §5.4: a message is one text or binary frame, then
        // continuations up to the one with FIN; anything else fails the
        // connection (§7.4.1: 1002). The frame stream does not check this.
        switch kind {
        case .text, .binary:
            guard !inMessage else {
                return .close(
                    code: 1002, error: CodedError(.malformedMessage, "a new message before the last one ended"),
                    sendError: false)
            }
            message.removeAll(keepingCapacity: true)
            messageBytes = 0
            isText = kind == .text
            overRate = false
        case .continuation:
            guard inMessage else {
                return .close(
                    code: 1002, error: CodedError(.malformedMessage, "a continuation frame outside a message"),
                    sendError: false)
            }
        }
        inMessage = !fin
        // Every frame costs a token before anything is parsed, before and after join.
        if !rate.take(now: now) { overRate = true }
        messageBytes += payload.count
        // Over the rate only the start is kept, for the request id.
        if messageBytes <= ProtocolLimits.maximumClientMessageBytes, isText,
            !overRate || message.count < MessageScreen.idScanBytes
        {
            message.append(contentsOf: payload)
        }
        guard fin else { return nil }
        defer {
            // Do not keep a large buffer for the life of the connection.
            if message.capacity > 256 * 1024 { message = [] }
        }
        return judge(now: now)
    }

    private mutating func judge(now: Timestamp) -> Outcome {
        if overRate {
            guard refusals.take(now: now) else {
                return .close(
                    code: 1008, error: CodedError(.tooManyMessages, "over the message rate for too long; closing"),
                    sendError: true)
            }
            return .refuse(
                CodedError(
                    .tooManyMessages,
                    "at most \(rateLimit.perSecond) messages a second (bursts of \(rateLimit.burst))",
                    retryAfterMs: Int(rate.waitMs(now: now))),
                id: isText ? MessageScreen.requestID(in: message) : nil)
        }
        if !isText {
            return .refuse(CodedError(.malformedMessage, "binary frames are not accepted; send JSON text"), id: nil)
        }
        if messageBytes > ProtocolLimits.maximumClientMessageBytes {
            // Refused unparsed; the connection stays open (PROTOCOL.md, Limits).
            let error = ProtocolError(.tooLarge(byteCount: messageBytes, limit: ProtocolLimits.maximumClientMessageBytes))
            return .refuse(error.codedError, id: nil)
        }
        if !MessageScreen.isValidUTF8(message) {
            // RFC 6455 §7.4.1: 1007, data inconsistent with the message type.
            return .close(
                code: 1007, error: CodedError(.malformedMessage, "a text message that is not UTF-8"), sendError: false)
        }
        if MessageScreen.nestsTooDeep(message) {
            return .refuse(
                CodedError(.malformedMessage, "arrays and objects nest deeper than \(MessageScreen.maximumDepth) levels"),
                id: nil)
        }
        return .message(message)
    }
}
