// Every input kept under Tests/FuzzCorpus (the seeds `make fuzz` starts from,
// and each input a fuzzing run found that broke something) goes through its
// fuzz target again: a finding, once fixed, stays fixed.
import ConfabClient
@testable import ConfabFuzzing
import ConfabProtocol
import ConfabTestSupport
import Foundation
import Testing

@Suite("Fuzz corpus: every kept input keeps every property")
struct FuzzCorpusTests {
    static func inputs(_ target: FuzzTarget) throws -> [URL] {
        let folder = RepositoryFile.root.appendingPathComponent("Tests/FuzzCorpus/\(target.rawValue)")
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test("each kept input passes its target", arguments: FuzzTarget.allCases)
    func replay(_ target: FuzzTarget) throws {
        let inputs = try Self.inputs(target)
        #expect(inputs.count >= 2, "seeds for \(target.rawValue)")
        for input in inputs {
            let bytes = try [UInt8](Data(contentsOf: input))
            do {
                try target.run(bytes)
            } catch {
                Issue.record("\(target.rawValue)/\(input.lastPathComponent): \(error)")
            }
        }
    }

    @Test("the room seeds drive a real meeting: chat is logged, prompts answered, refusals counted, the room ends")
    func roomSeedsReachTheRoom() throws {
        let meeting = try RepositoryFile.text("Tests/FuzzCorpus/room/meeting")
        let played = try RoomFuzzing.play(meeting)
        #expect(played.chatSequence == 3)
        #expect(played.accepted >= 12, "accepted \(played.accepted)")
        #expect(played.room.peer("a") == nil, "the room ended and let everyone go")
        if case .open = played.room.phase { Issue.record("the room is still open") }

        let townHall = try RoomFuzzing.play(try RepositoryFile.text("Tests/FuzzCorpus/room/townhall"))
        #expect(townHall.room.hasAudience)
        #expect(townHall.chatSequence == 2)
        #expect(townHall.refused == 0, "every step of the town hall seed is allowed")
    }

    @Test("time passes in the room seeds (`- wait MS`): a prompt nobody answers lapses")
    func roomSeedsWait() throws {
        let played = try RoomFuzzing.play(try RepositoryFile.text("Tests/FuzzCorpus/room/state-keys-prompts"))
        #expect(played.lapsedPrompts == 1, "the waits of the seeds were once skipped")
    }

    @Test("the forwarder seeds bind every peer and forward: the meeting's talk reaches its subscribers")
    func forwarderSeedsForward() throws {
        let input = try [UInt8](Data(contentsOf: RepositoryFile.root.appendingPathComponent("Tests/FuzzCorpus/forwarder/meeting")))
        let room = try input.withUnsafeBytes { bytes in try ForwarderFuzzing.play(bytes) }
        #expect(room.bindings == 4, "alice, bob, lee, and lee again after coming back")
        // Ten packets each from alice (to bob and lee) and bob (to alice), a sender report, then two more of alice's.
        #expect(room.copies >= 30, "copies \(room.copies)")
    }

    @Test("a room script that refuses: a listener may not mute, remove or end; the refusals change nothing")
    func refusalsAreCounted() throws {
        let script = """
            a join host Alice
            c join listener Carol
            c send {"v": 1, "type": "track.mute", "id": "r1", "track": "a:mic"}
            c send {"v": 1, "type": "peer.remove", "id": "r2", "peer": "a"}
            c send {"v": 1, "type": "room.end", "id": "r3", "lock": true}
            """
        let played = try RoomFuzzing.play(script)
        #expect(played.refused == 3)
        #expect(played.accepted == 0)
        #expect(played.room.peer("a") != nil && played.room.peer("c") != nil)
    }

    @Test("the text checker catches what must not reach a terminal", arguments: [
        "a\u{1B}[2Jb", "bidi \u{202E}override", "trailing ", "two\nlines", "zero\u{200B}width", "c1 \u{9B}",
    ])
    func textCheckerCanFail(_ unsafe: String) {
        #expect(throws: FuzzViolation.self) { try TextFuzzing.check(unsafe, policy: .displayName, label: "name") }
    }

    @Test("the wire checker refuses a range outside the datagram")
    func wireCheckerCanFail() {
        let datagram = UnsafeMutableRawBufferPointer.allocate(byteCount: 3, alignment: 1)
        defer { datagram.deallocate() }
        #expect(throws: FuzzViolation.self) { try WireFuzzing.inside(2..<5, UnsafeRawBufferPointer(datagram), "test") }
    }

    /// What each token seed must come to: accepted (nil) or refused with that code.
    static let tokenVerdicts: [(String, ErrorCode?)] = [
        ("signed-room", nil), ("signed-user", nil), ("signed-admin", nil), ("raw-room", nil), ("raw-user", nil),
        ("signed-room-expired", .tokenExpired), ("signed-room-before-nbf", .tokenNotYetValid),
        ("signed-room-tampered", .tokenSignatureInvalid), ("signed-admin-truncated", .tokenSignatureInvalid),
        ("signed-room-cut-to-two-parts", .tokenMalformed), ("signed-admin-leading-space", nil),
        ("raw-alg-none", .tokenSignatureInvalid), ("raw-alg-hs512", .tokenSignatureInvalid),
        ("raw-alg-hs256-signed-as-hs512", .tokenSignatureInvalid), ("raw-crit", .tokenMalformed),
        ("raw-other-room", .tokenWrongRoom), ("raw-user-as-room", .tokenWrongRoom),
        ("raw-room-as-user", .tokenWrongRoom), ("raw-user-as-admin", .notAdminToken),
        ("raw-exp-string", .tokenMalformed), ("raw-nested-header", .tokenMalformed), ("raw-empty", .tokenMalformed),
    ]

    @Test("the token seeds reach every verdict: accepted, expired, early, forged, other algorithms, wrong kind or room",
          arguments: tokenVerdicts)
    func tokenSeedVerdicts(_ name: String, _ expected: ErrorCode?) throws {
        let input = try [UInt8](Data(contentsOf: RepositoryFile.root.appendingPathComponent("Tests/FuzzCorpus/token/\(name)")))
        let trial = input.withUnsafeBytes { TokenFuzzing.trial($0) }
        switch trial.outcome {
        case .success: #expect(expected == nil, "\(name) was accepted")
        case .failure(let error): #expect(error.code == expected, "\(name): \(error)")
        }
    }

    @Test("the token checker refuses an accepted token that a verifier could not have accepted")
    func tokenCheckerCanFail() {
        let forged = TokenFuzzing.signedToken(.room).dropLast(2) + "AA"
        let claims = TokenFuzzing.Accepted(subject: "alice", room: "standup", role: "host", name: "Alice")
        #expect(throws: FuzzViolation.self, "a signature that is not the HMAC") {
            try TokenFuzzing.checkAccepted(String(forged), kind: .room, claims: claims, nowSeconds: 1_800_000_100)
        }
        #expect(throws: FuzzViolation.self, "after expiry") {
            try TokenFuzzing.checkAccepted(TokenFuzzing.signedToken(.room), kind: .room, claims: claims, nowSeconds: 1_800_003_600)
        }
        var wrongName = claims
        wrongName.name = "Mallory"
        #expect(throws: FuzzViolation.self, "claims other than the payload's") {
            try TokenFuzzing.checkAccepted(TokenFuzzing.signedToken(.room), kind: .room, claims: wrongName, nowSeconds: 1_800_000_100)
        }
        #expect(throws: Never.self, "the signed token as it is") {
            try TokenFuzzing.checkAccepted(TokenFuzzing.signedToken(.room), kind: .room, claims: claims, nowSeconds: 1_800_000_100)
        }
    }
}

