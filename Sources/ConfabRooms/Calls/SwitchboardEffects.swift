import ConfabMacros
import ConfabProtocol

/// One presence connection: a device of a user, until it reconnects (a
/// reconnection is a new device id; the client instance it names in
/// `connect.device` is what stays the same).
@PublicMemberwiseInit
public struct DeviceID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "device \(rawValue)" }
}

/// A reading of both clocks, taken once per action: the monotonic one for
/// deadlines (ring timeouts, the offline grace), the wall one for the times
/// the protocol shows and history keeps.
@PublicMemberwiseInit
public struct Moment: Hashable, Sendable {
    public var instant: ContinuousClock.Instant
    public var wall: Timestamp

    /// Both clocks `duration` later (to the millisecond on the wall).
    public func advanced(by duration: Duration) -> Moment {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1_000 + attoseconds / 1_000_000_000_000_000
        return Moment(instant: instant + duration, wall: wall.adding(milliseconds: Int(milliseconds)))
    }
}

/// A request on a presence connection that changes calls (`call.history`
/// is read from the store, not from the switchboard).
public enum CallRequest: Hashable, Sendable {
    /// `newCall` names the call if the request places one.
    case invite(CallInviteRequest, newCall: CallID)
    case accept(CallID)
    case reject(CallID)
    case cancel(CallID)
    case hangUp(CallID)

    /// The request a client message makes; nil for every other message.
    /// `newCallID` is asked only for `call.invite`.
    public init?(_ body: ClientBody, newCallID: () -> CallID) {
        switch body {
        case .inviteToCall(let request): self = .invite(request, newCall: newCallID())
        case .acceptCall(let action): self = .accept(action.call)
        case .rejectCall(let action): self = .reject(action.call)
        case .cancelCall(let action): self = .cancel(action.call)
        case .hangUp(let action): self = .hangUp(action.call)
        default: return nil
        }
    }
}

extension Switchboard {
    /// What an action asks the server to do, in order.
    public enum Effect: Hashable, Sendable {
        /// Send this to each of these devices.
        case send(ServerMessage, to: [DeviceID])
        /// Refuse a request: the error to its device (closing the connection
        /// if the catalog says the error does), counted in the error metrics.
        case refuse(CodedError, request: RequestID, device: DeviceID)
        /// Close these connections (after what was sent to them).
        case close([DeviceID], WebSocketCloseCode, reason: String)
        /// One row of a user's call history.
        case record(CallRecord, user: PeerID)
        /// Open the call's room, admitting this member (the caller).
        case openRoom(CallID, admitting: PeerID)
        /// The call's room admits this member (again).
        case admit(PeerID, toRoomOf: CallID)
        /// The member left: their room token is spent.
        case revoke(PeerID, fromRoomOf: CallID)
        case count(CallMetric)
    }

    /// What an action asks for after its effects; each may suspend.
    public enum FollowUp: Hashable, Sendable {
        /// Sign a room token for the call's room and send it as `call.room`
        /// to the device — as the reply to `reply` when there is one (a token
        /// that cannot be made then refuses the request with `internalError`).
        case roomToken(
            call: CallID, user: PeerID, name: String?, device: DeviceID, reply: RequestID?, issuedAt: Timestamp)
        /// End the call's room (its peers get `room.ended`).
        case endRoom(CallID)
    }

    /// What one action did.
    @PublicMemberwiseInit
    public struct Outcome: Hashable, Sendable {
        /// Carry these out first, in order, without suspending between them:
        /// every device then sees a call's changes in the order they happened.
        public var effects: [Effect] = []
        /// Then these, in order.
        public var followUps: [FollowUp] = []
        /// When to call `sweep` next (a ring timeout, the offline grace, a
        /// rate bucket to forget); nil when nothing waits on time.
        public var wakeAt: ContinuousClock.Instant?
    }
}

/// A change to the call metrics.
public enum CallMetric: Hashable, Sendable {
    /// People invited (rung, or found busy or offline).
    case invitationsSent(Int)
    /// An invitation ended (each exactly once): `accepted`, `rejected`,
    /// `noResponse`, `busy`, `offline` or `cancelled`.
    case invitationEnded(CallParticipantState)
    /// A `call.invite` refused by the rate limit.
    case invitationRateLimited
}
