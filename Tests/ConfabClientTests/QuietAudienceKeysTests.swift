// End-to-end keys for a quiet audience, through the real server: a town hall
// whose listeners are not announced to the speakers, yet hear them. Real SDK
// sessions, real HPKE sealing, real SRTP and forwarding; the light listeners
// are sessions without media that open the keys sealed to them.

@testable import ConfabClient
import ConfabMedia
import ConfabProtocol
import ConfabRooms
import ConfabTestSupport
import Foundation
import Testing

@Suite("Quiet audience keys: speakers seal to listeners they are not shown", .timeLimit(.minutes(6)))
struct QuietAudienceKeysTests {
    /// Peer ids near the 64-character limit, so that a few hundred keys overflow one 64 KiB message.
    static func listenerID(_ index: Int) -> PeerID {
        PeerID(uncheckedRawValue: "listener-with-a-long-identity-for-paging-\(String(format: "%05d", index))")
    }

    /// `count` light quiet listeners, joined eight at a time.
    static func lightListeners(_ server: LiveServer, room: String, _ indices: Range<Int>) async throws -> [Participant] {
        var all: [Participant] = []
        for batch in stride(from: indices.lowerBound, to: indices.upperBound, by: 8) {
            all += try await withThrowingTaskGroup(of: Participant.self) { group in
                for index in batch..<min(batch + 8, indices.upperBound) {
                    group.addTask {
                        let listener = try await server.participant(Self.listenerID(index), role: "listener", room: room)
                        try await listener.session.join()
                        return listener
                    }
                }
                return try await group.reduce(into: [Participant]()) { $0.append($1) }
            }
        }
        return all.sorted { $0.id < $1.id }
    }

    /// The newest key `listener` holds from `sender`, opened with its own identity: nil if none arrived or it does not open.
    static func openedKey(_ listener: Participant, from sender: Participant, room: RoomName) -> (key: [UInt8], epoch: Int, ssrc: UInt32)? {
        let deliveries = listener.events.compactMap { event -> SealedKeyDelivery? in
            if case .mediaKeyReceived(let delivery) = event, delivery.from == sender.id { delivery } else { nil }
        }
        guard let delivery = deliveries.max(by: { $0.epoch < $1.epoch }), let ssrc = delivery.ssrc else { return nil }
        let senderKey = sender.session.identity.publicKey
        let context = MediaKeyContext(
            room: room, sender: sender.id, recipient: listener.id, track: delivery.track, epoch: delivery.epoch, ssrc: ssrc)
        guard
            let key = try? MediaKeySealing.open(
                delivery.sealed, senderKey: senderKey, identity: listener.session.identity, context: context)
        else { return nil }
        return (key, delivery.epoch, ssrc)
    }

    /// Expects every one of `hearers` to have played the 4 s of speech of `speechSeed` that
    /// `speaker` sent (correlation ≥ 0.85 over at least three segments), starting within `seconds`.
    static func expectHeard(speechSeed: UInt64, of speaker: PeerID, by hearers: [Talker], withinSeconds seconds: Int) throws {
        let reference = try pcmOf(SpeechLikeSource(seed: speechSeed, durationSeconds: 4))
        for hearer in hearers {
            let match = SignalComparison.segmentedMatch(
                reference: reference, received: hearer.sink.samples, maxLagSamples: 48_000 * seconds)
            print("quiet audience: \(hearer.participant.id) correlates \(match.correlation) with \(speaker) over \(match.segments) segments")
            #expect(match.correlation >= 0.85, "\(hearer.participant.id) hears \(speaker)")
            #expect(match.segments >= 3)
        }
    }

    @Test("a quiet listener hears the speaker (before and after the speaker joins); the speaker's store does not list it")
    func quietListenerHears() async throws {
        let server = try await LiveServer.start(template: .townHall)
        let lee = try await Talker.join(server, "lee", role: "listener", room: "hall", source: nil)
        let bob = try await Talker.join(server, "bob", role: "speaker", room: "hall", source: .heldSpeech(seed: 4, seconds: 4))
        let kim = try await Talker.join(server, "kim", role: "listener", room: "hall", source: nil)
        await bob.speak(onceKeyedBy: lee, kim)
        #expect(lee.participant.state.you?.id == "lee" && bob.participant.state.peers["lee"] == nil)
        try await bob.waitUntilSent(seconds: 4)
        try await letAudioFlow(forMs: 600)

        try Self.expectHeard(speechSeed: 4, of: "bob", by: [lee, kim], withinSeconds: 20)
        // The speaker was never shown its audience, in its store or its events.
        #expect(Set(bob.participant.state.peers.keys).isEmpty)
        #expect(bob.participant.peerEvents.isEmpty)
        await bob.participant.until("the speaker counts two listeners") { $0.counts?.count(of: "listener") == 2 }
        #expect(await bob.controller.rotations == 0, "nobody left: one key")
        await Talker.end(bob, lee, kim)
        await server.stop()
    }

