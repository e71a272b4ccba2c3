import ConfabProtocol

// The one place RoomState changes. Pure: no clock, no I/O, no randomness;
// the same events in the same order always give the same state, so every
// rule below is unit-tested without a server.
//
//   event ─▶ reduce(&state, event) ─▶ state'
//
// The rules follow docs/PROTOCOL.md: `track.added` is add-or-replace and
// `track.removed` remove-if-present; prompts lapse when either side leaves,
// drops or changes role; chat is merged by `seq`, so a message that arrives
// twice (live and again in a resume's history) is kept once.

/// Applies one event to the state.
public func reduce(_ state: inout RoomState, _ event: SessionEvent) {
    switch event {
    case .connectionStateChanged, .joined, .reconnecting, .reconnected, .disconnected, .failure, .removed, .roomEnded,
        .serverGoingAway, .roundTrip:
        reduceConnection(&state, event)
    case .peerJoined, .peerLeft, .peerUpdated, .peerVolumeChanged, .countsUpdated:
        reducePeers(&state, event)
    case .trackAdded, .trackRemoved, .trackMuted, .trackUnmuted, .trackDegraded, .trackRestored, .speakers:
        reduceTracks(&state, event)
    case .chatMessage, .chatHistory, .conversationRead:
        reduceChat(&state, event)
    case .roleChangeRequested, .unmuteRequested, .promptSent, .promptAnswered, .promptClosed:
        reducePrompts(&state, event)
    case .mediaLevels, .mediaStats:
        reduceMedia(&state, event)
    case .stateChanged(let change):
        if let value = change.value {
            state.sharedState[change.key] = StateEntry(key: change.key, value: value, by: change.by, at: change.at)
        } else {
            state.sharedState[change.key] = nil
        }
    case .mediaKeyReceived, .hearersChanged, .mediaKeyAccepted, .mediaKeyRefused, .mediaBound, .mediaFeedback, .talkingWhileMuted,
        .rosterPage, .audioDevice, .soundCard, .clusterNodesChanged:
        break
    }
}

// MARK: - Event families

/// The connection and the session's life.
private func reduceConnection(_ state: inout RoomState, _ event: SessionEvent) {
    switch event {
    case .connectionStateChanged(let new, _):
        state.connection = new
        switch new {
        case .connected:
            state.reconnectAttempt = nil
        case .reconnecting(let attempt):
            state.reconnectAttempt = attempt
        case .disconnected:
            endSession(&state)
        case .idle, .connecting:
            break
        }

    case .joined(let joined, let roundTripMs):
        applyJoined(&state, joined, roundTripMs: roundTripMs)

    case .reconnecting(let attempt, _):
        state.connection = .reconnecting(attempt: attempt)
        state.reconnectAttempt = attempt
        // Nobody is heard while we are away; the server resends levels when we are back.
        state.speakers = []

    case .reconnected:
        state.reconnectCount += 1
        state.reconnectAttempt = nil

    case .disconnected(let reason):
        state.connection = .disconnected(reason)
        endSession(&state)

    case .failure(let error):
        state.lastFailure = error

    case .removed, .roomEnded:
        // The `disconnected` event that follows carries the reason; until
        // then the room stays on screen as it was.
        state.speakers = []

    case .serverGoingAway(let notice):
        state.serverGoingAway = notice

    case .roundTrip(let ms):
        state.roundTripMs = max(ms, 0)

    default:
        break
    }
}

/// Who is in the room.
private func reducePeers(_ state: inout RoomState, _ event: SessionEvent) {
    switch event {
    case .peerJoined(let peer, _):
        upsert(&state, peer)

    case .peerLeft(let peer, _, _):
        state.peers[peer] = nil
        state.media[peer] = nil
        state.speakers.removeAll { $0.peer == peer }
        dropPrompts(&state, involving: peer)

    case .peerUpdated(let peer, let changed, _):
        if changed.contains(.role) {
            if peer.id == state.you?.id {
                // Our own role changed: every prompt to or from us lapses.
                state.pendingPrompts = []
                state.outgoingPrompts = [:]
            } else {
                dropPrompts(&state, involving: peer.id)
            }
        }
        upsert(&state, peer)

    case .peerVolumeChanged(let peer, let volume):
        state.volumes[peer] = volume.isFinite ? min(max(volume, 0), 2) : 1

    case .countsUpdated(let counts):
        state.counts = counts

    default:
        break
    }
}

/// Tracks and who speaks.
private func reduceTracks(_ state: inout RoomState, _ event: SessionEvent) {
    switch event {
    case .trackAdded(let peer, let track):
        updateTracks(&state, of: peer) { tracks in
            if let index = tracks.firstIndex(where: { $0.id == track.id }) {
                tracks[index] = track
            } else {
                tracks.append(track)
            }
        }

    case .trackRemoved(let peer, let track):
        updateTracks(&state, of: peer) { tracks in tracks.removeAll { $0.id == track } }
        state.speakers.removeAll { $0.track == track }

    case .trackMuted(let peer, let track, let by):
        updateTrack(&state, peer: peer, track: track) { info in
            info.muted = true
            info.mutedBy = by
        }
        state.speakers.removeAll { $0.track == track }

    case .trackUnmuted(let peer, let track, _):
        updateTrack(&state, peer: peer, track: track) { info in
            info.muted = false
            info.mutedBy = nil
        }

    case .trackDegraded(let peer, let track, let reason):
        updateTrack(&state, peer: peer, track: track) { $0.degraded = reason }

    case .trackRestored(let peer, let track):
        updateTrack(&state, peer: peer, track: track) { $0.degraded = nil }

    case .speakers(let levels):
        state.speakers = levels

    default:
        break
    }
}

