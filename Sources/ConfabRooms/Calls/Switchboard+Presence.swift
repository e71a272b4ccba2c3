import ConfabProtocol

// Presence: devices coming and going, who is busy, and the server shutting down.

extension Switchboard {
    /// Admits a presence connection whose user token checked out: `connected`
    /// to it, `presence.online` to everyone else when it is the user's first
    /// device. `name` is the token's name, else the one the client offered.
    public mutating func connect(
        _ user: PeerID, name: String?, device: DeviceID, instance: String?, request: RequestID, at now: Moment
    ) throws(CodedError) -> Outcome {
        guard !shuttingDown else { throw CodedError(.shuttingDown, "the server is shutting down") }
        let name = (try? TextSanitizer.sanitize(name ?? user.rawValue, policy: .displayName)) ?? user.rawValue
        let firstDevice = users[user] == nil
        closeOldestDevices(of: user, toMakeRoomFor: device, at: now)
        users[user, default: Presence(name: name)].devices[device] = Device(instance: instance)
        users[user]?.name = name
        takeCallsBack(user, device: device, instance: instance)
        let you = onlineUser(user)
        let others = users.keys.filter { $0 != user }.sorted().map(onlineUser)
        // Invitations ring on every device; a call is this device's only if
        // the user is in it here. One they are in on another device is told
        // apart (`elsewhere`): this device cannot join its room.
        let theirs = callIDs.compactMap { calls[$0] }.filter { $0.state(of: user) != nil }
        let current = theirs.filter { call in
            call.state(of: user) == .ringing
                || (call.state(of: user) == .accepted && call.memberDevices[user] == device)
        }
        let elsewhere = theirs.filter { $0.state(of: user) == .accepted && $0.memberDevices[user] != device }
        if !elsewhere.isEmpty { toldElsewhere[user, default: []].insert(device) }
        reply(
            .connected(
                Connected(
                    you: you, online: others, calls: current.map(\.info),
                    elsewhere: elsewhere.isEmpty ? nil : elsewhere.map(\.info), ringTimeoutMs: settings.ringTimeoutMs,
                    keepalive: keepalive)), to: request, on: device)
        if firstDevice {
            send(.presenceOnline(you), to: devicesOnline(except: user))
        }
        // A member back on a new connection who has not joined the call's
        // room yet (its `call.room` went to the old one) gets it again.
        for call in current where call.state(of: user) == .accepted && call.hasRoom && !call.inRoom.contains(user) {
            outbox.followUps.append(
                .roomToken(call: call.info.id, user: user, name: name, device: device, reply: nil, issuedAt: now.wall))
        }
        return finish(now)
    }

    /// A member whose device dropped and came back gets the call's messages
    /// on the new connection: the same client instance (`connect.device`),
    /// or — for clients that name none — any connection once the one in the
    /// call is gone. Another device of theirs does not take the call over.
    /// An invitee back within the offline grace is rung on.
    private mutating func takeCallsBack(_ user: PeerID, device: DeviceID, instance: String?) {
        for id in callIDs {
            guard var call = calls[id] else { continue }
            call.offlineSince[user] = nil
            if call.state(of: user) == .accepted {
                let previous = call.memberInstances[user]
                let sameInstance = instance != nil && previous == instance
                let memberConnected = !memberDevice(call, user).isEmpty
                if sameInstance || (previous == nil && !memberConnected) {
                    call.memberDevices[user] = device
                    call.memberInstances[user] = instance
                }
            }
            calls[id] = call
        }
    }

    /// A presence connection closed. The user's last device going away takes
    /// them offline; a caller's device going away before anyone answered
    /// cancels the call; a member's device going away while they are not in
    /// the call's room hangs them up.
    public mutating func disconnect(_ user: PeerID, device: DeviceID, at now: Moment) -> Outcome {
        drop(device, of: user, at: now)
        return finish(now)
    }