extension FuzzCorpusTests {
    typealias ScreenVerdict = ScreenFuzzing.Verdict

    /// Where each screen seed must end: failed as not UTF-8, refused as too
    /// deep, refused by the decoder with a code, or accepted; and the id the
    /// scan finds for a reply to a message over the rate.
    static let screenVerdicts: [(String, ScreenVerdict)] = [
        ("join", .init(validUTF8: true, tooDeep: false, scannedID: "r1")),
        ("ping", .init(validUTF8: true, tooDeep: false, scannedID: "p")),
        ("chat", .init(validUTF8: true, tooDeep: false, scannedID: "c-7")),
        ("depth-32", .init(validUTF8: true, tooDeep: false, scannedID: "d", refusal: .invalidMessage)),
        ("depth-33", .init(validUTF8: true, tooDeep: true, scannedID: "d")),
        ("brackets-in-strings", .init(validUTF8: true, tooDeep: false, scannedID: "s", refusal: .invalidMessage)),
        ("overlong-slash", .init(validUTF8: false, tooDeep: false, scannedID: nil)),
        ("surrogate", .init(validUTF8: false, tooDeep: false, scannedID: "x")),
        ("past-10ffff", .init(validUTF8: false, tooDeep: false, scannedID: "x")),
        ("truncated-sequence", .init(validUTF8: false, tooDeep: false, scannedID: "x")),
        ("four-byte-ok", .init(validUTF8: true, tooDeep: false, scannedID: "x")),
        ("id-nested", .init(validUTF8: true, tooDeep: false, scannedID: nil, refusal: .missingRequestID)),
        ("id-late", .init(validUTF8: true, tooDeep: false, scannedID: nil)),
        ("id-escaped", .init(validUTF8: true, tooDeep: false, scannedID: nil)),
        ("id-key-escaped", .init(validUTF8: true, tooDeep: false, scannedID: nil)),
        ("id-number", .init(validUTF8: true, tooDeep: false, scannedID: nil, refusal: .invalidMessage)),
        ("id-twice", .init(validUTF8: true, tooDeep: false, scannedID: "first")),
        ("unknown-type-controls", .init(validUTF8: true, tooDeep: false, scannedID: "t", refusal: .unknownType)),
        ("unsupported-version", .init(validUTF8: true, tooDeep: false, scannedID: "v", refusal: .unsupportedVersion)),
        ("no-id", .init(validUTF8: true, tooDeep: false, scannedID: nil, refusal: .missingRequestID)),
        ("array-top", .init(validUTF8: true, tooDeep: false, scannedID: nil, refusal: .malformedMessage)),
        ("utf16le", .init(validUTF8: true, tooDeep: false, scannedID: nil, refusal: .malformedMessage)),
        ("bom", .init(validUTF8: true, tooDeep: false, scannedID: "b")),
        ("unbalanced", .init(validUTF8: true, tooDeep: false, scannedID: "q", refusal: .malformedMessage)),
        ("empty", .init(validUTF8: true, tooDeep: false, scannedID: nil, refusal: .malformedMessage)),
    ]

