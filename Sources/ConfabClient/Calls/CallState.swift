import ConfabProtocol
import Synchronization

// What a UI shows of presence and calls, and how it changes.
//
//   CallClient ─▶ CallEvent ─▶ CallStore.apply ─▶ reduce (pure) ─▶ CallState ─▶ observers, streams, listeners
//
// The same model as RoomStore for rooms: messages up, state down.

/// Everything that happens on the presence connection and in the call's room, as one event type.
public enum CallEvent: Hashable, Sendable {
    case connected(Connected)
    case userOnline(OnlineUser)
    case userOffline(PeerID)
    /// An online user became busy (in a call) or free.
    case userUpdated(OnlineUser)
    /// Your call history, newest first (from `history()`).
    case historyLoaded([CallRecord])
    /// You are being rung.
    case invited(CallInvitation)
    /// An invitation to you stopped ringing: cancelled, answered or rejected
    /// on another device, rung out, or the call ended.
    case invitationEnded(call: CallID, reason: InvitationEndReason)
    /// You rejected an invitation.
    case declined(CallID)
    /// You placed a call, or invited more people into yours: the call as the server answered.
    case placed(CallInfo)
    /// Someone's state in your call changed (ringing, accepted, rejected,
    /// noResponse, busy, offline, cancelled, left).
    case participantChanged(CallInfo, user: PeerID, state: CallParticipantState)
    /// You accepted an invitation; the call is now yours.
    case answered(CallInfo)
    /// The call's room is known and its session is being joined.
    case roomReady(CallRoom)
    /// Someone entered or left the call's room (from its session).
    case userEntered(PeerID)
    case userLeft(PeerID)
    case ended(CallEnded)
    /// You hung up: the call is over for this client (and its room left)
    /// before the server confirmed it; its `call.ended`, if it comes, follows.
    case hungUp(CallID)
    /// The presence connection dropped; attempt `attempt` to open it again comes next.
    case reconnecting(attempt: Int)
    /// The presence connection closed for good; `reason` says why when it was not asked for.
    case disconnected(reason: String?)
    /// Something failed that no request returned (for example joining the call's room).
    case failure(SessionError)
    /// On a cluster, the live nodes changed since `connected` (`cluster.nodes`,
    /// each `wss://HOST:PORT`): the client connects again through them when its node is gone.
    case clusterNodesChanged([String])
}

/// Presence and calls as one value.
public struct CallState: Hashable, Sendable {
    public enum Connection: Hashable, Sendable {
        case idle, connecting, online
        case reconnecting(attempt: Int)
        case disconnected(reason: String?)
    }

    public var connection: Connection = .idle
    public var you: OnlineUser?
    /// Everyone else online, by user.
    public var online: [PeerID: OnlineUser] = [:]
    /// Invitations ringing for you, oldest first.
    public var invitations: [CallInvitation] = []
    /// The call you are in on this device (placed, or accepted), until it ends.
    public var call: CallInfo?
    /// Calls you are in on another of your devices: not this device's
    /// (it cannot join their rooms or hang them up from a call screen).
    public var elsewhere: [CallInfo] = []
    /// Its room, once someone accepted.
    public var room: RoomName?
    /// Who is in the call's room with you.
    public var inRoom: Set<PeerID> = []
    /// The last call that ended, with its duration.
    public var lastEnded: CallEnded?
    public var ringTimeoutMs = CallLimits.defaultRingTimeoutMs
    /// Your recent calls, newest first, as last loaded.
    public var recentCalls: [CallRecord] = []

    public init() {}

    /// In a call on another of your devices, and in none here: calling from
    /// this device would be refused as `alreadyInCall`.
    public var inCallElsewhere: Bool { call == nil && (!elsewhere.isEmpty || you?.busy == true) }

    /// Everyone else online, sorted by id.
    public var onlineUsers: [OnlineUser] { online.values.sorted { $0.user < $1.user } }

