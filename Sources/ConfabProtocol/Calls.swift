import ConfabMacros
import Foundation

// Presence and calls: the messages of the server-root connection
// (`wss://HOST:PORT/`), which has no room. A client `connect`s with a user
// token and is online; it can ring others and be rung.
//
//   caller ── call.invite ─▶ server ── call.invitation ─▶ every device of each invitee
//          ◀─ call.state ──         ◀─ call.accept ───── one device (the others: call.invitationEnded answeredElsewhere)
//          ◀─ call.room ───         ── call.room ──────▶ the accepter: a room and a token for it
//   both join the call room with the ordinary `join`; media and end-to-end keys as in any room
//   leaving the room or call.hangup ─▶ fewer than two left ─▶ call.ended (duration) to everyone
//
// Names here are sanitised by the server before they are sent, like peer names.

/// A call's id, assigned by the server. Opaque to clients.
public struct CallID: ProtocolIdentifier {
    public static let maximumLength = 64
    public static let allowedPunctuation: Set<Unicode.Scalar> = [".", "_", "-"]
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }
}

/// Limits of the call messages.
public enum CallLimits {
    /// Users in one `call.invite`.
    public static let maximumInvitees = 16
    /// People in one call at a time (ringing or in it), caller included.
    public static let maximumParticipants = 16
    /// Entries of a call's participant list, those who rejected or left included.
    public static let maximumParticipantEntries = 32
    /// How long an invitation rings before it ends with `noResponse`, unless
    /// the server's configuration or the `call.invite` says otherwise.
    public static let defaultRingTimeoutMs = 30_000
    /// The range a `call.invite` may ask for.
    public static let ringTimeoutRangeMs = 1_000...300_000
    /// Presence connections (devices) of one user at a time; a further
    /// `connect` closes the oldest (`4009 sessionReplaced`).
    public static let maximumDevicesPerUser = 16
    /// `call.invite` per user (all devices together): 1 a second, bursts of 5.
    public static let invitationRate = RateLimit(perSecond: 1, burst: 5)
}

/// Where one participant of a call stands.
public enum CallParticipantState: String, Codable, Hashable, Sendable, CaseIterable {
    /// Invited; their devices are ringing.
    case ringing
    /// In the call (the caller is from the start).
    case accepted
    case rejected
    /// The invitation rang out unanswered.
    case noResponse
    /// Already in another call when invited.
    case busy
    /// Not connected to the server when invited.
    case offline
    /// The caller cancelled while this invitation rang.
    case cancelled
    /// Was in the call and hung up (or left its room).
    case left
}

/// One person in a call and their state.
@PublicMemberwiseInit
public struct CallParticipant: Codable, Hashable, Sendable {
    public var user: PeerID
    /// Display name, sanitised.
    public var name: String
    public var state: CallParticipantState
    /// Who invited them; nil for the caller.
    public var invitedBy: PeerID?
}

/// A call as the server sees it.
@PublicMemberwiseInit
public struct CallInfo: Codable, Hashable, Sendable {
    public var id: CallID
    /// Who placed it.
    public var caller: PeerID
    /// More than one invitee (from the first invite, or once someone in the call invites more).
    public var group: Bool
    public var createdAt: Timestamp
    /// When the first invitee accepted (the call's duration counts from here); nil while nobody has.
    public var answeredAt: Timestamp?
    /// The caller first, then invitees in the order they were invited.
    public var participants: [CallParticipant]

    /// The participant entry of a user, if they are part of the call.
    public func participant(_ user: PeerID) -> CallParticipant? {
        participants.first { $0.user == user }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(CallID.self, forKey: .id)
        caller = try container.decode(PeerID.self, forKey: .caller)
        group = try container.decode(Bool.self, forKey: .group)
        createdAt = try container.decode(Timestamp.self, forKey: .createdAt)
        answeredAt = try container.decodeIfPresent(Timestamp.self, forKey: .answeredAt)
        participants = try container.decode([CallParticipant].self, forKey: .participants)
        guard participants.count <= CallLimits.maximumParticipantEntries else {
            throw DecodingError.dataCorruptedError(
                forKey: .participants, in: container, debugDescription: "too many participants")
        }
    }
}

