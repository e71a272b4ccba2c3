import ConfabMacros
import ConfabProtocol

// What a room has given each peer, kept outside the node that runs it (a
// cluster keeps it in PostgreSQL) so that a peer can come back with it on
// another node when that node dies: its role (given in the room, perhaps above
// its token's), its microphone's mute state and who muted it, and its raised hand.
//
//   node A: Room.keptState(of:) ─▶ the database, with a hash of the peer's resume token
//   node A dies ─▶ the peer resumes on node B ─▶ the kept state ─▶ Room.restore ─▶ peer.joined (resumed)

/// What the room had given one peer: enough to admit it again as it was.
@PublicMemberwiseInit
public struct KeptPeerState: Codable, Hashable, Sendable {
    public var peer: PeerID
    /// The sanitised display name it had.
    public var name: String
    /// The role it had in the room (a host may have given it one above its token's).
    public var role: RoleName
    public var metadata: String
    /// Whether its microphone was muted (true when it had none).
    public var muted: Bool
    /// Who muted it, when someone did.
    public var mutedBy: PeerID?
    public var publicKey: X25519PublicKey?
    /// When it raised its hand, if it is up (the order of hands is kept).
    public var handRaisedAt: Timestamp? = nil
}

extension Room {
    /// What the room has given `id` now; nil when it is not in the room.
    public func keptState(of id: PeerID) -> KeptPeerState? {
        guard let peer = peers[id] else { return nil }
        return KeptPeerState(
            peer: id, name: peer.name, role: peer.role, metadata: peer.metadata,
            muted: peer.microphone?.muted ?? true, mutedBy: peer.microphone?.mutedBy, publicKey: peer.publicKey,
            handRaisedAt: peer.handRaisedAt)
    }

    /// Admits a peer as another node's room had it: the kept role (which must
    /// be one of this room's), mute state and who muted it. The others hear
    /// `peer.joined` with `resumed`. Throws as a join would (locked, full), and
    /// `resumeRejected` when the peer is here already (it joined afresh).
    public mutating func restore(
        _ kept: KeptPeerState, receives: AudioPayloadFormats? = nil, now: Timestamp
    ) throws(CodedError) -> JoinOutcome {
        guard peers[kept.peer] == nil else {
            throw CodedError(.resumeRejected, "\(kept.peer) is in the room already; join again")
        }
        let admission = Admission(
            peer: kept.peer, name: kept.name, role: kept.role, metadata: kept.metadata, muted: kept.muted,
            publicKey: kept.publicKey, receives: receives)
        var outcome = try join(admission, now: now)
        guard var peer = peers[kept.peer] else { return outcome }
        if var microphone = peer.microphone, microphone.muted {
            microphone.mutedBy = kept.mutedBy
            peer.microphone = microphone
        }
        peer.handRaisedAt = kept.handRaisedAt
        peers[kept.peer] = peer
        let restored = PeerJoined(peer: peer.info, resumed: true)
        outcome.events = outcome.events.map { event in
            guard case .peerJoined(let joined) = event.body, joined.peer.id == kept.peer else { return event }
            return RoomEvent(audience: event.audience, body: .peerJoined(restored))
        }
        return outcome
    }
}
