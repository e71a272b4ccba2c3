import ConfabClient
import ConfabMedia
import ConfabProtocol
import Synchronization
import Testing

@Suite("Headless command lines")
struct HeadlessCommandTests {
    @Test(
        "every command parses",
        arguments: [
            (#"{"cmd":"chat","text":"hi"}"#, HeadlessAction.chat(text: "hi", target: .broadcast)),
            (#"{"cmd":"chat","text":"q?","roles":["host"]}"#, .chat(text: "q?", target: .roles(["host"]))),
            (#"{"cmd":"chat","text":"psst","peers":["bob","carol"]}"#, .chat(text: "psst", target: .peers(["bob", "carol"]))),
            (#"{"cmd":"mute"}"#, .muteSelf),
            (#"{"cmd":"unmute"}"#, .unmuteSelf),
            (#"{"cmd":"mute","peer":"bob"}"#, .mutePeer("bob")),
            (#"{"cmd":"mute","track":"bob:mic"}"#, .muteTrack("bob:mic")),
            (#"{"cmd":"unmute","peer":"bob"}"#, .askToUnmute("bob")),
            (#"{"cmd":"unmute","track":"bob:mic"}"#, .unmuteTrack("bob:mic")),
            (#"{"cmd":"role","peer":"lee","role":"speaker"}"#, .changeRole(peer: "lee", role: "speaker", force: false)),
            (#"{"cmd":"role","peer":"lee","role":"speaker","force":true}"#, .changeRole(peer: "lee", role: "speaker", force: true)),
            (#"{"cmd":"raiseHand"}"#, .raiseHand),
            (#"{"cmd":"lowerHand"}"#, .lowerHand),
            (#"{"cmd":"remove","peer":"troll","reason":"spam"}"#, .remove(peer: "troll", reason: "spam")),
            (#"{"cmd":"remove","peer":"troll"}"#, .remove(peer: "troll", reason: nil)),
            (#"{"cmd":"end"}"#, .endRoom(lock: false, reason: nil)),
            (#"{"cmd":"end","lock":true,"reason":"bye"}"#, .endRoom(lock: true, reason: "bye")),
            (#"{"cmd":"answer","prompt":"p3","accept":true}"#, .answer(prompt: "p3", accept: true)),
            (#"{"cmd":"history","before":120,"limit":20}"#, .history(HistoryRequest(before: 120, limit: 20))),
            (#"{"cmd":"history","after":41}"#, .history(HistoryRequest(after: 41))),
            (#"{"cmd":"volume","peer":"bob","volume":0.5}"#, .volume(peer: "bob", volume: 0.5)),
            (#"{"cmd":"volume","peer":"bob","volume":2}"#, .volume(peer: "bob", volume: 2)),
            (#"{"cmd":"profile","name":"Al"}"#, .profile(name: "Al", metadata: nil)),
            (#"{"cmd":"state"}"#, .state),
            (#"{"cmd":"leave"}"#, .leave),
            (#"{"cmd":"devices"}"#, .devices),
            (#"{"cmd":"device","output":"alsa:USB Headset"}"#, .switchDevice(.output, name: "alsa:USB Headset")),
            (#"{"cmd":"device","input":"hw:1"}"#, .switchDevice(.input, name: "hw:1")),
        ])
    func parses(_ line: String, _ expected: HeadlessAction) throws {
        let command = try HeadlessCommand.parse(line).get()
        #expect(command.action == expected)
        #expect(command.id == nil)
    }

    @Test("the optional id is kept")
    func keepsID() throws {
        #expect(try HeadlessCommand.parse(#"{"id":"x1","cmd":"raiseHand"}"#).get().id == "x1")
        #expect(try HeadlessCommand.parse(#"{"id":7,"cmd":"raiseHand"}"#).get().id == "7")
    }

    @Test(
        "junk gives an error, never a crash",
        arguments: [
            "", "not json", "[]", "42", #""chat""#, "{", #"{"cmd":1}"#, #"{"text":"no cmd"}"#, #"{"cmd":"dance"}"#,
            #"{"cmd":"chat"}"#, #"{"cmd":"chat","text":5}"#, #"{"cmd":"chat","text":"x","roles":["a b"]}"#,
            #"{"cmd":"chat","text":"x","roles":[]}"#, #"{"cmd":"chat","text":"x","roles":["host"],"peers":["bob"]}"#,
            #"{"cmd":"mute","peer":"bob","track":"bob:mic"}"#, #"{"cmd":"role","peer":"lee"}"#,
            #"{"cmd":"answer","prompt":"p3"}"#, #"{"cmd":"answer","prompt":"p3","accept":"yes"}"#,
            #"{"cmd":"history","limit":0}"#, #"{"cmd":"history","before":0}"#, #"{"cmd":"volume","peer":"bob","volume":3}"#,
            #"{"cmd":"volume","peer":"bob"}"#, #"{"cmd":"profile"}"#, #"{"cmd":"remove","peer":"../etc"}"#,
            #"{"id":{"x":1},"cmd":"leave"}"#, #"{"cmd":"device"}"#, #"{"cmd":"device","input":"a","output":"b"}"#,
            #"{"cmd":"device","output":3}"#,
        ])
    func junk(_ line: String) {
        guard case .failure(let error) = HeadlessCommand.parse(line) else {
            Issue.record("\(line) parsed")
            return
        }
        let output = HeadlessEvents.errorLine(error)
        #expect(output.hasPrefix(#"{"event":"error""#))
        #expect(output.contains(#""kind":"badCommand""#))
        #expect(!output.contains("\n"))
    }

    @Test("an error line names the command and id when they were readable")
    func errorNamesCommand() {
        guard case .failure(let error) = HeadlessCommand.parse(#"{"id":"a","cmd":"role","peer":"lee"}"#) else {
            Issue.record("parsed")
            return
        }
        #expect(
            HeadlessEvents.errorLine(error)
                == #"{"event":"error","id":"a","cmd":"role","kind":"badCommand","message":"role: missing"}"#)
    }
}

@Suite("Headless event lines")
struct HeadlessEventTests {
    @Test("event lines are one line of JSON with event first")
    func shapes() throws {
        let lines: [(SessionEvent, String)] = [
            (.peerLeft("bob", reason: .removed, by: "alice"), #"{"event":"peer.left","peer":"bob","reason":"removed","by":"alice"}"#),
            (.peerLeft("bob", reason: .timeout, by: nil), #"{"event":"peer.left","peer":"bob","reason":"timeout"}"#),
            (.trackMuted(peer: "bob", track: "bob:mic", by: "alice"), #"{"event":"track.muted","peer":"bob","track":"bob:mic","by":"alice"}"#),
            (.reconnecting(attempt: 2, delayMs: 1400), #"{"event":"reconnecting","attempt":2,"delayMs":1400}"#),
            (.reconnected(resumed: true), #"{"event":"reconnected","resumed":true}"#),
            (.roleChangeRequested(RoleChangePrompt(prompt: "p3", by: "alice", role: "speaker")), #"{"event":"role.changeRequested","prompt":"p3","by":"alice","role":"speaker"}"#),
            (.disconnected(.roomEnded(by: "alice", reason: "Thanks", locked: true)), #"{"event":"disconnected","reason":"roomEnded","by":"alice","message":"Thanks","locked":true}"#),
            (.failure(.server(CodedError(.tooManyMessages, "slow \"down\""))), #"{"event":"error","kind":"server","code":1008,"message":"slow \"down\""}"#),
            (.failure(.server(CodedError(.chatRateLimited, "later", retryAfterMs: 180))), #"{"event":"error","kind":"server","code":5003,"message":"later","retryAfterMs":180}"#),
            (.connectionStateChanged(to: .reconnecting(attempt: 1), from: .connected), #"{"event":"connection","state":"reconnecting","from":"connected","attempt":1}"#),
            (.audioDevice(AudioDeviceChange(direction: .output, device: "alsa:hw:1", available: true)),
             #"{"event":"media.device","direction":"output","device":"alsa:hw:1","available":true,"text":"The speaker alsa:hw:1 is back."}"#),
            (.audioDevice(AudioDeviceChange(direction: .output, device: "alsa:default", kind: .fellBack, replaced: "alsa:hw:1")),
             #"{"event":"media.device","direction":"output","device":"alsa:default","available":true,"replaces":"alsa:hw:1","text":"The speaker alsa:hw:1 stopped working: using alsa:default until it is back."}"#),
            (.audioDevice(AudioDeviceChange(direction: .output, device: "alsa:headset", kind: .switched)),
             #"{"event":"media.device","direction":"output","device":"alsa:headset","available":true,"switched":true,"text":"The speaker is now alsa:headset."}"#),
            (.mediaStats([:], devices: [
                AudioDeviceStats(direction: .input, device: "alsa:hw:1", xruns: 2, failures: 0),
                AudioDeviceStats(direction: .output, device: "alsa:hw:0", xruns: 0, failures: 1),
            ]), #"{"event":"media.stats","peers":{},"devices":{"input":{"device":"alsa:hw:1","xruns":2,"failures":0},"output":{"device":"alsa:hw:0","xruns":0,"failures":1}}}"#),
            (.mediaStats([:]), #"{"event":"media.stats","peers":{}}"#),
            (.soundCard(SoundCardChange(card: SoundCardEntry(index: 1, id: "Headset", name: "USB Headset"), present: false)),
             #"{"event":"media.card","card":1,"id":"Headset","name":"USB Headset","present":false,"text":"Sound card 1 (USB Headset) was unplugged."}"#),
        ]
        for (event, expected) in lines {
            #expect(HeadlessEvents.line(for: event) == expected)
        }
    }

    @Test("chat lines carry the message in its protocol shape, text escaped")
    func chatLine() throws {
        let line = HeadlessEvents.line(for: .chatMessage(Fixture.message(4, text: "two\nlines")))
        #expect(line.hasPrefix(#"{"event":"chat.message","message":{"#))
        #expect(line.contains(#""text":"two\nlines""#))
        #expect(line.contains(#""seq":4"#))
        #expect(!line.contains("\n"))
    }

    @Test("the joined line never shows the resume token")
    func noSecrets() {
        let line = HeadlessEvents.line(for: .joined(Fixture.joined(token: "rt-secret"), roundTripMs: 1))
        #expect(line.hasPrefix(#"{"event":"joined","room":"standup","resumed":false,"joinTimeMs":3"#))
        #expect(!line.contains("rt-secret"))
    }

    @Test("a cluster's new node list is printed whole, by `confab join` and `confab connect` alike")
    func clusterNodes() {
        let nodes = ["wss://a.example:7443", "wss://b.example:7443"]
        let expected = #"{"event":"cluster.nodes","nodes":["wss://a.example:7443","wss://b.example:7443"]}"#
        #expect(HeadlessEvents.prints(.clusterNodesChanged(nodes)))
        #expect(HeadlessEvents.line(for: .clusterNodesChanged(nodes)) == expected)
        #expect(HeadlessCallEvents.line(for: .clusterNodesChanged(nodes)) == expected)
    }

    @Test("every event kind renders to a JSON object line")
    func everyKind() throws {
        let events: [SessionEvent] = [
            .connectionStateChanged(to: .connected, from: .connecting), .joined(Fixture.joined(), roundTripMs: 0),
            .reconnecting(attempt: 1, delayMs: 1), .reconnected(resumed: false), .disconnected(.gaveUp),
            .failure(.connectionLost), .peerJoined(Fixture.peer("bob"), resumed: true),
            .peerLeft("bob", reason: .left, by: nil), .peerUpdated(Fixture.peer("bob"), changed: [.hand], by: nil),
            .trackAdded(peer: "bob", track: TrackInfo(id: "bob:mic", muted: true)),
            .trackRemoved(peer: "bob", track: "bob:mic"), .trackMuted(peer: "bob", track: "bob:mic", by: "bob"),
            .trackUnmuted(peer: "bob", track: "bob:mic", by: "bob"),
            .trackDegraded(peer: "bob", track: "bob:mic", reason: .noMedia), .trackRestored(peer: "bob", track: "bob:mic"),
            .speakers([SpeakerLevel(peer: "bob", track: "bob:mic", level: 50)]), .chatMessage(Fixture.message(1)),
            .chatHistory(ChatPage(messages: [Fixture.message(1)], hasMore: true), direction: .older),
            .roleChangeRequested(RoleChangePrompt(prompt: "p1", by: "bob", role: "host")),
            .unmuteRequested(UnmutePrompt(prompt: "p2", by: "bob", track: "alice:mic")),
            .promptSent("p3", to: "bob", question: .unmute("bob:mic")),
            .promptAnswered(PromptAnswered(prompt: "p3", peer: "bob", accepted: false)), .promptClosed("p1"),
            .removed(Removed(by: nil, reason: nil)), .roomEnded(RoomEnded(by: nil, reason: nil, locked: false)),
            .serverGoingAway(ServerGoingAway(reason: "x", retryAfterMs: 5)), .peerVolumeChanged("bob", volume: 0.5),
            .conversationRead(.direct(["bob"])), .clusterNodesChanged(["wss://a.example:7443"]),
        ]
        for event in events {
            let line = HeadlessEvents.line(for: event)
            let parsed = try JSONValue.parse(line)
            guard case .string(let name)? = parsed["event"] else {
                Issue.record("no event name in \(line)")
                continue
            }
            #expect(!name.isEmpty)
            #expect(line.hasPrefix(#"{"event":"#))
        }
    }
}

/// Lines a headless client printed, appended from any task.
final class PrintedLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// A headless client on a session over an in-memory server, and what it prints.
struct HeadlessHarness {
    let server = FakeServer()
    let session: ConfabSession
    let client: HeadlessClient
    let printed: PrintedLines

    init() {
        let printed = PrintedLines()
        session = ConfabSession(configuration: Fixture.configuration(), transport: server)
        client = HeadlessClient(session: session) { line in printed.append(line) }
        self.printed = printed
    }

    /// Runs the client with `lines` as its whole input; returns why it left.
    @discardableResult
    func run(_ lines: [String]) async -> DisconnectReason {
        let (input, feed) = AsyncStream<String>.makeStream()
        for line in lines { feed.yield(line) }
        feed.finish()
        return await client.run(input: input)
    }
}

@Suite("The headless client against an in-memory server")
struct HeadlessClientTests {
    @Test("commands become requests; results, events and bad lines are printed; end of input leaves")
    func endToEnd() async throws {
        let harness = HeadlessHarness()
        let reason = await harness.run([#"{"id":"c1","cmd":"chat","text":"hello"}"#, "garbage", #"{"cmd":"raiseHand","id":"c2"}"#])
        #expect(reason == .left)
        let output = harness.printed.all
        #expect(output.contains { $0.hasPrefix(#"{"event":"joined""#) })
        #expect(output.contains(#"{"event":"result","id":"c1","cmd":"chat","ok":true,"message":"m1","seq":1}"#))
        #expect(output.contains { $0.contains(#""kind":"badCommand""#) })
        // The events a command causes come before its result, as in the protocol.
        let messageLine = try #require(output.firstIndex { $0.hasPrefix(#"{"event":"chat.message""#) })
        let resultLine = try #require(output.firstIndex { $0.hasPrefix(#"{"event":"result","id":"c1""#) })
        #expect(messageLine < resultLine)
        #expect(output.contains(#"{"event":"result","id":"c2","cmd":"raiseHand","ok":true}"#))
        #expect(output.last?.hasPrefix(#"{"event":"disconnected","reason":"left""#) == true)
        #expect(harness.server.receivedTypes == [.join, .sendChat, .raiseHand, .leave])
    }

    @Test("after a leave command, disconnected is still the last line (the command's result comes first)")
    func leaveCommandEndsWithDisconnected() async throws {
        let harness = HeadlessHarness()
        let (input, feed) = AsyncStream<String>.makeStream()
        feed.yield(#"{"id":"bye","cmd":"leave"}"#)
        // Input stays open, as a bot's pipe does after it asks to leave.
        let reason = await harness.client.run(input: input)
        #expect(reason == .left)
        let output = harness.printed.all
        #expect(output.contains(#"{"event":"result","id":"bye","cmd":"leave","ok":true}"#), "\(output)")
        #expect(output.last?.hasPrefix(#"{"event":"disconnected","reason":"left""#) == true, "\(output)")
        #expect(output.filter { $0.hasPrefix(#"{"event":"disconnected""#) }.count == 1)
        feed.finish()
    }

    @Test("a refused command prints an error line with the catalog code")
    func refusedCommand() async throws {
        let harness = HeadlessHarness()
        harness.server.handle(.endRoom) { message, _ in
            [ServerMessage(id: message.id, .error(CodedError(.cannotEndRoom, "role listener may not end the room")))]
        }
        try await harness.session.join()
        await harness.client.perform(#"{"id":"e","cmd":"end","lock":true}"#)
        #expect(
            harness.printed.all == [
                #"{"event":"error","id":"e","cmd":"end","kind":"server","code":3006,"message":"role listener may not end the room"}"#
            ])
    }
}

@Suite("Headless device commands without audio")
struct HeadlessDeviceCommandTests {
    @Test("device without audio is refused with the reason; devices still lists the cards, and the bot stays in the room")
    func withoutAudio() async throws {
        let harness = HeadlessHarness()
        await harness.run([#"{"id":"d1","cmd":"device","output":"alsa:headset"}"#, #"{"id":"d2","cmd":"devices"}"#, #"{"id":"d3","cmd":"raiseHand"}"#])
        let output = harness.printed.all
        #expect(output.contains(
            #"{"event":"error","id":"d1","cmd":"device","kind":"invalidArgument","message":"no audio devices here: join with --input or --output to have some"}"#))
        #expect(output.contains { $0.hasPrefix(#"{"event":"result","id":"d2","cmd":"devices","ok":true,"cards":["#) })
        #expect(output.contains(#"{"event":"result","id":"d3","cmd":"raiseHand","ok":true}"#))
    }
}

@Suite("stdin lines for the headless client")
struct InputLineSplitterTests {
    static func split(_ chunks: [String], maximumBytes: Int = 16) -> [String] {
        var splitter = InputLineSplitter(maximumBytes: maximumBytes)
        var lines: [String] = []
        for chunk in chunks { splitter.feed(Array(chunk.utf8)) { lines.append($0) } }
        splitter.finish { lines.append($0) }
        return lines
    }

    @Test("lines split at LF across chunks; CR LF is a line break too; the last line may lack one")
    func splits() {
        #expect(Self.split(["{\"cmd\":", "\"state\"}\n{\"cmd\"", ":\"leave\"}"], maximumBytes: 64)
            == [#"{"cmd":"state"}"#, #"{"cmd":"leave"}"#])
        #expect(Self.split(["a\r\nb\n", "\n", "c\rd\n"]) == ["a", "b", "", "c\rd"])
        #expect(Self.split([]) == [])
    }

    @Test("a line over the limit comes out cut one byte past it, once; the rest up to its LF is skipped")
    func cutsLongLines() {
        let lines = Self.split([String(repeating: "x", count: 10), String(repeating: "y", count: 100), "\nnext\n"])
        #expect(lines == [String(repeating: "x", count: 10) + String(repeating: "y", count: 7), "next"])
        #expect(lines[0].utf8.count == 17)
        // Exactly at the limit is a line like any other; a CR at the cut stays (the line is still too long).
        #expect(Self.split([String(repeating: "z", count: 16) + "\n"]) == [String(repeating: "z", count: 16)])
        #expect(Self.split([String(repeating: "z", count: 16) + "\r" + "tail\nok"]) == [String(repeating: "z", count: 16) + "\r", "ok"])
        // Too long and never ended: nothing more comes out at the end.
        #expect(Self.split([String(repeating: "w", count: 40)]) == [String(repeating: "w", count: 17)])
    }

    @Test("the default limit is the command parser's: a cut line is refused as too long")
    func cutLineIsRefused() {
        var splitter = InputLineSplitter()
        var lines: [String] = []
        splitter.feed(Array(repeating: UInt8(ascii: "{"), count: HeadlessCommand.maximumLineBytes + 5_000)) { lines.append($0) }
        #expect(lines.count == 1)
        guard case .failure(let error) = HeadlessCommand.parse(lines[0]) else {
            Issue.record("a cut line was accepted")
            return
        }
        #expect(error.message == "line longer than \(HeadlessCommand.maximumLineBytes) bytes")
    }

    @Test("bytes that are not UTF-8 are repaired, as readLine did")
    func repairsUTF8() {
        var splitter = InputLineSplitter()
        var lines: [String] = []
        splitter.feed([0x61, 0xFF, 0x62, 0x0A]) { lines.append($0) }
        #expect(lines == ["a\u{FFFD}b"])
    }
}
