import ConfabProtocol
import ConfabRooms
import Testing

@Suite("Chat routing: each target reaches exactly the right peers")
struct ChatRoutingTests {
    /// The peers a chat outcome delivers to, checked against what it commits.
    static func delivered(_ outcome: RoomOutcome?) -> Set<PeerID>? {
        guard let outcome, let chat = outcome.chat else { return nil }
        let audiences = outcome.events.compactMap { event -> Set<PeerID>? in
            if case .chatMessage = event.body { event.audience } else { nil }
        }
        #expect(audiences.count == 1, "one chat event per message")
        #expect(audiences.first == chat.recipients, "delivered to exactly the committed recipients")
        return audiences.first
    }

    static let routes: [(PeerID, ChatTarget, Set<PeerID>)] = [
        ("hana", .broadcast, Fixture.everyone),
        ("lee", .broadcast, Fixture.everyone),
        ("hana", .roles(["listener"]), ["hana", "lee", "lina"]),
        ("lee", .roles(["host"]), ["lee", "hana", "hugo"]),
        ("sam", .roles(["host", "listener"]), ["sam", "hana", "hugo", "lee", "lina"]),
        ("sam", .roles(["speaker"]), ["sam", "sara"]),
        ("hana", .peers(["lina"]), ["hana", "lina"]),
        ("sam", .peers(["hugo", "lee"]), ["sam", "hugo", "lee"]),
        ("hana", .peers(["lina", "lina", "hana"]), ["hana", "lina"]),
    ]

    @Test("broadcast reaches all; roles and direct reach their peers plus the sender", arguments: routes)
    func route(sender: PeerID, target: ChatTarget, expected: Set<PeerID>) {
        var room = Fixture.standardRoom()
        let outcome = room.attempt(.sendChat(target: target, text: "hi"), by: sender).success
        #expect(Self.delivered(outcome) == expected)
        #expect((try? room.recipients(of: target, from: sender)) == expected)
    }

    @Test("a message is a draft with the time and the sender's name and role; the store's number goes into event and ack")
    func draftAndCommit() throws {
        var room = Fixture.standardRoom()
        let outcome = try room.apply(
            .sendChat(target: .broadcast, text: "two"), from: "lee", now: Fixture.t1.adding(milliseconds: 5))
        let delivery = try #require(outcome.chat)
        #expect(delivery.message.seq == 0)
        #expect(delivery.message.from == "lee" && delivery.message.fromName == "Lee" && delivery.message.fromRole == "listener")
        #expect(delivery.message.sentAt == Fixture.t1.adding(milliseconds: 5))
        var committed = delivery.message
        committed.seq = 42
        committed.id = .forSequence(42)
        let sent = delivery.outcome(committed: committed)
        #expect(sent.reply == .chatAck(ChatAck(message: "m42", seq: 42, sentAt: committed.sentAt)))
        #expect(sent.events == [RoomEvent(audience: delivery.recipients, body: .chatMessage(committed))])
    }

    @Test("duplicate roles and peers in a target are recorded once")
    func normalisedTarget() throws {
        var room = Fixture.standardRoom()
        let outcome = try room.apply(
            .sendChat(target: .roles(["host", "host", "listener"]), text: "x"), from: "sam", now: Fixture.t1)
        #expect(outcome.chat?.message.target == .roles(["host", "listener"]))
    }

    @Test("the text is sanitised before it is stored or sent")
    func sanitised() throws {
        var room = Fixture.standardRoom()
        let outcome = try room.apply(
            .sendChat(target: .broadcast, text: "\u{1B}]52;c;cm0gLXJm\u{07}hello\u{202E}\r\nworld"), from: "lee",
            now: Fixture.t1)
        #expect(outcome.chat?.message.text == "hello\nworld")
    }

    static let refusals: [(PeerID, ChatTarget, String, ErrorCode)] = [
        ("hana", .roles(["janitor"]), "x", .roleNotFound),
        ("hana", .roles([]), "x", .noRecipients),
        ("sam", .roles(["speaker"]), "x", .chatTooLong),
        ("hana", .peers(["ghost"]), "x", .peerNotFound),
        ("hana", .peers([]), "x", .noRecipients),
        ("hana", .peers(["hana"]), "x", .noRecipients),
        ("hana", .broadcast, " \u{1B}[2J\u{200B} ", .chatEmpty),
        ("hana", .broadcast, String(repeating: "w", count: 4_001), .chatTooLong),
    ]

