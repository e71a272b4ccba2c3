// The loudest few, without a socket: RTP packets carrying RFC 6464 levels
// and given times go into the forwarder; what it would send to an audience
// member (hears only the loudest) and to a host (hears everyone) comes out.
// Four publishers talk every 20 ms, as a 20 ms Opus sender does.

@testable import ConfabServer
import ConfabProtocol
import ConfabSocket
import ConfabTestSupport
import ConfabWire
import Testing

@Suite("Forwarder: an audience hears only the loudest few publishers")
struct LoudestForwardingTests {
    typealias Member = ForwarderTests.Member

    static func member(_ number: Int, _ name: String) -> Member {
        let padded = (name + String(repeating: "0", count: 16)).prefix(15) + String(number % 10)
        return Member(
            slot: 10 + number, peer: PeerID(uncheckedRawValue: name), username: String(padded),
            password: "\(name)-password-0000000000", address: SocketAddress(ipv4: 0x0A00_0100 + UInt32(number), port: 41_000),
            ssrc: 0x5000 + UInt32(number))
    }

    static let ann = member(1, "ann")
    static let ben = member(2, "ben")
    static let cat = member(3, "cat")
    static let dan = member(4, "dan")
    static let publishers = [ann, ben, cat, dan]
    /// Hears only the loudest.
    static let lis = member(5, "lis")
    /// Hears everyone (a host: a role that publishes).
    static let hal = member(6, "hal")
    static let ms: UInt64 = 1_000_000

    /// Confab's RTP packet from `member`, carrying the RFC 6464 level `level`
    /// (−dBov, 0 loudest … 127 silence) with voice activity set.
    static func rtp(_ member: Member, sequence: UInt16, level: UInt8) -> [UInt8] {
        MediaPeer.rtp(ssrc: member.ssrc, sequence: sequence, level: level, payload: [UInt8](repeating: 0x5A, count: 40))
    }

    final class Room {
        let harness = ForwarderTests.Harness()
        var sequence: UInt16 = 1

        /// Ann, Ben, Cat and Dan publish; Lis hears the `loudest` loudest; Hal hears all.
        init(loudest: Int, at nowNs: UInt64 = 0) throws {
            post(publishers: LoudestForwardingTests.publishers, loudest: loudest, at: nowNs)
            for member in LoudestForwardingTests.publishers + [LoudestForwardingTests.lis, LoudestForwardingTests.hal] {
                #expect(try harness.bind(member, at: nowNs))
            }
        }

        func post(publishers: [Member], loudest: Int, muted: Set<PeerID> = [], at nowNs: UInt64) {
            let hearers = [LoudestForwardingTests.lis, LoudestForwardingTests.hal]
            var configs = publishers.map { member in
                MediaPeerConfig(
                    slot: member.slot, peer: member.peer, username: CredentialKey(member.username)!,
                    integrityKey: STUNIntegrityKey(shortTermPassword: member.password), ssrcs: (member.ssrc, nil),
                    mayPublish: !muted.contains(member.peer), subscribers: hearers.map(\.slot))
            }
            for member in hearers {
                configs.append(
                    MediaPeerConfig(
                        slot: member.slot, peer: member.peer, username: CredentialKey(member.username)!,
                        integrityKey: STUNIntegrityKey(shortTermPassword: member.password), ssrcs: (nil, nil),
                        mayPublish: false, subscribers: [], hearsLoudestOnly: member.peer == LoudestForwardingTests.lis.peer))
            }
            harness.forwarder.apply(.room(ForwarderTests.room, configs, loudest: loudest), nowNs: nowNs)
        }

        /// One 20 ms frame from each publisher with a level in `levels`, at
        /// `nowNs`; returns whose packets Lis and Hal were sent.
        func frame(_ levels: [PeerID: UInt8], at nowNs: UInt64) -> (lis: Set<PeerID>, hal: Set<PeerID>) {
            var lis: Set<PeerID> = []
            var hal: Set<PeerID> = []
            for member in LoudestForwardingTests.publishers {
                guard let level = levels[member.peer] else { continue }
                let sent = harness.feed(
                    LoudestForwardingTests.rtp(member, sequence: sequence, level: level), from: member.address, at: nowNs)
                for (destination, _) in sent {
                    if destination == LoudestForwardingTests.lis.address { lis.insert(member.peer) }
                    if destination == LoudestForwardingTests.hal.address { hal.insert(member.peer) }
                }
            }
            sequence &+= 1
            return (lis, hal)
        }

