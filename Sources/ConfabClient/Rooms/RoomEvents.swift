import ConfabProtocol

// The one mapping from the server's room events to SessionEvents, with the
// server's text sanitised on the way. Pure: what an event also means for the
// connection (an expected end, a new resume token) stays with the session.

package enum RoomEvents {
    /// The session event for a server event; nil for what a room session
    /// does not show (`reconnect.info`, replies without an id, the presence
    /// connection's messages).
    package static func sessionEvent(for body: ServerBody) -> SessionEvent? {
        switch body {
        case .peerJoined(let event):
            .peerJoined(IncomingText.peer(event.peer), resumed: event.resumed)
        case .peerLeft(let event):
            .peerLeft(event.peer, reason: event.reason, by: event.by)
        case .peerUpdated(let event):
            .peerUpdated(IncomingText.peer(event.peer), changed: event.changed, by: event.by)
        case .roomCounts(let counts):
            .countsUpdated(counts)
        case .trackAdded(let event):
            .trackAdded(peer: event.peer, track: event.track)
        case .trackRemoved(let event):
            .trackRemoved(peer: event.peer, track: event.track)
        case .trackMuted(let event):
            .trackMuted(peer: event.peer, track: event.track, by: event.by)
        case .trackUnmuted(let event):
            .trackUnmuted(peer: event.peer, track: event.track, by: event.by)
        case .trackDegraded(let event):
            .trackDegraded(peer: event.peer, track: event.track, reason: event.reason)
        case .trackRestored(let event):
            .trackRestored(peer: event.peer, track: event.track)
        case .stateChanged(let change):
            IncomingText.stateChange(change).map(SessionEvent.stateChanged)
        case .speakers(let levels):
            .speakers(levels)
        case .mediaFeedback(let feedback):
            .mediaFeedback(feedback)
        case .chatMessage(let message):
            .chatMessage(IncomingText.message(message))
        case .roleChangeRequested(let prompt):
            .roleChangeRequested(prompt)
        case .unmuteRequested(let prompt):
            .unmuteRequested(prompt)
        case .promptAnswered(let answer):
            .promptAnswered(answer)
        case .removed(let notice):
            .removed(Removed(by: notice.by, reason: IncomingText.reason(notice.reason)))
        case .roomEnded(let notice):
            .roomEnded(RoomEnded(by: notice.by, reason: IncomingText.reason(notice.reason), locked: notice.locked))
        case .serverGoingAway(let notice):
            .serverGoingAway(
                ServerGoingAway(reason: IncomingText.reason(notice.reason), retryAfterMs: notice.retryAfterMs))
        case .error(let error):
            // An error without a request id concerns the connection.
            .failure(.server(IncomingText.errorMessage(error)))
        case .keys(let delivery):
            // Opened by the MediaController (it holds the engine); the
            // session only passes the sealed blob on.
            .mediaKeyReceived(delivery)
        case .hearers(let update):
            .hearersChanged(update)
        case .reconnectInfo:
            nil
        case .clusterNodes(let update):
            .clusterNodesChanged(update.nodes)
        case .joined, .ok, .pong, .chatAck, .chatPage, .rosterPage:
            // Replies without an id: nothing waits for them.
            nil
        case .connected, .callState, .callHistoryPage, .presenceOnline, .presenceOffline, .presenceUpdated,
            .callInvitation, .callUpdated, .callInvitationEnded, .callRoom, .callEnded:
            // The presence connection's (CallClient); never sent to a room's.
            nil
        }
    }
}