    @Test("the screen seeds reach every end: not UTF-8, too deep, each decoder refusal, accepted; the id scan reads the top-level id only",
          arguments: screenVerdicts)
    func screenSeedVerdicts(_ name: String, _ expected: ScreenVerdict) throws {
        let input = try [UInt8](Data(contentsOf: RepositoryFile.root.appendingPathComponent("Tests/FuzzCorpus/screen/\(name)")))
        #expect(ScreenFuzzing.verdict(input) == expected, "\(name)")
    }

    @Test("the screen checker's own UTF-8 reading follows RFC 3629: its examples pass, overlongs, surrogates and more fail",
          arguments: [
            ([0x41, 0xE2, 0x89, 0xA2, 0xCE, 0x91, 0x2E], true), ([0xED, 0x95, 0x9C, 0xEA, 0xB5, 0xAD], true),
            ([0xEF, 0xBB, 0xBF, 0xF0, 0xA3, 0x8E, 0xB4], true), ([0xF4, 0x8F, 0xBF, 0xBF], true),
            ([0xC0, 0xAF], false), ([0xE0, 0x80, 0xAF], false), ([0xF0, 0x80, 0x80, 0xAF], false),
            ([0xED, 0xA0, 0x80], false), ([0xF4, 0x90, 0x80, 0x80], false), ([0xF8, 0x88, 0x80, 0x80, 0x80], false),
            ([0xE2, 0x82], false), ([0x80], false), ([0xC2, 0x41], false),
          ] as [([UInt8], Bool)])
    func screenCheckerReadsUTF8(_ bytes: [UInt8], _ wellFormed: Bool) {
        #expect(ScreenFuzzing.isWellFormedUTF8(bytes) == wellFormed)
        #expect(ScreenFuzzing.depth(of: [[1], [[2]]] as [Any]) == 3)
    }
}

extension FuzzCorpusTests {
    @Test("every command line of docs/BOTS.md kept as a headless seed is a command the bot client accepts")
    func headlessSeedsFromTheDocsParse() throws {
        let seeds = try Self.inputs(.headless).filter { $0.lastPathComponent.hasPrefix("bots-") }
        #expect(seeds.count >= 30)
        for seed in seeds {
            let line = try String(contentsOf: seed, encoding: .utf8)
            let asRoom = try? HeadlessCommand.parse(line).get()
            let asCall = try? HeadlessCallCommand.parse(line).get()
            #expect(asRoom != nil || asCall != nil, "\(seed.lastPathComponent): \(line)")
        }
        #expect(throws: HeadlessCommandError.self) { try HeadlessCommand.parse(#"{"cmd":"explode","id":"x1"}"#).get() }
    }

