import ConfabProtocol

// The server's operator in a room: the management API (docs/ADMIN.md) acts
// through the same checked actions as a host, under the reserved identity
// `@server` with a role that outranks every template role. So removing,
// muting, changing a role, ending the room and posting a chat message from
// the API produce exactly the events a host's request does, with `by`
// (or `from`) set to `@server`.
//
//   API request ─▶ PeerAction ─▶ Room.apply(action, from: .server) ─▶ same checks, same events
//
// No peer can hold the identity: a join as `@server` is refused.

extension Role {
    /// What the server may do in any room: everything a host may, over every
    /// role (it outranks all of them), without a microphone.
    public static let serverOperator = Role(
        name: "server", priority: .max, publishAudio: false, subscribesTo: [], chat: .all, permissions: .all)
}

extension Room {
    /// The actor for an action the server takes in this room: a peer that is
    /// not in `peers` and holds `Role.serverOperator`. Only actions a host
    /// takes on others are open to it; the rest concern a peer's own session.
    /// Its chat is held to the room's chat rate as a host's is (the audience's
    /// allowance does not hold it), so a leaked admin token cannot flood a room.
    func serverActor(for action: PeerAction, now: Timestamp) throws(CodedError) -> Peer {
        switch action {
        case .sendChat, .changeRole, .muteTrack, .unmuteTrack, .removePeer, .endRoom, .setState:
            return Peer(
                id: .server, name: "server", role: Role.serverOperator.name, metadata: "", joinedAt: startedAt,
                handRaisedAt: nil, microphone: nil, connection: .connected, publicKey: nil,
                chatAllowance: serverChatAllowance ?? TokenBucket(limit: template.chatRate, now: now))
        case .leave, .answerPrompt, .raiseHand, .lowerHand, .updatePeer, .publishKeys:
            throw CodedError(.invalidMessage, "the server does not take part in the room: only a peer can do this")
        }
    }

    /// Locks the open room against new joins, or opens it again. Returns
    /// whether anything changed; nobody is told (nobody in it is affected).
    public mutating func setJoinsLocked(_ locked: Bool) -> Bool {
        guard phase == .open, joinsLocked != locked else { return false }
        joinsLocked = locked
        return true
    }
}
