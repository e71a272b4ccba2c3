import ConfabProtocol

// The lines `confab join --headless --events` prints on stdout: one JSON
// object per event, `event` first. Shapes are stable (docs/BOTS.md lists
// them); peers, tracks, roles and chat messages use their PROTOCOL.md shapes.
// Secrets (the resume token, media credentials) are never printed.

/// Renders events and command results as JSON lines.
public enum HeadlessEvents {
    /// Whether `--events` prints the event: a key's arrival is not (only
    /// whether it was accepted, `media.key`, or refused, `media.keyRefused`).
    public static func prints(_ event: SessionEvent) -> Bool {
        if case .mediaKeyReceived = event { return false }
        // A speaker's bot does not list the audience, as its screen would not.
        if case .hearersChanged = event { return false }
        return true
    }

    /// The line for one event.
    public static func line(for event: SessionEvent) -> String {
        json(for: event).rendered
    }

    static func json(for event: SessionEvent) -> JSONValue {
        switch event {
        case .connectionStateChanged, .joined, .reconnecting, .reconnected, .disconnected, .failure, .removed,
            .roomEnded, .serverGoingAway, .roundTrip, .clusterNodesChanged:
            return connectionJSON(event)
        case .peerJoined, .peerLeft, .peerUpdated, .trackAdded, .trackRemoved, .trackMuted, .trackUnmuted,
            .trackDegraded, .trackRestored, .speakers, .peerVolumeChanged:
            return peerJSON(event)
        case .chatMessage, .chatHistory, .conversationRead:
            return chatJSON(event)
        case .roleChangeRequested, .unmuteRequested, .promptSent, .promptAnswered, .promptClosed:
            return promptJSON(event)
        case .mediaKeyRefused, .mediaKeyAccepted, .mediaKeyReceived, .mediaLevels, .mediaStats, .mediaBound,
            .mediaFeedback, .talkingWhileMuted, .audioDevice, .soundCard:
            return mediaJSON(event)
        case .countsUpdated, .rosterPage, .stateChanged:
            return audienceJSON(event)
        case .hearersChanged(let update):
            // Not printed (`prints`); counts only, never who.
            return .object([
                "event": .string("media.hearers"), "added": .int(update.added.count),
                "removed": .int(update.removed.count),
            ])
        }
    }

    /// The connection and the session's life.
    private static func connectionJSON(_ event: SessionEvent) -> JSONValue {
        switch event {
        case .connectionStateChanged(let new, let old):
            var members: [(String, JSONValue)] = [
                ("event", .string("connection")), ("state", .string(new.description)), ("from", .string(old.description)),
            ]
            if case .reconnecting(let attempt) = new { members.append(("attempt", .int(attempt))) }
            if case .disconnected(let reason) = new { members.append(("reason", .string(reason.name))) }
            return .object(members)
        case .joined(let joined, let roundTripMs):
            return .object([
                "event": .string("joined"),
                "room": .string(joined.room.name.rawValue),
                "resumed": .bool(joined.resumed),
                "joinTimeMs": .int(joined.joinTimeMs + roundTripMs),
                "you": .encoding(joined.you),
                "peers": .encoding(joined.peers),
                "roles": .encoding(joined.room.roles),
                "history": .encoding(joined.history.messages),
                "hasMoreHistory": .bool(joined.history.hasMore),
                "counts": joined.counts.map { .encoding($0) },
                "quiet": joined.quiet.map(JSONValue.bool),
                "state": joined.state.map { .encoding($0) },
            ])
        case .reconnecting(let attempt, let delayMs):
            return .object(["event": .string("reconnecting"), "attempt": .int(attempt), "delayMs": .int(delayMs)])
        case .reconnected(let resumed):
            return .object(["event": .string("reconnected"), "resumed": .bool(resumed)])
        case .disconnected(let reason):
            return disconnected(reason)
        case .failure(let error):
            return errorLine(error, id: nil, command: nil)
        case .removed(let notice):
            return .object([
                "event": .string("removed"), "by": notice.by.map { .string($0.rawValue) },
                "reason": notice.reason.map(JSONValue.string),
            ])
        case .roomEnded(let notice):
            return .object([
                "event": .string("room.ended"), "by": notice.by.map { .string($0.rawValue) },
                "reason": notice.reason.map(JSONValue.string), "locked": .bool(notice.locked),
            ])
        case .serverGoingAway(let notice):
            return .object([
                "event": .string("server.goingAway"), "reason": notice.reason.map(JSONValue.string),
                "retryAfterMs": notice.retryAfterMs.map(JSONValue.int),
            ])
        case .roundTrip(let ms):
            return .object(["event": .string("rtt"), "ms": .int(ms)])
        case .clusterNodesChanged(let nodes):
            return .object(["event": .string("cluster.nodes"), "nodes": .array(nodes.map(JSONValue.string))])
        default:
            preconditionFailure("\(event) is not in this family")
        }
    }