    /// A user's devices are capped (`CallLimits.maximumDevicesPerUser`): each
    /// costs every presence change a message and every `connect` a listing,
    /// and one user token could otherwise open them without end. A device
    /// past the cap closes the oldest, as a device that dropped (its close
    /// comes later and finds it gone), rather than locking out a user whose
    /// old connections the server has not yet seen die.
    private mutating func closeOldestDevices(of user: PeerID, toMakeRoomFor device: DeviceID, at now: Moment) {
        while let devices = users[user]?.devices, devices[device] == nil,
            devices.count >= CallLimits.maximumDevicesPerUser, let oldest = devices.keys.min()
        {
            let reason = "more than \(CallLimits.maximumDevicesPerUser) devices connected as \(user): the oldest was closed"
            send(.error(CodedError(.sessionReplaced, reason)), to: [oldest])
            outbox.effects.append(.close([oldest], .normalClosure, reason: "\(ErrorCode.sessionReplaced.rawValue) \(reason)"))
            drop(oldest, of: user, at: now)
        }
    }

    /// Takes a device away: its calls as `disconnect` says, the user offline
    /// with their last device.
    private mutating func drop(_ device: DeviceID, of user: PeerID, at now: Moment) {
        guard users[user]?.devices.removeValue(forKey: device) != nil else { return }
        toldElsewhere[user]?.remove(device)
        if toldElsewhere[user]?.isEmpty == true { toldElsewhere[user] = nil }
        for id in callIDs {
            guard let call = calls[id], call.memberDevices[user] == device else { continue }
            if call.info.caller == user, call.info.answeredAt == nil {
                cancel(id, now: now)
            } else if !call.inRoom.contains(user) {
                leave(id, user: user, now: now)
            } else if let newest = users[user]?.devices.keys.max(),
                call.memberInstances[user] == nil
                    || users[user]?.devices[newest]?.instance == call.memberInstances[user]
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
            for id in callIDs where calls[id]?.state(of: user) == .ringing {
                calls[id]?.offlineSince[user] = now.instant
            }
            send(.presenceOffline(PresenceOffline(user: user)), to: devicesOnline())
        }
    }

    /// Ends every call and closes every presence connection (graceful shutdown).
    public mutating func shutDown(_ notice: ServerGoingAway, at now: Moment) -> Outcome {
        shuttingDown = true
        for id in callIDs { end(id, reason: .shutdown, now: now) }
        let everyone = devicesOnline()
        send(.serverGoingAway(notice), to: everyone)
        if !everyone.isEmpty {
            outbox.effects.append(
                .close(everyone, .goingAway, reason: "\(ErrorCode.shuttingDown.rawValue) server shutting down"))
        }
        return finish(now)
    }

    /// `presence.updated` to everyone else for each online user whose busy
    /// flag changed since the last announcement.
    mutating func announceBusyChanges() {
        // Every connection is closing: nobody is left to tell.
        guard !shuttingDown else { return }
        let busy = Set(users.keys.filter(isBusy))
        let changed = busy.symmetricDifference(announcedBusy)
        announcedBusy = busy
        for user in changed.sorted() where users[user] != nil {
            let update = ServerBody.presenceUpdated(onlineUser(user))
            send(update, to: devicesOnline(except: user))
            // The user's other devices: "in a call on another device", and
            // when that is over. The device in the call knows from the call.
            if busy.contains(user) {
                let inCall = Set(
                    calls.values.compactMap { $0.state(of: user) == .accepted ? $0.memberDevices[user] : nil })
                let others = devices(of: user).filter { !inCall.contains($0) }
                send(update, to: others)
                if !others.isEmpty { toldElsewhere[user, default: []].formUnion(others) }
            } else if let told = toldElsewhere.removeValue(forKey: user) {
                send(update, to: told.sorted().filter { users[user]?.devices[$0] != nil })
            }
        }
        // Offline users are not announced; what their devices were told goes with them.
        for user in toldElsewhere.keys where users[user] == nil { toldElsewhere[user] = nil }
    }
}
