import ConfabProtocol
import ConfabRooms
import Testing

/// Every action a peer can take, aimed at a target that makes its effect
/// visible in the fixture room.
enum MatrixAction: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case chatBroadcast, chatToRoles, chatDirect
    case muteSelf, unmuteSelf, muteOther, askOtherToUnmute
    case changeRoleByPrompt, changeRoleByForce, answerPrompt
    case removePeer, endRoom, raiseHand, lowerHand, rename, leave

    var testDescription: String { rawValue }

    /// The built-in role's answer: nil when allowed, else the error code.
    func expectedError(for role: RoleName) -> ErrorCode? {
        let isHost = role == "host"
        let isListener = role == "listener"
        switch self {
        case .chatBroadcast, .chatToRoles, .raiseHand, .lowerHand, .rename, .leave, .answerPrompt: return nil
        case .chatDirect: return isListener ? .cannotChatDirect : nil
        case .muteSelf, .unmuteSelf: return isListener ? .cannotPublish : nil
        case .muteOther: return isHost ? nil : .cannotMuteOthers
        case .askOtherToUnmute: return isHost ? nil : .cannotAskToUnmute
        case .changeRoleByPrompt, .changeRoleByForce: return isHost ? nil : .cannotChangeRoles
        case .removePeer: return isHost ? nil : .cannotRemovePeers
        case .endRoom: return isHost ? nil : .cannotEndRoom
        }
    }

    /// The role a prompt from hugo asks the actor to take.
    static func promptedRole(for role: RoleName) -> RoleName {
        switch role {
        case "host": "speaker"
        case "speaker": "listener"
        default: "speaker"
        }
    }

    /// Brings the room to where the action has something to do.
    func prepare(_ room: inout Room, actor: PeerID) {
        switch self {
        case .muteSelf:
            _ = room.attempt(.unmuteTrack(.microphone(of: actor)), by: actor, at: Fixture.t0.adding(milliseconds: 500))
        case .lowerHand:
            _ = room.attempt(.raiseHand, by: actor, at: Fixture.t0.adding(milliseconds: 500))
        case .answerPrompt:
            let role = room.peer(actor).map(\.role) ?? "listener"
            let outcome = room.attempt(
                .changeRole(peer: actor, role: Self.promptedRole(for: role), force: false), by: "hugo",
                at: Fixture.t0.adding(milliseconds: 500))
            #expect(outcome.success != nil, "hugo could not prompt \(actor)")
        default:
            break
        }
    }

    func action(by actor: PeerID, in room: Room) -> PeerAction {
        switch self {
        case .chatBroadcast: .sendChat(target: .broadcast, text: "hello all")
        case .chatToRoles: .sendChat(target: .roles(["host"]), text: "a question for the hosts")
        case .chatDirect: .sendChat(target: .peers(["lina"]), text: "psst")
        case .muteSelf: .muteTrack(.microphone(of: actor))
        case .unmuteSelf: .unmuteTrack(.microphone(of: actor))
        case .muteOther: .muteTrack(.microphone(of: "sara"))
        case .askOtherToUnmute: .unmuteTrack(.microphone(of: "hugo"))
        case .changeRoleByPrompt: .changeRole(peer: "lina", role: "speaker", force: false)
        case .changeRoleByForce: .changeRole(peer: "lina", role: "speaker", force: true)
        case .answerPrompt: .answerPrompt(room.prompts.keys.first ?? "missing", accept: true)
        case .removePeer: .removePeer("lina", reason: "testing")
        case .endRoom: .endRoom(lock: false, reason: "over")
        case .raiseHand: .raiseHand
        case .lowerHand: .lowerHand
        case .rename: .updatePeer(name: "Renamed", metadata: nil)
        case .leave: .leave
        }
    }

    /// Checks that an allowed action did what it says.
    func checkEffect(before: Room, after: Room, outcome: RoomOutcome, actor: PeerID, role: RoleName) {
        switch self {
        case .chatBroadcast, .chatToRoles, .chatDirect:
            #expect(outcome.chat?.message.from == actor)
        case .muteSelf:
            #expect(after.peer(actor)?.microphone?.muted == true)
            #expect(after.peer(actor)?.microphone?.mutedBy == actor)
        case .unmuteSelf:
            #expect(after.peer(actor)?.microphone?.muted == false)
        case .muteOther:
            #expect(after.peer("sara")?.microphone?.muted == true)
            #expect(after.peer("sara")?.microphone?.mutedBy == actor)
        case .askOtherToUnmute:
            #expect(after.peer("hugo")?.microphone?.muted == true, "asking does not unmute")
            #expect(after.prompts.count == before.prompts.count + 1)
        case .changeRoleByPrompt:
            #expect(after.peer("lina")?.role == "listener", "a prompt changes nothing until accepted")
            #expect(after.prompts.values.contains { $0.to == "lina" && $0.kind == .roleChange("speaker") })
        case .changeRoleByForce:
            #expect(after.peer("lina")?.role == "speaker")
            #expect(after.peer("lina")?.microphone != nil)
        case .answerPrompt:
            #expect(after.peer(actor)?.role == Self.promptedRole(for: role))
            #expect(after.prompts.isEmpty)
        case .removePeer:
            #expect(after.peer("lina") == nil)
        case .endRoom:
            #expect(after.phase == .ended(locked: false, at: Fixture.t1))
            #expect(after.peers.isEmpty)
        case .raiseHand:
            #expect(after.peer(actor)?.handRaisedAt == Fixture.t1)
        case .lowerHand:
            #expect(after.peer(actor)?.handRaisedAt == nil)
        case .rename:
            #expect(after.peer(actor)?.name == "Renamed")
        case .leave:
            #expect(after.peer(actor) == nil)
        }
    }
}

