import ConfabProtocol
import ConfabRooms
import Testing

// A switchboard driven by hand: users' devices, requests with fixed ids,
// and a clock that moves only when a test moves it. An outcome reads as
// lines, one per effect, in order:
//
//   bobPhone,bobLaptop ◀ call.invitation c1 from alice, 30000 ms
//   alicePhone ◀ r1 call.state c1: alice accepted, bob ringing
//   history bob: incoming c1 rejected, peers alice, 0 ms
//   then: token c1 for bob → bobPhone, reply r2

extension DeviceID {
    static let alicePhone = DeviceID(rawValue: 11)
    static let aliceLaptop = DeviceID(rawValue: 12)
    static let bobPhone = DeviceID(rawValue: 21)
    static let bobLaptop = DeviceID(rawValue: 22)
    /// Bob's phone after it reconnected: a newer connection.
    static let bobPhoneAgain = DeviceID(rawValue: 23)
    static let carolPhone = DeviceID(rawValue: 31)
    static let danPhone = DeviceID(rawValue: 41)

    var name: String {
        let names: [DeviceID: String] = [
            .alicePhone: "alicePhone", .aliceLaptop: "aliceLaptop", .bobPhone: "bobPhone", .bobLaptop: "bobLaptop",
            .bobPhoneAgain: "bobPhoneAgain", .carolPhone: "carolPhone", .danPhone: "danPhone",
        ]
        return names[self] ?? "device\(rawValue)"
    }
}

struct Desk {
    var board: Switchboard
    var now = Desk.start

    /// Any origin will do: only differences between moments matter.
    static let start = Moment(
        instant: ContinuousClock.now, wall: Timestamp(millisecondsSince1970: 1_763_000_000_000))

    init(settings: CallSettings = CallSettings()) {
        board = Switchboard(settings: settings, keepalive: KeepaliveInfo())
    }

    /// Users online on these devices, in order.
    static func online(_ devices: [(PeerID, DeviceID)], settings: CallSettings = CallSettings()) throws -> Desk {
        var desk = Desk(settings: settings)
        for (user, device) in devices { try desk.connect(user, device) }
        return desk
    }

    /// Moves both clocks.
    mutating func advance(_ duration: Duration) {
        now = now.advanced(by: duration)
    }

    @discardableResult
    mutating func connect(_ user: PeerID, _ device: DeviceID, instance: String? = nil) throws(CodedError)
        -> Switchboard.Outcome
    {
        try board.connect(user, name: nil, device: device, instance: instance, request: "hello", at: now)
    }

    @discardableResult
    mutating func disconnect(_ user: PeerID, _ device: DeviceID) -> Switchboard.Outcome {
        board.disconnect(user, device: device, at: now)
    }

    @discardableResult
    mutating func invite(
        _ users: [PeerID], from caller: PeerID, on device: DeviceID, into call: CallID? = nil, newCall: CallID = "c1",
        ringTimeoutMs: Int? = nil, id: RequestID = "r1"
    ) -> Switchboard.Outcome {
        let request = CallInviteRequest(users: users, call: call, ringTimeoutMs: ringTimeoutMs)
        return board.handle(.invite(request, newCall: newCall), from: caller, device: device, id: id, at: now)
    }

    @discardableResult
    mutating func request(_ request: CallRequest, by user: PeerID, on device: DeviceID, id: RequestID = "r2")
        -> Switchboard.Outcome
    {
        board.handle(request, from: user, device: device, id: id, at: now)
    }

    @discardableResult
    mutating func inRoom(_ members: Set<PeerID>, call: CallID = "c1") -> Switchboard.Outcome {
        board.roomMembers(members, ofCall: call, at: now)
    }

    @discardableResult
    mutating func sweep() -> Switchboard.Outcome {
        board.sweep(at: now)
    }

    /// Alice (on her phone) in call c1 with bob (on his phone), both in its room.
    static func aliceCallsBob(_ devices: [(PeerID, DeviceID)] = [("alice", .alicePhone), ("bob", .bobPhone)])
        throws -> Desk
    {
        var desk = try online(devices)
        desk.invite(["bob"], from: "alice", on: .alicePhone)
        desk.request(.accept("c1"), by: "bob", on: .bobPhone)
        desk.inRoom(["alice", "bob"])
        return desk
    }
}

