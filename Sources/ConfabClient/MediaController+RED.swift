// Sending RED only to rooms that play it (docs/MEDIA.md, "Who gets RED").
//
//   reconcile: every peer that hears us (announced, by role, and quiet hearers)
//     ─▶ those that did not declare "red" at join ─▶ hearersWithoutRED
//   a newcomer that hears us and plays no RED ─▶ hearersWithoutRED, RED off, then its key
//   hearersWithoutRED empty ─▶ the copies the loss calls for (LossAdaptation) ─▶ encoder
//   otherwise            ─▶ none: every packet is plain Opus (PT 111)
//
// The server cannot look into end-to-end encrypted packets to strip RED for a
// listener that does not play it, so the sender chooses the format everyone
// plays. RED goes off before the newcomer's key is sealed: every packet it can
// decrypt was encoded after that (the encoder takes the change at its next frame).

import ConfabProtocol

/// Who hears a publisher, with the keys to seal to, and which of them play no RED.
struct PublisherAudience: Sendable, Equatable {
    var keys: [PeerID: X25519PublicKey] = [:]
    var withoutRED: Set<PeerID> = []

    /// The announced peers whose role subscribes to `role`, then the quiet
    /// hearers the server listed; peers without a public key cannot hear us
    /// (they get no key) and count for neither. Quiet hearers count only in
    /// a room that has an audience (`joined.counts`, its size on the screen):
    /// in any other room a `hearers` list would be a recipient nobody sees,
    /// which a server must not be able to add (docs/SECURITY.md).
    init(
        publisher: PeerID, role: RoleName, room: RoomInfo, peers: some Sequence<PeerInfo>,
        quiet: [PeerID: Hearer], roomHasAudience: Bool
    ) {
        for peer in peers {
            guard peer.id != publisher, let key = peer.publicKey,
                room.role(named: peer.role)?.subscribesTo.contains(role) == true
            else { continue }
            keys[peer.id] = key
            if !peer.receives.playsRED { withoutRED.insert(peer.id) }
        }
        for (id, hearer) in quiet where roomHasAudience && id != publisher && keys[id] == nil {
            keys[id] = hearer.publicKey
            if !hearer.receives.playsRED { withoutRED.insert(id) }
        }
    }

    /// Whether `peer`, newly arrived, hears a publisher of `role`; nil when it does not.
    static func newcomer(_ peer: PeerInfo, hears role: RoleName, in room: RoomInfo) -> (key: X25519PublicKey, playsRED: Bool)? {
        guard let key = peer.publicKey, room.role(named: peer.role)?.subscribesTo.contains(role) == true else {
            return nil
        }
        return (key, peer.receives.playsRED)
    }

    /// The RED copies to send: what the loss calls for, or none while anyone who hears us plays no RED.
    static func redundantFrames(wanted: Int, hearersWithoutRED: Int) -> Int {
        hearersWithoutRED == 0 ? wanted : 0
    }
}

extension MediaController {
    /// Hands the encoder what the listeners' loss calls for, with RED only
    /// if every hearer plays it. Cheap (one atomic store); the sender takes
    /// it at its next frame.
    func requestEncoderSettings() {
        engine?.sender?.encoderControl.request(
            adaptation.settings,
            redundantFrames: PublisherAudience.redundantFrames(
                wanted: adaptation.redundantFrames, hearersWithoutRED: hearersWithoutRED.count))
    }

    /// Whether we send RED now (tests): the loss calls for it and everyone who hears us plays it.
    public var sendsRED: Bool { engine?.sender?.encoderControl.appliedRedundantFrames ?? 0 > 0 }
}
