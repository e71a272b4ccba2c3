// Chat over the wire: who receives what, commit before ack, history pages.

import ConfabProtocol
import ConfabServer
import Foundation
import Testing

@Suite("Chat")
struct ChatTests {
    /// Alice (host), Bob (speaker), Sam (speaker), Lee (listener), each
    /// having seen the others arrive.
    static func room(_ server: TestServer, room: String = "standup") async throws -> [String: RawClient] {
        let (alice, _) = try await server.join("alice", role: "host", room: room)
        let (bob, _) = try await server.join("bob", role: "speaker", room: room)
        let (sam, _) = try await server.join("sam", role: "speaker", room: room)
        let (lee, _) = try await server.join("lee", role: "listener", room: room)
        try await expectJoined(alice, ["bob", "sam", "lee"])
        try await expectJoined(bob, ["sam", "lee"])
        try await expectJoined(sam, ["lee"])
        return ["alice": alice, "bob": bob, "sam": sam, "lee": lee]
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let sender: String
        let target: String
        let recipients: Set<String>
        var testDescription: String { "\(sender) → \(target)" }
    }

    @Test(
        "chat of each kind reaches exactly its recipients",
        arguments: [
            Case(sender: "lee", target: #"{"kind": "broadcast"}"#, recipients: ["alice", "bob", "sam", "lee"]),
            Case(sender: "lee", target: #"{"kind": "roles", "roles": ["host"]}"#, recipients: ["alice", "lee"]),
            Case(sender: "bob", target: #"{"kind": "roles", "roles": ["speaker"]}"#, recipients: ["bob", "sam"]),
            Case(sender: "alice", target: #"{"kind": "peers", "peers": ["lee"]}"#, recipients: ["alice", "lee"]),
            Case(sender: "sam", target: #"{"kind": "peers", "peers": ["bob", "lee"]}"#, recipients: ["sam", "bob", "lee"]),
        ])
    func routing(_ chat: Case) async throws {
        let server = try await TestServer.shared.value
        let peers = try await Self.room(server, room: TestServer.uniqueRoom("chat"))
        let sender = try #require(peers[chat.sender])
        sender.send(#"{"v": 1, "type": "chat.send", "id": "c1", "target": \#(chat.target), "text": "hello"}"#)
        // The sender sees its message, then the ack (after the commit).
        let own = try await sender.next()
        guard case .chatMessage(let message) = own.body else {
            Issue.record("expected chat.message, got \(own)")
            return
        }
        let ack = try await sender.next()
        guard case .chatAck(let ackBody) = ack.body else {
            Issue.record("expected chat.ack, got \(ack)")
            return
        }
        #expect(ack.id?.rawValue == "c1" && ackBody.seq == message.seq && ackBody.message == message.id)
        for (name, client) in peers where name != chat.sender {
            if chat.recipients.contains(name) {
                let received = try await client.next()
                guard case .chatMessage(let copy) = received.body else {
                    Issue.record("\(name) expected the message, got \(received)")
                    continue
                }
                #expect(copy == message)
            } else {
                #expect(try await client.expectQuiet() == nil, "\(name) must not receive it")
            }
        }
        // History shows it to its recipients only (broadcasts to everyone).
        for (name, client) in peers {
            client.send(#"{"v": 1, "type": "chat.history", "id": "h1"}"#)
            let page = try await client.next()
            guard case .chatPage(let history) = page.body else {
                Issue.record("expected chat.page, got \(page)")
                continue
            }
            #expect(history.messages.map(\.seq) == (chat.recipients.contains(name) ? [message.seq] : []), "\(name)")
        }
        for client in peers.values { client.close() }
    }

    @Test("a listener may not send direct messages (3010); nobody sees it")
    func listenerDirectRefused() async throws {
        let server = try await TestServer.start()
        let peers = try await Self.room(server)
        let lee = try #require(peers["lee"])
        lee.send(#"{"v": 1, "type": "chat.send", "id": "d", "target": {"kind": "peers", "peers": ["bob"]}, "text": "psst"}"#)
        #expect(errorCode(try await lee.next()) == .cannotChatDirect)
        for (name, client) in peers where name != "lee" {
            #expect(try await client.expectQuiet() == nil, "\(name)")
        }
        await server.stop()
    }

    @Test("history pages forward and back by sequence number, with hasMore")
    func historyPaging() async throws {
        let server = try await TestServer.start()
        let (alice, _) = try await server.join("alice", role: "host")
        for index in 1...7 {
            alice.send(#"{"v": 1, "type": "chat.send", "id": "c\#(index)", "target": {"kind": "broadcast"}, "text": "n\#(index)"}"#)
            _ = try await alice.next(.chatAck)
            // Stay under the chat rate (5/s, bursts of 10).
        }
        func page(_ request: String) async throws -> ChatPage? {
            alice.send(#"{"v": 1, "type": "chat.history", "id": "h", \#(request)}"#)
            if case .chatPage(let page) = try await alice.next().body { return page }
            return nil
        }
        let first = try await page(#""after": 0, "limit": 3"#)
        #expect(first?.messages.map(\.seq) == [1, 2, 3] && first?.hasMore == true)
        let last = try await page(#""after": 5, "limit": 3"#)
        #expect(last?.messages.map(\.seq) == [6, 7] && last?.hasMore == false)
        let back = try await page(#""before": 4, "limit": 2"#)
        #expect(back?.messages.map(\.seq) == [2, 3] && back?.hasMore == true)
        let newest = try await page(#""limit": 2"#)
        #expect(newest?.messages.map(\.seq) == [6, 7] && newest?.hasMore == true)
        // A later joiner gets the recent history in joined.
        let (_, joined) = try await server.join("bob", role: "speaker", extra: #", "historyLimit": 5"#)
        #expect(joined.history.messages.map(\.seq) == [3, 4, 5, 6, 7] && joined.history.hasMore)
        await server.stop()
    }

    @Test("a resend with the same idempotency key is acknowledged with the original message")
    func idempotentResend() async throws {
        let server = try await TestServer.start()
        let (alice, _) = try await server.join("alice", role: "host")
        let send = #"{"v": 1, "type": "chat.send", "id": "ID", "target": {"kind": "broadcast"}, "text": "once", "idempotencyKey": "k-1"}"#
        alice.send(send.replacingOccurrences(of: "ID", with: "c1"))
        _ = try await alice.next(.chatMessage)
        let first = try await alice.next()
        alice.send(send.replacingOccurrences(of: "ID", with: "c2"))
        let second = try await alice.next()
        guard case .chatAck(let one) = first.body, case .chatAck(let two) = second.body else {
            Issue.record("expected two acks, got \(first) and \(second)")
            return
        }
        #expect(one == two && second.id?.rawValue == "c2")
        await server.stop()
    }
}
