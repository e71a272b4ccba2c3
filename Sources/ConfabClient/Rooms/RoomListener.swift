import ConfabProtocol

// The listener in the style of LiveKit's RoomDelegate and 100ms's
// HMSUpdateListener: one method per kind of event, each with a no-op
// default, so an observer implements only what it needs.
//
// Methods are called on the session's actor, after the store already shows
// the change, and in the order the events happened. They must return quickly;
// hop to your own actor or task for real work.

/// Receives a session's events. Every method has a default that does nothing.
public protocol RoomListener: AnyObject, Sendable {
    // Connection.
    func room(_ session: ConfabSession, didUpdateConnectionState state: ConnectionState, from oldState: ConnectionState)
    func room(_ session: ConfabSession, didJoin joined: Joined, joinTimeMs: Int)
    func roomIsReconnecting(_ session: ConfabSession, attempt: Int, delayMs: Int)
    func roomDidReconnect(_ session: ConfabSession, resumed: Bool)
    func room(_ session: ConfabSession, didDisconnect reason: DisconnectReason)
    func room(_ session: ConfabSession, didFailWithError error: SessionError)

    // Peers.
    func room(_ session: ConfabSession, peerDidJoin peer: PeerInfo)
    func room(_ session: ConfabSession, peerDidLeave peer: PeerID, reason: LeaveReason, by: PeerID?)
    func room(_ session: ConfabSession, peer: PeerInfo, didUpdate changed: [PeerField], by: PeerID?)
    /// How many hold each role changed (rooms with an audience; at most a few a second).
    func room(_ session: ConfabSession, didUpdateCounts counts: RoomCounts)
    /// A page of the roster we asked for with `listRoster`.
    func room(_ session: ConfabSession, didReceiveRosterPage page: RosterPage, for request: RosterRequest)

    // Tracks.
    func room(_ session: ConfabSession, peer: PeerID, didPublish track: TrackInfo)
    func room(_ session: ConfabSession, peer: PeerID, didUnpublish track: TrackID)
    func room(_ session: ConfabSession, peer: PeerID, track: TrackID, didUpdateMuted muted: Bool, by: PeerID)
    func room(_ session: ConfabSession, peer: PeerID, track: TrackID, didDegrade reason: DegradationReason?)
    func room(_ session: ConfabSession, didUpdateSpeakers speakers: [SpeakerLevel])

    // Chat.
    func room(_ session: ConfabSession, didReceive message: ChatMessage)
    func room(_ session: ConfabSession, didLoadHistory page: ChatPage, direction: ChatHistoryDirection)

    // Prompts.
    func room(_ session: ConfabSession, didReceiveRoleChangeRequest request: RoleChangePrompt)
    func room(_ session: ConfabSession, didReceiveTrackChangeRequest request: UnmutePrompt)
    func room(_ session: ConfabSession, promptWasAnswered answer: PromptAnswered)

    // The room's shared state.
    /// A key was set (`change.value`) or deleted (nil); `session.store.state.sharedState` already shows it.
    func room(_ session: ConfabSession, didChangeState change: StateChanged)

    // The session.
    func room(_ session: ConfabSession, didRemoveYou notice: Removed)
    func room(_ session: ConfabSession, didEnd notice: RoomEnded)
    func room(_ session: ConfabSession, serverIsGoingAway notice: ServerGoingAway)

    /// Every event, after the specific method above.
    func room(_ session: ConfabSession, didReceive event: SessionEvent)
}

extension RoomListener {
    public func room(
        _ session: ConfabSession, didUpdateConnectionState state: ConnectionState, from oldState: ConnectionState
    ) {}
    public func room(_ session: ConfabSession, didJoin joined: Joined, joinTimeMs: Int) {}
    public func roomIsReconnecting(_ session: ConfabSession, attempt: Int, delayMs: Int) {}
    public func roomDidReconnect(_ session: ConfabSession, resumed: Bool) {}
    public func room(_ session: ConfabSession, didDisconnect reason: DisconnectReason) {}
    public func room(_ session: ConfabSession, didFailWithError error: SessionError) {}
    public func room(_ session: ConfabSession, peerDidJoin peer: PeerInfo) {}
    public func room(_ session: ConfabSession, peerDidLeave peer: PeerID, reason: LeaveReason, by: PeerID?) {}
    public func room(_ session: ConfabSession, peer: PeerInfo, didUpdate changed: [PeerField], by: PeerID?) {}
    public func room(_ session: ConfabSession, didUpdateCounts counts: RoomCounts) {}
    public func room(_ session: ConfabSession, didReceiveRosterPage page: RosterPage, for request: RosterRequest) {}
    public func room(_ session: ConfabSession, peer: PeerID, didPublish track: TrackInfo) {}
    public func room(_ session: ConfabSession, peer: PeerID, didUnpublish track: TrackID) {}
    public func room(_ session: ConfabSession, peer: PeerID, track: TrackID, didUpdateMuted muted: Bool, by: PeerID) {}
    public func room(_ session: ConfabSession, peer: PeerID, track: TrackID, didDegrade reason: DegradationReason?) {}
    public func room(_ session: ConfabSession, didUpdateSpeakers speakers: [SpeakerLevel]) {}
    public func room(_ session: ConfabSession, didReceive message: ChatMessage) {}
    public func room(_ session: ConfabSession, didLoadHistory page: ChatPage, direction: ChatHistoryDirection) {}
    public func room(_ session: ConfabSession, didReceiveRoleChangeRequest request: RoleChangePrompt) {}
    public func room(_ session: ConfabSession, didReceiveTrackChangeRequest request: UnmutePrompt) {}
    public func room(_ session: ConfabSession, promptWasAnswered answer: PromptAnswered) {}
    public func room(_ session: ConfabSession, didChangeState change: StateChanged) {}
    public func room(_ session: ConfabSession, didRemoveYou notice: Removed) {}
    public func room(_ session: ConfabSession, didEnd notice: RoomEnded) {}
    public func room(_ session: ConfabSession, serverIsGoingAway notice: ServerGoingAway) {}
    public func room(_ session: ConfabSession, didReceive event: SessionEvent) {}
}

