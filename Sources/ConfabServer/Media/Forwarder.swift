// The SFU's forwarding decision, one datagram at a time, on the media thread.
//
//   datagram ─▶ size ─▶ first byte (RFC 7983 §7)
//     STUN ─▶ binding request? ─▶ USERNAME ─▶ peer credentials ─▶ MESSAGE-INTEGRITY
//          ─▶ from the bound address, or echoing this address's CONSENT-TOKEN? (STUNConsent.swift)
//             yes ─▶ bind source address to the peer ─▶ success (XOR-MAPPED-ADDRESS) to the source
//             no  ─▶ success with the CONSENT-TOKEN to echo; nothing bound, nothing refreshed
//     RTP/RTCP ─▶ source bound? ─▶ header parses? ─▶ SSRC announced by that peer?
//          ─▶ may publish and not muted? ─▶ sequence plausible (RFC 3550 A.1), not a replay? ─▶ level (RFC 6464) + loss/jitter
//          ─▶ one copy of the untouched bytes per bound subscriber (sendmmsg batch);
//             an audience (`hearsLoudestOnly`) only while the publisher is among
//             the room's loudest few (LoudestSelection.swift)
//     anything else ─▶ dropped, counted by reason
//
// The parts, as in docs/SFU.md: per peer a `ForwardingPeer` holding the
// receive side of the track it publishes (`TrackReceiver`: sequence checks,
// level, loss, jitter) and its send side as a subscriber (`DownTrack`:
// the bound address copies go to).
//
// Everything here is owned by the media thread: the tables are plain
// dictionaries and arrays, changed only between batches by `apply(_:nowNs:)`
// with what the room actors posted. Time comes in as an argument (`route`,
// `apply`, `sweep`, `takeReports` take `nowNs`): nothing here reads a clock,
// so tests drive it with given times. Per datagram there is no lock, no await
// and no heap allocation (dictionary lookups with fixed-size keys, arrays read
// in place); `confab bench sfu` counts it. The server holds no media key: it
// reads only the RTP header, which SRTP leaves in clear (RFC 3711 §3.1).

import ConfabProtocol
import ConfabSocket
import ConfabWire

/// Why the forwarder dropped a datagram.
public enum MediaDropReason: Int, CaseIterable, Sendable {
    /// RTP or RTCP from an address no peer has bound.
    case unboundSource
    /// An SSRC the bound peer has not announced.
    case unknownSSRC
    /// The peer's role may not publish, or a host muted its track.
    case notPermitted
    /// Not STUN, RTP or RTCP; or a header that does not parse.
    case malformed
    /// Larger than the largest media datagram accepted.
    case oversized
    /// STUN with an unknown USERNAME, no MESSAGE-INTEGRITY or a wrong one.
    case unauthenticated
    /// A sequence number already forwarded, or older than the replay window.
    case replay
    /// A sequence number far from the stream's, not (yet) followed by the
    /// next one (RFC 3550 Appendix A.1): a stray or forged packet.
    case sequenceJump

    public var label: String {
        switch self {
        case .unboundSource: "unboundSource"
        case .unknownSSRC: "unknownSSRC"
        case .notPermitted: "notPermitted"
        case .malformed: "malformed"
        case .oversized: "oversized"
        case .unauthenticated: "unauthenticated"
        case .replay: "replay"
        case .sequenceJump: "sequenceJump"
        }
    }
}