/// Chat and what is unread.
private func reduceChat(_ state: inout RoomState, _ event: SessionEvent) {
    switch event {
    case .chatMessage(let message):
        let added = state.mergeChat([message])
        countUnread(&state, added)

    case .chatHistory(let page, let direction):
        let oldestBefore = state.chat.first?.seq
        let added = state.mergeChat(page.messages)
        switch direction {
        case .older:
            // Only a page that reached further back (or found nothing more)
            // says whether still older messages exist.
            let extendedBack = oldestBefore.map { oldest in added.contains { $0.seq < oldest } } ?? true
            if extendedBack || page.messages.isEmpty {
                state.hasOlderChat = page.hasMore
            }
        case .newer:
            countUnread(&state, added)
        }

    case .conversationRead(let conversation):
        state.unread[conversation] = nil

    default:
        break
    }
}

/// Questions put to us and by us.
private func reducePrompts(_ state: inout RoomState, _ event: SessionEvent) {
    switch event {
    case .roleChangeRequested(let prompt):
        addPending(&state, PendingPrompt(id: prompt.prompt, by: prompt.by, question: .roleChange(prompt.role)))

    case .unmuteRequested(let prompt):
        addPending(&state, PendingPrompt(id: prompt.prompt, by: prompt.by, question: .unmute(prompt.track)))

    case .promptSent(let id, let target, let question):
        state.outgoingPrompts[id] = OutgoingPrompt(id: id, to: target, question: question)

    case .promptAnswered(let answer):
        state.outgoingPrompts[answer.prompt] = nil
        state.promptAnswers.append(answer)
        if state.promptAnswers.count > 20 {
            state.promptAnswers.removeFirst(state.promptAnswers.count - 20)
        }

    case .promptClosed(let id):
        state.pendingPrompts.removeAll { $0.id == id }

    default:
        break
    }
}

/// What the media engine measured.
private func reduceMedia(_ state: inout RoomState, _ event: SessionEvent) {
    switch event {
    case .mediaLevels(let levels):
        for (peer, level) in levels where state.peers[peer] != nil {
            state.media[peer, default: PeerMediaState()].level = level
        }

    case .mediaStats(let stats, _):
        for (peer, figures) in stats where state.peers[peer] != nil {
            // The level comes from the faster `mediaLevels`; keep it.
            let level = state.media[peer]?.level ?? figures.level
            state.media[peer] = figures
            state.media[peer]?.level = level
        }

    default:
        break
    }
}

// MARK: - Steps

private func applyJoined(_ state: inout RoomState, _ joined: Joined, roundTripMs: Int) {
    let isFirstJoin = state.you == nil
    state.room = joined.room
    state.you = joined.you
    state.counts = joined.counts
    state.sharedState = Dictionary((joined.state ?? []).map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
    // The snapshot replaces what we knew: peers that left while we were away
    // are simply absent from it.
    var peers: [PeerID: PeerInfo] = [:]
    for peer in joined.peers where peer.id != joined.you.id {
        peers[peer.id] = peer
    }
    state.peers = peers
    state.media = state.media.filter { peers[$0.key] != nil }
    state.speakers = []
    // Prompts lapse when either side drops, so none survive a reconnection.
    state.pendingPrompts = []
    state.outgoingPrompts = [:]
    state.serverGoingAway = nil
    state.joinTimeMs = joined.joinTimeMs + max(roundTripMs, 0)
    // The join's network share is the first round-trip figure; pings refine it.
    state.roundTripMs = max(roundTripMs, 0)
    state.connection = .connected
    state.reconnectAttempt = nil

    let hadChat = !state.chat.isEmpty
    let added = state.mergeChat(joined.history.messages)
    if isFirstJoin {
        // The first join's history was written before we came: not unread.
        state.hasOlderChat = joined.history.hasMore
    } else {
        // After a resume `hasMore` points forward (the session pages on);
        // after a fresh rejoin it points back, but only matters if we had nothing.
        if !hadChat, !joined.resumed { state.hasOlderChat = joined.history.hasMore }
        countUnread(&state, added)
    }
}

private func endSession(_ state: inout RoomState) {
    state.speakers = []
    state.pendingPrompts = []
    state.outgoingPrompts = [:]
    state.reconnectAttempt = nil
}

private func upsert(_ state: inout RoomState, _ peer: PeerInfo) {
    if peer.id == state.you?.id {
        state.you = peer
    } else {
        state.peers[peer.id] = peer
    }
}

private func updateTracks(_ state: inout RoomState, of peer: PeerID, _ change: (inout [TrackInfo]) -> Void) {
    if state.you?.id == peer, var you = state.you {
        change(&you.tracks)
        state.you = you
    } else if var info = state.peers[peer] {
        change(&info.tracks)
        state.peers[peer] = info
    }
}

private func updateTrack(_ state: inout RoomState, peer: PeerID, track: TrackID, _ change: (inout TrackInfo) -> Void)
{
    updateTracks(&state, of: peer) { tracks in
        if let index = tracks.firstIndex(where: { $0.id == track }) {
            change(&tracks[index])
        }
    }
}

private func dropPrompts(_ state: inout RoomState, involving peer: PeerID) {
    state.pendingPrompts.removeAll { $0.by == peer }
    state.outgoingPrompts = state.outgoingPrompts.filter { $0.value.to != peer }
}

private func addPending(_ state: inout RoomState, _ prompt: PendingPrompt) {
    guard !state.pendingPrompts.contains(where: { $0.id == prompt.id }) else { return }
    state.pendingPrompts.append(prompt)
}

private func countUnread(_ state: inout RoomState, _ messages: [ChatMessage]) {
    let me = state.you?.id
    for message in messages where message.from != me {
        state.unread[Conversation.of(message, me: me), default: 0] += 1
    }
}
