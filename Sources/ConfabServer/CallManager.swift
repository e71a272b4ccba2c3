// Presence and calls: who is online on this server, and the calls between them.
//
//   presence connection ─▶ connect (user token) ─▶ online ─▶ presence.online to everyone else
//                        ─▶ call.invite ─▶ rate (TokenBucket) ─▶ policy (CallPolicy) ─▶ per invitee:
//                              offline | busy | ringing (call.invitation to each device, deadline)
//                        ─▶ call.accept ─▶ first accept: a fresh call room (CallRoomDirectory) ─▶ call.room
//                        ─▶ call.reject / call.cancel / call.hangup
//   call room (RoomHost) ─▶ membership observer ─▶ a member left the room ─▶ as call.hangup
//   sweep (timer)        ─▶ ring deadlines ─▶ noResponse
//   the end: fewer than two members, or nobody left to answer ─▶ call.ended ─▶ history ─▶ room ended
//
// The manager never suspends between a change and the messages it causes,
// so every device sees a call's changes in the order they happened. The
// only awaits are signing room tokens and ending a room, both after the
// state has changed.

import ConfabProtocol
import ConfabRooms
import Logging

actor CallManager {
    private let configuration: CallSettings
    private let keepalive: KeepaliveInfo
    private let authority: TokenAuthority
    private let store: ChatStore
    private let registry: RoomRegistry
    private let metrics: ServerMetrics
    private let logger: Logger

    /// Who is online: each user's name and live presence connections.
    private var users: [PeerID: OnlineEntry] = [:]
    private var calls: [CallID: Call] = [:]
    private var callOfRoom: [RoomName: CallID] = [:]
    /// Calls that ended lately and whom they invited: answering one gets
    /// `6005 invitationNotPending` (cancelled, rung out), as documented,
    /// rather than `6003`. Kept 10 minutes, at most 4,096.
    private var recentlyEnded: [CallID: EndedCall] = [:]
    private struct EndedCall {
        var invited: Set<PeerID>
        var endedAt: ContinuousClock.Instant
    }
    private var invitationBuckets: [PeerID: TokenBucket] = [:]
    private var shuttingDown = false
    /// Who everyone was last told is busy (`presence.updated` on a change).
    private var announcedBusy: Set<PeerID> = []
    /// The devices of a user in a call that were told so (`connected.elsewhere`,
    /// or their own `presence.updated`) while not in it: they hear when it is over.
    private var toldElsewhere: [PeerID: Set<UInt64>] = [:]

    /// Room membership changes of call rooms, from their hosts.
    private let membershipUpdates: AsyncStream<(RoomName, Set<PeerID>)>
    private let membershipContinuation: AsyncStream<(RoomName, Set<PeerID>)>.Continuation

    private struct OnlineEntry {
        var name: String
        var devices: [UInt64: ConnectionSink]
        /// The `connect.device` each connection named: one client instance
        /// across its reconnections.
        var instances: [UInt64: String] = [:]
    }

    private struct Call {
        var info: CallInfo
        var room: RoomName?
        var ringDeadlines: [PeerID: ContinuousClock.Instant] = [:]
        /// Invitees rung while none of their devices is connected, since when:
        /// back within `offlineGrace` (a dropped connection), it rings on;
        /// not, they are offline and the caller is told.
        var offlineSince: [PeerID: ContinuousClock.Instant] = [:]
        /// The device each member is in the call on: the caller's that placed
        /// it, an accepter's that accepted.
        var memberDevices: [PeerID: UInt64] = [:]
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

        var members: [PeerID] { info.participants.filter { $0.state == .accepted }.map(\.user) }
        var ringing: [PeerID] { info.participants.filter { $0.state == .ringing }.map(\.user) }
    }

    init(
        configuration: CallSettings, keepalive: KeepaliveInfo, authority: TokenAuthority, store: ChatStore,
        registry: RoomRegistry, metrics: ServerMetrics, logger: Logger
    ) {
        self.configuration = configuration
        self.keepalive = keepalive
        self.authority = authority
        self.store = store
        self.registry = registry
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "part"] = "calls"
        self.logger = logger
        (membershipUpdates, membershipContinuation) = AsyncStream.makeStream(
            of: (RoomName, Set<PeerID>).self, bufferingPolicy: .unbounded)
    }

    /// Follows who is in the call rooms until cancelled (a server task).
    func followRooms() async {
        for await (room, members) in membershipUpdates {
            roomMembershipChanged(room, members: members)
            await endFinishedCallRooms()
        }
    }

    // MARK: - Presence

    /// Admits a presence connection whose user token checked out: `connected`
    /// to it, `presence.online` to everyone else when it is the user's first device.
    func connect(_ token: VerifiedUser, request: ConnectRequest, requestID: RequestID, sink: ConnectionSink)
        async throws(CodedError)
    {
        guard !shuttingDown else { throw CodedError(.shuttingDown, "the server is shutting down") }
        let offered = token.name ?? request.name ?? token.user.rawValue
        let name = (try? TextSanitizer.sanitize(offered, policy: .displayName)) ?? token.user.rawValue
        let firstDevice = users[token.user] == nil
        users[token.user, default: OnlineEntry(name: name, devices: [:])].devices[sink.id] = sink
        users[token.user]?.name = name
        users[token.user]?.instances[sink.id] = request.device
        // A member whose device dropped and came back gets the call's
        // messages on the new connection: the same client instance
        // (`connect.device`), or — for clients that name none — any
        // connection once the one in the call is gone. Another device of
        // theirs does not take the call over.
        for (id, call) in calls where call.state(of: token.user) == .accepted {
            let instance = call.memberInstances[token.user]
            let sameInstance = request.device != nil && instance == request.device
            let memberConnected = call.memberDevices[token.user].map { users[token.user]?.devices[$0] != nil } ?? false
            guard sameInstance || (instance == nil && !memberConnected) else { continue }
            calls[id]?.memberDevices[token.user] = sink.id
            calls[id]?.memberInstances[token.user] = request.device
        }
        let you = onlineUser(token.user)
        let others = users.keys.filter { $0 != token.user }.sorted().map(onlineUser)
        // Invitations ring on every device; a call is this device's only if
        // the user is in it here. One they are in on another device is told
        // apart (`elsewhere`): this device cannot join its room.
        let current = calls.values.filter { call in
            call.state(of: token.user) == .ringing
                || (call.state(of: token.user) == .accepted && call.memberDevices[token.user] == sink.id)
        }.map(\.info)
        let elsewhere = calls.values.filter { call in
            call.state(of: token.user) == .accepted && call.memberDevices[token.user] != sink.id
        }.map(\.info)
        if !elsewhere.isEmpty { toldElsewhere[token.user, default: []].insert(sink.id) }
        sink.send(
            ServerMessage(
                id: requestID,
                .connected(
                    Connected(
                        you: you, online: others, calls: current, elsewhere: elsewhere.isEmpty ? nil : elsewhere,
                        ringTimeoutMs: configuration.ringTimeoutMs, keepalive: keepalive))))
        if firstDevice {
            let text = ConnectionSink.encode(ServerMessage(.presenceOnline(you)))
            for (user, entry) in users where user != token.user {
                for device in entry.devices.values { device.send(text) }
            }
        }
        metrics.presence(usersOnline: users.count, callsInProgress: calls.count)
        logger.debug("online", metadata: ["user": "\(token.user)", "devices": "\(users[token.user]?.devices.count ?? 0)"])
        // A member back on a new connection who has not joined the call's
        // room yet (its `call.room` went to the old one) gets it again.
        let unjoined = calls.values.filter { call in
            call.state(of: token.user) == .accepted && call.room != nil && !call.inRoom.contains(token.user)
                && call.memberDevices[token.user] == sink.id
        }
        for call in unjoined {
            guard let room = call.room, let roomToken = await roomToken(room, for: token.user) else { continue }
            sink.send(ServerMessage(.callRoom(CallRoom(call: call.info.id, room: room, token: roomToken))))
        }
    }

    /// A presence connection closed. The user's last device going away takes
    /// them offline; a caller's device going away before anyone answered
    /// cancels the call; a member's device going away while they are not in
    /// the call's room hangs them up.
    func disconnect(_ user: PeerID, sink: ConnectionSink) async {
        guard users[user]?.devices.removeValue(forKey: sink.id) != nil else { return }
        users[user]?.instances[sink.id] = nil
        toldElsewhere[user]?.remove(sink.id)
        if toldElsewhere[user]?.isEmpty == true { toldElsewhere[user] = nil }
        for (id, call) in calls where call.memberDevices[user] == sink.id {
            if call.info.caller == user, call.info.answeredAt == nil {
                cancel(id, by: user)
            } else if !call.inRoom.contains(user) {
                leave(id, user: user)
            } else if let newest = users[user]?.devices.keys.max(),
                call.memberInstances[user] == nil || users[user]?.instances[newest] == call.memberInstances[user]
            {
                // Still in the room: the call's messages go to the user's
                // newest connection (a client that reconnected) from now on —
                // when it is the same client instance (or nobody named one).
                // Otherwise they wait for that client to reconnect.
                calls[id]?.memberDevices[user] = newest
            }
        }
        if users[user]?.devices.isEmpty == true {
            users[user] = nil
            // Gone while rung: unless the client reconnects at once, the
            // caller is told "offline" in seconds, not after the ring timeout.
            for (id, call) in calls where call.state(of: user) == .ringing {
                calls[id]?.offlineSince[user] = .now
            }
            pruneInvitationBuckets(now: .now())
            let text = ConnectionSink.encode(ServerMessage(.presenceOffline(PresenceOffline(user: user))))
            for entry in users.values {
                for device in entry.devices.values { device.send(text) }
            }
        }
        await endFinishedCallRooms()
    }

    private func onlineUser(_ user: PeerID) -> OnlineUser {
        OnlineUser(user: user, name: users[user]?.name ?? user.rawValue, busy: isBusy(user))
    }

    /// In a call: a member (the caller counts from the moment they call).
    private func isBusy(_ user: PeerID) -> Bool {
        calls.values.contains { $0.state(of: user) == .accepted }
    }

    // MARK: - Requests

    /// A call or history request on a connected presence connection.
    func handle(_ message: ClientMessage, from user: PeerID, sink: ConnectionSink) async {
        let now = Timestamp.now()
        do throws(CodedError) {
            switch message.body {
            case .inviteToCall(let request):
                try invite(request, from: user, device: sink.id, requestID: message.id, sink: sink, now: now)
            case .acceptCall(let action):
                try await accept(action.call, user: user, sink: sink, requestID: message.id)
            case .rejectCall(let action):
                try reject(action.call, user: user, device: sink.id)
                sink.send(ServerMessage(id: message.id, .ok(OkReply())))
            case .cancelCall(let action):
                guard let call = calls[action.call], call.info.caller == user else {
                    throw CodedError(.callNotFound, "no call \(action.call) placed by you")
                }
                cancel(action.call, by: user)
                sink.send(ServerMessage(id: message.id, .ok(OkReply())))
            case .hangUp(let action):
                guard calls[action.call]?.state(of: user) == .accepted else {
                    throw CodedError(.callNotFound, "you are not in call \(action.call)")
                }
                leave(action.call, user: user)
                sink.send(ServerMessage(id: message.id, .ok(OkReply())))
            case .fetchCallHistory(let request):
                do {
                    let records = try store.callHistory(user: user, limit: request.limit)
                    sink.send(ServerMessage(id: message.id, .callHistoryPage(CallHistoryPage(calls: records))))
                } catch {
                    logger.error("cannot read call history", metadata: ["error": "\(error)"])
                    throw CodedError(.storageFailure, "the call history cannot be read")
                }
            default:
                throw CodedError(.wrongConnection, "\(message.type.rawValue) belongs on a room's connection")
            }
        } catch {
            metrics.error(error.code)
            sink.send(error, id: message.id)
        }
        await endFinishedCallRooms()
    }

    private func invite(
        _ request: CallInviteRequest, from caller: PeerID, device: UInt64, requestID: RequestID, sink: ConnectionSink,
        now: Timestamp
    ) throws(CodedError) {
        var invitees: [PeerID] = []
        for user in request.users where !invitees.contains(user) { invitees.append(user) }
        guard !invitees.contains(caller) else { throw CodedError(.cannotTargetYourself, "you cannot ring yourself") }
        let forbidden = invitees.filter { !configuration.policy.mayRing($0, from: caller) }
        guard forbidden.isEmpty else {
            throw CodedError(
                .callForbidden,
                "this server's call policy does not let you ring \(forbidden.map(\.rawValue).joined(separator: ", "))")
        }
        var bucket = invitationBuckets[caller] ?? TokenBucket(limit: configuration.invitationRate, now: now)
        defer { invitationBuckets[caller] = bucket }
        guard bucket.take(now: now) else {
            metrics.callInvitationRateLimited()
            let rate = configuration.invitationRate
            throw CodedError(
                .callRateLimited,
                "at most \(rate.perSecond) invitations a second (bursts of \(rate.burst)); nobody was rung")
        }

        let id: CallID
        var call: Call
        if let existing = request.call {
            guard let found = calls[existing], found.state(of: caller) == .accepted else {
                throw CodedError(.callNotFound, "you are not in call \(existing)")
            }
            id = existing
            call = found
            // Those already ringing or in the call are left as they are.
            invitees.removeAll { call.state(of: $0) == .ringing || call.state(of: $0) == .accepted }
            let active = call.info.participants.filter { $0.state == .ringing || $0.state == .accepted }.count
            let newcomers = invitees.filter { call.state(of: $0) == nil }.count
            guard active + invitees.count <= CallLimits.maximumParticipants,
                call.info.participants.count + newcomers <= CallLimits.maximumParticipantEntries
            else {
                throw CodedError(.callFull, "a call holds at most \(CallLimits.maximumParticipants) people")
            }
        } else {
            guard !isBusy(caller) else {
                throw CodedError(.alreadyInCall, "you are in another call: hang up, or invite into it")
            }
            guard invitees.count + 1 <= CallLimits.maximumParticipants else {
                throw CodedError(.callFull, "a call holds at most \(CallLimits.maximumParticipants) people, you included")
            }
            id = CallID(uncheckedRawValue: RandomToken.make(bytes: 9))
            call = Call(
                info: CallInfo(
                    id: id, caller: caller, group: invitees.count > 1, createdAt: now,
                    participants: [
                        CallParticipant(user: caller, name: users[caller]?.name ?? caller.rawValue, state: .accepted)
                    ]),
                memberDevices: [caller: device])
            call.memberInstances[caller] = users[caller]?.instances[device]
        }
        let ringFor = request.ringTimeoutMs ?? configuration.ringTimeoutMs
        var notices: [(PeerID, CallParticipantState)] = []
        for invitee in invitees {
            let state: CallParticipantState =
                users[invitee] == nil ? .offline : isBusy(invitee) ? .busy : .ringing
            let entry = CallParticipant(
                user: invitee, name: users[invitee]?.name ?? invitee.rawValue, state: state, invitedBy: caller)
            if let index = call.info.participants.firstIndex(where: { $0.user == invitee }) {
                call.info.participants[index] = entry
            } else {
                call.info.participants.append(entry)
            }
            if state == .ringing {
                call.ringDeadlines[invitee] = .now + .milliseconds(ringFor)
            }
            notices.append((invitee, state))
        }
        if call.info.participants.count > 2 { call.info.group = true }
        calls[id] = call
        metrics.callInvitationsSent(invitees.count)

        // The rung learn of it from `call.invitation`, the others in the call
        // from `call.updated`, the inviter from the reply — which comes last,
        // after a `call.ended` if nobody could be rung (the protocol's rule:
        // a reply follows the events its request caused).
        for (invitee, state) in notices {
            if state == .ringing {
                sendToDevices(
                    of: invitee,
                    ServerMessage(.callInvitation(CallInvitation(call: call.info, from: caller, ringTimeoutMs: ringFor))))
            } else {
                record(call, invitee: invitee, outcome: state == .busy ? .busy : .offline, now: now)
            }
            broadcast(id, ServerMessage(.callUpdated(CallUpdated(call: call.info, user: invitee, state: state))),
                skipping: [caller, invitee])
        }
        logger.debug("invited", metadata: ["call": "\(id)", "by": "\(caller)", "users": "\(invitees)"])
        endIfUnanswered(id)
        sink.send(ServerMessage(id: requestID, .callState(call.info)))
    }

    private func accept(_ id: CallID, user: PeerID, sink: ConnectionSink, requestID: RequestID) async throws(CodedError) {
        guard var call = calls[id], let state = call.state(of: user) else {
            throw missingCall(id, for: user)
        }
        guard state == .ringing else {
            throw CodedError(.invitationNotPending, "call \(id) is not ringing for you (it is \(state.rawValue))")
        }
        guard !isBusy(user) else {
            throw CodedError(.alreadyInCall, "you are in another call: hang up first")
        }
        let now = Timestamp.now()
        call.setState(user, .accepted)
        call.ringDeadlines[user] = nil
        call.memberDevices[user] = sink.id
        call.memberInstances[user] = users[user]?.instances[sink.id]
        call.acceptedAt[user] = now
        let firstAccept = call.room == nil
        if firstAccept {
            let room = RoomName(uncheckedRawValue: CallRoomDirectory.prefix + id.rawValue)
            call.room = room
            call.info.answeredAt = now
            call.acceptedAt[call.info.caller] = now
            callOfRoom[room] = id
            let continuation = membershipContinuation
            // Registered before any token for it leaves, so every join finds it.
            registry.callRooms.register(
                room,
                CallRoomDirectory.Entry(template: .call, observer: { room, members in continuation.yield((room, members)) },
                    admitted: [call.info.caller]))
        }
        calls[id] = call
        metrics.callInvitationEnded(.accepted)
        guard let room = call.room else { return }
        // Its room admits them (again, if they had left and were invited back).
        registry.callRooms.admit(room, user)
        for (deviceID, device) in users[user]?.devices ?? [:] where deviceID != sink.id {
            device.send(ServerMessage(.callInvitationEnded(CallInvitationEnded(call: id, reason: .answeredElsewhere))))
        }
        broadcast(id, ServerMessage(.callUpdated(CallUpdated(call: call.info, user: user, state: .accepted))),
            skipping: [user])
        logger.debug("accepted", metadata: ["call": "\(id)", "user": "\(user)"])

        // Tokens last: signing suspends, and everything above is already done.
        let caller = call.info.caller
        let callerDevice = call.memberDevices[caller]
        if firstAccept, let callerToken = await roomToken(room, for: caller) {
            if let callerDevice, let device = users[caller]?.devices[callerDevice] {
                device.send(ServerMessage(.callRoom(CallRoom(call: id, room: room, token: callerToken))))
            }
        }
        guard let token = await roomToken(room, for: user) else {
            throw CodedError(.internalError, "cannot make a token for the call's room")
        }
        sink.send(ServerMessage(id: requestID, .callRoom(CallRoom(call: id, room: room, token: token))))
    }

    private func reject(_ id: CallID, user: PeerID, device: UInt64) throws(CodedError) {
        guard var call = calls[id], let state = call.state(of: user) else {
            throw missingCall(id, for: user)
        }
        guard state == .ringing else {
            throw CodedError(.invitationNotPending, "call \(id) is not ringing for you (it is \(state.rawValue))")
        }
        call.setState(user, .rejected)
        call.ringDeadlines[user] = nil
        calls[id] = call
        for (deviceID, sink) in users[user]?.devices ?? [:] where deviceID != device {
            sink.send(ServerMessage(.callInvitationEnded(CallInvitationEnded(call: id, reason: .rejectedElsewhere))))
        }
        broadcast(id, ServerMessage(.callUpdated(CallUpdated(call: call.info, user: user, state: .rejected))),
            skipping: [user])
        record(call, invitee: user, outcome: .rejected, now: .now())
        endIfUnanswered(id)
    }

    /// Withdraws the invitations still ringing; a call nobody answered ends.
    private func cancel(_ id: CallID, by caller: PeerID) {
        guard var call = calls[id] else { return }
        let now = Timestamp.now()
        let withdrawn = call.ringing
        for user in withdrawn {
            call.setState(user, .cancelled)
            call.ringDeadlines[user] = nil
        }
        if call.info.answeredAt == nil { call.cancelled = true }
        calls[id] = call
        for user in withdrawn {
            sendToDevices(of: user, ServerMessage(.callInvitationEnded(CallInvitationEnded(call: id, reason: .cancelled))))
            record(call, invitee: user, outcome: .cancelled, now: now)
            broadcast(id, ServerMessage(.callUpdated(CallUpdated(call: call.info, user: user, state: .cancelled))),
                skipping: [user])
        }
        if call.info.answeredAt == nil { end(id, reason: .cancelled) }
    }

    /// A member leaves (hangs up, leaves the room, or loses their device
    /// before joining it). Before anyone answered, the caller leaving cancels.
    private func leave(_ id: CallID, user: PeerID) {
        guard var call = calls[id], call.state(of: user) == .accepted else { return }
        if user == call.info.caller, call.info.answeredAt == nil {
            cancel(id, by: user)
            return
        }
        let now = Timestamp.now()
        call.setState(user, .left)
        call.leftAt[user] = now
        calls[id] = call
        // The room token they had is spent: rejoining is refused (6007 leftCall).
        if let room = call.room { registry.callRooms.revoke(room, user) }
        if call.members.count < 2 {
            // The leaver hears the end too (both sides get the duration).
            end(id, reason: .hangup, alsoTelling: user)
        } else {
            if user == call.info.caller {
                recordCaller(call, now: now)
            } else {
                record(call, member: user, now: now)
            }
            // The call goes on without them; for them it is over.
            if let device = call.memberDevices[user] {
                let spentMs = call.acceptedAt[user].map { Int(now.milliseconds(since: $0)) } ?? 0
                users[user]?.devices[device]?.send(
                    ServerMessage(.callEnded(CallEnded(call: id, reason: .hangup, durationMs: spentMs))))
            }
            broadcast(id, ServerMessage(.callUpdated(CallUpdated(call: call.info, user: user, state: .left))),
                skipping: [])
        }
    }

    /// Ends a call nobody has answered once nobody is left to answer it.
    private func endIfUnanswered(_ id: CallID) {
        guard let call = calls[id], call.info.answeredAt == nil, call.ringing.isEmpty else { return }
        end(id, reason: call.cancelled ? .cancelled : .unanswered)
    }

    /// `call.ended` to its members, invitations still ringing withdrawn,
    /// everyone's history written, the room ended (by `endFinishedCallRooms`).
    private func end(_ id: CallID, reason: CallEndReason, alsoTelling leaver: PeerID? = nil) {
        guard let call = calls.removeValue(forKey: id) else { return }
        rememberEnded(call)
        let now = Timestamp.now()
        let durationMs = call.info.answeredAt.map { Int(now.milliseconds(since: $0)) } ?? 0
        let ended = ConnectionSink.encode(ServerMessage(.callEnded(CallEnded(call: id, reason: reason, durationMs: durationMs))))
        for user in call.ringing {
            let why: InvitationEndReason = reason == .cancelled ? .cancelled : .callEnded
            sendToDevices(of: user, ServerMessage(.callInvitationEnded(CallInvitationEnded(call: id, reason: why))))
            record(call, invitee: user, outcome: reason == .cancelled ? .cancelled : .noResponse, now: now)
        }
        var told = Set<PeerID>()
        for member in call.members {
            if let device = call.memberDevices[member] { users[member]?.devices[device]?.send(ended) }
            told.insert(member)
            if member != call.info.caller { record(call, member: member, now: now) }
        }
        if let leaver, !told.contains(leaver) {
            if let device = call.memberDevices[leaver] { users[leaver]?.devices[device]?.send(ended) }
            if leaver != call.info.caller { record(call, member: leaver, now: now) }
        }
        // A caller who left a group call that went on was recorded then.
        if call.state(of: call.info.caller) != .left || leaver == call.info.caller {
            recordCaller(call, now: now)
        }
        if let room = call.room {
            callOfRoom[room] = nil
            roomsToEnd.append(room)
        }
        logger.debug("ended", metadata: ["call": "\(id)", "reason": "\(reason.rawValue)", "durationMs": "\(durationMs)"])
    }

    /// The refusal for an answer to a call that is not in progress for `user`.
    private func missingCall(_ id: CallID, for user: PeerID) -> CodedError {
        if recentlyEnded[id]?.invited.contains(user) == true {
            return CodedError(.invitationNotPending, "call \(id) no longer rings for you: it was cancelled or has ended")
        }
        return CodedError(.callNotFound, "no call \(id) for you")
    }

    private func rememberEnded(_ call: Call) {
        let now = ContinuousClock.now
        recentlyEnded = recentlyEnded.filter { now - $0.value.endedAt < .seconds(600) }
        if recentlyEnded.count >= 4_096, let oldest = recentlyEnded.min(by: { $0.value.endedAt < $1.value.endedAt }) {
            recentlyEnded[oldest.key] = nil
        }
        let invited = Set(call.info.participants.map(\.user)).subtracting([call.info.caller])
        recentlyEnded[call.info.id] = EndedCall(invited: invited, endedAt: now)
    }

    /// Rooms of calls that ended, to end once the manager may suspend.
    private var roomsToEnd: [RoomName] = []

    private func endFinishedCallRooms() async {
        announceBusyChanges()
        metrics.presence(usersOnline: users.count, callsInProgress: calls.count)
        while !roomsToEnd.isEmpty {
            let room = roomsToEnd.removeFirst()
            await registry.endCallRoom(room)
        }
    }

    /// `presence.updated` to everyone else for each online user whose busy
    /// flag changed since the last announcement.
    private func announceBusyChanges() {
        let busy = Set(users.keys.filter(isBusy))
        let changed = busy.symmetricDifference(announcedBusy)
        announcedBusy = busy
        for user in changed.sorted() where users[user] != nil {
            let text = ConnectionSink.encode(ServerMessage(.presenceUpdated(onlineUser(user))))
            for (other, entry) in users where other != user {
                for device in entry.devices.values { device.send(text) }
            }
            // The user's other devices: "in a call on another device", and
            // when that is over. The device in the call knows from the call.
            if busy.contains(user) {
                let inCall = Set(calls.values.compactMap { $0.state(of: user) == .accepted ? $0.memberDevices[user] : nil })
                for (id, device) in users[user]?.devices ?? [:] where !inCall.contains(id) {
                    device.send(text)
                    toldElsewhere[user, default: []].insert(id)
                }
            } else if let told = toldElsewhere.removeValue(forKey: user) {
                for id in told.sorted() { users[user]?.devices[id]?.send(text) }
            }
        }
        // Offline users are not announced; what their devices were told goes with them.
        for user in toldElsewhere.keys where users[user] == nil { toldElsewhere[user] = nil }
    }

    // MARK: - Timers and rooms

    /// No call in progress or ringing, and no call room left to end.
    var isIdle: Bool { calls.isEmpty && roomsToEnd.isEmpty }

    /// How long an invitee rung may be without a connection before they
    /// count as offline: a dropped client reconnects well within it.
    static let offlineGrace: Duration = .seconds(5)

    /// Ends the invitations whose ring timeout passed (`noResponse`), and
    /// those of invitees gone offline for longer than `offlineGrace`.
    func sweep() async {
        let now = ContinuousClock.now
        for (id, call) in calls {
            for (user, deadline) in call.ringDeadlines where deadline <= now {
                ringOut(id, user: user)
            }
            for (user, since) in call.offlineSince {
                if users[user] != nil {
                    calls[id]?.offlineSince[user] = nil
                } else if now - since >= Self.offlineGrace {
                    ringOut(id, user: user, as: .offline)
                }
            }
        }
        pruneInvitationBuckets(now: .now())
        await endFinishedCallRooms()
    }

    /// Forgets the rate buckets of users who are offline and whose bucket has
    /// refilled: a fresh, full bucket is the same thing. (A user online keeps
    /// theirs; one offline with a spent bucket keeps it until it refills, so
    /// reconnecting does not reset the limit.)
    private func pruneInvitationBuckets(now: Timestamp) {
        for (user, bucket) in invitationBuckets
        where users[user] == nil && bucket.available(now: now) >= bucket.limit.burst {
            invitationBuckets[user] = nil
        }
    }

    /// How many entries the manager tracks, by kind: each returns to zero
    /// once everyone is offline, every call has ended and rate buckets refilled.
    func bookkeeping() -> CallBookkeeping {
        CallBookkeeping(
            onlineUsers: users.count, connections: connectionCount,
            deviceInstances: users.values.reduce(0) { $0 + $1.instances.count }, calls: calls.count,
            callRooms: callOfRoom.count,
            openCallRooms: registry.callRooms.count, rateBuckets: invitationBuckets.count,
            announcedBusy: announcedBusy.count, toldElsewhere: toldElsewhere.count, roomsToEnd: roomsToEnd.count)
    }

    /// An invitation stops ringing unanswered: rung out (`noResponse`), or
    /// the invitee went offline (`offline`; none of their devices is left to tell).
    private func ringOut(_ id: CallID, user: PeerID, as outcome: CallParticipantState = .noResponse) {
        guard var call = calls[id], call.state(of: user) == .ringing else { return }
        call.setState(user, outcome)
        call.ringDeadlines[user] = nil
        call.offlineSince[user] = nil
        calls[id] = call
        if outcome == .noResponse {
            sendToDevices(of: user, ServerMessage(.callInvitationEnded(CallInvitationEnded(call: id, reason: .noResponse))))
        }
        broadcast(id, ServerMessage(.callUpdated(CallUpdated(call: call.info, user: user, state: outcome))),
            skipping: [user])
        record(call, invitee: user, outcome: outcome == .offline ? .offline : .noResponse, now: .now())
        endIfUnanswered(id)
    }

    private func roomMembershipChanged(_ room: RoomName, members: Set<PeerID>) {
        guard let id = callOfRoom[room], var call = calls[id] else { return }
        let gone = call.inRoom.subtracting(members)
        call.inRoom.formUnion(members.filter { call.state(of: $0) == .accepted })
        call.inRoom.subtract(gone)
        calls[id] = call
        for user in gone.sorted() {
            leave(id, user: user)
        }
    }

    /// Ends every call and closes every presence connection (graceful shutdown).
    func shutDown(_ notice: ServerGoingAway) {
        shuttingDown = true
        for id in calls.keys.sorted() { end(id, reason: .shutdown) }
        let text = ConnectionSink.encode(ServerMessage(.serverGoingAway(notice)))
        for entry in users.values {
            for device in entry.devices.values {
                device.send(text)
                device.close(.goingAway, reason: "\(ErrorCode.shuttingDown.rawValue) server shutting down")
            }
        }
    }

    var connectionCount: Int { users.values.reduce(0) { $0 + $1.devices.count } }

    // MARK: - Helpers

    private func sendToDevices(of user: PeerID, _ message: ServerMessage) {
        let text = ConnectionSink.encode(message)
        for device in users[user]?.devices.values ?? [:].values { device.send(text) }
    }

    /// To everyone in the call (on the device they are in it on) and every
    /// device it rings, except `skipping`.
    private func broadcast(_ id: CallID, _ message: ServerMessage, skipping: Set<PeerID>) {
        guard let call = calls[id] else { return }
        let text = ConnectionSink.encode(message)
        for participant in call.info.participants where !skipping.contains(participant.user) {
            switch participant.state {
            case .accepted:
                if let device = call.memberDevices[participant.user] {
                    users[participant.user]?.devices[device]?.send(text)
                }
            case .ringing:
                for device in users[participant.user]?.devices.values ?? [:].values { device.send(text) }
            default:
                break
            }
        }
    }

    private func roomToken(_ room: RoomName, for user: PeerID) async -> String? {
        let now = Int64(Timestamp.now().millisecondsSince1970 / 1_000)
        let claims = TokenClaims(
            room: room, peer: user, name: users[user]?.name, role: RoomTemplate.callRole, issuedAt: now,
            expiresAt: now + 12 * 3_600)
        do {
            return try await authority.sign(claims)
        } catch {
            logger.error("cannot sign a call room token", metadata: ["error": "\(error)"])
            return nil
        }
    }

    // MARK: - History

    /// An invitation's outcome other than accepted: history and metrics.
    private func record(_ call: Call, invitee: PeerID, outcome: CallOutcome, now: Timestamp) {
        switch outcome {
        case .rejected: metrics.callInvitationEnded(.rejected)
        case .noResponse: metrics.callInvitationEnded(.noResponse)
        case .busy: metrics.callInvitationEnded(.busy)
        case .offline: metrics.callInvitationEnded(.offline)
        case .cancelled: metrics.callInvitationEnded(.cancelled)
        case .answered, .unanswered: break
        }
        let peers = [call.info.caller] + call.info.participants.map(\.user).filter { $0 != call.info.caller && $0 != invitee }
        write(
            CallRecord(
                call: call.info.id, direction: .incoming, peers: peers, outcome: outcome, startedAt: call.info.createdAt,
                durationMs: 0), user: invitee)
    }

    private func record(_ call: Call, member: PeerID, now: Timestamp) {
        let peers = [call.info.caller] + call.info.participants.map(\.user).filter { $0 != call.info.caller && $0 != member }
        let until = call.leftAt[member] ?? now
        let durationMs = call.acceptedAt[member].map { Int(until.milliseconds(since: $0)) } ?? 0
        write(
            CallRecord(
                call: call.info.id, direction: .incoming, peers: peers, outcome: .answered,
                startedAt: call.info.createdAt, durationMs: durationMs), user: member)
    }

    private func recordCaller(_ call: Call, now: Timestamp) {
        let caller = call.info.caller
        let invitees = call.info.participants.filter { $0.user != caller }
        let outcome: CallOutcome
        if call.info.answeredAt != nil {
            outcome = .answered
        } else if call.cancelled {
            outcome = .cancelled
        } else {
            let states = Set(invitees.map(\.state))
            outcome =
                switch states.count == 1 ? states.first : nil {
                case .rejected: .rejected
                case .noResponse: .noResponse
                case .busy: .busy
                case .offline: .offline
                default: .unanswered
                }
        }
        let until = call.leftAt[caller] ?? now
        let durationMs = call.acceptedAt[caller].map { Int(until.milliseconds(since: $0)) } ?? 0
        write(
            CallRecord(
                call: call.info.id, direction: .outgoing, peers: invitees.map(\.user), outcome: outcome,
                startedAt: call.info.createdAt, durationMs: durationMs), user: caller)
    }

    /// History is a record, not a promise: a failure is logged and the call goes on.
    private func write(_ record: CallRecord, user: PeerID) {
        do {
            try store.recordCall(record, user: user)
        } catch {
            logger.error("cannot record a call", metadata: ["error": "\(error)"])
        }
    }
}