extension SessionEvent {
    /// Calls the listener method for this event, then the catch-all.
    func deliver(to listener: any RoomListener, from session: ConfabSession) {
        switch self {
        case .connectionStateChanged(let new, let old):
            listener.room(session, didUpdateConnectionState: new, from: old)
        case .joined(let joined, let roundTripMs):
            listener.room(session, didJoin: joined, joinTimeMs: joined.joinTimeMs + roundTripMs)
        case .reconnecting(let attempt, let delayMs):
            listener.roomIsReconnecting(session, attempt: attempt, delayMs: delayMs)
        case .reconnected(let resumed):
            listener.roomDidReconnect(session, resumed: resumed)
        case .disconnected(let reason):
            listener.room(session, didDisconnect: reason)
        case .failure(let error):
            listener.room(session, didFailWithError: error)
        case .peerJoined(let peer, _):
            listener.room(session, peerDidJoin: peer)
        case .peerLeft(let peer, let reason, let by):
            listener.room(session, peerDidLeave: peer, reason: reason, by: by)
        case .peerUpdated(let peer, let changed, let by):
            listener.room(session, peer: peer, didUpdate: changed, by: by)
        case .countsUpdated(let counts):
            listener.room(session, didUpdateCounts: counts)
        case .rosterPage(let page, let request):
            listener.room(session, didReceiveRosterPage: page, for: request)
        case .trackAdded(let peer, let track):
            listener.room(session, peer: peer, didPublish: track)
        case .trackRemoved(let peer, let track):
            listener.room(session, peer: peer, didUnpublish: track)
        case .trackMuted(let peer, let track, let by):
            listener.room(session, peer: peer, track: track, didUpdateMuted: true, by: by)
        case .trackUnmuted(let peer, let track, let by):
            listener.room(session, peer: peer, track: track, didUpdateMuted: false, by: by)
        case .trackDegraded(let peer, let track, let reason):
            listener.room(session, peer: peer, track: track, didDegrade: reason)
        case .trackRestored(let peer, let track):
            listener.room(session, peer: peer, track: track, didDegrade: nil)
        case .speakers(let levels):
            listener.room(session, didUpdateSpeakers: levels)
        case .chatMessage(let message):
            listener.room(session, didReceive: message)
        case .chatHistory(let page, let direction):
            listener.room(session, didLoadHistory: page, direction: direction)
        case .roleChangeRequested(let prompt):
            listener.room(session, didReceiveRoleChangeRequest: prompt)
        case .unmuteRequested(let prompt):
            listener.room(session, didReceiveTrackChangeRequest: prompt)
        case .promptAnswered(let answer):
            listener.room(session, promptWasAnswered: answer)
        case .stateChanged(let change):
            listener.room(session, didChangeState: change)
        case .removed(let notice):
            listener.room(session, didRemoveYou: notice)
        case .roomEnded(let notice):
            listener.room(session, didEnd: notice)
        case .serverGoingAway(let notice):
            listener.room(session, serverIsGoingAway: notice)
        case .promptSent, .promptClosed, .peerVolumeChanged, .conversationRead, .mediaKeyReceived, .hearersChanged,
            .mediaKeyAccepted,
            .mediaKeyRefused, .mediaLevels,
            .mediaStats, .mediaBound, .mediaFeedback, .talkingWhileMuted, .roundTrip, .audioDevice,
            .soundCard, .clusterNodesChanged:
            break
        }
        listener.room(session, didReceive: self)
    }
}