        /// Frames every 20 ms from `startMs` for `durationMs`; returns what Lis received per frame.
        func talk(_ levels: [PeerID: UInt8], fromMs startMs: Int, forMs durationMs: Int) -> [(ms: Int, lis: Set<PeerID>)] {
            stride(from: startMs, to: startMs + durationMs, by: 20).map { ms in
                let heard = frame(levels, at: UInt64(ms) * LoudestForwardingTests.ms)
                #expect(heard.hal == Set(levels.keys), "a role that publishes hears everyone, always")
                return (ms, heard.lis)
            }
        }
    }

    @Test("the first publishers fill the places; the audience never gets more than N streams, the host gets all")
    func fillsPlaces() throws {
        let room = try Room(loudest: 2)
        let frames = room.talk(["ann": 40, "ben": 40, "cat": 40, "dan": 40], fromMs: 100, forMs: 2_000)
        #expect(frames.allSatisfy { $0.lis.count == 2 })
        #expect(frames.allSatisfy { $0.lis == ["ann", "ben"] }, "equal voices never flap")
    }

    @Test("a new loudest speaker takes a place within 300 ms; the quietest one selected gives it up")
    func newLoudestTakesOver() throws {
        let room = try Room(loudest: 2)
        _ = room.talk(["ann": 30, "ben": 45, "cat": 50], fromMs: 100, forMs: 1_000)
        // Dan starts talking 20 dB above Ben, the quietest of the two heard.
        let frames = room.talk(["ann": 30, "ben": 45, "cat": 50, "dan": 25], fromMs: 1_100, forMs: 1_000)
        let first = try #require(frames.first { $0.lis.contains("dan") })
        #expect(first.ms - 1_100 <= 300)
        // Only the frame of the switch carries three: Ben's last packet went out before Dan's took his place.
        #expect(frames.filter { $0.lis.count > 2 }.map(\.ms) == [first.ms])
        #expect(frames.filter { $0.ms > first.ms }.allSatisfy { $0.lis == ["ann", "dan"] })
        print("loudest few: a voice 20 dB above the quietest heard took its place after \(first.ms - 1_100) ms")
    }

    @Test("a speaker who falls silent gives up its place to the next voice within 300 ms")
    func silentSpeakerYields() throws {
        let room = try Room(loudest: 1)
        _ = room.talk(["ann": 20, "ben": 40], fromMs: 100, forMs: 1_000)
        // Ann stops sending (DTX or a pause); Ben goes on.
        let frames = room.talk(["ben": 40], fromMs: 1_100, forMs: 600)
        let first = try #require(frames.first { $0.lis.contains("ben") })
        #expect(first.ms - 1_100 <= 300)
        print("loudest few: the next voice, 20 dB quieter, had the place \(first.ms - 1_100) ms after the speaker stopped")
        // Ann comes back louder than Ben by more than the margin: hers again.
        let back = room.talk(["ann": 20, "ben": 40], fromMs: 1_700, forMs: 600)
        #expect(try #require(back.first { $0.lis.contains("ann") }).ms - 1_700 <= 300)
        #expect(back.last?.lis == ["ann"])
    }

    @Test("two speakers within the margin do not flap, whatever their word-to-word swings")
    func hysteresis() throws {
        let room = try Room(loudest: 1)
        var random = SeededRandom(seed: 14)
        var switches = 0
        var current: Set<PeerID> = []
        for ms in stride(from: 100, to: 10_100, by: 20) {
            // Both around −35 dBov, ±2 dB from frame to frame; Ben on average 1.5 dB louder.
            let ann = UInt8(35 + Int.random(in: -2...2, using: &random))
            let ben = UInt8(33 + Int.random(in: -2...2, using: &random))
            let heard = room.frame(["ann": ann, "ben": ben], at: UInt64(ms) * Self.ms).lis
            #expect(heard.count == 1)
            if heard != current, !current.isEmpty { switches += 1 }
            current = heard
        }
        #expect(switches == 0)
    }

