// A signalling connection as a stranger drives it, frame by frame and in any
// order: the server's gate (framing, rate, size, UTF-8, depth), the decoder,
// then the routing by what the connection has become (join, resume, connect,
// the room, the calls), all without a server.
//
//   script ─▶ frames with times ─▶ InboundMessageGate ─▶ decode ─▶ MessageRoute
//            each outcome held against a model kept here:
//              a message passes only whole, in order, text, within the size
//              limit, well-formed UTF-8 (RFC 3629, read apart), not too deep,
//              and within the rate (burst + rate × time, frames counted);
//              a route reaches the room only once joined on a room's URL, the
//              calls only once online on the server root; join, resume and
//              connect only from a new connection; nothing after the end.
//
// The script, one frame a line (LF):
//   root | room NAME | rate PER-SECOND BURST    before the first frame
//   [+MS] text|binary|cont [fin] [*COUNT ]PAYLOAD
// `+MS` moves time on first; `*COUNT ` repeats the payload (to pass the size
// limit); `\xHH` in a payload is that byte. A join, resume or connect whose
// token starts with `ok` is admitted, with `bye` refused for good, else refused.

import ConfabProtocol
import ConfabRooms
import ConfabServer
import Foundation

enum ConnectionFuzzing {
    /// What a script came to (the corpus test checks the seeds reach each part).
    struct Played {
        var phase: ConnectionPhase = .new
        var messages = 0
        var refusals: [ErrorCode] = []
        var routes: [String] = []
        var closedWith: UInt16?
    }

    static func run(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        _ = try play(String(decoding: input, as: UTF8.self))
    }

    static let t0 = Timestamp(millisecondsSince1970: 1_763_000_000_000)

    static func play(_ script: String) throws(FuzzViolation) -> Played {
        var played = Played()
        var pathRoom: RoomName? = "standup"
        var rate = RateLimit(perSecond: 20, burst: 40)
        var gate: InboundMessageGate?
        var now = t0
        var model = MessageModel()
        for line in script.split(separator: "\n", omittingEmptySubsequences: true) {
            let words = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            if gate == nil {
                switch words.first {
                case "root":
                    pathRoom = nil
                    continue
                case "room":
                    pathRoom = words.count > 1 ? RoomName(rawValue: String(words[1])) : nil
                    continue
                case "rate":
                    let numbers = words.count > 1 ? words[1].split(separator: " ").compactMap { Int($0) } : []
                    if numbers.count == 2 {
                        rate = RateLimit(perSecond: min(max(numbers[0], 1), 1_000), burst: min(max(numbers[1], 1), 1_000))
                    }
                    continue
                default:
                    gate = InboundMessageGate(rate: rate, now: now)
                    model.rate = rate
                }
            }
            guard var frame = Frame(line) else { continue }
            now = now.adding(milliseconds: Int(frame.advanceMs))
            frame.at = now
            guard played.phase != .over, played.closedWith == nil else { continue }
            let outcome = gate!.take(frame.kind, fin: frame.fin, payload: frame.payload, now: now)
            try model.check(frame, outcome: outcome, since: t0)
            switch outcome {
            case nil: break
            case .refuse(let error, _): played.refusals.append(error.code)
            case .close(let code, _, _):
                played.closedWith = code
                played.phase = .over
            case .message(let bytes):
                played.messages += 1
                try route(bytes, pathRoom: pathRoom, played: &played)
            }
        }
        return played
    }

    // MARK: - Routing

