// Sealing our media key to many hearers, and the quiet ones among them.
//
//   hearers in ─▶ QuietHearerList (apart from state.peers: the screen never lists the audience)
//              ─▶ reconcile: hearers = announced peers that hear us ∪ quiet hearers
//   new key or newcomers ─▶ seal in batches of `sealBatchSize`, off this actor (HPKE, MediaKeys.swift)
//                        ─▶ keys.publish pages, each under 64 KiB (PublishKeysRequest.pages)
//   an announced hearer leaves ─▶ rotate now
//   a quiet hearer leaves ─▶ rotate now if the last new key is `quietRotationInterval` old, else then
//
// Why quiet departures may wait (docs/SECURITY.md, "Large rooms"): the server
// stops forwarding to a departed peer at once, so a delayed rotation matters
// only if the server colludes with the departed peer; rotating at once for
// each of thousands of listeners would seal thousands of keys per departure.

import ConfabProtocol
import Foundation

/// The quiet peers that hear us, as the server's `hearers` told us.
struct QuietHearerList: Sendable {
    /// Who hears us now, with the key to seal to and the formats each plays.
    private(set) var hearers: [PeerID: Hearer] = [:]
    /// A whole list (`reset`) still arriving page by page.
    private var incoming: [PeerID: Hearer]?
    /// More pages of the current update follow: do not act yet.
    private var pagesPending = false
    /// Quiet hearers gone since our last new key: their rotation may wait.
    private(set) var departed: Set<PeerID> = []
    /// When we last made a new key.
    private(set) var lastKeyAt: ContinuousClock.Instant?
    var rotationScheduled = false

    var isComplete: Bool { !pagesPending }

    /// Applies one `hearers` message. Peers added again (back after a drop)
    /// lose the key they had, so it is sealed to them anew; a first mention
    /// does not (a host already sealed to a listener it saw join). Returns
    /// whether the update is complete.
    mutating func apply(_ update: HearersUpdate, outbound: inout MediaController.Outbound?) -> Bool {
        if update.reset { incoming = [:] }
        for hearer in update.added {
            if hearers[hearer.peer] != nil || departed.contains(hearer.peer) { outbound?.recipients.remove(hearer.peer) }
            if incoming != nil {
                incoming?[hearer.peer] = hearer
            } else {
                hearers[hearer.peer] = hearer
            }
            departed.remove(hearer.peer)
        }
        for peer in update.removed {
            incoming?[peer] = nil
            if hearers.removeValue(forKey: peer) != nil { departed.insert(peer) }
        }
        pagesPending = update.more
        if !update.more, let whole = incoming {
            for peer in hearers.keys where whole[peer] == nil { departed.insert(peer) }
            hearers = whole
            incoming = nil
        }
        return !update.more
    }

    mutating func keyChanged() {
        lastKeyAt = .now
        departed = []
    }
}

extension MediaController {
    /// A quiet hearer's departure rotates the key at most once per this long.
    public static let defaultQuietRotationInterval = Duration.seconds(5)
    /// Keys sealed in one go off the actor, between checks that the key is still current.
    static let sealBatchSize = 64

    /// Whether the current key may stay although `departed` no longer hear
    /// us: nobody left, or only quiet hearers left and the last new key is
    /// younger than `quietRotationInterval` (then the rotation is scheduled).
    func deferRotation(departed: Set<PeerID>) -> Bool {
        guard !departed.isEmpty else { return true }
        guard departed.isSubset(of: quietHearers.departed), let last = quietHearers.lastKeyAt else { return false }
        let due = last + quietRotationInterval
        guard due > .now else { return false }
        if !quietHearers.rotationScheduled {
            quietHearers.rotationScheduled = true
            Task { [weak self] in
                try? await Task.sleep(until: due, clock: .continuous)
                await self?.rotationDue()
            }
        }
        return true
    }

    private func rotationDue() async {
        quietHearers.rotationScheduled = false
        await reconcile()
    }

    /// Who holds our current key (tests).
    var keyRecipients: Set<PeerID>? { outbound?.recipients }

    /// Sets how often quiet departures may rotate the key (tests).
    func setQuietRotationInterval(_ interval: Duration) { quietRotationInterval = interval }

    /// A peer joined while we send under a key: seal that key to the
    /// newcomer alone, if it hears us, instead of walking every peer of the
    /// room as `reconcile` does (a host in a town hall hears of each of ten
    /// thousand listeners). False when the whole reconcile is needed: no key
    /// yet, a list of hearers still arriving, or we may not publish.
    func keyNewcomer(_ id: PeerID) async -> Bool {
        guard isBound, !stopped, outbound != nil, quietHearers.isComplete else { return false }
        let state = session.state
        guard let you = state.you, let room = state.room, let microphone = state.yourMicrophone,
            room.role(named: you.role)?.publishAudio == true
        else { return false }
        guard id != you.id, let peer = state.peers[id],
            let (key, playsRED) = PublisherAudience.newcomer(peer, hears: you.role, in: room),
            outbound?.recipients.contains(id) == false
        else { return true }
        if !playsRED {
            // Before its key: every packet it can decrypt must be plain Opus.
            hearersWithoutRED.insert(id)
            requestEncoderSettings()
        }
        // In place: a copy of the set of recipients would cost the room's size again.
        outbound?.recipients.insert(id)
        guard let keyed = outbound else { return true }
        await publish(keyed, to: [id: key], track: microphone.id, room: room.name, you: you.id)
        return true
    }

    /// Seals `outbound`'s key to `recipients` in batches off this actor and
    /// sends it in `keys.publish` pages. Stops if a newer key replaced it meanwhile.
    func publish(
        _ outbound: Outbound, to recipients: [PeerID: X25519PublicKey], track: TrackID, room: RoomName, you: PeerID
    ) async {
        let sorted = recipients.sorted { $0.key < $1.key }
        let identity = session.identity
        var sealed: [SealedKey] = []
        sealed.reserveCapacity(sorted.count)
        for start in stride(from: 0, to: sorted.count, by: Self.sealBatchSize) {
            let batch = Array(sorted[start..<min(start + Self.sealBatchSize, sorted.count)])
            let (keys, failed) = await Self.seal(
                outbound.keyBytes, to: batch, identity: identity,
                context: MediaKeyContext(
                    room: room, sender: you, recipient: you, track: track, epoch: outbound.epoch, ssrc: outbound.ssrc))
            sealed += keys
            for peer in failed { logger.warning("cannot seal a key to \(peer)") }
            guard self.outbound?.epoch == outbound.epoch, !stopped else { return }
        }
        for page in PublishKeysRequest.pages(track: track, epoch: outbound.epoch, ssrc: outbound.ssrc, keys: sealed) {
            do {
                try await session.publishKeys(page)
            } catch {
                logger.warning("keys.publish failed: \(error)")
                return
            }
        }
    }

    /// HPKE-seals `key` to each recipient (`context` with each as the
    /// recipient). Not isolated: runs on the shared pool, not on the actor.
    private static func seal(
        _ key: [UInt8], to recipients: [(key: PeerID, value: X25519PublicKey)], identity: MediaIdentity,
        context: MediaKeyContext
    ) async -> (sealed: [SealedKey], failed: [PeerID]) {
        var sealed: [SealedKey] = []
        var failed: [PeerID] = []
        for (peer, publicKey) in recipients {
            var context = context
            context.recipient = peer
            do {
                let blob = try MediaKeySealing.seal(key, to: publicKey, from: identity, context: context)
                sealed.append(SealedKey(peer: peer, sealed: blob))
            } catch {
                failed.append(peer)
            }
        }
        return (sealed, failed)
    }
}
