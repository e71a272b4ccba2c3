import ConfabProtocol
import ConfabRooms
import Testing

@Suite("Joining, leaving, dropping and resuming")
struct LifecycleTests {
    static let alice = Admission(peer: "alice", name: "Alice", role: "host", muted: false)

    @Test("the first valid join creates the room")
    func firstJoinCreates() throws {
        let (room, outcome) = try Room.open(name: "new", firstJoin: Self.alice, now: Fixture.t0)
        #expect(room.peers.keys.sorted() == ["alice"])
        #expect(room.startedAt == Fixture.t0)
        #expect(
            outcome.events == [RoomEvent(audience: [], body: .peerJoined(PeerJoined(peer: room.peer("alice")!.info)))])
    }

    @Test("an invalid first join creates nothing")
    func invalidFirstJoin() {
        #expect(throws: CodedError.self) {
            _ = try Room.open(name: "new", firstJoin: Admission(peer: "x", name: "X", role: "janitor"), now: Fixture.t0)
        }
    }

    @Test("a token role the template lacks is refused with tokenWrongRole")
    func wrongRole() {
        var room = Fixture.standardRoom()
        let before = room
        do {
            _ = try room.join(Admission(peer: "x", name: "X", role: "admin"), now: Fixture.t1)
            Issue.record("joined with an undefined role")
        } catch {
            #expect(error.code == .tokenWrongRole)
        }
        #expect(room == before)
    }

    @Test("others are told of a join; the joiner gets joined with everyone else")
    func joinEvents() throws {
        var room = Fixture.standardRoom()
        let outcome = try room.join(Admission(peer: "nina", name: "Nina", role: "listener"), now: Fixture.t1)
        #expect(outcome.events.count == 1)
        #expect(outcome.events.first?.audience == Fixture.everyone)
        #expect(!outcome.replacedConnection)
        let joined = try #require(
            room.joined(
                for: "nina", history: .empty, joinTimeMs: 4, resumed: false, reconnect: ReconnectInfo(resumeToken: "rt")
            ))
        #expect(joined.you.id == "nina")
        #expect(
            joined.peers.map(\.id) == ["hana", "hugo", "sam", "sara", "lee", "lina"], "by priority, then join time")
        #expect(joined.room.roles == RoomTemplate.standard.roles)
        #expect(joined.joinedAt == Fixture.t1)
    }

    @Test("a publishing role gets a microphone in the requested mute state; a listener none")
    func microphones() {
        let room = Fixture.standardRoom()
        #expect(room.peer("sara")?.microphone == TrackInfo(id: "sara:mic", muted: false))
        #expect(room.peer("sam")?.microphone == TrackInfo(id: "sam:mic", muted: true))
        #expect(room.peer("lee")?.microphone == nil)
    }

    @Test("display names are sanitised; nothing printable falls back to the peer id")
    func names() throws {
        var room = Fixture.standardRoom()
        _ = try room.join(
            Admission(peer: "eve", name: "\u{1B}]0;x\u{07}Eve\u{202E}", role: "listener"), now: Fixture.t1)
        #expect(room.peer("eve")?.name == "Eve")
        _ = try room.join(Admission(peer: "ghost", name: "\u{1B}[2J\u{200B}", role: "listener"), now: Fixture.t1)
        #expect(room.peer("ghost")?.name == "ghost")
    }

    @Test("the token's name wins over the join request's")
    func admissionName() {
        let request = JoinRequest(room: "r", token: "t", name: "Chosen")
        #expect(Admission(peer: "p", role: "host", tokenName: "Minted", request: request).name == "Minted")
        #expect(Admission(peer: "p", role: "host", tokenName: nil, request: request).name == "Chosen")
        #expect(
            Admission(peer: "p", role: "host", tokenName: nil, request: JoinRequest(room: "r", token: "t")).name == "p")
    }

    @Test("leave tells the others with reason left")
    func leave() throws {
        var room = Fixture.standardRoom()
        let outcome = try room.apply(.leave, from: "lee", now: Fixture.t1)
        #expect(
            outcome.events == [
                RoomEvent(
                    audience: Fixture.everyone.subtracting(["lee"]),
                    body: .peerLeft(PeerLeft(peer: "lee", reason: .left)))
            ])
        #expect(room.peer("lee") == nil)
    }

    @Test("a lost connection is seen as left with reason timeout, and the state is kept")
    func connectionLost() {
        var room = Fixture.standardRoom()
        _ = room.attempt(.raiseHand, by: "lee")
        let events = room.connectionLost("lee", now: Fixture.t1)
        #expect(
            events == [
                RoomEvent(
                    audience: Fixture.everyone.subtracting(["lee"]),
                    body: .peerLeft(PeerLeft(peer: "lee", reason: .timeout)))
            ])
        #expect(room.peer("lee")?.connection == .suspended(since: Fixture.t1))
        #expect(!room.visiblePeers().contains { $0.id == "lee" })
        #expect(room.connectionLost("lee", now: Fixture.t1) == [], "a second loss changes nothing")
    }

    @Test("the audio formats a peer declares at join reach the others; a resume keeps or replaces them")
    func declaredFormats() throws {
        var room = Fixture.standardRoom()
        let outcome = try room.join(
            Admission(peer: "nina", name: "Nina", role: "listener", receives: .red), now: Fixture.t1)
        guard case .peerJoined(let joined) = outcome.events.first?.body else { throw CodedError(.internalError, "no peer.joined") }
        #expect(joined.peer.receives == .red)
        _ = try room.join(Admission(peer: "otto", name: "Otto", role: "listener", receives: []), now: Fixture.t1)
        #expect(room.peer("otto")?.info.receives == nil, "an empty list is the same as none")
        #expect(room.peer("lee")?.info.receives == nil, "declared nothing: Opus only")

        _ = room.connectionLost("nina", now: Fixture.t1)
        _ = try room.resume("nina", now: Fixture.t1.adding(milliseconds: 500))
        #expect(room.peer("nina")?.receives == .red, "a resume that says nothing keeps what was declared")
        _ = room.connectionLost("nina", now: Fixture.t1)
        let resumed = try room.resume("nina", receives: [], now: Fixture.t1.adding(milliseconds: 900))
        guard case .peerJoined(let back) = resumed.events.first?.body else { throw CodedError(.internalError, "no peer.joined") }
        #expect(back.peer.receives == nil, "a resume that declares again replaces it")
    }

    @Test("a suspended peer cannot act")
    func suspendedCannotAct() {
        var room = Fixture.standardRoom()
        _ = room.connectionLost("lee", now: Fixture.t1)
        #expect(room.attempt(.raiseHand, by: "lee").failure?.code == .notJoined)
        #expect(room.attempt(.muteTrack(.microphone(of: "lee")), by: "hana").failure?.code == .trackNotFound)
    }

    @Test("a host removes a peer in its resume grace: nobody is told again, and its resume is refused as removed")
    func removeWhileAway() throws {
        var room = Fixture.standardRoom()
        _ = room.connectionLost("lee", now: Fixture.t1)
        let outcome = try #require(room.attempt(.removePeer("lee", reason: "trolling"), by: "hana").success)
        #expect(outcome.events.isEmpty, "the others saw lee leave when lee dropped")
        #expect(room.peer("lee") == nil)
        #expect(throws: CodedError(.removedFromRoom, "you were removed by hana while away: trolling")) {
            _ = try room.resume("lee", now: Fixture.t1.adding(milliseconds: 2_000))
        }
        // A listener may not remove anyone, away or not; a peer nobody knows is still 4004.
        var other = Fixture.standardRoom()
        _ = other.connectionLost("sam", now: Fixture.t1)
        #expect(other.attempt(.removePeer("sam", reason: nil), by: "lee").failure?.code == .cannotRemovePeers)
        #expect(other.attempt(.removePeer("nobody", reason: nil), by: "hana").failure?.code == .peerNotFound)
        // Once the grace would have passed, the record goes with the resume token.
        #expect(room.expire(now: Fixture.t1.adding(milliseconds: 20_000)).forgottenPeers == ["lee"])
        #expect(room.removedWhileAway.isEmpty)
    }

    @Test("resume within the grace restores role, mute state and hand")
    func resume() throws {
        var room = Fixture.standardRoom()
        _ = room.attempt(.changeRole(peer: "lee", role: "speaker", force: true), by: "hana")
        _ = room.attempt(.unmuteTrack(.microphone(of: "lee")), by: "lee")
        _ = room.attempt(.raiseHand, by: "lee")
        let before = try #require(room.peer("lee"))
        _ = room.connectionLost("lee", now: Fixture.t1)
        let outcome = try room.resume("lee", now: Fixture.t1.adding(milliseconds: 19_999))
        let after = try #require(room.peer("lee"))
        #expect(after == before)
        #expect(
            outcome.events == [
                RoomEvent(
                    audience: Fixture.everyone.subtracting(["lee"]),
                    body: .peerJoined(PeerJoined(peer: after.info, resumed: true)))
            ])
        #expect(!outcome.replacedConnection)
    }

    @Test("resume after the grace is refused; join again")
    func resumeTooLate() {
        var room = Fixture.standardRoom()
        _ = room.connectionLost("lee", now: Fixture.t1)
        let before = room
        #expect(throws: CodedError(.resumeRejected, "the resume grace period has passed; join again")) {
            _ = try room.resume("lee", now: Fixture.t1.adding(milliseconds: 20_000))
        }
        #expect(room == before)
        #expect(room.expire(now: Fixture.t1.adding(milliseconds: 20_000)).forgottenPeers == ["lee"])
        #expect(room.peer("lee") == nil)
        #expect(throws: CodedError.self) { _ = try room.resume("lee", now: Fixture.t1.adding(milliseconds: 20_001)) }
    }

    @Test("resume over a connection the server still thinks alive moves the session quietly")
    func resumeWhileConnected() throws {
        var room = Fixture.standardRoom()
        let before = room
        let outcome = try room.resume("lee", now: Fixture.t1)
        #expect(outcome.events.isEmpty && outcome.replacedConnection)
        #expect(room == before)
    }

    @Test("a second join with the same identity replaces the first")
    func replaced() throws {
        var room = Fixture.standardRoom()
        _ = room.attempt(.raiseHand, by: "lee")
        let outcome = try room.join(Admission(peer: "lee", name: "Lee Again", role: "listener"), now: Fixture.t1)
        #expect(outcome.replacedConnection)
        let others = Fixture.everyone.subtracting(["lee"])
        #expect(outcome.events.count == 2)
        #expect(
            outcome.events.first
                == RoomEvent(audience: others, body: .peerLeft(PeerLeft(peer: "lee", reason: .replaced))))
        #expect(outcome.events.last?.audience == others)
        #expect(room.peer("lee")?.name == "Lee Again")
        #expect(room.peer("lee")?.handRaisedAt == nil, "a new join starts fresh")
    }

    @Test("a full room refuses a new peer but not a returning identity")
    func full() throws {
        var template = RoomTemplate.standard
        template.maxPeers = 6
        var room = Fixture.standardRoom(template: template)
        let before = room
        #expect(throws: CodedError.self) {
            _ = try room.join(Admission(peer: "seven", name: "7", role: "listener"), now: Fixture.t1)
        }
        #expect(room == before)
        _ = try room.join(Admission(peer: "lee", name: "Lee", role: "listener"), now: Fixture.t1)
    }

    @Test("a room ended with lock refuses joins; without lock the next join starts afresh")
    func endAndLock() throws {
        var locked = Fixture.standardRoom()
        let outcome = try locked.apply(.endRoom(lock: true, reason: "bye\u{1B}[2J"), from: "hana", now: Fixture.t1)
        #expect(
            outcome.events == [
                RoomEvent(
                    audience: Fixture.everyone, body: .roomEnded(RoomEnded(by: "hana", reason: "bye", locked: true)))
            ])
        do {
            _ = try locked.join(Self.alice, now: Fixture.t1.adding(milliseconds: 1))
            Issue.record("joined a locked room")
        } catch {
            #expect(error.code == .roomLocked)
        }
        #expect(locked.attempt(.raiseHand, by: "hana").failure?.code == .roomEnded)

        var unlocked = Fixture.standardRoom()
        _ = try unlocked.apply(.endRoom(lock: false, reason: nil), from: "hana", now: Fixture.t1)
        let later = Fixture.t1.adding(milliseconds: 60_000)
        _ = try unlocked.join(Self.alice, now: later)
        #expect(unlocked.phase == .open)
        #expect(unlocked.startedAt == later)
        #expect(unlocked.peers.keys.sorted() == ["alice"])
    }

    @Test("an empty room is idle after the template's timeout")
    func idle() throws {
        var room = Fixture.standardRoom()
        #expect(!room.isIdle(now: Fixture.t1.adding(milliseconds: 10_000_000)))
        for peer in Fixture.everyone {
            _ = room.attempt(.leave, by: peer)
        }
        #expect(room.emptySince == Fixture.t1)
        #expect(!room.isIdle(now: Fixture.t1.adding(milliseconds: 299_999)))
        #expect(room.isIdle(now: Fixture.t1.adding(milliseconds: 300_000)))
        _ = try room.join(Self.alice, now: Fixture.t1.adding(milliseconds: 300_001))
        #expect(!room.isIdle(now: Fixture.t1.adding(milliseconds: 900_000)))
    }

    @Test("a suspended peer keeps the room from being idle until its grace ends")
    func suspendedKeepsRoom() {
        var room = Room(name: "r", now: Fixture.t0)
        _ = try? room.join(Self.alice, now: Fixture.t0)
        _ = room.connectionLost("alice", now: Fixture.t1)
        #expect(room.emptySince == nil)
        _ = room.expire(now: Fixture.t1.adding(milliseconds: 20_000))
        #expect(room.emptySince == Fixture.t1.adding(milliseconds: 20_000))
    }

    @Test("the server can end a room itself, with no actor")
    func serverEnd() {
        var room = Fixture.standardRoom()
        let events = room.end(reason: "maintenance", lock: false, now: Fixture.t1)
        #expect(
            events == [
                RoomEvent(
                    audience: Fixture.everyone,
                    body: .roomEnded(RoomEnded(by: nil, reason: "maintenance", locked: false)))
            ])
        #expect(room.end(reason: nil, lock: false, now: Fixture.t1) == [])
    }

    @Test("degraded and restored tracks are announced once each")
    func degradation() {
        var room = Fixture.standardRoom()
        let track = TrackID.microphone(of: "sara")
        #expect(
            room.markTrack(track, degraded: .noMedia).map(\.body) == [
                .trackDegraded(TrackDegraded(peer: "sara", track: track, reason: .noMedia))
            ])
        #expect(room.markTrack(track, degraded: .noMedia) == [])
        #expect(room.peer("sara")?.microphone?.degraded == .noMedia)
        #expect(
            room.markTrack(track, degraded: nil).map(\.body) == [
                .trackRestored(PeerTrack(peer: "sara", track: track))
            ])
        #expect(room.markTrack("nobody:mic", degraded: .packetLoss) == [])
    }

    @Test("subscribers are the connected peers whose role hears the publisher's")
    func subscribers() {
        let room = Fixture.standardRoom()
        #expect(room.subscribers(of: "sara") == Fixture.everyone.subtracting(["sara"]))
        let template = RoomTemplate(roles: [
            .host,
            Role(name: "backstage", priority: 5, publishAudio: true, subscribesTo: [], chat: .none, permissions: .none),
        ])
        var custom = Room(name: "r", template: template, now: Fixture.t0)
        _ = try? custom.join(Self.alice, now: Fixture.t0)
        _ = try? custom.join(Admission(peer: "bo", name: "Bo", role: "backstage"), now: Fixture.t0)
        #expect(custom.subscribers(of: "alice") == [])
        #expect(custom.subscribers(of: "bo") == [])
    }

    @Test("subscribes(_:to:) answers, without walking the room, what subscribers(of:) lists, for every pair")
    func subscribesMatchesSubscribers() {
        var room = Fixture.standardRoom()
        _ = room.connectionLost("lee", now: Fixture.t1)  // away: hears nothing until it resumes
        let everyone = Array(Fixture.everyone) + ["nobody"]
        var pairs = 0
        for publisher in everyone {
            let subscribers = room.subscribers(of: publisher)
            for listener in everyone {
                #expect(room.subscribes(listener, to: publisher) == subscribers.contains(listener), "\(listener) → \(publisher)")
                pairs += room.subscribes(listener, to: publisher) ? 1 : 0
            }
        }
        #expect(pairs > 10 && !room.subscribes("lee", to: "sara") && room.subscribes("lina", to: "sara"))
    }

    @Test("a client message maps to its room action; join, resume, ping and history are not room actions")
    func actionMapping() {
        #expect(PeerAction(.raiseHand) == .raiseHand)
        #expect(PeerAction(.muteTrack("a:mic")) == .muteTrack("a:mic"))
        #expect(
            PeerAction(.sendChat(SendChatRequest(target: .broadcast, text: "x")))
                == .sendChat(target: .broadcast, text: "x"))
        #expect(PeerAction(.ping) == nil)
        #expect(PeerAction(.fetchHistory(HistoryRequest())) == nil)
        #expect(PeerAction(.join(JoinRequest(room: "r", token: nil))) == nil)
    }
}
