import ConfabProtocol
import ConfabRooms
import Testing

/// A standard room with two peers of each built-in role:
///
///   hana, hugo   host       microphones muted
///   sam          speaker    microphone muted
///   sara         speaker    microphone live
///   lee, lina    listener   no microphone
enum Fixture {
    static let t0 = Timestamp(millisecondsSince1970: 1_763_000_000_000)
    static let room: RoomName = "standup"
    static let everyone: Set<PeerID> = ["hana", "hugo", "sam", "sara", "lee", "lina"]

    /// The peer that acts for each built-in role in the matrix.
    static func actor(for role: RoleName) -> PeerID {
        switch role {
        case "host": "hana"
        case "speaker": "sam"
        default: "lee"
        }
    }

    static func standardRoom(template: RoomTemplate = .standard) -> Room {
        var room = Room(name: room, template: template, now: t0)
        let members: [(PeerID, RoleName, Bool)] = [
            ("hana", "host", true), ("hugo", "host", true), ("sam", "speaker", true),
            ("sara", "speaker", false), ("lee", "listener", true), ("lina", "listener", true),
        ]
        for (offset, (peer, role, muted)) in members.enumerated() {
            let admission = Admission(peer: peer, name: peer.rawValue.capitalized, role: role, muted: muted)
            do {
                _ = try room.join(admission, now: t0.adding(milliseconds: offset))
            } catch {
                Issue.record("fixture join of \(peer) failed: \(error)")
            }
        }
        return room
    }

    /// The standard room's peers in a town hall (lee and lina are its audience)
    /// whose peers may chat at `chatRate` and whose audience together at `audienceRate`.
    static func townHall(chatRate: RateLimit = RateLimits.chat, audienceRate: RateLimit) -> Room {
        var template = RoomTemplate.townHall
        template.chatRate = chatRate
        template.audience?.broadcastRate = audienceRate
        return standardRoom(template: template)
    }

    /// A moment after the fixture joined.
    static let t1 = t0.adding(milliseconds: 1_000)
}

extension Room {
    /// Applies an action, returning the error instead of throwing it.
    mutating func attempt(_ action: PeerAction, by actor: PeerID, at now: Timestamp = Fixture.t1) -> Result<
        RoomOutcome, CodedError
    > {
        do {
            return .success(try apply(action, from: actor, now: now))
        } catch {
            return .failure(error)
        }
    }

    /// The ids of connected peers holding a role.
    func holders(of role: RoleName) -> Set<PeerID> {
        Set(peers.values.filter { $0.role == role && $0.isConnected }.map(\.id))
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }

    var success: Success? {
        if case .success(let value) = self { value } else { nil }
    }
}
