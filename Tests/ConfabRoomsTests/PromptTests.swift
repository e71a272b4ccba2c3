import ConfabProtocol
import ConfabRooms
import Testing

@Suite("Prompts: role changes and unmute requests the target answers")
struct PromptTests {
    /// hana asks lee (a listener) to become a speaker; returns the prompt id.
    static func promptLee(_ room: inout Room) throws -> PromptID {
        let outcome = try room.apply(
            .changeRole(peer: "lee", role: "speaker", force: false), from: "hana", now: Fixture.t1)
        guard case .ok(let reply) = outcome.reply, let prompt = reply.prompt else {
            Issue.record("no prompt id in \(outcome.reply)")
            return "missing"
        }
        #expect(
            outcome.events == [
                RoomEvent(
                    audience: ["lee"],
                    body: .roleChangeRequested(RoleChangePrompt(prompt: prompt, by: "hana", role: "speaker")))
            ])
        return prompt
    }

    @Test("accepting a role change applies it, gives a muted microphone, and tells the asker")
    func acceptRole() throws {
        var room = Fixture.standardRoom()
        _ = room.attempt(.raiseHand, by: "lee")
        let prompt = try Self.promptLee(&room)
        let outcome = try room.apply(
            .answerPrompt(prompt, accept: true), from: "lee", now: Fixture.t1.adding(milliseconds: 100))
        let lee = try #require(room.peer("lee"))
        #expect(lee.role == "speaker")
        #expect(lee.handRaisedAt == nil, "a role change lowers the hand")
        #expect(lee.microphone == TrackInfo(id: "lee:mic", muted: true))
        #expect(
            outcome.events.map(\.body) == [
                .peerUpdated(PeerUpdated(peer: lee.info, changed: [.role, .hand], by: "hana")),
                .trackAdded(TrackAdded(peer: "lee", track: TrackInfo(id: "lee:mic", muted: true))),
                .promptAnswered(PromptAnswered(prompt: prompt, peer: "lee", accepted: true)),
            ])
        #expect(outcome.events.last?.audience == ["hana"])
        #expect(outcome.events.first?.audience == Fixture.everyone)
        #expect(room.prompts.isEmpty)
    }

    @Test("declining changes nothing but tells the asker")
    func decline() throws {
        var room = Fixture.standardRoom()
        let prompt = try Self.promptLee(&room)
        let outcome = try room.apply(.answerPrompt(prompt, accept: false), from: "lee", now: Fixture.t1)
        #expect(room.peer("lee")?.role == "listener")
        #expect(
            outcome.events == [
                RoomEvent(
                    audience: ["hana"],
                    body: .promptAnswered(PromptAnswered(prompt: prompt, peer: "lee", accepted: false)))
            ])
    }

    @Test("only the target can answer, and only once")
    func onlyTarget() throws {
        var room = Fixture.standardRoom()
        let prompt = try Self.promptLee(&room)
        #expect(room.attempt(.answerPrompt(prompt, accept: true), by: "lina").failure?.code == .promptNotFound)
        #expect(room.attempt(.answerPrompt(prompt, accept: true), by: "hana").failure?.code == .promptNotFound)
        #expect(room.attempt(.answerPrompt(prompt, accept: true), by: "lee").success != nil)
        #expect(room.attempt(.answerPrompt(prompt, accept: true), by: "lee").failure?.code == .promptNotFound)
    }

    @Test("a prompt expires after 60 s and is then swept")
    func expiry() throws {
        var room = Fixture.standardRoom()
        let prompt = try Self.promptLee(&room)
        let late = Fixture.t1.adding(milliseconds: 60_000)
        let before = room
        #expect(room.attempt(.answerPrompt(prompt, accept: true), by: "lee", at: late).failure?.code == .promptExpired)
        #expect(room == before)
        _ = room.expire(now: late)
        #expect(room.prompts.isEmpty)
    }

    @Test("the sweep reports each unanswered prompt once, oldest first; answered and dropped ones never")
    func sweepReportsLapsedPrompts() throws {
        var room = Fixture.standardRoom()
        let toLee = try Self.promptLee(&room)
        let later = Fixture.t1.adding(milliseconds: 5_000)
        func ask(_ action: PeerAction, by asker: PeerID) throws -> PromptID {
            let outcome = try room.apply(action, from: asker, now: later)
            guard case .ok(let reply) = outcome.reply, let prompt = reply.prompt else {
                throw PromptMissing(reply: "\(outcome.reply)")
            }
            return prompt
        }
        let toSam = try ask(.unmuteTrack("sam:mic"), by: "hugo")
        let answered = try ask(.changeRole(peer: "lina", role: "speaker", force: false), by: "hana")
        _ = try room.apply(.answerPrompt(answered, accept: false), from: "lina", now: later)
        _ = try ask(.changeRole(peer: "sara", role: "listener", force: false), by: "hugo")
        _ = try room.apply(.leave, from: "sara", now: later)

        #expect(room.expire(now: Fixture.t1.adding(milliseconds: 59_999)).lapsedPrompts.isEmpty)
        let expiry = room.expire(now: later.adding(milliseconds: 60_000))
        #expect(expiry.lapsedPrompts.map(\.id) == [toLee, toSam])
        #expect(expiry.lapsedPrompts.map(\.from) == ["hana", "hugo"])
        #expect(expiry.lapsedPrompts.map(\.to) == ["lee", "sam"])
        #expect(room.prompts.isEmpty)
        #expect(room.expire(now: later.adding(milliseconds: 61_000)).lapsedPrompts.isEmpty, "reported once")
    }

    struct PromptMissing: Error { var reply: String }

    @Test("an answer after the sweep removed the prompt is still promptExpired, for its target only")
    func answerAfterSweep() throws {
        var room = Fixture.standardRoom()
        let prompt = try Self.promptLee(&room)
        let swept = Fixture.t1.adding(milliseconds: 60_050)
        _ = room.expire(now: swept)
        #expect(room.prompts.isEmpty)
        let late = Fixture.t1.adding(milliseconds: 61_000)
        #expect(room.attempt(.answerPrompt(prompt, accept: true), by: "lee", at: late).failure?.code == .promptExpired)
        #expect(room.attempt(.answerPrompt(prompt, accept: true), by: "lina", at: late).failure?.code == .promptNotFound)
        // Forgotten after one more lifetime: then it is just unknown.
        let muchLater = Fixture.t1.adding(milliseconds: 125_000)
        _ = room.expire(now: muchLater)
        #expect(
            room.attempt(.answerPrompt(prompt, accept: true), by: "lee", at: muchLater).failure?.code == .promptNotFound)
    }

    @Test("the same question asked again while pending is the same prompt, put once; from another asker, after its lifetime, once answered or after a resume on a new connection it is new")
    func askedAgain() throws {
        var room = Fixture.standardRoom()
        let first = try Self.promptLee(&room)
        func ask(_ asker: PeerID, afterMs: Int) throws -> (prompt: PromptID?, events: [RoomEvent]) {
            let outcome = try room.apply(
                .changeRole(peer: "lee", role: "speaker", force: false), from: asker, now: Fixture.t1.adding(milliseconds: afterMs))
            guard case .ok(let reply) = outcome.reply else { return (nil, outcome.events) }
            return (reply.prompt, outcome.events)
        }
        let again = try ask("hana", afterMs: 1_000)
        #expect(again.prompt == first && again.events.isEmpty, "nothing new put to lee")
        #expect(room.prompts.count == 1)

        let fromHugo = try ask("hugo", afterMs: 2_000)
        #expect(fromHugo.prompt != first && fromHugo.events.count == 1, "another asker's question is its own")

        // Past its lifetime (not yet swept) the question is put again, under a new id.
        let late = try ask("hana", afterMs: 60_000)
        #expect(late.prompt != first && late.events.count == 1)
        let swept = room.expire(now: Fixture.t1.adding(milliseconds: 60_001))
        #expect(swept.lapsedPrompts.map(\.id) == [first])
        #expect(try ask("hana", afterMs: 60_002).prompt == late.prompt, "sweeping the old prompt keeps the new one found")

        let lateID = try #require(late.prompt)
        _ = try room.apply(.answerPrompt(lateID, accept: false), from: "lee", now: Fixture.t1.adding(milliseconds: 60_003))
        let afterAnswer = try ask("hana", afterMs: 60_004)
        #expect(afterAnswer.prompt != late.prompt && afterAnswer.events.count == 1, "answered: asking again is a new question")

        // Lee resumes on a new connection before the old one was noticed gone: its client forgot the question.
        let pending = try #require(afterAnswer.prompt)
        #expect(try room.resume("lee", now: Fixture.t1.adding(milliseconds: 60_005)).replacedConnection)
        let afterResume = try ask("hana", afterMs: 60_006)
        #expect(afterResume.prompt != pending && afterResume.events.count == 1, "asked again, it is put to the new connection")
        #expect(room.prompts[pending] != nil, "the first stays answerable until it lapses")
    }

    @Test("a prompt lapses when the asker or the target leaves or drops")
    func lapses() throws {
        var askerLeft = Fixture.standardRoom()
        let first = try Self.promptLee(&askerLeft)
        _ = askerLeft.attempt(.leave, by: "hana")
        #expect(askerLeft.attempt(.answerPrompt(first, accept: true), by: "lee").failure?.code == .promptNotFound)

        var targetDropped = Fixture.standardRoom()
        _ = try Self.promptLee(&targetDropped)
        _ = targetDropped.connectionLost("lee", now: Fixture.t1)
        #expect(targetDropped.prompts.isEmpty)
    }

    @Test("a prompt lapses when its asker loses the role that allowed it")
    func askerDemoted() throws {
        var room = Fixture.standardRoom()
        let prompt = try Self.promptLee(&room)
        _ = room.attempt(.changeRole(peer: "hana", role: "listener", force: true), by: "hugo")
        #expect(room.attempt(.answerPrompt(prompt, accept: true), by: "lee").failure?.code == .promptNotFound)
    }

    @Test("changing your own role needs no consent")
    func selfChange() throws {
        var room = Fixture.standardRoom()
        let outcome = try room.apply(
            .changeRole(peer: "hana", role: "speaker", force: false), from: "hana", now: Fixture.t1)
        #expect(room.peer("hana")?.role == "speaker")
        #expect(outcome.reply == .ok(OkReply()))
        #expect(
            outcome.events.map(\.body) == [.peerUpdated(PeerUpdated(peer: room.peer("hana")!.info, changed: [.role]))])
    }

    @Test("a forced demotion to listener takes the microphone away")
    func demotion() throws {
        var room = Fixture.standardRoom()
        let outcome = try room.apply(
            .changeRole(peer: "sara", role: "listener", force: true), from: "hana", now: Fixture.t1)
        #expect(room.peer("sara")?.microphone == nil)
        #expect(outcome.events.map(\.body).last == .trackRemoved(PeerTrack(peer: "sara", track: "sara:mic")))
    }

    @Test("the same role again, or an unknown role, changes nothing")
    func noOpAndUnknown() {
        var room = Fixture.standardRoom()
        let before = room
        #expect(room.attempt(.changeRole(peer: "lee", role: "listener", force: true), by: "hana").success?.events == [])
        #expect(room == before)
        #expect(
            room.attempt(.changeRole(peer: "lee", role: "janitor", force: true), by: "hana").failure?.code
                == .roleNotFound)
        #expect(
            room.attempt(.changeRole(peer: "ghost", role: "speaker", force: true), by: "hana").failure?.code
                == .peerNotFound)
    }

    @Test("asking a muted peer to unmute prompts it; accepting unmutes it")
    func unmutePrompt() throws {
        var room = Fixture.standardRoom()
        let ask = try room.apply(.unmuteTrack("sam:mic"), from: "hana", now: Fixture.t1)
        guard case .ok(let reply) = ask.reply, let prompt = reply.prompt else {
            Issue.record("no prompt")
            return
        }
        #expect(
            ask.events == [
                RoomEvent(
                    audience: ["sam"],
                    body: .unmuteRequested(UnmutePrompt(prompt: prompt, by: "hana", track: "sam:mic")))
            ])
        #expect(room.peer("sam")?.microphone?.muted == true)
        let answer = try room.apply(.answerPrompt(prompt, accept: true), from: "sam", now: Fixture.t1)
        #expect(room.peer("sam")?.microphone?.muted == false)
        #expect(
            answer.events.map(\.body) == [
                .trackUnmuted(TrackMuteChange(peer: "sam", track: "sam:mic", by: "sam")),
                .promptAnswered(PromptAnswered(prompt: prompt, peer: "sam", accepted: true)),
            ])
    }

    @Test("asking a live microphone to unmute is a no-op")
    func unmuteLive() {
        var room = Fixture.standardRoom()
        let outcome = room.attempt(.unmuteTrack("sara:mic"), by: "hana").success
        #expect(outcome?.events == [])
        #expect(outcome?.reply == .ok(OkReply()))
    }
}