    @Test("bad targets and texts are refused and change nothing", arguments: refusals)
    func refused(sender: PeerID, target: ChatTarget, text: String, code: ErrorCode) {
        var room = Fixture.standardRoom()
        let text = code == .chatTooLong ? String(repeating: "w", count: 4_001) : text
        let before = room
        #expect(room.attempt(.sendChat(target: target, text: text), by: sender).failure?.code == code)
        #expect(room == before)
    }

    @Test("a role with nobody else in it has no recipients")
    func emptyRole() {
        var room = Fixture.standardRoom()
        _ = room.attempt(.leave, by: "sara")
        #expect(
            room.attempt(.sendChat(target: .roles(["speaker"]), text: "x"), by: "sam").failure?.code == .noRecipients)
    }

    @Test("chat is limited to a burst of 10, then 5 a second; a refusal says when the next is let through")
    func rateLimit() throws {
        var room = Fixture.standardRoom()
        for index in 0..<10 {
            #expect(room.attempt(.sendChat(target: .broadcast, text: "m\(index)"), by: "lee").success != nil)
        }
        let before = room
        let refusal = room.attempt(.sendChat(target: .broadcast, text: "flood"), by: "lee").failure
        #expect(refusal?.code == .chatRateLimited)
        #expect(refusal?.retryAfterMs == 200, "5 a second: the next token in 200 ms")
        #expect(room == before)
        // Another peer is unaffected.
        #expect(room.attempt(.sendChat(target: .broadcast, text: "me too"), by: "lina").success != nil)
        // 200 ms later one more token has arrived, and only one.
        let later = Fixture.t1.adding(milliseconds: 200)
        #expect(room.attempt(.sendChat(target: .broadcast, text: "again"), by: "lee", at: later).success != nil)
        let again = room.attempt(.sendChat(target: .broadcast, text: "again"), by: "lee", at: later).failure
        #expect(again?.code == .chatRateLimited)
        // Waiting what the refusal says gets the message through, a millisecond less does not.
        let wait = try #require(again?.retryAfterMs)
        #expect(wait == 200)
        #expect(
            room.attempt(.sendChat(target: .broadcast, text: "early"), by: "lee", at: later.adding(milliseconds: wait - 1))
                .failure?.retryAfterMs == 1)
        #expect(
            room.attempt(.sendChat(target: .broadcast, text: "on time"), by: "lee", at: later.adding(milliseconds: wait))
                .success != nil)
    }

    @Test("a refused message does not spend the sender's allowance")
    func refusedIsFree() {
        var room = Fixture.standardRoom()
        for _ in 0..<20 {
            _ = room.attempt(.sendChat(target: .peers(["ghost"]), text: "x"), by: "lee")
        }
        #expect(room.attempt(.sendChat(target: .broadcast, text: "x"), by: "lee").success != nil)
    }

    @Test("a suspended peer is still a recipient, to read the message when it resumes")
    func suspendedRecipient() {
        var room = Fixture.standardRoom()
        _ = room.connectionLost("lina", now: Fixture.t1)
        let outcome = room.attempt(.sendChat(target: .roles(["listener"]), text: "x"), by: "hana").success
        #expect(Self.delivered(outcome) == ["hana", "lee", "lina"])
        #expect(room.attempt(.sendChat(target: .peers(["lina"]), text: "x"), by: "hana").success != nil)
    }

    @Test("a peer that left is not a recipient")
    func leftPeer() {
        var room = Fixture.standardRoom()
        _ = room.attempt(.leave, by: "lina")
        #expect(
            Self.delivered(room.attempt(.sendChat(target: .broadcast, text: "x"), by: "hana").success)
                == Fixture.everyone.subtracting(["lina"]))
        #expect(room.attempt(.sendChat(target: .peers(["lina"]), text: "x"), by: "hana").failure?.code == .peerNotFound)
    }
}
