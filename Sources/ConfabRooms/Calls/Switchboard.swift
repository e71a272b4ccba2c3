import ConfabProtocol

// Presence and calls on one server, as a value: who is online on which
// devices, the calls between them, ring deadlines, invitation rate limits,
// and who was last told what. The server keeps one; every change goes
// through a method here that takes the time and returns what to do.
//
//   presence connection ─▶ connect ─▶ online ─▶ presence.online to everyone else
//                        ─▶ handle(CallRequest):
//                              invite ─▶ rate (TokenBucket) ─▶ policy (CallPolicy) ─▶ per invitee:
//                                        offline | busy | ringing (call.invitation to each device, deadline)
//                              accept ─▶ first accept: the call's room opens ─▶ call.room (follow-up: a token)
//                              reject | cancel | hangUp
//                        ─▶ disconnect ─▶ last device: offline, invitations ringing it wait out the grace
//   call room (RoomHost) ─▶ roomMembers ─▶ a member left the room ─▶ as hangUp
//   timer (Outcome.wakeAt) ─▶ sweep ─▶ ring deadlines ─▶ noResponse; offline past the grace ─▶ offline
//   the end: fewer than two members, or nobody left to answer ─▶ call.ended ─▶ history ─▶ room ended
//
//   each action ─▶ Outcome { effects   ─▶ sends, history rows, call-room admissions, metrics (in order)
//                            followUps ─▶ room tokens to sign, rooms to end (after the effects)
//                            wakeAt    ─▶ when to sweep next }
//
// Nothing here reads a clock, draws a random number or does I/O: times come
// in as a `Moment`, new call ids with the request. Messages are addressed to
// devices (presence connections), resolved when the change happens.

/// Who is online on this server and the calls between them.
public struct Switchboard: Hashable, Sendable {
    public let settings: CallSettings
    /// The keepalive timing `connected` tells clients.
    public let keepalive: KeepaliveInfo

    /// Who is online: each user's name and devices.
    var users: [PeerID: Presence] = [:]
    var calls: [CallID: Call] = [:]
    /// Calls that ended lately and whom they invited: answering one gets
    /// `6005 invitationNotPending` (cancelled, rung out), as documented,
    /// rather than `6003`.
    var recentlyEnded: [CallID: EndedCall] = [:]
    var invitationBuckets: [PeerID: TokenBucket] = [:]
    var shuttingDown = false
    /// Who everyone was last told is busy (`presence.updated` on a change).
    var announcedBusy: Set<PeerID> = []
    /// The devices of a user in a call that were told so (`connected.elsewhere`,
    /// or their own `presence.updated`) while not in it: they hear when it is over.
    var toldElsewhere: [PeerID: Set<DeviceID>] = [:]
    /// What the action under way has asked for so far; empty between actions.
    var outbox = Outcome()

    /// How long an invitee rung may be without a connection before they
    /// count as offline: a dropped client reconnects well within it.
    public static let offlineGrace: Duration = .seconds(5)
    /// How long, and how many, ended calls are remembered for `6005`.
    static let recentlyEndedLifetime: Duration = .seconds(600)
    static let recentlyEndedLimit = 4_096

    public init(settings: CallSettings = CallSettings(), keepalive: KeepaliveInfo = KeepaliveInfo()) {
        self.settings = settings
        self.keepalive = keepalive
    }

    struct Presence: Hashable, Sendable {
        var name: String
        var devices: [DeviceID: Device] = [:]
    }

    struct Device: Hashable, Sendable {
        /// The client instance it named (`connect.device`): one client
        /// across its reconnections.
        var instance: String?
    }

    struct EndedCall: Hashable, Sendable {
        var invited: Set<PeerID>
        var endedAt: ContinuousClock.Instant
    }

    struct Call: Hashable, Sendable {
        var info: CallInfo
        /// Whether the call's room was opened (at the first accept).
        var hasRoom = false
        var ringDeadlines: [PeerID: ContinuousClock.Instant] = [:]
        /// Invitees rung while none of their devices is connected, since when:
        /// back within `offlineGrace` (a dropped connection), it rings on;
        /// not, they are offline and the caller is told.
        var offlineSince: [PeerID: ContinuousClock.Instant] = [:]
        /// The device each member is in the call on: the caller's that placed
        /// it, an accepter's that accepted.
        var memberDevices: [PeerID: DeviceID] = [:]
        /// The client instance (`connect.device`) each member is in the call
        /// on, when it named one: its reconnection takes the call back.
        var memberInstances: [PeerID: String] = [:]
        var acceptedAt: [PeerID: Timestamp] = [:]
        /// When members left; their time in the call ends there.
        var leftAt: [PeerID: Timestamp] = [:]
        /// Members seen in the call room; leaving it afterwards hangs up.
        var inRoom: Set<PeerID> = []
        var cancelled = false

