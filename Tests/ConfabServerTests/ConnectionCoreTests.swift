// A signalling connection's rules without a server: frames through the gate
// (rate, assembly, size, UTF-8, depth) with given times, and every message
// kind in every phase through the routing, on a room's URL and the server
// root. The live-server suites (HostileInputTests, ProtocolTests…) stay as
// the end-to-end proof.

import ConfabProtocol
import ConfabRooms
import Foundation
@testable import ConfabServer
import Testing

@Suite("A connection's gate and routing, in process")
struct ConnectionCoreTests {
    static let t0 = Timestamp(millisecondsSince1970: 1_763_000_000_000)

    static func gate(perSecond: Int = 20, burst: Int = 40) -> InboundMessageGate {
        InboundMessageGate(rate: RateLimit(perSecond: perSecond, burst: burst), now: t0)
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    // MARK: - The gate

    @Test("a message over several frames is judged whole: at the limit it passes; one byte more is 1001, unparsed, the connection open")
    func assembly() {
        var gate = Self.gate()
        let limit = ProtocolLimits.maximumClientMessageBytes
        let prefix = #"{"v":1,"type":"ping","id":"p","pad":""#
        let padding = limit - prefix.utf8.count - 2
        let whole = Self.bytes(prefix + String(repeating: "a", count: padding) + #""}"#)
        #expect(whole.count == limit)
        let half = whole.count / 2
        #expect(gate.take(.text, fin: false, payload: whole[..<half], now: Self.t0) == nil)
        #expect(gate.take(.continuation, fin: true, payload: whole[half...], now: Self.t0) == .message(whole))

        #expect(gate.take(.text, fin: false, payload: whole, now: Self.t0) == nil)
        guard case .refuse(let error, let id) = gate.take(.continuation, fin: true, payload: [0x20], now: Self.t0) else {
            Issue.record("one byte over the limit was not refused")
            return
        }
        #expect(error.code == .messageTooLarge && id == nil)
        // The next message starts afresh.
        #expect(gate.take(.text, fin: true, payload: Self.bytes("{}"), now: Self.t0) == .message(Self.bytes("{}")))
    }

    @Test("binary is refused 1000, also spread over continuations; invalid UTF-8 closes 1007 with no error sent; deep nesting is refused 1000")
    func screening() {
        var gate = Self.gate()
        #expect(gate.take(.binary, fin: false, payload: Self.bytes("{\"v\""), now: Self.t0) == nil)
        guard case .refuse(let binary, nil) = gate.take(.continuation, fin: true, payload: Self.bytes(":1}"), now: Self.t0)
        else {
            Issue.record("binary was not refused")
            return
        }
        #expect(binary.code == .malformedMessage && binary.message.contains("binary"))

        let deep = Self.bytes(String(repeating: "[", count: MessageScreen.maximumDepth + 1))
        guard case .refuse(let tooDeep, nil) = gate.take(.text, fin: true, payload: deep, now: Self.t0) else {
            Issue.record("deep nesting was not refused")
            return
        }
        #expect(tooDeep.code == .malformedMessage)
        let deepest = Self.bytes(String(repeating: "[", count: MessageScreen.maximumDepth))
        #expect(gate.take(.text, fin: true, payload: deepest, now: Self.t0) == .message(deepest), "the decoder judges the rest")

        let outcome = gate.take(.text, fin: true, payload: [0x7B, 0xC0, 0xAF, 0x7D], now: Self.t0)
        guard case .close(1007, let error, false) = outcome else {
            Issue.record("an overlong encoding did not close 1007: \(String(describing: outcome))")
            return
        }
        #expect(error.code == .malformedMessage)
    }

    @Test("frames out of order close 1002 with nothing sent: a continuation with no message begun, a message inside another")
    func framing() {
        let ping = Self.bytes(#"{"v":1,"type":"ping","id":"p"}"#)
        var gate = Self.gate()
        #expect(gate.take(.text, fin: true, payload: ping, now: Self.t0) == .message(ping))
        // The finished message must not come back with the stray frame's bytes after it.
        guard case .close(1002, let stray, false) = gate.take(.continuation, fin: true, payload: [], now: Self.t0) else {
            Issue.record("a continuation after a finished message was taken")
            return
        }
        #expect(stray.code == .malformedMessage)

        var nested = Self.gate()
        #expect(nested.take(.text, fin: false, payload: ping[..<5], now: Self.t0) == nil)
        guard case .close(1002, _, false) = nested.take(.binary, fin: true, payload: ping, now: Self.t0) else {
            Issue.record("a message inside a message was taken")
            return
        }
        var first = Self.gate()
        guard case .close(1002, _, false) = first.take(.continuation, fin: false, payload: ping, now: Self.t0) else {
            Issue.record("a continuation as the first frame was taken")
            return
        }
    }

    @Test("over the rate: 1008 naming the id; twice the burst of refusals, then closed with the error sent first; a second later, accepted again")
    func rate() {
        var gate = Self.gate(perSecond: 5, burst: 10)
        let ping = Self.bytes(#"{"v":1,"type":"ping","id":"r7"}"#)
        for index in 0..<10 {
            #expect(gate.take(.text, fin: true, payload: ping, now: Self.t0) == .message(ping), "within the burst: \(index)")
        }
        for _ in 0..<20 {
            guard case .refuse(let error, let id) = gate.take(.text, fin: true, payload: ping, now: Self.t0) else {
                Issue.record("over the rate was not refused")
                return
            }
            #expect(error.code == .tooManyMessages && id == "r7")
            #expect(error.retryAfterMs == 200, "5 a second: the next message in 200 ms")
        }
        let closing = gate.take(.text, fin: true, payload: ping, now: Self.t0)
        guard case .close(1008, let error, true) = closing else {
            Issue.record("refused again and again but not closed: \(String(describing: closing))")
            return
        }
        #expect(error.code == .tooManyMessages)

        // A fresh connection that pauses: the bucket refills at the rate.
        var paused = Self.gate(perSecond: 5, burst: 10)
        for _ in 0..<10 { _ = paused.take(.text, fin: true, payload: ping, now: Self.t0) }
        let early = paused.take(.text, fin: true, payload: ping, now: Self.t0.adding(milliseconds: 50))
        guard case .refuse(let error, _) = early, let wait = error.retryAfterMs else {
            Issue.record("over the rate without a wait: \(String(describing: early))")
            return
        }
        #expect(wait == 150)
        #expect(paused.take(.text, fin: true, payload: ping, now: Self.t0.adding(milliseconds: 50 + wait)) == .message(ping))
        #expect(paused.take(.text, fin: true, payload: ping, now: Self.t0.adding(milliseconds: 1_000)) == .message(ping))
    }

    @Test("every frame costs a token: a message in many frames can be over the rate, and its id is still found")
    func framesCount() {
        var gate = Self.gate(perSecond: 1, burst: 3)
        let message = Self.bytes(#"{"v":1,"id":"m1","type":"ping"}"#)
        #expect(gate.take(.text, fin: false, payload: message[..<10], now: Self.t0) == nil)
        #expect(gate.take(.continuation, fin: false, payload: message[10..<20], now: Self.t0) == nil)
        #expect(gate.take(.continuation, fin: false, payload: message[20..<25], now: Self.t0) == nil)
        guard case .refuse(let error, let id) = gate.take(.continuation, fin: true, payload: message[25...], now: Self.t0)
        else {
            Issue.record("the fourth frame was within a burst of three")
            return
        }
        #expect(error.code == .tooManyMessages && id == "m1")
    }

    // MARK: - Routing

    static let samples: [(name: String, json: String)] = [
        ("ping", #"{"v":1,"type":"ping","id":"a"}"#),
        ("join", #"{"v":1,"type":"join","id":"a","room":"standup","token":"t"}"#),
        ("join elsewhere", #"{"v":1,"type":"join","id":"a","room":"other","token":"t"}"#),
        ("resume", #"{"v":1,"type":"resume","id":"a","room":"standup","resumeToken":"rt","lastSeenSequence":0}"#),
        ("resume elsewhere", #"{"v":1,"type":"resume","id":"a","room":"other","resumeToken":"rt","lastSeenSequence":0}"#),
        ("connect", #"{"v":1,"type":"connect","id":"a","token":"t"}"#),
        ("chat.send", #"{"v":1,"type":"chat.send","id":"a","target":{"kind":"broadcast"},"text":"hi"}"#),
        ("leave", #"{"v":1,"type":"leave","id":"a"}"#),
        ("media.loss", #"{"v":1,"type":"media.loss","id":"a","tracks":[{"track":"alice:mic","expected":50,"lost":6}]}"#),
        ("call.invite", #"{"v":1,"type":"call.invite","id":"a","users":["bob"]}"#),
        ("call.history", #"{"v":1,"type":"call.history","id":"a"}"#),
    ]

    static func describe(_ route: MessageRoute) -> String {
        switch route {
        case .ignore: "ignore"
        case .pong: "pong"
        case .refuse(let error): "\(error.code.rawValue)"
        case .join: "join"
        case .resume: "resume"
        case .connect: "connect"
        case .room: "room"
        case .loss: "loss"
        case .calls: "calls"
        }
    }

    /// One row a phase: what each sample (in `samples` order) comes to.
    static func table(pathRoom: RoomName?, phases: [ConnectionPhase]) throws -> [String] {
        let messages = try samples.map { try ProtocolCodec().decode(Data($0.json.utf8), as: ClientMessage.self) }
        return phases.map { phase in
            "\(phase): " + messages.map { describe(.of($0, phase: phase, pathRoom: pathRoom)) }.joined(separator: " ")
        }
    }

    @Test("on a room's URL: join or resume that room first; then the room; presence messages never; after the end, nothing")
    func roomConnection() throws {
        //                     ping join join-else resume resume-else connect chat leave loss invite history
        #expect(
            try Self.table(pathRoom: "standup", phases: [.new, .joined, .over]) == [
                "new: pong join 1004 resume 1004 1010 1006 1006 1006 1010 1010",
                "joined: pong 1007 1007 1007 1007 1010 room room loss 1010 1010",
                "over: ignore ignore ignore ignore ignore ignore ignore ignore ignore ignore ignore",
            ])
    }

    @Test("on the server root: connect first; then calls and history; room messages never; after the end, nothing")
    func presenceConnection() throws {
        #expect(
            try Self.table(pathRoom: nil, phases: [.new, .online, .over]) == [
                "new: pong 1010 1010 1010 1010 connect 1010 1010 1010 1006 1006",
                "online: pong 1010 1010 1010 1010 1007 1010 1010 1010 calls calls",  // join, resume: not relayed to calls
                "over: ignore ignore ignore ignore ignore ignore ignore ignore ignore ignore ignore",
            ])
    }
}