extension Switchboard.Outcome {
    /// Each effect, then each follow-up, as a line.
    var lines: [String] {
        effects.map(\.line) + followUps.map { "then: " + $0.line }
    }

    /// Only the messages sent, as lines.
    var sends: [String] {
        effects.filter { if case .send = $0 { true } else { false } }.map(\.line)
    }

    /// Only the history rows, as lines.
    var history: [String] {
        effects.filter { if case .record = $0 { true } else { false } }.map(\.line)
    }
}

extension Switchboard.Effect {
    var line: String {
        switch self {
        case .send(let message, let devices):
            let reply = message.id.map { "\($0) " } ?? ""
            return "\(devices.map(\.name).joined(separator: ",")) ◀ \(reply)\(message.body.line)"
        case .refuse(let error, let request, let device):
            let wait = error.retryAfterMs.map { ", retry in \($0) ms" } ?? ""
            return "\(device.name) ◀ \(request) error \(error.code.rawValue) \(error.code)\(wait)"
        case .close(let devices, let code, _):
            return "close \(devices.map(\.name).joined(separator: ",")) \(code)"
        case .record(let record, let user):
            let peers = record.peers.map(\.rawValue).joined(separator: " ")
            return
                "history \(user): \(record.direction) \(record.call) \(record.outcome), peers \(peers), \(record.durationMs) ms"
        case .openRoom(let call, let caller):
            return "room \(call) opens for \(caller)"
        case .admit(let user, let call):
            return "room \(call) admits \(user)"
        case .revoke(let user, let call):
            return "room \(call) revokes \(user)"
        case .count(.invitationsSent(let count)):
            return "metric invitations +\(count)"
        case .count(.invitationEnded(let state)):
            return "metric invitation \(state)"
        case .count(.invitationRateLimited):
            return "metric rate-limited"
        }
    }
}

extension Switchboard.FollowUp {
    var line: String {
        switch self {
        case .roomToken(let call, let user, _, let device, let reply, _):
            "token \(call) for \(user) → \(device.name)" + (reply.map { ", reply \($0)" } ?? "")
        case .endRoom(let call):
            "end room \(call)"
        }
    }
}

extension ServerBody {
    var line: String {
        switch self {
        case .connected(let connected):
            let online = connected.online.map(\.line).joined(separator: " ")
            let calls = connected.calls.map(\.id.rawValue).joined(separator: " ")
            let elsewhere =
                connected.elsewhere.map { " elsewhere [\($0.map(\.id.rawValue).joined(separator: " "))]" } ?? ""
            return "connected \(connected.you.line), online [\(online)], calls [\(calls)]\(elsewhere)"
        case .presenceOnline(let user): return "presence.online \(user.line)"
        case .presenceOffline(let offline): return "presence.offline \(offline.user)"
        case .presenceUpdated(let user): return "presence.updated \(user.line)"
        case .callInvitation(let invitation):
            return "call.invitation \(invitation.call.id) from \(invitation.from), \(invitation.ringTimeoutMs) ms"
        case .callState(let call): return "call.state \(call.line)"
        case .callUpdated(let update): return "call.updated \(update.user) \(update.state) (\(update.call.line))"
        case .callInvitationEnded(let ended): return "call.invitationEnded \(ended.call) \(ended.reason)"
        case .callEnded(let ended): return "call.ended \(ended.call) \(ended.reason), \(ended.durationMs) ms"
        case .ok: return "ok"
        case .serverGoingAway: return "server.goingAway"
        default: return "\(self)"
        }
    }
}

extension OnlineUser {
    var line: String { busy ? "\(user) (busy)" : "\(user)" }
}

extension CallInfo {
    /// `c1: alice accepted, bob ringing` (and `group` for a group call).
    var line: String {
        let people = participants.map { "\($0.user) \($0.state)" }.joined(separator: ", ")
        return "\(id)\(group ? " group" : ""): \(people)"
    }
}