    @Test("the headless checker catches a split line and an error that names another request")
    func headlessCheckerCanFail() throws {
        #expect(throws: FuzzViolation.self) { try HeadlessFuzzing.oneLine("{\"event\":\"x\"}\n{}") }
        #expect(throws: FuzzViolation.self) { try HeadlessFuzzing.oneLine("{\"text\":\"a\u{2028}b\"}") }
        guard case .failure(let error) = HeadlessCommand.parse(#"{"cmd":"chat","id":"other"}"#) else {
            Issue.record("a chat without text was accepted")
            return
        }
        #expect(error.id == "other" && error.command == "chat")
        #expect(throws: FuzzViolation.self) { try HeadlessFuzzing.checkError(error, sent: .some("mine"), in: "…") }
        #expect(throws: Never.self) { try HeadlessFuzzing.checkError(error, sent: .some("other"), in: "…") }
    }
}

extension FuzzCorpusTests {
    @Test("the connection seeds reach every part: the room and the calls, each refusal before parsing, each way a connection fails")
    func connectionSeeds() throws {
        func play(_ name: String) throws -> ConnectionFuzzing.Played {
            try ConnectionFuzzing.play(try RepositoryFile.text("Tests/FuzzCorpus/connection/\(name)"))
        }
        let meeting = try play("meeting")
        #expect(
            meeting.routes == [
                "pong", "refuse", "join", "refuse", "refuse", "join", "refuse", "room", "loss", "refuse", "room",
            ], "ping; chat before join; a refused join; another room; connect; joined; resume; chat in three frames; loss; a call; leave")
        #expect(meeting.refusals == [.notJoined, .invalidMessage, .wrongConnection, .alreadyJoined, .wrongConnection])
        #expect(meeting.phase == .over && meeting.closedWith == nil, "left; the ping after it goes nowhere")

        let presence = try play("presence")
        #expect(presence.routes == ["refuse", "refuse", "connect", "refuse", "calls", "calls", "refuse", "refuse", "pong"])
        #expect(presence.refusals == [.notJoined, .wrongConnection, .alreadyJoined, .wrongConnection, .wrongConnection])
        #expect(presence.phase == .online)

        let flood = try play("flood")
        #expect(flood.messages == 6, "the burst, then what a second refills")
        #expect(flood.refusals == Array(repeating: .tooManyMessages, count: 10), "twice the burst, and a second's refill, refused")
        #expect(flood.closedWith == 1008)

        let sizes = try play("sizes")
        #expect(sizes.refusals == [.messageTooLarge, .messageTooLarge, .malformedMessage, .malformedMessage, .invalidMessage])
        #expect(sizes.routes == ["join", "pong"])
        #expect(sizes.closedWith == 1007)

        #expect(try play("stray-continuation").closedWith == 1002)
        #expect(try play("message-in-message").closedWith == 1002)
        let refused = try play("refused-for-good")
        #expect(refused.refusals == [.unsupportedVersion] && refused.phase == .over && refused.messages == 1)
    }

    @Test("the server-message seeds are server messages the client takes in, and the joined room they meet has people in it")
    func serverMessageSeedsDecode() throws {
        var decoded = 0
        for seed in try Self.inputs(.serverMessage) {
            if (try? ProtocolCodec().decode(Data(contentsOf: seed), as: ServerMessage.self)) != nil { decoded += 1 }
        }
        #expect(decoded >= 50, "\(decoded) seeds decode")
        let state = ServerMessageFuzzing.joinedState
        #expect(state.you?.name == "Alice" && state.peers["lee"]?.name == "Lee")
        #expect(state.chat.map(\.seq) == [41] && state.sharedState["agenda"]?.value == "Q3 review")
    }
}

extension FuzzCorpusTests {
    @Test("README's fuzzing table and the Makefile's list name every fuzz target")
    func documented() throws {
        let readme = try RepositoryFile.text("README.md")
        let makefile = try RepositoryFile.text("Makefile")
        for target in FuzzTarget.allCases {
            #expect(readme.contains("| `\(target.rawValue)` |"), "README.md has no row for \(target.rawValue)")
            #expect(makefile.contains(" \(target.rawValue)"), "the Makefile's fuzz comment does not name \(target.rawValue)")
        }
    }
}
