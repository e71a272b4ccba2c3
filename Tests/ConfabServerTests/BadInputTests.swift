// Hostile and broken input: each gets a clear coded error; the connection,
// the server and the other peers carry on.

import ConfabProtocol
import ConfabTestSupport
import ConfabRooms
import ConfabServer
import Foundation
import Testing

@Suite("Bad input")
struct BadInputTests {
    @Test("malformed JSON, unknown types, bad fields and oversized messages get coded errors; the connection stays open")
    func badMessages() async throws {
        try await TestServer.start().run { server in
            let (alice, bob) = try await server.joinHostAndSpeaker()

            alice.send("{not json")
            #expect(errorCode(try await alice.next()) == .malformedMessage)
            alice.send(#"[1, 2, 3]"#)
            #expect(errorCode(try await alice.next()) == .malformedMessage)
            alice.send(#"{"v": 1, "type": "teleport", "id": "t1"}"#)
            let unknown = try await alice.next()
            #expect(errorCode(unknown) == .unknownType && unknown.id?.rawValue == "t1")
            alice.send(#"{"v": 1, "type": "track.mute", "id": "t2"}"#)
            #expect(errorCode(try await alice.next()) == .invalidMessage)
            alice.send(#"{"v": 1, "type": "ping"}"#)
            #expect(errorCode(try await alice.next()) == .missingRequestID)
            let padding = String(repeating: "x", count: 70_000)
            alice.send(#"{"v": 1, "type": "chat.send", "id": "big", "target": {"kind": "broadcast"}, "text": "\#(padding)"}"#)
            let tooLarge = try await alice.next()
            #expect(errorCode(tooLarge) == .messageTooLarge)
            alice.send(#"{"v": 1, "type": "join", "id": "again", "room": "standup", "token": "x"}"#)
            #expect(errorCode(try await alice.next()) == .alreadyJoined)

            // Still joined and working, and Bob saw none of it.
            alice.send(#"{"v": 1, "type": "chat.send", "id": "c1", "target": {"kind": "broadcast"}, "text": "still here"}"#)
            #expect(try await alice.next().type == .chatMessage)
            #expect(try await alice.next().type == .chatAck)
            let seen = try await bob.next()
            #expect(seen.type == .chatMessage)
            #expect(try await bob.expectQuiet() == nil)
        }
    }

    @Test("a request before join gets 1006; an unsupported version gets 1002 and a 1002 close")
    func beforeJoinAndVersion() async throws {
        try await TestServer.start().run { server in
            let client = try await server.connect()
            client.send(#"{"v": 1, "type": "hand.raise", "id": "h"}"#)
            #expect(errorCode(try await client.next()) == .notJoined)
            client.send(#"{"v": 1, "type": "ping", "id": "p"}"#)
            #expect(try await client.next().type == .pong)
            client.send(#"{"v": 2, "type": "ping", "id": "p2"}"#)
            #expect(errorCode(try await client.next()) == .unsupportedVersion)
            #expect(try await client.closeFrame()?.closeCode == .protocolError)
        }
    }

    @Test("a chat flood is cut at the per-peer rate (burst 10) with 5003; others get only the accepted messages")
    func chatFlood() async throws {
        try await TestServer.start().run { server in
            let (alice, bob) = try await server.joinHostAndSpeaker()
            let flooded = ContinuousClock.now
            for index in 1...20 {
                bob.send(#"{"v": 1, "type": "chat.send", "id": "f\#(index)", "target": {"kind": "broadcast"}, "text": "spam \#(index)"}"#)
            }
            var acked = 0
            var limited = 0
            while acked + limited < 20 {
                let message = try await bob.next()
                switch message.body {
                case .chatAck: acked += 1
                case .error(let error):
                    #expect(error.code == .chatRateLimited)
                    limited += 1
                case .chatMessage: break
                default: Issue.record("unexpected \(message)")
                }
            }
            // The burst is 10; a token more refills every 200 ms the server
            // takes to read the flood (seconds when the whole package runs on two cores).
            let refilled = Int(((ContinuousClock.now - flooded) / .seconds(1) * Double(RateLimits.chat.perSecond)).rounded(.up))
            #expect(acked >= RateLimits.chat.burst && acked <= RateLimits.chat.burst + refilled)
            #expect(acked + limited == 20)
            var received = 0
            while received < acked {
                #expect(try await alice.next().type == .chatMessage)
                received += 1
            }
            #expect(try await alice.expectQuiet() == nil)
        }
    }

    @Test("a message flood is cut at the per-connection rate with 1008; the connection stays open")
    func messageFlood() async throws {
        try await TestServer.start(connectionRate: RateLimit(perSecond: 5, burst: 20)).run { server in
            let (alice, _) = try await server.join("alice", role: "host")
            for index in 1...40 {
                alice.send(#"{"v": 1, "type": "ping", "id": "p\#(index)"}"#)
            }
            var pongs = 0
            var limited = 0
            for _ in 1...40 {
                let message = try await alice.next()
                if message.type == .pong { pongs += 1 }
                if errorCode(message) == .tooManyMessages { limited += 1 }
            }
            // The join spent one token of the 20.
            #expect(pongs >= 19 && pongs < 25)
            #expect(pongs + limited == 40)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await alice.expectQuiet() == nil)
        }
    }
    @Test("every message counts against the rate before it is parsed: an unknown-type flood before join gets 1008, then a 1008 close")
    func unparsedFloodIsCounted() async throws {
        let rate = RateLimit(perSecond: 5, burst: 20)
        let server = try await TestServer.start(connectionRate: rate)
        let client = try await server.connect()
        for index in 1...300 {
            client.send(#"{"v": 1, "type": "teleport", "id": "t\#(index)"}"#)
        }
        var unknown = 0
        var limited = 0
        var limitedWithID = 0
        while true {
            let message: ServerMessage
            do {
                message = try await client.next(timeout: .seconds(30))
            } catch {
                break  // closed
            }
            switch errorCode(message) {
            case .unknownType?: unknown += 1
            case .tooManyMessages?:
                limited += 1
                if message.id != nil { limitedWithID += 1 }
            default: Issue.record("unexpected \(message)")
            }
        }
        // The burst is parsed and answered; then refusals, with the request's id, unparsed.
        #expect((20...24).contains(unknown))
        #expect(limited >= 40)
        #expect(limitedWithID >= 40)
        #expect(unknown + limited < 300)
        let frame = try await client.closeFrame(timeout: .seconds(10))
        #expect(frame?.closeCode == .policyViolation)
        #expect(frame?.reason?.hasPrefix("1008") == true)
        await server.stop()
    }

    @Test("a text frame that is not UTF-8 fails the connection with close 1007 (RFC 6455 §8.1)")
    func invalidUTF8() async throws {
        try await TestServer.start().run { server in
            let (alice, _) = try await server.join("alice", role: "host")
            // {"v": 1, "type": "ping", "id": "p<0xC3 0x28>"}: 0xC3 must be followed by a continuation byte.
            let bytes = Array(#"{"v": 1, "type": "ping", "id": "p"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
            alice.send(textBytes: bytes)
            let frame = try await alice.closeFrame(timeout: .seconds(20))
            #expect(frame?.closeCode == .dataInconsistentWithMessage)
        }
    }

    @Test(
        "frames out of order fail the connection with close 1002 (RFC 6455 §5.4): a continuation with no message begun, a message inside another",
        arguments: ["stray continuation", "message inside a message"])
    func framesOutOfOrder(_ order: String) async throws {
        try await TestServer.start().run { server in
            let (alice, _) = try await server.join("alice", role: "host")
            let ping = Array(#"{"v": 1, "type": "ping", "id": "p1"}"#.utf8)
            if order == "stray continuation" {
                alice.send(textBytes: ping)
                guard case .pong = try await alice.next().body else { throw ToolError("no pong") }
                // Once, this re-delivered the finished message: a second pong.
                alice.send(frame: .continuation, fin: true, [])
            } else {
                alice.send(frame: .text, fin: false, Array(ping[..<10]))
                alice.send(frame: .text, fin: true, ping)
            }
            let frame = try await alice.closeFrame(timeout: .seconds(20))
            #expect(frame?.closeCode == .protocolError)
            #expect(frame?.reason?.hasPrefix("1000") == true)
        }
    }

    @Test("deeply nested JSON is refused with 1000 before it is parsed; the connection stays open")
    func deepNesting() async throws {
        try await TestServer.start().run { server in
            let (alice, _) = try await server.join("alice", role: "host")
            let nested = String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000)
            alice.send(#"{"v": 1, "type": "ping", "id": "deep", "x": \#(nested)}"#)
            let reply = try await alice.next()
            #expect(errorCode(reply) == .malformedMessage)
            #expect(try await alice.expectQuiet() == nil)
        }
    }
}
