import ConfabProtocol
import ConfabRooms
import Foundation
import Testing

/// The fixture's room with the town-hall template: lee and lina (listeners) are quiet.
@Suite("Quiet peers: who hears of an audience member")
struct AudienceTests {
    static let hosts: Set<PeerID> = ["hana", "hugo"]

    static func townHall() -> Room { Fixture.standardRoom(template: .townHall) }

    static func join(_ room: inout Room, _ peer: PeerID, as role: RoleName, at offset: Int = 2_000) throws -> [RoomEvent] {
        try room.join(
            Admission(peer: peer, name: peer.rawValue.capitalized, role: role), now: Fixture.t0.adding(milliseconds: offset)
        ).events
    }

    @Test("a listener's join and leave reach the hosts only; a speaker's reach everyone")
    func joinAndLeave() throws {
        var room = Self.townHall()
        #expect(room.peer("lee")?.isQuiet == true)
        #expect(room.peer("sam")?.isQuiet == false)
        let listener = try Self.join(&room, "lou", as: "listener")
        #expect(listener.map(\.audience) == [Self.hosts])
        let speaker = try Self.join(&room, "sol", as: "speaker")
        #expect(speaker.map(\.audience) == [Fixture.everyone.union(["lou"])])
        let left = try room.apply(.leave, from: "lou", now: Fixture.t1)
        #expect(left.events.map(\.body) == [.peerLeft(PeerLeft(peer: "lou", reason: .left))])
        #expect(left.events.map(\.audience) == [Self.hosts])
        let dropped = room.connectionLost("lee", now: Fixture.t1)
        #expect(dropped.map(\.audience) == [Self.hosts])
    }

    @Test("a quiet peer's rename and raised hand reach the hosts and itself")
    func updates() throws {
        var room = Self.townHall()
        let hand = try room.apply(.raiseHand, from: "lee", now: Fixture.t1)
        #expect(hand.events.map(\.audience) == [Self.hosts.union(["lee"])])
        let rename = try room.apply(.updatePeer(name: "Lee L.", metadata: nil), from: "lee", now: Fixture.t1)
        #expect(rename.events.map(\.audience) == [Self.hosts.union(["lee"])])
    }