/// A user connected to the server (on one or more devices).
@PublicMemberwiseInit
public struct OnlineUser: Codable, Hashable, Sendable {
    public var user: PeerID
    /// Display name, sanitised.
    public var name: String
    /// In a call right now (a call to them would be `busy`).
    public var busy: Bool = false
}

// MARK: - Client → server

/// `connect`: go online on the server-root connection with a user token.
@PublicMemberwiseInit
public struct ConnectRequest: Codable, Hashable, Sendable {
    /// A user token from `confab token --user` (no room claim).
    public var token: String?
    /// A display name, used when the token names none.
    public var name: String?
    /// An id the client picks once (random) and sends again when it
    /// reconnects, up to 64 bytes: the server tells a client coming back to
    /// its call from another device of the same user.
    public var device: String?

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        token = try container.decodeIfPresent(
            String.self, forKey: .token, maximumUTF8Bytes: ProtocolLimits.maximumTokenBytes)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        device = try container.decodeIfPresent(String.self, forKey: .device, maximumUTF8Bytes: 64)
    }
}

/// `call.invite`: ring users, in a new call or (with `call`) into the call you are in.
@PublicMemberwiseInit
public struct CallInviteRequest: Codable, Hashable, Sendable {
    /// 1...16 users; more than one makes a group call.
    public var users: [PeerID]
    /// The call to invite them into; you must be in it. Absent: a new call.
    public var call: CallID?
    /// How long to ring, 1,000...300,000 ms; absent: the server's setting.
    public var ringTimeoutMs: Int?

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        users = try container.decode(
            [PeerID].self, forKey: .users, counts: 1...CallLimits.maximumInvitees, of: "users")
        call = try container.decodeIfPresent(CallID.self, forKey: .call)
        ringTimeoutMs = try container.decodeIfPresent(
            Int.self, forKey: .ringTimeoutMs, in: CallLimits.ringTimeoutRangeMs)
    }
}

/// `call.accept`, `call.reject`, `call.cancel`, `call.hangup`: an action on one call.
@PublicMemberwiseInit
public struct CallAction: Codable, Hashable, Sendable {
    public var call: CallID
}

/// `call.history`: your most recent calls.
@PublicMemberwiseInit
public struct CallHistoryRequest: Codable, Hashable, Sendable {
    /// 1...200, default 50.
    public var limit: Int = ProtocolLimits.defaultHistoryPageSize

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        limit = try container.decodeHistoryLimit(forKey: .limit, in: 1...ProtocolLimits.maximumHistoryPageSize)
    }
}

// MARK: - Server → client

/// `connected`: the reply to `connect`.
@PublicMemberwiseInit
public struct Connected: Codable, Hashable, Sendable {
    public var you: OnlineUser
    /// Everyone else online on this server.
    public var online: [OnlineUser]
    /// Calls you are part of on this connection: invitations ringing for
    /// you, and the call you are in here (placed or accepted on it, or on the
    /// connection it replaced).
    public var calls: [CallInfo] = []
    /// Calls you are in on another of your devices: not this connection's
    /// (their events and room go to that device). Absent when there are none.
    public var elsewhere: [CallInfo]?
    /// How long invitations ring on this server unless a `call.invite` says otherwise.
    public var ringTimeoutMs: Int = CallLimits.defaultRingTimeoutMs
    public var keepalive: KeepaliveInfo = KeepaliveInfo()
    /// On a cluster, the live nodes' `wss://HOST:PORT`, to connect again
    /// through when this node cannot be reached; absent on a single server.
    public var nodes: [String]? = nil
}

/// `cluster.nodes`: on a cluster, the live nodes changed since `connected`
/// or `joined` (or the last `cluster.nodes`). Sent on presence and room
/// connections alike; `nodes` replaces `connected.nodes` or `joined.reconnect.nodes`.
@PublicMemberwiseInit
public struct ClusterNodes: Codable, Hashable, Sendable {
    /// The live nodes' `wss://HOST:PORT`.
    public var nodes: [String]
}

/// `presence.offline`: a user's last device disconnected.
@PublicMemberwiseInit
public struct PresenceOffline: Codable, Hashable, Sendable {
    public var user: PeerID
}

