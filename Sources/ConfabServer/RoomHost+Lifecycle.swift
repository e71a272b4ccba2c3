// How a room host ends: the sweeper retires an empty room after its timeout
// (and forgets lapsed resumes), the server ends a call's room, and a
// graceful shutdown tells every peer it is going away.

import ConfabProtocol
import ConfabRooms
import ConfabWire

extension RoomHost {
    /// Forgets peers whose resume grace passed and prompts that expired, and
    /// ends the room once it has been empty for its timeout. Returns true when
    /// the host retired: the registry forgets it.
    func sweep() -> Bool {
        let now = Timestamp.now()
        let expiry = room.expire(now: now)
        for peer in expiry.forgottenPeers {
            forgetResumeToken(of: peer)
            endSession(of: peer, reason: "timeout", at: now)
        }
        for prompt in expiry.lapsedPrompts {
            settings.webhooks?.publish(.promptExpired(name, prompt))
        }
        reportMembership()
        guard room.isIdle(now: now) else { return false }
        if room.phase == .open {
            _ = room.end(reason: "empty", lock: false, now: now)
            keepSharedState()
            if sessionRecorded {
                recordEnd(at: now, reason: "empty")
                settings.webhooks?.publish(.roomEnded(name, reason: "empty", by: nil, locked: false))
            }
        }
        retiredFlag.store(true, ordering: .releasing)
        settings.media.removeRoom(mediaRoomID)
        logger.debug("retired")
        return true
    }

    /// Ends the room on the server's own account (a call that is over):
    /// everyone gets `room.ended` and their connections close.
    func end(reason: String) {
        let now = Timestamp.now()
        let events = room.end(reason: reason, lock: false, now: now)
        guard !events.isEmpty else { return }
        keepSharedState()
        deliver(events)
        if sessionRecorded {
            recordEnd(at: now, reason: reason)
            sessionRecorded = false
        }
        closeDeparted(now: now, reason: "roomEnded")
        syncMedia()
        reportMembership()
    }

    /// Tells everyone the server is going away and closes with 1001.
    func shutDown(_ notice: ServerGoingAway) {
        shuttingDown = true
        let now = Timestamp.now()
        let text = ConnectionSink.encode(ServerMessage(.serverGoingAway(notice)))
        for (peer, sink) in connections {
            sink.send(text)
            sink.close(.goingAway, reason: "\(ErrorCode.shuttingDown.rawValue) server shutting down")
            endSession(of: peer, reason: "shutdown", at: now)
        }
        settings.media.removeRoom(mediaRoomID)
    }

    /// The room ended on the server's own account (empty, or a call over).
    func recordEnd(at time: Timestamp, reason: String) {
        let name = name
        recorder.record("record the end of the room") { store in
            try await store.roomEnded(name, at: time, by: nil, reason: reason, locked: false)
        }
    }
}