@Suite("The permission matrix: every action × every built-in role")
struct PermissionMatrixTests {
    static let roles: [RoleName] = ["host", "speaker", "listener"]

    @Test(
        "the action has its effect or a permission error, and a refusal changes nothing",
        arguments: MatrixAction.allCases, roles)
    func matrix(action: MatrixAction, role: RoleName) {
        var room = Fixture.standardRoom()
        let actor = Fixture.actor(for: role)
        action.prepare(&room, actor: actor)
        let before = room
        let result = room.attempt(action.action(by: actor, in: room), by: actor)
        switch result {
        case .success(let outcome):
            #expect(action.expectedError(for: role) == nil, "\(role) was allowed to \(action)")
            #expect(room != before, "an allowed action must change the room")
            action.checkEffect(before: before, after: room, outcome: outcome, actor: actor, role: role)
        case .failure(let error):
            #expect(error.code == action.expectedError(for: role), "\(role) \(action): \(error)")
            #expect(error.code.area == .permission)
            #expect(room == before, "a refused action must leave the room exactly as it was")
        }
    }

    @Test("the built-in roles' permissions are as documented")
    func builtInTable() {
        let host = Role.host
        let speaker = Role.speaker
        let listener = Role.listener
        #expect(host.permissions == .all && host.chat == .all && host.publishAudio)
        #expect(speaker.publishAudio && speaker.chat == .all && speaker.permissions.raiseHand)
        #expect(!speaker.permissions.muteOthers && !speaker.permissions.endRoom && !speaker.permissions.changeRoles)
        #expect(!listener.publishAudio && listener.permissions.raiseHand)
        #expect(listener.chat == ChatPermissions(broadcast: true, toRoles: true, direct: false))
        #expect(host.priority > speaker.priority && speaker.priority > listener.priority)
        for role in [host, speaker, listener] {
            #expect(role.subscribesTo == ["host", "speaker"])
        }
    }
}

@Suite("Rank: nobody acts on a role above their own")
struct RankTests {
    /// A co-host with every permission but a lower priority than host.
    static let template = RoomTemplate(roles: [
        .host,
        Role(
            name: "cohost", priority: 80, publishAudio: true, subscribesTo: ["host", "cohost"], chat: .all,
            permissions: .all),
        .speaker, .listener,
    ])

    static func room() -> Room {
        var room = Fixture.standardRoom(template: template)
        _ = try? room.join(
            Admission(peer: "cora", name: "Cora", role: "cohost", muted: false),
            now: Fixture.t0.adding(milliseconds: 10))
        return room
    }

    static let outranked: [(PeerAction, ErrorCode)] = [
        (.muteTrack(.microphone(of: "hana")), .targetOutranksYou),
        (.unmuteTrack(.microphone(of: "hana")), .targetOutranksYou),
        (.changeRole(peer: "hana", role: "listener", force: true), .targetOutranksYou),
        (.removePeer("hana", reason: nil), .targetOutranksYou),
        (.changeRole(peer: "lee", role: "host", force: true), .roleOutranksYou),
        (.changeRole(peer: "cora", role: "host", force: false), .roleOutranksYou),
    ]

    @Test("a co-host may not act on a host or hand out the host role", arguments: outranked)
    func outrankedActions(action: PeerAction, code: ErrorCode) {
        var room = Self.room()
        let before = room
        #expect(room.attempt(action, by: "cora").failure?.code == code)
        #expect(room == before)
    }

    @Test("a co-host may act on its own rank and below")
    func withinRank() {
        var room = Self.room()
        #expect(room.attempt(.muteTrack(.microphone(of: "sara")), by: "cora").success != nil)
        #expect(room.attempt(.changeRole(peer: "lee", role: "cohost", force: true), by: "cora").success != nil)
        #expect(room.peer("lee")?.role == "cohost")
    }

    @Test("a host may act on another host")
    func peerHosts() throws {
        var room = Fixture.standardRoom()
        _ = room.attempt(.unmuteTrack(.microphone(of: "hugo")), by: "hugo")
        #expect(room.attempt(.muteTrack(.microphone(of: "hugo")), by: "hana").success != nil)
        #expect(room.peer("hugo")?.microphone?.muted == true)
        #expect(room.peer("hugo")?.microphone?.mutedBy == "hana")
        let outcome = try #require(room.attempt(.removePeer("hugo", reason: "done"), by: "hana").success)
        #expect(room.peer("hugo") == nil, "hugo is out of the room")
        #expect(
            outcome.events == [
                RoomEvent(audience: ["hugo"], body: .removed(Removed(by: "hana", reason: "done"))),
                RoomEvent(
                    audience: Fixture.everyone.subtracting(["hugo"]),
                    body: .peerLeft(PeerLeft(peer: "hugo", reason: .removed, by: "hana"))),
            ])
    }

    @Test("removing yourself is refused: send leave")
    func removeSelf() {
        var room = Fixture.standardRoom()
        #expect(room.attempt(.removePeer("hana", reason: nil), by: "hana").failure?.code == .cannotTargetYourself)
    }
}