/// `call.invitation`: you are being rung. Sent to each of your devices.
@PublicMemberwiseInit
public struct CallInvitation: Codable, Hashable, Sendable {
    public var call: CallInfo
    /// Who invited you: the caller, or someone already in the call.
    public var from: PeerID
    /// Answer within this long, or the invitation ends with `noResponse`.
    public var ringTimeoutMs: Int
}

/// `call.updated`: one participant's state changed (sent to everyone in the
/// call and everyone it is ringing for), with the whole call after the change.
@PublicMemberwiseInit
public struct CallUpdated: Codable, Hashable, Sendable {
    public var call: CallInfo
    public var user: PeerID
    public var state: CallParticipantState
}

/// Why an invitation stopped ringing without you answering it on this device.
public enum InvitationEndReason: String, Codable, Hashable, Sendable, CaseIterable {
    /// The caller cancelled.
    case cancelled
    /// You accepted on another device.
    case answeredElsewhere
    /// You rejected on another device.
    case rejectedElsewhere
    /// It rang out.
    case noResponse
    /// The call ended before you answered.
    case callEnded
}

/// `call.invitationEnded`: stop ringing.
@PublicMemberwiseInit
public struct CallInvitationEnded: Codable, Hashable, Sendable {
    public var call: CallID
    public var reason: InvitationEndReason
}

/// `call.room`: where the call happens. The reply to `call.accept`, and an
/// event to the caller when the first invitee accepts. Join it with the
/// ordinary `join` on `wss://HOST:PORT/ROOM` and this token.
@PublicMemberwiseInit
public struct CallRoom: Codable, Hashable, Sendable {
    public var call: CallID
    public var room: RoomName
    /// A room token the server minted for you, for this room only.
    public var token: String

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        call = try container.decode(CallID.self, forKey: .call)
        room = try container.decode(RoomName.self, forKey: .room)
        token = try container.decode(String.self, forKey: .token, maximumUTF8Bytes: ProtocolLimits.maximumTokenBytes)
    }
}

/// Why a call ended.
public enum CallEndReason: String, Codable, Hashable, Sendable, CaseIterable {
    /// Fewer than two people were left in it.
    case hangup
    /// The caller cancelled before anyone accepted.
    case cancelled
    /// Every invitation ended without an accept (rejected, no response, busy, offline).
    case unanswered
    /// The server is shutting down.
    case shutdown
}

/// `call.ended`: to everyone still in the call, the caller included.
@PublicMemberwiseInit
public struct CallEnded: Codable, Hashable, Sendable {
    public var call: CallID
    public var reason: CallEndReason
    /// From the first accept to the end; 0 for a call nobody answered.
    public var durationMs: Int
}

/// How a call went, from one user's side.
public enum CallOutcome: String, Codable, Hashable, Sendable, CaseIterable {
    /// Talked: for the caller, someone accepted; for an invitee, they accepted.
    case answered
    /// The caller cancelled while it rang.
    case cancelled
    /// Rejected (the caller's record: every invitee rejected).
    case rejected
    /// Rang out (an invitee's missed call).
    case noResponse
    /// The invitee was in another call.
    case busy
    /// The invitee was not online.
    case offline
    /// The caller's record of a group call nobody accepted, for mixed reasons.
    case unanswered
}

/// Whether you placed a call or were rung.
public enum CallDirection: String, Codable, Hashable, Sendable {
    case outgoing
    case incoming
}

/// One entry of a user's call history.
@PublicMemberwiseInit
public struct CallRecord: Codable, Hashable, Sendable {
    public var call: CallID
    public var direction: CallDirection
    /// The others: for the caller, everyone invited; for an invitee, the caller first, then the other invitees.
    public var peers: [PeerID]
    public var outcome: CallOutcome
    /// When the call was placed.
    public var startedAt: Timestamp
    /// Time spent in the call; 0 unless answered.
    public var durationMs: Int
}

/// `call.historyPage`: the reply to `call.history`, newest first.
@PublicMemberwiseInit
public struct CallHistoryPage: Codable, Hashable, Sendable {
    public var calls: [CallRecord]
}