    @Test("joined lists the announced peers and counts; a host also gets the raised hands")
    func boundedJoined() throws {
        var room = Self.townHall()
        _ = try room.apply(.raiseHand, from: "lee", now: Fixture.t1)
        let empty = ReconnectInfo(resumeToken: "rt")
        let forLina = try #require(
            room.joined(for: "lina", history: .empty, joinTimeMs: 1, resumed: false, reconnect: empty))
        #expect(Set(forLina.peers.map(\.id)) == ["hana", "hugo", "sam", "sara"])
        #expect(forLina.quiet == true)
        #expect(forLina.counts?.total == 6)
        #expect(forLina.counts?.roles.map(\.count) == [2, 2, 2])
        let forHana = try #require(
            room.joined(for: "hana", history: .empty, joinTimeMs: 1, resumed: false, reconnect: empty))
        #expect(Set(forHana.peers.map(\.id)) == ["hugo", "sam", "sara", "lee"])
        #expect(forHana.quiet == nil)
        let plain = Fixture.standardRoom()
        let standard = try #require(
            plain.joined(for: "lina", history: .empty, joinTimeMs: 1, resumed: false, reconnect: empty))
        #expect(standard.peers.count == 5 && standard.counts == nil, "a room without an audience is as before")
    }

    @Test("above the template's size, listeners join quiet; those before stay announced")
    func quietAbove() throws {
        var template = RoomTemplate.standard
        template.audience = AudienceSettings(quietAbove: 6)
        var room = Fixture.standardRoom(template: template)
        #expect(room.peer("lina")?.isQuiet == false)
        let listener = try Self.join(&room, "lou", as: "listener")
        #expect(room.peer("lou")?.isQuiet == true)
        #expect(listener.map(\.audience) == [Self.hosts])
        _ = try Self.join(&room, "sol", as: "speaker")
        #expect(room.peer("sol")?.isQuiet == false, "a role that publishes is always announced")
    }

    @Test("a direct message introduces the quiet listener to the sender, and its leave reaches the sender")
    func directMessageIntroduces() throws {
        var room = Self.townHall()
        let outcome = try room.apply(.sendChat(target: .peers(["lee"]), text: "welcome"), from: "sam", now: Fixture.t1)
        let lee = try #require(room.peer("lee"))
        #expect(outcome.events.first == RoomEvent(audience: ["sam"], body: .peerJoined(PeerJoined(peer: lee.info))))
        #expect(outcome.chat?.introductions.count == 1)
        #expect(room.sees("sam", "lee") && !room.sees("sara", "lee"))
        let left = try room.apply(.leave, from: "lee", now: Fixture.t1)
        #expect(left.events.map(\.audience) == [Self.hosts.union(["sam"])])
        _ = try Self.join(&room, "lee", as: "listener", at: 3_000)
        #expect(!room.sees("sam", "lee"), "a new session starts without introductions")
    }

    @Test("a quiet listener made speaker is announced: peer.joined to strangers, peer.updated to those who knew")
    func promotionAnnounces() throws {
        var room = Self.townHall()
        let outcome = try room.apply(.changeRole(peer: "lee", role: "speaker", force: true), from: "hana", now: Fixture.t1)
        let lee = try #require(room.peer("lee"))
        #expect(!lee.isQuiet)
        let mic = TrackInfo(id: "lee:mic", muted: true)
        #expect(
            outcome.events == [
                RoomEvent(
                    audience: Self.hosts.union(["lee"]),
                    body: .peerUpdated(PeerUpdated(peer: lee.info, changed: [.role], by: "hana"))),
                RoomEvent(audience: ["sam", "sara", "lina"], body: .peerJoined(PeerJoined(peer: lee.info))),
                RoomEvent(audience: Self.hosts.union(["lee"]), body: .trackAdded(TrackAdded(peer: "lee", track: mic))),
            ])
        let back = try room.apply(.changeRole(peer: "lee", role: "listener", force: true), from: "hana", now: Fixture.t1)
        #expect(back.events.first?.audience == Fixture.everyone, "once announced, a peer stays announced")
    }

    @Test("counts list every role of the template, connected peers only")
    func counts() {
        var room = Self.townHall()
        _ = room.connectionLost("lina", now: Fixture.t1)
        #expect(
            room.counts
                == RoomCounts(
                    total: 5,
                    roles: [
                        RoleCount(role: "host", count: 2), RoleCount(role: "speaker", count: 2),
                        RoleCount(role: "listener", count: 1),
                    ]))
    }

    @Test("a host made a speaker is told, alone, to drop the quiet peers it no longer sees; introduced ones stay")
    func demotedHostForgetsAudience() throws {
        var room = Self.townHall()
        // Sam (a speaker) messages lee, so the two know each other; then sam is made a host, and a speaker again.
        _ = try room.apply(.sendChat(target: .peers(["lee"]), text: "hello"), from: "sam", now: Fixture.t1)
        _ = try room.apply(.changeRole(peer: "sam", role: "host", force: true), from: "hana", now: Fixture.t1)
        let samBack = try room.apply(.changeRole(peer: "sam", role: "speaker", force: true), from: "hana", now: Fixture.t1)
        let samForgets = samBack.events.filter { if case .peerLeft = $0.body { true } else { false } }
        #expect(samForgets.map(\.body) == [.peerLeft(PeerLeft(peer: "lina", reason: .outOfView))])
        #expect(samForgets.map(\.audience) == [["sam"]])

        let demoted = try room.apply(.changeRole(peer: "hana", role: "speaker", force: true), from: "hugo", now: Fixture.t1)
        let forgets = demoted.events.filter { if case .peerLeft = $0.body { true } else { false } }
        #expect(
            forgets.map(\.body) == [
                .peerLeft(PeerLeft(peer: "lee", reason: .outOfView)), .peerLeft(PeerLeft(peer: "lina", reason: .outOfView)),
            ])
        #expect(forgets.allSatisfy { $0.audience == ["hana"] }, "nobody else hears of it")
        // From now on hana hears nothing of the audience: lina's leaving reaches hugo only.
        let left = try room.apply(.leave, from: "lina", now: Fixture.t1)
        #expect(left.events.map(\.audience) == [["hugo"]])
        // A promotion brings no audience: hosts browse it with roster.list.
        let promoted = try room.apply(.changeRole(peer: "hana", role: "host", force: true), from: "hugo", now: Fixture.t1)
        #expect(!promoted.events.contains { if case .peerJoined = $0.body { $0.audience.contains("hana") } else { false } })
    }

    @Test("a template's audience settings decode and are checked")
    func templateSettings() throws {
        let json = #"{"audience": {"quietRoles": ["listener"], "quietAbove": 500, "countsIntervalMs": 2000}}"#
        let template = try JSONDecoder().decode(RoomTemplate.self, from: Data(json.utf8))
        #expect(template.audience == AudienceSettings(quietRoles: ["listener"], quietAbove: 500, countsIntervalMs: 2_000))
        var wrong = RoomTemplate.standard
        wrong.audience = AudienceSettings(quietRoles: ["audience"])
        #expect(throws: TemplateError.invalidSetting("audience.quietRoles names audience, which is not defined")) {
            try wrong.validate()
        }
        wrong.audience = AudienceSettings(countsIntervalMs: 10)
        #expect(throws: TemplateError.self) { try wrong.validate() }
        #expect(template.audience?.loudest == 3, "the loudest three by default")
        let two = try JSONDecoder().decode(RoomTemplate.self, from: Data(#"{"audience": {"loudest": 2}}"#.utf8))
        #expect(two.audience?.loudest == 2)
        wrong.audience = AudienceSettings(loudest: 0)
        #expect(throws: TemplateError.invalidSetting("audience.loudest must be 1 to 16")) { try wrong.validate() }
    }
}