    private static func route(_ bytes: [UInt8], pathRoom: RoomName?, played: inout Played) throws(FuzzViolation) {
        let message: ClientMessage
        do {
            message = try ProtocolCodec().decode(Data(bytes), as: ClientMessage.self)
        } catch {
            played.refusals.append(error.codedError.code)
            if error.codedError.code.closesConnection { played.phase = .over }
            return
        }
        let phase = played.phase
        let route = MessageRoute.of(message, phase: phase, pathRoom: pathRoom)
        let type = message.type
        let onRoom = pathRoom != nil
        func violation(_ what: String) -> FuzzViolation {
            FuzzViolation("\(type.rawValue) in phase \(phase) on \(pathRoom.map { "/\($0)" } ?? "/"): \(what)")
        }
        if phase == .over, route != .ignore { throw violation("routed after the end") }
        if (route == .pong) != (type == .ping && phase != .over) { throw violation("pong \(route == .pong ? "for no ping" : "missing")") }
        switch route {
        case .ignore, .pong:
            break
        case .refuse(let error):
            let allowed: Set<ErrorCode> = [.invalidMessage, .notJoined, .alreadyJoined, .wrongConnection]
            guard allowed.contains(error.code) else { throw violation("refused with \(error.code)") }
            guard error.message.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
                throw violation("a refusal that is not one printable line")
            }
            played.refusals.append(error.code)
        case .join(let request):
            guard phase == .new, onRoom, request.room == pathRoom else { throw violation("let through to join") }
            played.phase = admit(request.token)
        case .resume(let request):
            guard phase == .new, onRoom, request.room == pathRoom else { throw violation("let through to resume") }
            played.phase = admit(request.resumeToken)
        case .connect(let request):
            guard phase == .new, !onRoom else { throw violation("let through to connect") }
            played.phase = admit(request.token) == .joined ? .online : admit(request.token)
        case .room, .loss:
            guard phase == .joined, onRoom, !type.isPresenceMessage, type != .join, type != .resume else {
                throw violation("reached the room")
            }
            let isLoss = if case .loss = route { true } else { false }
            guard isLoss == (type == .reportLoss) else { throw violation("a loss report routed as \(route)") }
            if type == .leave { played.phase = .over }
        case .calls:
            guard phase == .online, !onRoom, type.isPresenceMessage, type != .connect else {
                throw violation("reached the calls")
            }
        }
        played.routes.append("\(route)".prefix { $0 != "(" }.description)
    }

    /// The admission the script asked for, by its token.
    private static func admit(_ token: String?) -> ConnectionPhase {
        guard let token else { return .new }
        if token.hasPrefix("ok") { return .joined }
        if token.hasPrefix("bye") { return .over }
        return .new
    }
}

/// One frame of the script.
private struct Frame {
    var advanceMs: Int64 = 0
    var kind: InboundMessageGate.FrameKind
    var fin = false
    var payload: [UInt8] = []
    var at = ConnectionFuzzing.t0

    init?(_ line: Substring) {
        var rest = line[...]
        func word() -> Substring {
            let end = rest.firstIndex(of: " ") ?? rest.endIndex
            defer { rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...] }
            return rest[..<end]
        }
        var first = word()
        if first.hasPrefix("+") {
            advanceMs = min(Int64(first.dropFirst()) ?? 0, 3_600_000)
            first = word()
        }
        switch first {
        case "text": kind = .text
        case "binary": kind = .binary
        case "cont": kind = .continuation
        default: return nil
        }
        if rest.hasPrefix("fin") && (rest.count == 3 || rest.dropFirst(3).first == " ") {
            fin = true
            _ = word()
        }
        var count = 1
        if rest.hasPrefix("*"), let space = rest.firstIndex(of: " "), let times = Int(rest[rest.index(after: rest.startIndex)..<space]) {
            count = min(max(times, 1), 200_000)
            rest = rest[rest.index(after: space)...]
        }
        let one = Self.unescape(rest)
        if !one.isEmpty { payload.reserveCapacity(min(one.count * count, 300_000)) }
        for _ in 0..<count where payload.count + one.count <= 300_000 { payload += one }
    }

    /// `\xHH` is the byte HH; everything else is as written.
    private static func unescape(_ text: Substring) -> [UInt8] {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\"), index + 3 < bytes.count, bytes[index + 1] == UInt8(ascii: "x"),
                let byte = UInt8(String(decoding: bytes[(index + 2)...(index + 3)], as: UTF8.self), radix: 16)
            {
                out.append(byte)
                index += 4
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }
}