/// The USERNAME of a peer's media credentials, packed for lookup without the heap.
/// Usernames are exactly 16 bytes (``MediaCredentials``).
package struct CredentialKey: Hashable, Sendable, BitwiseCopyable {
    let high: UInt64
    let low: UInt64

    static let length = 16

    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.length else { return nil }
        high = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        low = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
    }

    package init?(_ text: String) {
        var copy = text
        guard let key = copy.withUTF8({ CredentialKey(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = key
    }
}

/// The send side of one subscriber (LiveKit's down track; here one per
/// subscriber, carrying every track it hears): the address its copies go
/// to, bound by STUN and kept fresh by what arrives from it. Nothing else is
/// per subscriber: copies leave byte for byte, with the publisher's own sequence
/// numbers, because SRTP authenticates the RTP header (RFC 3711 §3.1) and the
/// server, holding no key, cannot rewrite it.
struct DownTrack {
    var destination: SocketAddress?
    var destinationKey: SocketAddressKey?
    /// When the bound address last sent anything (media, a binding request or indication).
    var lastHeardNs: UInt64 = 0

    /// Forgets a binding silent for longer than `timeoutNs`; the key it had, if it expired.
    mutating func expire(nowNs: UInt64, after timeoutNs: UInt64) -> SocketAddressKey? {
        guard let key = destinationKey, nowNs > lastHeardNs, nowNs - lastHeardNs > timeoutNs else { return nil }
        destination = nil
        destinationKey = nil
        return key
    }
}

/// One peer in the forwarder's table: its settings from the room, the
/// receive side of the track it publishes, and its send side as a subscriber.
struct ForwardingPeer {
    var config: MediaPeerConfig
    var room: Int
    /// Indices into `peers` of the subscribers that hear everyone, resolved when the room is applied.
    var subscriberIndices: [Int] = []
    /// Indices of the subscribers that hear only the loudest few.
    var audienceIndices: [Int] = []
    /// Whether the publisher is among the room's loudest few now.
    var isLoudest = false
    var loudness = Loudness()
    var downTrack = DownTrack()
    var receiver = TrackReceiver()
    var forwardedPackets: Int64 = 0
    /// Since when the peer is expected to send: it may publish and its current SSRC is announced.
    var expectingSinceNs: UInt64 = 0

    /// Takes the peer's new row of the table: expected to send from `nowNs`
    /// when it may publish anew (or no longer) or announced another SSRC.
    mutating func take(_ new: MediaPeerConfig, nowNs: UInt64) {
        if config.mayPublish != new.mayPublish || config.ssrcs.0 != new.ssrcs.0 { expectingSinceNs = nowNs }
        config = new
    }
}

/// Counters the media thread keeps (read through `MediaPlane.statistics`).
public struct ForwarderCounters: Sendable, Hashable {
    public var datagrams: Int = 0
    public var forwardedPackets: Int = 0
    /// Datagrams queued to subscribers (one per subscriber per packet).
    public var sentDatagrams: Int = 0
    public var forwardedBytes: Int = 0
    public var bindings: Int = 0
    public var bindingsExpired: Int = 0
    public var stunAnswered: Int = 0
    /// Binding requests from an address not (yet) the peer's, answered with
    /// a consent token to echo rather than bound.
    public var consentAsked: Int = 0
    public var drops: [Int] = Array(repeating: 0, count: MediaDropReason.allCases.count)

    public func dropped(_ reason: MediaDropReason) -> Int { drops[reason.rawValue] }
    public var totalDropped: Int { drops.reduce(0, +) }
}

/// The decision and the state, confined to the media thread.
package final class Forwarder {
    /// The largest datagram forwarded: an Ethernet MTU's worth of UDP payload.
    static let maximumDatagramBytes = 1_472

    private(set) var peers: [ForwardingPeer?] = []
    private var freeIndices: [Int] = []
    /// Index into `peers` by the room's slot id.
    private var indexBySlot: [Int: Int] = [:]
    private var byAddress: [SocketAddressKey: Int] = [:]
    private var byUsername: [CredentialKey: Int] = [:]
    private var roomPeers: [Int: [Int]] = [:]
    /// The room's peers that have subscribers (its publishers): a listener
    /// leaving is taken out of their lists only, not looked for in the whole room.
    private var roomSenders: [Int: [Int]] = [:]
    /// The loudest few of each room with an audience that hears only them.
    private var loudest: [Int: LoudestSelection] = [:]
    var counters = ForwarderCounters()
    let bindingTimeoutNs: UInt64
    /// Signs the consent tokens: an address gets media only once its peer echoed one.
    let consent: STUNConsentKey
    /// Scratch for STUN answers.
    private let answer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 8)

    package init(bindingTimeoutMs: Int, consent: STUNConsentKey = STUNConsentKey()) {
        bindingTimeoutNs = UInt64(max(1, bindingTimeoutMs)) * 1_000_000
        self.consent = consent
        counters.drops.reserveCapacity(MediaDropReason.allCases.count)
    }

    deinit { answer.deallocate() }

    /// No room has a peer: no binding, nothing to forward, expire or report.
    var isIdle: Bool { indexBySlot.isEmpty }

    // MARK: - Changes from the rooms

    /// Applies what a room posted, at `nowNs` (when a peer became expected
    /// to send, for `silentMs`).
    package func apply(_ command: ForwarderCommand, nowNs: UInt64) {
        switch command {
        case .room(let room, let configs, let loudestCount):
            let keep = Set(configs.map(\.slot))
            for index in roomPeers[room] ?? [] {
                if let peer = peers[index], !keep.contains(peer.config.slot) { release(index) }
            }
            var indices: [Int] = []
            for config in configs {
                let index: Int
                if let existing = indexBySlot[config.slot] {
                    index = existing
                    if let old = peers[index]?.config.username, old != config.username { byUsername[old] = nil }
                    peers[index]?.take(config, nowNs: nowNs)
                } else {
                    index = freeIndices.popLast() ?? { peers.append(nil); return peers.count - 1 }()
                    peers[index] = ForwardingPeer(config: config, room: room, expectingSinceNs: nowNs)
                    indexBySlot[config.slot] = index
                }
                byUsername[config.username] = index
                indices.append(index)
            }
            for index in indices {
                guard let subscribers = peers[index]?.config.subscribers else { continue }
                let resolved = subscribers.compactMap { indexBySlot[$0] }
                // Worked out before the assignment: reading `peers` while writing it is an access conflict.
                let everyone = resolved.filter { peers[$0]?.config.hearsLoudestOnly != true }
                let audience = resolved.filter { peers[$0]?.config.hearsLoudestOnly == true }
                peers[index]?.subscriberIndices = everyone
                peers[index]?.audienceIndices = audience
            }
            roomPeers[room] = indices
            roomSenders[room] = indices.filter { peers[$0]?.config.subscribers.isEmpty == false }
            applyLoudest(count: loudestCount, room: room, indices: indices)
        case .removeRoom(let room):
            for index in roomPeers.removeValue(forKey: room) ?? [] { release(index) }
            roomSenders[room] = nil
            loudest[room] = nil
        case .addListener(let room, let config, let publishers):
            addListener(config, room: room, publishers: publishers, nowNs: nowNs)
        case .removeListeners(let room, let slots):
            removeListeners(slots, room: room)
        case .updatePeer(let room, let slot, let ssrcs, let mayPublish):
            updatePeer(slot: slot, room: room, ssrcs: ssrcs, mayPublish: mayPublish, nowNs: nowNs)
        }
    }

    /// One row of the table, as `.room` would change it: expected to send from
    /// now when it may publish anew or announced another SSRC; out of the
    /// loudest few when it may no longer publish.
    private func updatePeer(slot: Int, room: Int, ssrcs: (UInt32?, UInt32?), mayPublish: Bool, nowNs: UInt64) {
        guard let index = indexBySlot[slot], var row = peers[index]?.config, peers[index]?.room == room else { return }
        row.ssrcs = ssrcs
        row.mayPublish = mayPublish
        peers[index]?.take(row, nowNs: nowNs)
        if !mayPublish, loudest[room] != nil {
            loudest[room]?.remove(index)
            peers[index]?.isLoudest = false
        }
    }

    private func addListener(_ config: MediaPeerConfig, room: Int, publishers: [Int], nowNs: UInt64) {
        guard indexBySlot[config.slot] == nil, roomPeers[room] != nil else { return }
        let index = freeIndices.popLast() ?? { peers.append(nil); return peers.count - 1 }()
        peers[index] = ForwardingPeer(config: config, room: room, expectingSinceNs: nowNs)
        indexBySlot[config.slot] = index
        byUsername[config.username] = index
        roomPeers[room, default: []].append(index)
        for slot in publishers {
            guard let publisher = indexBySlot[slot], peers[publisher]?.room == room else { continue }
            peers[publisher]?.config.subscribers.append(config.slot)
            if roomSenders[room]?.contains(publisher) != true { roomSenders[room, default: []].append(publisher) }
            if config.hearsLoudestOnly {
                peers[publisher]?.audienceIndices.append(index)
            } else {
                peers[publisher]?.subscriberIndices.append(index)
            }
        }
    }

    /// Takes the listeners out of every list of the room before their
    /// indices can be used again (a reused index must never get another's media).
    private func removeListeners(_ slots: [Int], room: Int) {
        let goneIndices = slots.compactMap { indexBySlot[$0] }.filter { peers[$0]?.room == room }
        guard !goneIndices.isEmpty, roomPeers[room] != nil else { return }
        let gone = MembershipTest(goneIndices), goneSlots = MembershipTest(slots)
        roomSenders[room]?.removeAll { gone.contains($0) }
        for index in roomSenders[room] ?? [] {
            peers[index]?.subscriberIndices.removeAll { gone.contains($0) }
            peers[index]?.audienceIndices.removeAll { gone.contains($0) }
            peers[index]?.config.subscribers.removeAll { goneSlots.contains($0) }
        }
        for index in goneIndices { release(index) }
        roomPeers[room]?.removeAll { gone.contains($0) }
    }

    /// Keeps the room's selection to publishers still here and allowed to
    /// publish; a new count starts a new selection.
    private func applyLoudest(count: Int?, room: Int, indices: [Int]) {
        guard let count else {
            loudest[room] = nil
            return
        }
        var selection = loudest[room] ?? LoudestSelection(settings: LoudestSettings(count: count))
        if selection.settings.count != count { selection = LoudestSelection(settings: LoudestSettings(count: count)) }
        let members = Set(indices)
        for index in selection.selected where !members.contains(index) || peers[index]?.config.mayPublish != true {
            selection.remove(index)
        }
        for index in indices { peers[index]?.isLoudest = selection.isSelected(index) }
        loudest[room] = selection
    }

    /// Takes a publisher's accepted packet level into its room's selection at `nowNs`.
    @inline(__always)
    private func hear(_ index: Int, level: UInt8?, nowNs: UInt64) {
        guard let room = peers[index]?.room, let settings = loudest[room]?.settings else { return }
        peers[index]?.loudness.add(level: level ?? AudioLevel.silence, at: nowNs, settings: settings)
        guard peers[index]?.isLoudest != true, let loudness = peers[index]?.loudness.value(at: nowNs, settings: settings)
        else { return }
        // Changed in place in the table: no copy of the selection's array.
        let change = loudest[room]?.consider(index, loudness: loudness) {
            self.peers[$0]?.loudness.value(at: nowNs, settings: settings) ?? 0
        }
        guard let change, change != .unchanged else { return }
        if let removed = change.removed { peers[removed]?.isLoudest = false }
        peers[index]?.isLoudest = true
    }

    private func release(_ index: Int) {
        guard let peer = peers[index] else { return }
        if let key = peer.downTrack.destinationKey, byAddress[key] == index { byAddress[key] = nil }
        if byUsername[peer.config.username] == index { byUsername[peer.config.username] = nil }
        indexBySlot[peer.config.slot] = nil
        loudest[peer.room]?.remove(index)
        peers[index] = nil
        freeIndices.append(index)
    }

    /// Unbinds addresses silent at `nowNs` for longer than the binding timeout.
    package func sweep(nowNs: UInt64) {
        // Each peer changed in place: a copy of every peer per sweep cost
        // a retain and a release of each of its fields, ten thousand times.
        for index in peers.indices {
            guard let key = peers[index]?.downTrack.expire(nowNs: nowNs, after: bindingTimeoutNs) else { continue }
            if byAddress[key] == index { byAddress[key] = nil }
            counters.bindingsExpired += 1
        }
    }

    // MARK: - One datagram

    /// Decides what to do with one datagram that arrived at `nowNs`: queue
    /// copies to subscribers on `batch`, answer STUN through `reply`, or drop
    /// and count. `flush` sends the batch when it fills (the datagram's bytes
    /// stay valid meanwhile).
    @inline(__always)
    package func route(
        _ datagram: UnsafeRawBufferPointer, truncated: Bool, from source: SocketAddressKey,
        sourceAddress: () -> SocketAddress, nowNs: UInt64,
        batch: DatagramSendBatch, flush: () -> Void, reply: (UnsafeRawBufferPointer, SocketAddress) -> Void
    ) {
        counters.datagrams += 1
        guard !truncated, datagram.count <= Self.maximumDatagramBytes else { return drop(.oversized) }
        switch PacketKind.classify(datagram) {
        case .stun:
            handleSTUN(datagram, from: source, sourceAddress: sourceAddress, nowNs: nowNs, reply: reply)
        case .rtpOrRTCP:
            forward(datagram, from: source, nowNs: nowNs, batch: batch, flush: flush)
        default:
            drop(.malformed)
        }
    }

    @inline(__always)
    private func drop(_ reason: MediaDropReason) {
        counters.drops[reason.rawValue] += 1
    }

    @inline(__always)
    private func forward(
        _ datagram: UnsafeRawBufferPointer, from source: SocketAddressKey, nowNs: UInt64,
        batch: DatagramSendBatch, flush: () -> Void
    ) {
        guard let index = byAddress[source] else { return drop(.unboundSource) }
        guard datagram.count >= 8 else { return drop(.malformed) }
        let isRTCP = RTPOrRTCP.isRTCP(secondByte: datagram[1])
        let ssrc: UInt32
        var packet: RTPPacket?
        if isRTCP {
            // The sender's SSRC follows the RTCP header (RFC 3550 §6.4.1).
            ssrc = UInt32(bigEndian: datagram.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        } else {
            guard let parsed = try? RTPPacket.parse(datagram) else { return drop(.malformed) }
            packet = parsed
            ssrc = parsed.ssrc
        }
        guard let config = peers[index]?.config else { return drop(.unboundSource) }
        guard ssrc == config.ssrcs.0 || ssrc == config.ssrcs.1 else { return drop(.unknownSSRC) }
        guard config.mayPublish else { return drop(.notPermitted) }
        if let packet {
            if peers[index]?.receiver.ssrc != ssrc, ssrc == config.ssrcs.0 {
                peers[index]?.receiver.reset(ssrc: ssrc)
            }
            // The previous SSRC's last packets after a rotation are forwarded, not measured.
            if peers[index]?.receiver.ssrc == ssrc {
                switch peers[index]?.receiver.receive(packet, in: datagram, nowNs: nowNs) {
                case .accepted?: hear(index, level: peers[index]?.receiver.latestLevel, nowNs: nowNs)
                case .replay?, nil: return drop(.replay)
                case .unverifiedJump?: return drop(.sequenceJump)
                }
            }
        }
        peers[index]?.downTrack.lastHeardNs = nowNs
        peers[index]?.forwardedPackets += 1
        counters.forwardedPackets += 1
        counters.forwardedBytes += datagram.count
        guard let subscribers = peers[index]?.subscriberIndices else { return }
        send(datagram, to: subscribers, batch: batch, flush: flush)
        // RTCP follows its stream: the audience gets the sender reports of those it hears.
        if peers[index]?.isLoudest == true, let audience = peers[index]?.audienceIndices {
            send(datagram, to: audience, batch: batch, flush: flush)
        }
    }

    @inline(__always)
    private func send(_ datagram: UnsafeRawBufferPointer, to subscribers: [Int], batch: DatagramSendBatch, flush: () -> Void) {
        for subscriber in subscribers {
            guard let destination = peers[subscriber]?.downTrack.destination else { continue }
            if batch.isFull { flush() }
            batch.append(datagram, to: destination)
            counters.sentDatagrams += 1
        }
    }

    private func handleSTUN(
        _ datagram: UnsafeRawBufferPointer, from source: SocketAddressKey, sourceAddress: () -> SocketAddress,
        nowNs: UInt64, reply: (UnsafeRawBufferPointer, SocketAddress) -> Void
    ) {
        guard let message = try? STUNMessage.parse(datagram) else { return drop(.malformed) }
        if message.type == .bindingIndication {
            // A keepalive (RFC 8489 §6.3.2): refreshes a bound address, never answered.
            if let index = byAddress[source] {
                peers[index]?.downTrack.lastHeardNs = nowNs
            } else {
                drop(.unboundSource)
            }
            return
        }
        guard message.type == .bindingRequest else { return drop(.malformed) }
        guard let name = message.username(in: datagram), let username = CredentialKey(name),
            let index = byUsername[username], let config = peers[index]?.config,
            message.verifyMessageIntegrity(key: config.integrityKey, in: datagram)
        else { return drop(.unauthenticated) }
        // Authenticated from here (RFC 8489 §9.1.3): bind, then answer.
        let address = sourceAddress()
        // A new address is bound only once the peer shows it receives there:
        // it echoes the token the answer to its first request from there carried.
        var consentToAsk: STUNConsentToken?
        if peers[index]?.downTrack.destinationKey != source {
            // The key's fields one by one: the struct has padding, whose bytes are not defined.
            var fields = (UInt64(source.tag).bigEndian, source.high.bigEndian, source.low.bigEndian)
            let epoch = nowNs / STUNConsentKey.epochNs
            let (current, previous) = withUnsafeBytes(of: &fields) { address in
                (
                    consent.token(username: name, address: address, epoch: epoch),
                    consent.token(username: name, address: address, epoch: epoch &- 1)
                )
            }
            let echoed = message.consentToken(in: datagram)
            if echoed != current, echoed != previous {
                consentToAsk = current
                counters.consentAsked += 1
            }
        }
        if consentToAsk == nil, peers[index]?.downTrack.destinationKey != source {
            if let old = peers[index]?.downTrack.destinationKey, byAddress[old] == index { byAddress[old] = nil }
            if let other = byAddress[source], other != index {
                peers[other]?.downTrack.destination = nil
                peers[other]?.downTrack.destinationKey = nil
            }
            byAddress[source] = index
            peers[index]?.downTrack.destination = address
            peers[index]?.downTrack.destinationKey = source
            counters.bindings += 1
        }
        if consentToAsk == nil { peers[index]?.downTrack.lastHeardNs = nowNs }
        // An IPv4 client of a dual-stack socket is reported as the IPv4 address it sent from.
        let seen = address.unmapped
        let mapped: STUNAddress
        if let v4 = seen.ipv4 {
            mapped = .ipv4(address: v4.address, port: v4.port)
        } else if let v6 = seen.ipv6 {
            mapped = .ipv6(high: v6.high, low: v6.low, port: v6.port)
        } else {
            return
        }
        // Never more bytes out than in (the buffer is cut to the request's
        // size). FINGERPRINT is optional (RFC 8489 §14.7): it goes when the
        // answer would not fit with it, as for a minimal request over IPv6
        // (72 bytes in; 20 + 24 + 24 + 8 = 76 out with it, 68 without). With
        // a CONSENT-TOKEN (16 more) the answer may not fit at all: a client
        // pads its request (docs/PROTOCOL.md, Media).
        let room = UnsafeMutableRawBufferPointer(rebasing: answer[0..<min(answer.count, datagram.count)])
        for attempt in 0..<2 {
            do {
                var builder = try STUNMessageBuilder(type: .bindingSuccess, transactionID: message.transactionID, into: room)
                try builder.appendXORMappedAddress(mapped)
                if let consentToAsk { try builder.appendConsentToken(consentToAsk) }
                try builder.appendMessageIntegrity(key: config.integrityKey)
                if attempt == 0 { try builder.appendFingerprint() }
                reply(builder.bytes, address)
                counters.stunAnswered += 1
                return
            } catch {
                // Too small with FINGERPRINT: again without; too small without: bound, but not answered.
            }
        }
    }

    // MARK: - Reports

    /// The per-peer figures at `nowNs` since the last call, for speakers and quality.
    package func takeReports(nowNs: UInt64) -> [MediaPeerReport] {
        var reports: [MediaPeerReport] = []
        reports.reserveCapacity(peers.count)
        for index in peers.indices {
            // In place, as in `sweep`.
            if let report = peers[index]?.takeReport(nowNs: nowNs) { reports.append(report) }
        }
        return reports
    }
}

extension ForwardingPeer {
    /// What the media thread tells the room about this peer since the last
    /// report; the loudest level and the voice flag start again.
    mutating func takeReport(nowNs: UInt64) -> MediaPeerReport {
        let expected = receiver.expected
        var silentMs: Int?
        if config.mayPublish, let current = config.ssrcs.0 {
            let heardNs = receiver.ssrc == current ? receiver.lastPacketNs : 0
            let since = max(heardNs, expectingSinceNs)
            silentMs = nowNs > since ? Int((nowNs - since) / 1_000_000) : 0
        }
        let report = MediaPeerReport(
            slot: config.slot, room: room, peer: config.peer, bound: downTrack.destination != nil,
            loudest: receiver.loudest, voice: receiver.voice,
            heardRecently: receiver.lastPacketNs != 0 && nowNs >= receiver.lastPacketNs
                && nowNs - receiver.lastPacketNs < 1_000_000_000,
            packets: receiver.packets, lost: max(0, expected - receiver.received), expected: expected,
            jitterMs: receiver.jitter / 48, forwardedPackets: forwardedPackets, silentMs: silentMs)
        receiver.loudest = AudioLevel.silence
        receiver.voice = false
        return report
    }
}