    /// Peers and their tracks.
    private static func peerJSON(_ event: SessionEvent) -> JSONValue {
        switch event {
        case .peerJoined(let peer, let resumed):
            return .object(["event": .string("peer.joined"), "peer": .encoding(peer), "resumed": .bool(resumed)])
        case .peerLeft(let peer, let reason, let by):
            return .object([
                "event": .string("peer.left"), "peer": .string(peer.rawValue), "reason": .string(reason.rawValue),
                "by": by.map { .string($0.rawValue) },
            ])
        case .peerUpdated(let peer, let changed, let by):
            return .object([
                "event": .string("peer.updated"), "peer": .encoding(peer), "changed": .encoding(changed),
                "by": by.map { .string($0.rawValue) },
            ])
        case .trackAdded(let peer, let track):
            return .object(["event": .string("track.added"), "peer": .string(peer.rawValue), "track": .encoding(track)])
        case .trackRemoved(let peer, let track):
            return trackLine("track.removed", peer: peer, track: track)
        case .trackMuted(let peer, let track, let by):
            return trackLine("track.muted", peer: peer, track: track, extra: ("by", .string(by.rawValue)))
        case .trackUnmuted(let peer, let track, let by):
            return trackLine("track.unmuted", peer: peer, track: track, extra: ("by", .string(by.rawValue)))
        case .trackDegraded(let peer, let track, let reason):
            return trackLine("track.degraded", peer: peer, track: track, extra: ("reason", .string(reason.rawValue)))
        case .trackRestored(let peer, let track):
            return trackLine("track.restored", peer: peer, track: track)
        case .speakers(let levels):
            return .object(["event": .string("speakers"), "speakers": .encoding(levels)])
        case .peerVolumeChanged(let peer, let volume):
            return .object(["event": .string("volume"), "peer": .string(peer.rawValue), "volume": .double(volume)])
        default:
            preconditionFailure("\(event) is not in this family")
        }
    }

    /// Chat.
    private static func chatJSON(_ event: SessionEvent) -> JSONValue {
        switch event {
        case .chatMessage(let message):
            return .object(["event": .string("chat.message"), "message": .encoding(message)])
        case .chatHistory(let page, let direction):
            return .object([
                "event": .string("chat.history"), "direction": .string(direction.rawValue),
                "messages": .encoding(page.messages), "hasMore": .bool(page.hasMore),
            ])
        case .conversationRead(let conversation):
            return .object(["event": .string("chat.read"), "conversation": .string(describe(conversation))])
        default:
            preconditionFailure("\(event) is not in this family")
        }
    }

    /// Questions put to us and by us.
    private static func promptJSON(_ event: SessionEvent) -> JSONValue {
        switch event {
        case .roleChangeRequested(let prompt):
            return .object([
                "event": .string("role.changeRequested"), "prompt": .string(prompt.prompt.rawValue),
                "by": .string(prompt.by.rawValue), "role": .string(prompt.role.rawValue),
            ])
        case .unmuteRequested(let prompt):
            return .object([
                "event": .string("track.unmuteRequested"), "prompt": .string(prompt.prompt.rawValue),
                "by": .string(prompt.by.rawValue), "track": .string(prompt.track.rawValue),
            ])
        case .promptSent(let prompt, let target, let question):
            var members: [(String, JSONValue)] = [
                ("event", .string("prompt.sent")), ("prompt", .string(prompt.rawValue)), ("to", .string(target.rawValue)),
            ]
            switch question {
            case .roleChange(let role):
                members += [("question", .string("roleChange")), ("role", .string(role.rawValue))]
            case .unmute(let track):
                members += [("question", .string("unmute")), ("track", .string(track.rawValue))]
            }
            return .object(members)
        case .promptAnswered(let answer):
            return .object([
                "event": .string("prompt.answered"), "prompt": .string(answer.prompt.rawValue),
                "peer": .string(answer.peer.rawValue), "accepted": .bool(answer.accepted),
            ])
        case .promptClosed(let prompt):
            return .object(["event": .string("prompt.closed"), "prompt": .string(prompt.rawValue)])
        default:
            preconditionFailure("\(event) is not in this family")
        }
    }