/// What the gate may do, kept apart from it.
private struct MessageModel {
    var rate = RateLimit(perSecond: 20, burst: 40)
    /// The frames of the message in progress, nil between messages.
    var frames: [Frame]?
    /// Frames of the messages that passed: each took a token.
    var framesPassed = 0

    mutating func check(_ frame: Frame, outcome: InboundMessageGate.Outcome?, since start: Timestamp) throws(FuzzViolation) {
        let inOrder = (frame.kind == .continuation) == (frames != nil)
        if !inOrder {
            guard case .close(1002, _, false) = outcome else {
                throw FuzzViolation("a \(frame.kind) frame out of order came to \(String(describing: outcome)), not close 1002")
            }
            return
        }
        if case .close(1002, _, _) = outcome { throw FuzzViolation("a frame in order closed 1002") }
        let message = (frames ?? []) + [frame]
        frames = frame.fin ? nil : message
        guard frame.fin else {
            if outcome != nil { throw FuzzViolation("an unfinished message came to \(String(describing: outcome))") }
            return
        }
        guard let outcome else { throw FuzzViolation("a finished message came to nothing") }
        let bytes = message.flatMap(\.payload)
        let isText = message[0].kind == .text
        switch outcome {
        case .message(let passed):
            guard passed == bytes else { throw FuzzViolation("the message passed is not its frames' bytes in order") }
            guard isText else { throw FuzzViolation("a binary message passed") }
            guard bytes.count <= ProtocolLimits.maximumClientMessageBytes else {
                throw FuzzViolation("\(bytes.count) bytes passed, over the limit")
            }
            guard ScreenFuzzing.isWellFormedUTF8(bytes) else { throw FuzzViolation("a message that is not UTF-8 passed") }
            if let tree = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]),
                ScreenFuzzing.depth(of: tree) > MessageScreen.maximumDepth
            {
                throw FuzzViolation("a message nested deeper than \(MessageScreen.maximumDepth) passed")
            }
            framesPassed += message.count
            let elapsedMs = frame.at.milliseconds(since: start)
            let allowance = Int64(rate.burst) + Int64(rate.perSecond) * elapsedMs / 1_000
            guard framesPassed <= allowance else {
                throw FuzzViolation("\(framesPassed) frames passed in \(elapsedMs) ms at \(rate.perSecond)/s, burst \(rate.burst)")
            }
        case .refuse(let error, let id):
            switch error.code {
            case .tooManyMessages: break
            case .messageTooLarge:
                guard bytes.count > ProtocolLimits.maximumClientMessageBytes else {
                    throw FuzzViolation("\(bytes.count) bytes refused as too large")
                }
            case .malformedMessage:
                guard !isText || ScreenFuzzing.isWellFormedUTF8(bytes) else {
                    throw FuzzViolation("text that is not UTF-8 refused rather than closed 1007")
                }
            default:
                throw FuzzViolation("refused unparsed with \(error.code)")
            }
            let scanned = Array(bytes.prefix(MessageScreen.idScanBytes))
            if let id, ScreenFuzzing.occurrences(of: Array("\"\(id.rawValue)\"".utf8), in: scanned) == 0 {
                throw FuzzViolation("a refusal names id \(id.rawValue), which the message's first KiB does not hold")
            }
        case .close(let code, let error, _):
            switch code {
            case 1007:
                guard isText, !ScreenFuzzing.isWellFormedUTF8(bytes), bytes.count <= ProtocolLimits.maximumClientMessageBytes else {
                    throw FuzzViolation("closed 1007 for a message that is not text failing UTF-8 within the limit")
                }
            case 1008:
                guard error.code == .tooManyMessages else { throw FuzzViolation("closed 1008 with \(error.code)") }
            default:
                throw FuzzViolation("closed \(code) for a finished message in order")
            }
        }
    }
}