    @Test("a listener with a raised hand is promoted, unmutes and is heard by the host and by another quiet listener")
    func promotedListenerSpeaks() async throws {
        let server = try await LiveServer.start(template: .townHall)
        let alice = try await Talker.join(server, "alice", role: "host", room: "hall", source: nil)
        // Held back: the promotion comes before the speech.
        let lee = try await Talker.join(
            server, "lee", role: "listener", room: "hall", source: .heldSpeech(seed: 6, seconds: 4))
        let kim = try await Talker.join(server, "kim", role: "listener", room: "hall", source: nil)
        #expect(await lee.controller.sendingSSRC == nil, "a listener sends nothing")

        try await lee.participant.session.raiseHand()
        await alice.participant.until("the hand is up for the host") { $0.raisedHands.map(\.id) == ["lee"] }
        try await alice.participant.session.changeRole(of: "lee", to: "speaker", force: true)
        await lee.participant.until("a microphone of its own") { $0.yourMicrophone != nil }
        try await lee.participant.session.unmuteSelf()
        await lee.speak(onceKeyedBy: alice, kim)
        try await lee.waitUntilSent(seconds: 4)
        try await letAudioFlow(forMs: 600)

        try Self.expectHeard(speechSeed: 6, of: "lee", by: [alice, kim], withinSeconds: 20)
        // The other listener is still not shown to the new speaker.
        #expect(lee.participant.state.peers["kim"] == nil)
        await Talker.end(alice, lee, kim)
        await server.stop()
    }

    @Test("a few hundred quiet listeners each get a key that opens, in keys.publish pages under 64 KiB")
    func hundredsOfListeners() async throws {
        let count = 420
        let server = try await LiveServer.start(template: .townHall)
        let room = RoomName(uncheckedRawValue: "hall")
        // Most are there before the speaker (its whole list, paged), some come after (the batched additions).
        var listeners = try await Self.lightListeners(server, room: "hall", 0..<(count - 20))
        let bob = try await Talker.join(server, "bob", role: "speaker", room: "hall", source: .tone(hz: 440, seconds: 30))
        listeners += try await Self.lightListeners(server, room: "hall", (count - 20)..<count)
        // The speaker sends with its key once every page of it was acknowledged: wait for that.
        await waitUntil(timeout: .seconds(30)) { await bob.controller.sendingSSRC != nil }
        let ssrc = try #require(await bob.controller.sendingSSRC)

        var missing: [PeerID] = []
        for listener in listeners {
            let holds = await eventually(timeoutMs: 30_000, pollMs: 50) { Self.openedKey(listener, from: bob.participant, room: room) != nil }
            if !holds { missing.append(listener.id) }
        }
        #expect(missing.isEmpty, "\(missing.count) listeners got no key that opens: \(missing.prefix(5))")
        let keys = listeners.compactMap { Self.openedKey($0, from: bob.participant, room: room) }
        #expect(Set(keys.map(\.key)).count == 1, "one key for all, the one bob sends with")
        #expect(keys.allSatisfy { $0.ssrc == ssrc && $0.key.count == 30 })

        // One message to all of them would not have fitted: the pages did.
        let one = PublishKeysRequest(
            track: .microphone(of: "bob"), epoch: 1, keys: listeners.map { SealedKey(peer: $0.id, sealed: Data(count: 78)) }, ssrc: ssrc)
        let bytes = ProtocolCodec().encode(ClientMessage(id: "k1", .publishKeys(one))).count
        print("quiet audience: \(count) keys in one keys.publish would be \(bytes) bytes")
        #expect(bytes > ProtocolLimits.maximumClientMessageBytes)
        #expect(bob.participant.state.peers.isEmpty, "the speaker's store lists no listener")
        #expect(await bob.controller.rotations == 0)
        for listener in listeners { await listener.session.leave() }
        await Talker.end(bob)
        await server.stop()
    }

    @Test("listeners leaving rotate the key once, no sooner than the interval, and the departed get no new key")
    func departureRotates() async throws {
        let server = try await LiveServer.start(template: .townHall)
        let room = RoomName(uncheckedRawValue: "hall")
        let listeners = try await Self.lightListeners(server, room: "hall", 0..<5)
        let bob = try await Talker.join(server, "bob", role: "speaker", room: "hall", source: .tone(hz: 440, seconds: 30))
        let interval = Duration.seconds(3)
        await bob.controller.setQuietRotationInterval(interval)
        for listener in listeners {
            await listener.until("bob's first key", events: { _ in Self.openedKey(listener, from: bob.participant, room: room) != nil })
        }
        let firstKeyAt = try #require(await bob.controller.quietHearers.lastKeyAt)
        let first = try #require(Self.openedKey(listeners[0], from: bob.participant, room: room))

        // Two leave at once: one rotation for both, when the interval since the first key has passed.
        let (gone, staying) = (Array(listeners.prefix(2)), Array(listeners.dropFirst(2)))
        for listener in gone { await listener.session.leave() }
        for listener in staying {
            await listener.until("a new key", timeoutMs: 20_000, events: { _ in
                (Self.openedKey(listener, from: bob.participant, room: room)?.epoch ?? 0) > first.epoch
            })
        }
        let rotatedAfter = ContinuousClock.now - firstKeyAt
        print("quiet audience: the new key arrived \(rotatedAfter) after the first key was made (interval \(interval))")
        #expect(rotatedAfter >= interval, "a quiet departure waits for the interval")
        #expect(await bob.controller.rotations == 1, "both departures in one rotation")
        let second = try #require(Self.openedKey(staying[0], from: bob.participant, room: room))
        #expect(second.key != first.key && second.ssrc != first.ssrc)
        #expect(await bob.controller.sendingSSRC == second.ssrc)
        let recipients = try #require(await bob.controller.keyRecipients)
        #expect(recipients == Set(staying.map(\.id)), "the new key is sealed to those who stayed, not to the departed")
        for listener in gone {
            #expect(Self.openedKey(listener, from: bob.participant, room: room)?.epoch == first.epoch)
        }
        for listener in staying { await listener.session.leave() }
        await Talker.end(bob)
        await server.stop()
    }
}