    /// Media keys and what the media engine measured.
    private static func mediaJSON(_ event: SessionEvent) -> JSONValue {
        switch event {
        case .mediaKeyRefused(let from, let track, let epoch, let reason):
            return .object([
                "event": .string("media.keyRefused"), "from": .string(from.rawValue),
                "track": .string(track.rawValue), "epoch": .int(epoch), "reason": .string(reason),
            ])
        case .mediaKeyAccepted(let delivery), .mediaKeyReceived(let delivery):
            // Never the sealed bytes: only who keyed which SSRC. Printed once
            // the key is in use (`mediaKeyAccepted`), not when it arrives.
            return .object([
                "event": .string("media.key"), "from": .string(delivery.from.rawValue),
                "track": .string(delivery.track.rawValue), "epoch": .int(delivery.epoch),
                "ssrc": delivery.ssrc.map { .int(Int($0)) },
            ])
        case .mediaLevels(let levels):
            return .object([
                "event": .string("levels"),
                "levels": .object(levels.sorted { $0.key < $1.key }.map { ($0.key.rawValue, JSONValue.int($0.value)) }),
            ])
        case .mediaStats(let stats, let devices):
            return .object([
                "event": .string("media.stats"),
                "peers": .object(stats.sorted { $0.key < $1.key }.map { peer, figures in
                    (peer.rawValue, JSONValue.object([
                        ("level", .int(figures.level)), ("received", .int(figures.packetsReceived)),
                        ("lost", .int(figures.packetsLost)), ("fecRecovered", .int(figures.fecRecovered)),
                        ("redRecovered", .int(figures.redRecovered)),
                        ("concealed", .int(figures.concealed)), ("jitterMs", .int(figures.jitterMs)),
                        ("playoutDelayMs", .int(figures.playoutDelayMs)),
                    ]))
                }),
                "devices": devices.isEmpty ? nil : JSONValue.object(devices.map { card in
                    (card.direction.rawValue, JSONValue.object([
                        ("device", .string(card.device)), ("xruns", .int(card.xruns)), ("failures", .int(card.failures)),
                    ]))
                }),
            ])
        case .mediaBound(let mapped, let problem):
            return .object([
                "event": .string("media.bound"), "bound": .bool(mapped != nil), "mapped": mapped.map(JSONValue.string),
                "error": problem.map(JSONValue.string),
            ])
        case .mediaFeedback(let feedback):
            return .object([
                "event": .string("media.feedback"), "track": .string(feedback.track.rawValue),
                "lossPermille": .int(feedback.lossPermille), "uplinkLossPermille": feedback.uplinkLossPermille.map(JSONValue.int),
                "listeners": .int(feedback.listeners),
            ])
        case .talkingWhileMuted:
            return .object(["event": .string("media.talkingWhileMuted")])
        case .audioDevice(let change):
            return .object([
                "event": .string("media.device"), "direction": .string(change.direction.rawValue),
                "device": .string(change.device), "available": .bool(change.available),
                "switched": change.kind == .switched ? JSONValue.bool(true) : nil,
                "replaces": change.replaced.map(JSONValue.string), "text": .string(change.text),
            ])
        case .soundCard(let change):
            return .object([
                "event": .string("media.card"), "card": .int(change.card.index), "id": .string(change.card.id),
                "name": .string(change.card.name), "present": .bool(change.present), "text": .string(change.text),
            ])
        default:
            preconditionFailure("\(event) is not in this family")
        }
    }

    /// `{"event":"result", …}`: a command succeeded.
    public static func resultLine(id: String?, command: String, details: [(String, JSONValue)] = []) -> String {
        var members: [(String, JSONValue)] = [("event", .string("result"))]
        if let id { members.append(("id", .string(id))) }
        members.append(("cmd", .string(command)))
        members.append(("ok", .bool(true)))
        return JSONValue.object(members + details).rendered
    }