extension RoomTemplate {
    /// The one role of a call's room.
    static let callRole: RoleName = "member"

    /// A call's room: everyone speaks and hears everyone; nobody runs it.
    static let call = RoomTemplate(
        roles: [
            Role(
                name: callRole, priority: 50, publishAudio: true, subscribesTo: [callRole], chat: .all,
                permissions: RolePermissions(
                    muteOthers: false, askToUnmute: false, changeRoles: false, removePeers: false, endRoom: false,
                    raiseHand: false))
        ],
        maxPeers: CallLimits.maximumParticipants,
        // The call manager ends the room with the call; this only catches a
        // room whose members never arrived.
        emptyRoomTimeoutMs: 60_000)
}

/// The entries the call manager tracks, counted (`ConfabServer.callBookkeeping()`).
public struct CallBookkeeping: Hashable, Sendable {
    public var onlineUsers: Int
    /// Presence connections.
    public var connections: Int
    /// The `connect.device` names of those connections.
    public var deviceInstances: Int
    public var calls: Int
    /// Call rooms the manager maps to calls, and those the room directory still admits to.
    public var callRooms: Int
    public var openCallRooms: Int
    /// Per-user invitation rate buckets.
    public var rateBuckets: Int
    /// Users last announced busy.
    public var announcedBusy: Int
    /// Users with devices told they are in a call on another device.
    public var toldElsewhere: Int
    public var roomsToEnd: Int

    /// Everything together: 0 on an idle server.
    public var total: Int {
        onlineUsers + connections + deviceInstances + calls + callRooms + openCallRooms + rateBuckets + announcedBusy + toldElsewhere
            + roomsToEnd
    }
}