        func state(of user: PeerID) -> CallParticipantState? {
            info.participant(user)?.state
        }

        mutating func setState(_ user: PeerID, _ state: CallParticipantState) {
            guard let index = info.participants.firstIndex(where: { $0.user == user }) else { return }
            info.participants[index].state = state
        }

        /// Their invitation no longer rings: no deadline, no offline grace.
        mutating func stopRinging(_ user: PeerID) {
            ringDeadlines[user] = nil
            offlineSince[user] = nil
        }

        var members: [PeerID] { info.participants.filter { $0.state == .accepted }.map(\.user) }
        var ringing: [PeerID] { info.participants.filter { $0.state == .ringing }.map(\.user) }
    }

    // MARK: - Queries

    /// How many entries the switchboard holds, by kind: each returns to zero
    /// once everyone is offline, every call has ended and rate buckets refilled.
    public struct Entries: Hashable, Sendable {
        public var onlineUsers = 0
        public var devices = 0
        /// Devices that named their client instance.
        public var deviceInstances = 0
        public var calls = 0
        /// Calls whose room is open.
        public var callRooms = 0
        public var rateBuckets = 0
        public var announcedBusy = 0
        /// Users with devices told they are in a call on another device.
        public var toldElsewhere = 0

        public init(
            onlineUsers: Int = 0, devices: Int = 0, deviceInstances: Int = 0, calls: Int = 0, callRooms: Int = 0,
            rateBuckets: Int = 0, announcedBusy: Int = 0, toldElsewhere: Int = 0
        ) {
            self.onlineUsers = onlineUsers
            self.devices = devices
            self.deviceInstances = deviceInstances
            self.calls = calls
            self.callRooms = callRooms
            self.rateBuckets = rateBuckets
            self.announcedBusy = announcedBusy
            self.toldElsewhere = toldElsewhere
        }
    }

    public var entries: Entries {
        let devices = users.values.flatMap(\.devices.values)
        return Entries(
            onlineUsers: users.count, devices: devices.count, deviceInstances: devices.count { $0.instance != nil },
            calls: calls.count, callRooms: calls.values.count(where: \.hasRoom), rateBuckets: invitationBuckets.count,
            announcedBusy: announcedBusy.count, toldElsewhere: toldElsewhere.count)
    }

    /// The call with this id, as clients see it; nil once it has ended.
    public func call(_ id: CallID) -> CallInfo? { calls[id]?.info }

    func onlineUser(_ user: PeerID) -> OnlineUser {
        OnlineUser(user: user, name: users[user]?.name ?? user.rawValue, busy: isBusy(user))
    }

    /// In a call: a member (the caller counts from the moment they call).
    func isBusy(_ user: PeerID) -> Bool {
        calls.values.contains { $0.state(of: user) == .accepted }
    }

    /// The ids of the calls in progress, in a fixed order.
    var callIDs: [CallID] { calls.keys.sorted() }

    /// Every device of a user.
    func devices(of user: PeerID) -> [DeviceID] {
        users[user]?.devices.keys.sorted() ?? []
    }

    /// Every device of everyone online but `excluded`.
    func devicesOnline(except excluded: PeerID? = nil) -> [DeviceID] {
        users.keys.sorted().filter { $0 != excluded }.flatMap(devices(of:))
    }

    /// The device a member is in the call on, if it is still connected.
    func memberDevice(_ call: Call, _ member: PeerID) -> [DeviceID] {
        guard let device = call.memberDevices[member], users[member]?.devices[device] != nil else { return [] }
        return [device]
    }

    // MARK: - Building the outcome

    mutating func send(_ body: ServerBody, to devices: [DeviceID]) {
        guard !devices.isEmpty else { return }
        outbox.effects.append(.send(ServerMessage(body), to: devices))
    }

    mutating func reply(_ body: ServerBody, to request: RequestID, on device: DeviceID) {
        outbox.effects.append(.send(ServerMessage(id: request, body), to: [device]))
    }

    /// To everyone in the call (on the device they are in it on) and every
    /// device it rings, except `skipping`.
    mutating func broadcast(_ id: CallID, _ body: ServerBody, skipping: Set<PeerID>) {
        guard let call = calls[id] else { return }
        var devices: [DeviceID] = []
        for participant in call.info.participants where !skipping.contains(participant.user) {
            switch participant.state {
            case .accepted: devices += memberDevice(call, participant.user)
            case .ringing: devices += self.devices(of: participant.user)
            default: break
            }
        }
        send(body, to: devices)
    }

    /// Ends an action: tells everyone whose busy flag changed, forgets rate
    /// buckets that are no longer needed, and hands over what was asked for.
    mutating func finish(_ now: Moment) -> Outcome {
        announceBusyChanges()
        pruneInvitationBuckets(now: now.wall)
        var outcome = outbox
        outbox = Outcome()
        outcome.wakeAt = nextWake(now)
        return outcome
    }
}