    /// `{"event":"error", …}`: a command failed, or the session reports a problem.
    public static func errorLine(_ error: SessionError, id: String?, command: String?) -> String {
        errorLine(error, id: id, command: command).rendered
    }

    /// `{"event":"error","kind":"badCommand", …}`: a line that is not a command.
    public static func errorLine(_ error: HeadlessCommandError) -> String {
        JSONValue.object([
            "event": .string("error"), "id": error.id.map(JSONValue.string), "cmd": error.command.map(JSONValue.string),
            "kind": .string("badCommand"), "message": .string(error.message),
        ]).rendered
    }

    /// `{"event":"state", …}`: a summary of the store for the `state` command.
    public static func stateLine(_ state: RoomState, id: String?) -> String {
        JSONValue.object([
            "event": .string("state"),
            "id": id.map(JSONValue.string),
            "connection": .string(state.connection.description),
            "room": state.room.map { .string($0.name.rawValue) },
            "you": state.you.map { .encoding($0) },
            "peers": .encoding(state.orderedPeers),
            "raisedHands": .array(state.raisedHands.map { .string($0.id.rawValue) }),
            "pendingPrompts": .array(state.pendingPrompts.map(pendingPrompt)),
            "lastSeq": .int(state.lastSeenSequence),
            "unread": .int(state.totalUnread),
            "shared": .encoding(state.sharedState.values.sorted { $0.key < $1.key }),
        ]).rendered
    }

    // MARK: - Pieces

    static func errorJSON(_ error: SessionError, id: String?, command: String?) -> JSONValue {
        errorLine(error, id: id, command: command)
    }

    private static func errorLine(_ error: SessionError, id: String?, command: String?) -> JSONValue {
        .object([
            "event": .string("error"), "id": id.map(JSONValue.string), "cmd": command.map(JSONValue.string),
            "kind": .string(error.kind), "code": error.code.map { .int($0.rawValue) },
            "message": .string(error.message), "retryAfterMs": error.retryAfterMs.map(JSONValue.int),
        ])
    }

    private static func disconnected(_ reason: DisconnectReason) -> JSONValue {
        switch reason {
        case .left, .replaced, .gaveUp:
            return .object(["event": .string("disconnected"), "reason": .string(reason.name)])
        case .removed(let by, let message):
            return .object([
                "event": .string("disconnected"), "reason": .string(reason.name),
                "by": by.map { .string($0.rawValue) }, "message": message.map(JSONValue.string),
            ])
        case .roomEnded(let by, let message, let locked):
            return .object([
                "event": .string("disconnected"), "reason": .string(reason.name),
                "by": by.map { .string($0.rawValue) }, "message": message.map(JSONValue.string),
                "locked": .bool(locked),
            ])
        case .failed(let error):
            return .object([
                "event": .string("disconnected"), "reason": .string(reason.name), "kind": .string(error.kind),
                "code": error.code.map { .int($0.rawValue) }, "message": .string(error.message),
            ])
        }
    }

    private static func trackLine(
        _ name: String, peer: PeerID, track: TrackID, extra: (String, JSONValue)? = nil
    ) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("event", .string(name)), ("peer", .string(peer.rawValue)), ("track", .string(track.rawValue)),
        ]
        if let extra { members.append(extra) }
        return .object(members)
    }

    private static func pendingPrompt(_ prompt: PendingPrompt) -> JSONValue {
        switch prompt.question {
        case .roleChange(let role):
            .object([
                ("prompt", .string(prompt.id.rawValue)), ("by", .string(prompt.by.rawValue)),
                ("question", .string("roleChange")), ("role", .string(role.rawValue)),
            ])
        case .unmute(let track):
            .object([
                ("prompt", .string(prompt.id.rawValue)), ("by", .string(prompt.by.rawValue)),
                ("question", .string("unmute")), ("track", .string(track.rawValue)),
            ])
        }
    }

    static func describe(_ conversation: Conversation) -> String {
        switch conversation {
        case .room: "room"
        case .roles(let roles): "roles:" + roles.map(\.rawValue).joined(separator: ",")
        case .direct(let peers): "peers:" + peers.map(\.rawValue).joined(separator: ",")
        }
    }
}