    /// Reduces one event into the state: pure.
    public mutating func apply(_ event: CallEvent) {
        switch event {
        case .connected(let connected):
            adopt(connected)
        case .userOnline(let user):
            online[user.user] = user
        case .userOffline(let user):
            online[user] = nil
        case .userUpdated(let user):
            if online[user.user] != nil { online[user.user] = user }
            if you?.user == user.user {
                you = user
                // Your call on another device is over.
                if !user.busy { elsewhere = [] }
            }
        case .historyLoaded(let records):
            recentCalls = records
        case .invited(let invitation):
            invitations.removeAll { $0.call.id == invitation.call.id }
            invitations.append(invitation)
            // Invited back into a call you left: it is live for you again.
            if lastEnded?.call == invitation.call.id { lastEnded = nil }
        case .invitationEnded(let id, .answeredElsewhere):
            if let answered = invitations.first(where: { $0.call.id == id }), call == nil {
                elsewhere.removeAll { $0.id == id }
                elsewhere.append(answered.call)
            }
            invitations.removeAll { $0.call.id == id }
        case .invitationEnded(let id, _), .declined(let id):
            invitations.removeAll { $0.call.id == id }
        case .placed(let info), .answered(let info):
            invitations.removeAll { $0.call.id == info.id }
            // A call nobody could be rung for has already ended (its
            // `call.ended` came before the reply).
            guard lastEnded?.call != info.id else { break }
            call = info
            lastEnded = nil
        case .participantChanged(let info, _, _):
            if call?.id == info.id {
                call = info
            } else if let index = invitations.firstIndex(where: { $0.call.id == info.id }) {
                invitations[index].call = info
            }
        case .roomReady(let callRoom):
            if call?.id == callRoom.call { room = callRoom.room }
        case .userEntered(let user):
            inRoom.insert(user)
        case .userLeft(let user):
            inRoom.remove(user)
        case .ended(let ended):
            invitations.removeAll { $0.call.id == ended.call }
            elsewhere.removeAll { $0.id == ended.call }
            if call?.id == ended.call {
                call = nil
                room = nil
                inRoom = []
                // One call at a time: out of this one, you are free.
                you?.busy = false
            }
            lastEnded = ended
        case .hungUp(let id):
            if call?.id == id {
                call = nil
                room = nil
                inRoom = []
                you?.busy = false
            }
        case .reconnecting(let attempt):
            connection = .reconnecting(attempt: attempt)
        case .disconnected(let reason):
            connection = .disconnected(reason: reason)
            invitations = []
            online = [:]
            elsewhere = []
        case .failure, .clusterNodesChanged:
            break
        }
    }

    /// The server's view of you, who is online and your calls replaces ours
    /// (also after a reconnection).
    private mutating func adopt(_ connected: Connected) {
        connection = .online
        you = connected.you
        online = Dictionary(connected.online.map { ($0.user, $0) }, uniquingKeysWith: { _, last in last })
        ringTimeoutMs = connected.ringTimeoutMs
        invitations = []
        if let current = call, !connected.calls.contains(where: { $0.id == current.id }) {
            call = nil
            room = nil
            inRoom = []
        }
        for info in connected.calls {
            if info.participant(connected.you.user)?.state == .accepted {
                call = info
            } else {
                invitations.append(CallInvitation(call: info, from: info.caller, ringTimeoutMs: ringTimeoutMs))
            }
        }
        elsewhere = connected.elsewhere ?? []
    }
}

/// One step of the call store: the event and the state it produced.
public typealias CallUpdate = StoreUpdate<CallEvent, CallState>
/// Holds a CallState and tells observers of every change (the same store as RoomStore).
public typealias CallStore = ObservableStore<CallState, CallEvent>

extension ObservableStore where State == CallState, Event == CallEvent {
    public convenience init() {
        self.init(state: CallState(), reduce: { state, event in state.apply(event) })
    }
}