    @Test("a publisher that leaves or is muted frees its place at once")
    func leavingFreesPlace() throws {
        let room = try Room(loudest: 1)
        #expect(room.talk(["ann": 30, "ben": 30], fromMs: 100, forMs: 200).allSatisfy { $0.lis == ["ann"] })
        room.post(publishers: [Self.ben, Self.cat, Self.dan], loudest: 1, at: 300 * Self.ms)
        #expect(room.talk(["ben": 30], fromMs: 300, forMs: 100).allSatisfy { $0.lis == ["ben"] })
        room.post(publishers: [Self.ben, Self.cat, Self.dan], loudest: 1, muted: ["ben"], at: 400 * Self.ms)
        let after = room.frame(["cat": 50], at: 400 * Self.ms)
        #expect(after.lis == ["cat"])
    }

    @Test("a publisher muted by a change of its row alone frees its place at once, and unmuted is not among the loudest")
    func rowMuteFreesPlace() throws {
        let room = try Room(loudest: 1)
        #expect(room.talk(["ann": 30, "ben": 30], fromMs: 100, forMs: 200).allSatisfy { $0.lis == ["ann"] })
        room.harness.forwarder.apply(
            .updatePeer(ForwarderTests.room, slot: Self.ann.slot, ssrcs: (Self.ann.ssrc, nil), mayPublish: false),
            nowNs: 300 * Self.ms)
        #expect(room.frame(["ann": 30, "ben": 30], at: 300 * Self.ms).lis == ["ben"])
        // Unmuted, ann is no longer among the loudest: she waits for a place like anyone.
        room.harness.forwarder.apply(
            .updatePeer(ForwarderTests.room, slot: Self.ann.slot, ssrcs: (Self.ann.ssrc, nil), mayPublish: true),
            nowNs: 320 * Self.ms)
        #expect(room.frame(["ann": 30, "ben": 30], at: 320 * Self.ms).lis == ["ben"])
    }

    @Test("loudness: steady speech converges to its level; silence decays it, slower than speech raises it")
    func loudnessAverages() {
        let settings = LoudestSettings(count: 3)
        var loudness = Loudness()
        for frame in 0..<20 { loudness.add(level: 30, at: UInt64(frame * 20) * Self.ms, settings: settings) }
        #expect(abs(loudness.value(at: 380 * Self.ms, settings: settings) - 97) < 1.5)
        #expect(loudness.value(at: 400 * Self.ms, settings: settings) > 96, "within a frame of the last packet, no decay")
        let paused = loudness.value(at: 700 * Self.ms, settings: settings)
        #expect(paused > 60 && paused < 75, "300 ms after the last packet, down by a third")
        #expect(loudness.value(at: 3_000 * Self.ms, settings: settings) < 5, "close to silence after seconds")
    }

    @Test("selection: a free place is taken at once; a full selection only by a margin")
    func selectionMargin() {
        var selection = LoudestSelection(settings: LoudestSettings(count: 2, marginDb: 6))
        let loudness = [1: 90.0, 2: 80.0]
        #expect(selection.consider(1, loudness: 90) { loudness[$0] ?? 0 } == .init(added: 1))
        #expect(selection.consider(2, loudness: 80) { loudness[$0] ?? 0 } == .init(added: 2))
        #expect(selection.consider(3, loudness: 85) { loudness[$0] ?? 0 } == .unchanged)
        #expect(selection.consider(3, loudness: 86.5) { loudness[$0] ?? 0 } == .init(added: 3, removed: 2))
        #expect(Set(selection.selected) == [1, 3])
        selection.remove(1)
        #expect(selection.consider(4, loudness: 0) { loudness[$0] ?? 0 } == .init(added: 4))
    }
}