@Suite("Chat from the audience of a large room")
struct BroadcastRateTests {
    @Test("the audience shares one allowance for the whole room: the excess is refused without spending the sender's own")
    func roomRate() throws {
        var room = Fixture.townHall(audienceRate: RateLimit(perSecond: 1, burst: 2))
        #expect(room.attempt(.sendChat(target: .broadcast, text: "one"), by: "lee").success != nil)
        #expect(room.attempt(.sendChat(target: .roles(["listener"]), text: "two"), by: "lina").success != nil)
        let third = room.attempt(.sendChat(target: .broadcast, text: "three"), by: "lina")
        #expect(third.failure?.code == .chatRateLimited)
        #expect(third.failure?.retryAfterMs == 1_000, "the audience's next message in a second, not her own 200 ms")
        #expect(third.failure?.message.hasSuffix("write to host or speaker, or try again") == true, "\(third)")
        let toAudience = room.attempt(.sendChat(target: .roles(["host", "listener"]), text: "to all of us"), by: "lina")
        #expect(toAudience.failure?.code == .chatRateLimited, "a role of the audience reaches as many as a broadcast")
        #expect(
            room.attempt(.sendChat(target: .roles(["host"]), text: "to the hosts"), by: "lina").success != nil,
            "chat to the stage is not held by the audience's allowance")
        // The stage is never held by it.
        let stage: [(PeerID, ChatTarget)] = [("hana", .broadcast), ("sam", .broadcast), ("hugo", .roles(["listener"]))]
        for (peer, target) in stage {
            #expect(room.attempt(.sendChat(target: target, text: "from the stage"), by: peer).success != nil, "\(peer)")
        }
        // The refusals spent nothing of her own: 10 a burst, two used.
        for index in 0..<8 {
            #expect(room.attempt(.sendChat(target: .roles(["host"]), text: "\(index)"), by: "lina").success != nil)
        }
        let later = Fixture.t1.adding(milliseconds: 1_000)
        #expect(room.attempt(.sendChat(target: .broadcast, text: "again"), by: "lina", at: later).success != nil)
    }

    @Test("an audience section without broadcastRate holds the audience to 2 messages a second, bursts of 5")
    func defaultRate() throws {
        var room = Fixture.standardRoom(template: .townHall)
        for index in 0..<5 {
            let peer: PeerID = index.isMultiple(of: 2) ? "lee" : "lina"
            #expect(room.attempt(.sendChat(target: .broadcast, text: "hi \(index)"), by: peer).success != nil)
        }
        let sixth = room.attempt(.sendChat(target: .broadcast, text: "hi 5"), by: "lina").failure
        #expect(sixth?.code == .chatRateLimited && sixth?.retryAfterMs == 500, "\(String(describing: sixth))")
        #expect(room.attempt(.sendChat(target: .broadcast, text: "we hear you"), by: "hana").success != nil)
    }

    @Test("a message refused by the sender's own allowance says the audience's later wait when that is empty too")
    func laterOfTwoWaits() throws {
        var room = Fixture.townHall(chatRate: RateLimit(perSecond: 5, burst: 10), audienceRate: RateLimit(perSecond: 1, burst: 2))
        #expect(room.attempt(.sendChat(target: .broadcast, text: "one"), by: "lee").success != nil)
        #expect(room.attempt(.sendChat(target: .broadcast, text: "two"), by: "lee").success != nil)
        for index in 0..<10 {
            #expect(room.attempt(.sendChat(target: .roles(["host"]), text: "\(index)"), by: "lina").success != nil)
        }
        let toHosts = room.attempt(.sendChat(target: .roles(["host"]), text: "more"), by: "lina").failure
        #expect(toHosts?.retryAfterMs == 200, "to the stage only her own allowance counts")
        let broadcast = room.attempt(.sendChat(target: .broadcast, text: "all"), by: "lina").failure
        #expect(broadcast?.code == .chatRateLimited)
        #expect(broadcast?.retryAfterMs == 1_000, "her 200 ms would only meet the audience's refusal")
    }
}