/// The callbacks of TRTCCalling's delegate, for those who prefer methods to
/// a stream. Every method has a no-op default; the client holds listeners weakly.
public protocol CallListener: AnyObject, Sendable {
    func callClient(_ client: CallClient, didReceive invitation: CallInvitation)
    /// An invitation you sent is ringing.
    func callClient(_ client: CallClient, userIsRinging user: PeerID, in call: CallInfo)
    func callClient(_ client: CallClient, userAccepted user: PeerID, in call: CallInfo)
    func callClient(_ client: CallClient, userRejected user: PeerID, in call: CallInfo)
    func callClient(_ client: CallClient, noResponseFrom user: PeerID, in call: CallInfo)
    func callClient(_ client: CallClient, userIsBusy user: PeerID, in call: CallInfo)
    func callClient(_ client: CallClient, userIsOffline user: PeerID, in call: CallInfo)
    /// The caller cancelled an invitation to you.
    func callClient(_ client: CallClient, invitationCancelled call: CallID)
    /// You answered (or rejected) on another device.
    func callClient(_ client: CallClient, answeredElsewhere call: CallID)
    func callClient(_ client: CallClient, userEntered user: PeerID)
    func callClient(_ client: CallClient, userLeft user: PeerID)
    func callClient(_ client: CallClient, callEnded ended: CallEnded)
    /// You are in the call's room: observe `session.store` for the call screen.
    func callClient(_ client: CallClient, didJoinRoomOf call: CallID, session: ConfabSession)
}

extension CallListener {
    public func callClient(_ client: CallClient, didReceive invitation: CallInvitation) {}
    public func callClient(_ client: CallClient, userIsRinging user: PeerID, in call: CallInfo) {}
    public func callClient(_ client: CallClient, userAccepted user: PeerID, in call: CallInfo) {}
    public func callClient(_ client: CallClient, userRejected user: PeerID, in call: CallInfo) {}
    public func callClient(_ client: CallClient, noResponseFrom user: PeerID, in call: CallInfo) {}
    public func callClient(_ client: CallClient, userIsBusy user: PeerID, in call: CallInfo) {}
    public func callClient(_ client: CallClient, userIsOffline user: PeerID, in call: CallInfo) {}
    public func callClient(_ client: CallClient, invitationCancelled call: CallID) {}
    public func callClient(_ client: CallClient, answeredElsewhere call: CallID) {}
    public func callClient(_ client: CallClient, userEntered user: PeerID) {}
    public func callClient(_ client: CallClient, userLeft user: PeerID) {}
    public func callClient(_ client: CallClient, callEnded ended: CallEnded) {}
    public func callClient(_ client: CallClient, didJoinRoomOf call: CallID, session: ConfabSession) {}
}

extension CallListener {
    /// Calls the method that matches `event`.
    func dispatch(_ event: CallEvent, from client: CallClient) {
        switch event {
        case .invited(let invitation):
            callClient(client, didReceive: invitation)
        case .placed(let info):
            for participant in info.participants where participant.user != info.caller {
                dispatchState(participant.state, user: participant.user, call: info, client: client)
            }
        case .participantChanged(let info, let user, let state):
            dispatchState(state, user: user, call: info, client: client)
        case .invitationEnded(let call, .cancelled):
            callClient(client, invitationCancelled: call)
        case .invitationEnded(let call, .answeredElsewhere), .invitationEnded(let call, .rejectedElsewhere):
            callClient(client, answeredElsewhere: call)
        case .userEntered(let user):
            callClient(client, userEntered: user)
        case .userLeft(let user):
            callClient(client, userLeft: user)
        case .ended(let ended):
            callClient(client, callEnded: ended)
        default:
            break
        }
    }

    private func dispatchState(_ state: CallParticipantState, user: PeerID, call: CallInfo, client: CallClient) {
        switch state {
        case .ringing: callClient(client, userIsRinging: user, in: call)
        case .accepted: callClient(client, userAccepted: user, in: call)
        case .rejected: callClient(client, userRejected: user, in: call)
        case .noResponse: callClient(client, noResponseFrom: user, in: call)
        case .busy: callClient(client, userIsBusy: user, in: call)
        case .offline: callClient(client, userIsOffline: user, in: call)
        case .cancelled, .left: break
        }
    }
}
