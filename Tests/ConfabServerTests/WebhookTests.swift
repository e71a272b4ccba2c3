// Webhooks against a real server and a real HTTP receiver: each event once,
// in order, signed as docs/ADMIN.md says; delivered after the receiver was
// down; a full queue drops new events and the gap shows; chat only when asked.

import ConfabProtocol
import ConfabRooms
import ConfabServer
import ConfabTestSupport
import Crypto
import Foundation
import Testing

@Suite("Webhooks")
struct WebhookTests {
    static let secret = "whsec-test-0123456789abcdef"

    /// Quick retries, so that a receiver back up is found within a second.
    static func settings(_ endpoints: [WebhookEndpoint], queueLimit: Int = 100) -> WebhookSettings {
        var settings = WebhookSettings(endpoints: endpoints)
        settings.retryInitialMs = 100
        settings.retryMaxMs = 400
        settings.queueLimit = queueLimit
        return settings
    }

    /// The signature recomputed here from the documented recipe, not by the server's code.
    static func isSigned(_ delivery: ReceivedDelivery, secret: String) -> Bool {
        guard let header = delivery.signature else { return false }
        var fields: [String: String] = [:]
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let t = fields["t"], let timestamp = Int64(t), let v1 = fields["v1"] else { return false }
        guard abs(Int64(Date().timeIntervalSince1970) - timestamp) < 300 else { return false }
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("\(t).".utf8) + delivery.body, using: SymmetricKey(data: Array(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined() == v1
    }

    /// A receiver, and a server posting the `events` to it while `body` runs; both stopped after.
    static func withReceiver(
        events: Set<WebhookEventKind>, template: RoomTemplate = TestServer.template(),
        _ body: (TestServer, WebhookReceiver) async throws -> Void
    ) async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        let hook = WebhookEndpoint(name: "hook", url: receiver.url, secret: secret, events: events)
        try await TestServer.start(template: template, webhooks: settings([hook])).run { server in
            try await body(server, receiver)
        }
        await receiver.stop()
    }

    @Test("each event once, in order, signed; again after the receiver was down; a wrong secret fails the check")
    func deliveredInOrderAndAfterAnOutage() async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        let hook = WebhookEndpoint(name: "ops", url: receiver.url, secret: Self.secret)
        try await TestServer.start(webhooks: Self.settings([hook])).run { server in
            let admin = try await AdminClient.make(server)
            let (alice, bob) = try await server.joinHostAndSpeaker()
            alice.send(#"{"v": 1, "type": "role.change", "id": "r", "peer": "bob", "role": "listener", "force": true}"#)
            _ = try await alice.next(where: { $0.id?.rawValue == "r" })
            alice.send(#"{"v": 1, "type": "peer.remove", "id": "x", "peer": "bob", "reason": "test"}"#)
            _ = try await alice.next(where: { $0.id?.rawValue == "x" })
            let first = try await receiver.waitFor(5)
            #expect(first.compactMap(\.type) == ["room.started", "peer.joined", "peer.joined", "role.changed", "peer.left"])
            #expect(first[1]["peer"] == "alice" && first[2]["peer"] == "bob" && first[2]["role"] == "speaker")
            #expect(first[3]["role"] == "listener" && first[3]["by"] == "alice")
            #expect(first[4]["reason"] == "removed" && first[4]["by"] == "alice")
            #expect(first.allSatisfy { $0["room"] == "standup" })
            #expect(first.compactMap { $0["sequence"] } == ["1", "2", "3", "4", "5"])
            for delivery in first {
                #expect(Self.isSigned(delivery, secret: Self.secret), "\(delivery.type ?? "?") is not signed as documented")
                #expect(!Self.isSigned(delivery, secret: "another-secret-0123456789"), "a wrong secret must not verify")
                #expect(delivery.eventID != nil && delivery.eventID == delivery.json?["id"]?.text)
                #expect(WebhookSignature.verify(
                    header: delivery.signature ?? "", body: delivery.body, secret: Array(Self.secret.utf8),
                    now: Int64(Date().timeIntervalSince1970)))
            }
            _ = bob
            // The Python example of docs/ADMIN.md, run as written, agrees.
            #expect(try await Self.pythonVerifies(first[0], secret: Self.secret) == "True")
            #expect(try await Self.pythonVerifies(first[0], secret: "another-secret-0123456789") == "False")

            // The receiver goes away; the room goes on, and nothing is lost.
            let port = receiver.port
            await receiver.stop()
            let (carol, _) = try await server.join("carol", role: "listener")
            carol.send(#"{"v": 1, "type": "leave", "id": "l"}"#)
            _ = try await carol.closeFrame()
            let ended = try await admin.call("DELETE", "/api/v1/rooms/{room}", ["room": "standup"], query: "?reason=done")
            #expect(ended.status == 204)
            // Attempts fail while it is down (counted; a refused connection takes until the request's deadline).
            let failing = await waitUntil(timeout: .seconds(30)) {
                (try? await Self.metric(server, #"confab_webhook_delivery_failures_total{endpoint="ops"}"#)) ?? 0 >= 1
            }
            #expect(failing)
            try await Task.sleep(for: .seconds(2))
            try await receiver.start(port: port)
            let all = try await receiver.waitFor(8)
            #expect(all.compactMap(\.type).suffix(3) == ["peer.joined", "peer.left", "room.ended"])
            #expect(all[7]["by"] == "@server" && all[7]["reason"] == "done" && all[7]["locked"] == "false")
            #expect(Set(all.compactMap(\.eventID)).count == all.count, "each event once")
            #expect(all.compactMap { $0["sequence"] } == (1...8).map(String.init))
            #expect(try await Self.metric(server, #"confab_webhook_deliveries_total{endpoint="ops"}"#) == 8)
            // Nothing more comes: no repeats once delivered.
            try await Task.sleep(for: .milliseconds(500))
            #expect(receiver.deliveries.count == 8)
            alice.close()
        }
        await receiver.stop()
    }

    @Test("the signature check takes any timestamp: too old, too new or at the ends of Int64 is refused, never a trap")
    func signatureTimestamps() {
        let secret = Array("a-webhook-secret-0123456789".utf8)
        let body = Array(#"{"type":"room.started"}"#.utf8)
        let now: Int64 = 1_764_931_260
        func header(_ t: Int64) -> String { WebhookSignature.header(secret: secret, timestamp: t, body: body) }
        #expect(WebhookSignature.verify(header: header(now - 299), body: body, secret: secret, now: now))
        for t in [now - 301, now + 301, Int64.min, Int64.max] {
            #expect(!WebhookSignature.verify(header: header(t), body: body, secret: secret, now: now), "t=\(t)")
        }
        #expect(!WebhookSignature.verify(header: header(now), body: body, secret: secret, now: Int64.min))
    }

    @Test("a full queue drops new events (counted in /metrics) and the sequence shows the gap")
    func overflowDropsNewEvents() async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        let port = receiver.port
        await receiver.stop()
        let hook = WebhookEndpoint(name: "slow", url: "http://127.0.0.1:\(port)/hook", secret: Self.secret)
        try await TestServer.start(webhooks: Self.settings([hook], queueLimit: 2)).run { server in
            // room.started and alice's peer.joined fill the queue; bob's join does not fit.
            let (alice, bob) = try await server.joinHostAndSpeaker()
            #expect(try await Self.metric(server, #"confab_webhook_events_dropped_total{endpoint="slow",reason="overflow"}"#) == 1)
            try await receiver.start(port: port)
            _ = try await receiver.waitFor(2)
            bob.send(#"{"v": 1, "type": "leave", "id": "l"}"#)
            _ = try await alice.next(.peerLeft)
            let all = try await receiver.waitFor(3)
            #expect(all.compactMap(\.type) == ["room.started", "peer.joined", "peer.left"])
            #expect(all.compactMap { $0["sequence"] } == ["1", "2", "4"], "the dropped event's number is missing")
        }
        await receiver.stop()
    }

    @Test("chat goes only to an endpoint that asks for it; a 5xx answer is retried until accepted")
    func chatOnlyWhenAsked() async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        let other = WebhookReceiver()
        try await other.start()
        let chat = WebhookEndpoint(name: "chat", url: receiver.url, secret: Self.secret, events: [.chatMessage])
        let rooms = WebhookEndpoint(name: "rooms", url: other.url, secret: Self.secret)
        try await TestServer.start(webhooks: Self.settings([chat, rooms])).run { server in
            receiver.setFailing(true)
            let (alice, _) = try await server.join("alice", role: "host")
            alice.send(#"{"v": 1, "type": "chat.send", "id": "c", "target": {"kind": "broadcast"}, "text": "hello"}"#)
            _ = try await alice.next(where: { $0.id?.rawValue == "c" })
            _ = try await other.waitFor(2)
            let refused = await waitUntil(timeout: .seconds(30)) {
                (try? await Self.metric(server, #"confab_webhook_delivery_failures_total{endpoint="chat"}"#)) ?? 0 >= 2
            }
            #expect(refused)
            receiver.setFailing(false)
            let got = try await receiver.waitFor(1)
            #expect(got.count == 1 && got[0].type == "chat.message")
            #expect(got[0].json?["message.text"]?.text == "hello")
            #expect(other.deliveries.compactMap(\.type) == ["room.started", "peer.joined"], "no chat by default")
            alice.close()
        }
        await receiver.stop()
        await other.stop()
    }

    @Test("a request nobody answers in the prompt lifetime is prompt.expired: who was asked, the prompt, who asked")
    func promptExpired() async throws {
        var template = TestServer.template()
        template.promptLifetimeMs = 1_000
        try await Self.withReceiver(events: [.promptExpired, .promptAnswered], template: template) { server, receiver in
            let admin = try await AdminClient.make(server)
            let (alice, bob) = try await server.joinHostAndSpeaker()
            let asked = try await admin.call(
                "POST", "/api/v1/rooms/{room}/peers/{peer}/role", ["room": "standup", "peer": "bob"],
                body: #"{"role": "listener", "force": false}"#)
            #expect(asked.status == 202)
            let apiPrompt = try #require(asked.json?["prompt"]?.text)
            _ = try await bob.next(.roleChangeRequested)
            alice.send(#"{"v": 1, "type": "track.unmute", "id": "u", "track": "bob:mic"}"#)
            guard case .ok(let reply) = try await alice.next(where: { $0.id?.rawValue == "u" }).body,
                let hostPrompt = reply.prompt
            else { throw ToolError("the host's request got no prompt") }
            _ = try await bob.next(.unmuteRequested)

            let got = try await receiver.waitFor(2)
            #expect(got.compactMap(\.type) == ["prompt.expired", "prompt.expired"], "nothing was answered")
            #expect(got.map { $0["prompt"] } == [apiPrompt, hostPrompt.rawValue], "the older first")
            #expect(got.map { $0["by"] } == ["@server", "alice"])
            #expect(got.allSatisfy { $0["peer"] == "bob" && $0["accepted"] == nil })
            let room = try await admin.call("GET", "/api/v1/rooms/{room}", ["room": "standup"])
            #expect(room.json?["peers"]?.array.first { $0["id"]?.text == "bob" }?["role"]?.text == "speaker", "the role as it was")
            alice.close()
        }
    }

    @Test("a peer's answer to what the API or a host asked is prompt.answered: who answered, the prompt, yes or no, who asked")
    func promptAnswered() async throws {
        try await Self.withReceiver(events: [.promptAnswered, .roleChanged]) { server, receiver in
            let admin = try await AdminClient.make(server)
            let (alice, bob) = try await server.joinHostAndSpeaker()
            let role = "/api/v1/rooms/{room}/peers/{peer}/role"
            // The API asks twice: bob declines, then accepts.
            var answers: [(prompt: String, accept: Bool)] = []
            for accept in [false, true] {
                let asked = try await admin.call(
                    "POST", role, ["room": "standup", "peer": "bob"], body: #"{"role": "listener", "force": false}"#)
                #expect(asked.status == 202)
                let prompt = try #require(asked.json?["prompt"]?.text)
                _ = try await bob.next(.roleChangeRequested)
                bob.send(#"{"v": 1, "type": "prompt.answer", "id": "a-\#(prompt)", "prompt": "\#(prompt)", "accept": \#(accept)}"#)
                _ = try await bob.next(where: { $0.id?.rawValue == "a-\(prompt)" })
                answers.append((prompt, accept))
            }
            // A host asks; bob (a listener now) accepts.
            alice.send(#"{"v": 1, "type": "role.change", "id": "r", "peer": "bob", "role": "speaker"}"#)
            guard case .ok(let reply) = try await alice.next(where: { $0.id?.rawValue == "r" }).body, let hostPrompt = reply.prompt
            else { throw ToolError("the host's request got no prompt") }
            _ = try await bob.next(.roleChangeRequested)
            bob.send(#"{"v": 1, "type": "prompt.answer", "id": "h", "prompt": "\#(hostPrompt.rawValue)", "accept": true}"#)
            _ = try await alice.next(.promptAnswered)

            let got = try await receiver.waitFor(5)
            #expect(got.compactMap(\.type) == ["prompt.answered", "role.changed", "prompt.answered", "role.changed", "prompt.answered"])
            let answered = got.filter { $0.type == "prompt.answered" }
            for (index, (prompt, accept)) in answers.enumerated() {
                #expect(answered[index]["prompt"] == prompt && answered[index]["accepted"] == String(accept))
                #expect(answered[index]["peer"] == "bob" && answered[index]["by"] == "@server")
            }
            #expect(answered[2]["prompt"] == hostPrompt.rawValue && answered[2]["by"] == "alice")
            #expect(got[1]["role"] == "listener" && got[1]["by"] == "@server" && got[3]["role"] == "speaker")
            alice.close()
        }
    }

    @Test("a call answered is call.started (its room, the caller), hung up is call.ended")
    func callEvents() async throws {
        try await Self.withReceiver(events: [.callStarted, .callEnded]) { server, receiver in
            let (alice, bob, call) = try await CallWireTests().ring(server)
            bob.send(#"{"v": 1, "type": "call.accept", "id": "acc", "call": "\#(call)"}"#)
            _ = try await bob.next(where: { $0.id?.rawValue == "acc" })
            alice.send(#"{"v": 1, "type": "call.hangup", "id": "h", "call": "\#(call)"}"#)
            _ = try await bob.next { $0.type == .callEnded }
            let got = try await receiver.waitFor(2)
            #expect(got.compactMap(\.type) == ["call.started", "call.ended"])
            #expect(got.allSatisfy { $0["call"] == call && $0["room"] == "call-\(call)" }, "\(got.map(\.json))")
            #expect(got[0]["caller"] == "alice")
            #expect(got.allSatisfy { Self.isSigned($0, secret: Self.secret) })
            alice.close()
            bob.close()
        }
    }

    /// What the verification example of docs/ADMIN.md says of `delivery` with `secret`.
    static func pythonVerifies(_ delivery: ReceivedDelivery, secret: String) async throws -> String {
        let page = try RepositoryFile.text("docs/ADMIN.md")
        guard let section = page.range(of: "### Verifying the signature"),
            let start = page.range(of: "```python\n", range: section.upperBound..<page.endIndex),
            let end = page.range(of: "```", range: start.upperBound..<page.endIndex)
        else { throw ToolError("docs/ADMIN.md has no Python verification example") }
        let directory = try TempDirectory(prefix: "confab-webhook-python")
        try Data(delivery.body).write(to: URL(fileURLWithPath: directory.path + "/body"))
        let script = String(page[start.upperBound..<end.lowerBound]) + """

            import sys
            body = open(sys.argv[1], "rb").read()
            print(verify(sys.argv[2].encode(), sys.argv[3], body))
            """
        let python = try ChildProcess(
            "/usr/bin/python3", ["-c", script, directory.path + "/body", secret, delivery.signature ?? ""])
        guard await python.wait(seconds: 30) == 0 else { throw ToolError("python3 failed: \(python.standardError)") }
        return python.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A sample's value in /metrics.
    static func metric(_ server: TestServer, _ sample: String) async throws -> Int? {
        let (_, text) = try await FingerprintClient.get(
            "/metrics", port: server.port, fingerprint: server.server.identity.fingerprint)
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1)).map { Int($0) }
        }
        return nil
    }
}

extension ReceivedDelivery {
    /// A member of the body as text (numbers and booleans as written).
    subscript(_ key: String) -> String? { json?[key]?.text }
}
