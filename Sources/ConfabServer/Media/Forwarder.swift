// The SFU's forwarding decision, one datagram at a time, on the media thread.
//
//   datagram ─▶ size ─▶ first byte (RFC 7983 §7)
//     STUN ─▶ binding request? ─▶ USERNAME ─▶ peer credentials ─▶ MESSAGE-INTEGRITY
//          ─▶ bind source address to the peer ─▶ success (XOR-MAPPED-ADDRESS) to the source
//     RTP/RTCP ─▶ source bound? ─▶ header parses? ─▶ SSRC announced by that peer?
//          ─▶ may publish and not muted? ─▶ sequence plausible (RFC 3550 A.1), not a replay? ─▶ level (RFC 6464) + loss/jitter
//          ─▶ one copy of the untouched bytes per bound subscriber (sendmmsg batch)
//     anything else ─▶ dropped, counted by reason
//
// Everything here is owned by the media thread: the tables are plain
// dictionaries and arrays, changed only between batches by `apply(_:)` with
// what the room actors posted. Per datagram there is no lock, no await and no
// heap allocation (dictionary lookups with fixed-size keys, arrays read in
// place); `confab bench sfu` counts it. The server holds no media key: it
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
struct CredentialKey: Hashable, Sendable, BitwiseCopyable {
    let high: UInt64
    let low: UInt64

    static let length = 16

    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.length else { return nil }
        high = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        low = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
    }

    init?(_ text: String) {
        var copy = text
        guard let key = copy.withUTF8({ CredentialKey(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = key
    }
}

/// One peer of one room as the forwarder needs it; posted by the room.
struct MediaPeerConfig: Sendable {
    var slot: Int
    var peer: PeerID
    var username: CredentialKey
    var integrityKey: STUNIntegrityKey
    /// The SSRCs the peer announced: the current one and the one before a
    /// rotation (its last packets may still be in flight).
    var ssrcs: (UInt32?, UInt32?)
    /// The role may publish audio and the microphone is not muted.
    var mayPublish: Bool
    /// Slots of the peers whose role hears this peer's role.
    var subscribers: [Int]
}

/// What room actors ask of the media thread.
enum ForwarderCommand: Sendable {
    /// The whole media state of room `room`: peers not listed are gone.
    case room(Int, [MediaPeerConfig])
    /// The room is gone.
    case removeRoom(Int)
}

/// What the sequence check makes of one RTP packet.
enum SequenceVerdict: Equatable {
    case accepted
    /// Already forwarded, or older than the replay window.
    case replay
    /// Far from the stream; believed only if the next packet follows it (RFC 3550 Appendix A.1).
    case unverifiedJump
}

/// Per-publisher receive statistics from sequence numbers and arrival times
/// (RFC 3550 §6.4.1, Appendix A.1, A.3 and A.8), kept with no heap.
///
/// The server cannot authenticate SRTP, so anyone who can send from a bound
/// address (spoofing it on the path) can send packets with an announced SSRC.
/// Such a packet may move the state only a little: a jump of `maxDropout`
/// or more (or a packet more than `maxMisorder` behind) is believed only
/// when the next packet follows it in sequence, as Appendix A.1's
/// `update_seq` does. One forged packet far ahead cannot make the genuine
/// stream look like replays.
struct StreamStatistics {
    /// RFC 3550 Appendix A.1's MAX_DROPOUT and MAX_MISORDER [packets].
    static let maxDropout: UInt16 = 3_000
    static let maxMisorder: UInt16 = 100
    /// No jump pending (A.1's RTP_SEQ_MOD + 1).
    static let noBadSequence: UInt32 = 0x1_0001

    /// The highest sequence number accepted, and the wraps before it (A.1's `cycles`, ×65536).
    var maxSequence: UInt16 = 0
    var cycles: Int64 = 0
    var started = false
    /// The sequence number that would confirm a pending jump (A.1's `bad_seq`).
    var badSequence: UInt32 = noBadSequence
    var firstSequence: Int64 = 0
    var received: Int64 = 0
    /// Interarrival jitter in RTP timestamp units (48 kHz for Opus), RFC 3550 §6.4.1.
    var jitter: Double = 0
    var lastTransit: Int64?
    /// Replay window: a bitmap of the 64 sequence numbers up to `maxSequence` (bit 0).
    var replayBitmap: UInt64 = 0
    var ssrc: UInt32?
    /// The loudest level (lowest -dBov) since the last report, and whether voice was flagged.
    var loudest: UInt8 = AudioLevel.silence
    var voice = false
    var lastPacketNs: UInt64 = 0
    var packets: Int64 = 0
    var bytes: Int64 = 0

    mutating func reset(ssrc: UInt32) {
        self = StreamStatistics()
        self.ssrc = ssrc
    }

    /// The highest extended sequence number accepted (RFC 3550 Appendix A.3).
    var highestExtended: Int64 { cycles + Int64(maxSequence) }

    /// A.1's `init_seq`: the stream (re)starts at `sequence`.
    private mutating func restart(at sequence: UInt16) {
        started = true
        maxSequence = sequence
        cycles = 0
        badSequence = Self.noBadSequence
        firstSequence = Int64(sequence)
        received = 0
        replayBitmap = 1
        lastTransit = nil
    }

    /// Checks the sequence number (RFC 3550 Appendix A.1) and the replay
    /// window (64 packets, as SRTP's default, RFC 3711 §3.3.2), and records
    /// the packet when it is accepted.
    mutating func accept(sequence: UInt16, timestamp: UInt32, arrivalNs: UInt64) -> SequenceVerdict {
        if !started {
            restart(at: sequence)
        } else {
            let delta = sequence &- maxSequence
            if delta == 0 {
                return .replay
            } else if delta < Self.maxDropout {
                // In order, with a permissible gap.
                if sequence < maxSequence { cycles += 0x1_0000 }
                replayBitmap = delta >= 64 ? 1 : (replayBitmap << UInt64(delta)) | 1
                maxSequence = sequence
            } else if delta <= UInt16.max - Self.maxMisorder + 1 {
                // A very large jump: believe it only if the next packet follows it
                // (the sender restarted), else it is a stray or forged packet.
                guard UInt32(sequence) == badSequence else {
                    badSequence = UInt32(sequence &+ 1)
                    return .unverifiedJump
                }
                restart(at: sequence)
            } else {
                // A duplicate or a packet up to maxMisorder behind: the replay window decides.
                let age = maxSequence &- sequence
                guard age < 64 else { return .replay }
                let bit = UInt64(1) << UInt64(age)
                guard replayBitmap & bit == 0 else { return .replay }
                replayBitmap |= bit
            }
        }
        received += 1
        // RFC 3550 §6.4.1: J += (|D| - J) / 16, with transit in timestamp units.
        let arrival = Int64(arrivalNs / 1_000) * 48 / 1_000  // 48 kHz ticks
        let transit = arrival - Int64(timestamp)
        if let lastTransit {
            let d = Double(abs(transit - lastTransit))
            jitter += (d - jitter) / 16
        }
        lastTransit = transit
        return .accepted
    }

    /// Packets expected from the first to the highest sequence (RFC 3550 Appendix A.3).
    var expected: Int64 {
        guard started else { return 0 }
        return highestExtended - firstSequence + 1
    }
}

/// The forwarder's per-peer state.
struct PeerSlot {
    var config: MediaPeerConfig
    var room: Int
    /// Indices into `slots` of the subscribers, resolved when the room is applied.
    var subscriberIndices: [Int] = []
    var bound: SocketAddress?
    var boundKey: SocketAddressKey?
    var lastHeardNs: UInt64 = 0
    var statistics = StreamStatistics()
    var forwardedPackets: Int64 = 0
    /// Since when the peer is expected to send: it may publish and its current SSRC is announced.
    var expectingSinceNs: UInt64 = 0
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
    public var drops: [Int] = Array(repeating: 0, count: MediaDropReason.allCases.count)

    public func dropped(_ reason: MediaDropReason) -> Int { drops[reason.rawValue] }
    public var totalDropped: Int { drops.reduce(0, +) }
}

/// The decision and the state, confined to the media thread.
final class Forwarder {
    /// The largest datagram forwarded: an Ethernet MTU's worth of UDP payload.
    static let maximumDatagramBytes = 1_472

    private(set) var slots: [PeerSlot?] = []
    private var freeSlots: [Int] = []
    private var slotIndexByID: [Int: Int] = [:]
    private var byAddress: [SocketAddressKey: Int] = [:]
    private var byUsername: [CredentialKey: Int] = [:]
    private var roomSlots: [Int: [Int]] = [:]
    var counters = ForwarderCounters()
    let bindingTimeoutNs: UInt64
    /// Scratch for STUN answers.
    private let answer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 8)

    init(bindingTimeoutMs: Int) {
        bindingTimeoutNs = UInt64(max(1, bindingTimeoutMs)) * 1_000_000
        counters.drops.reserveCapacity(MediaDropReason.allCases.count)
    }

    deinit { answer.deallocate() }

    /// No room has a peer: no binding, nothing to forward, expire or report.
    var isIdle: Bool { slotIndexByID.isEmpty }

    // MARK: - Changes from the rooms

    func apply(_ command: ForwarderCommand) {
        switch command {
        case .room(let room, let peers):
            let keep = Set(peers.map(\.slot))
            for index in roomSlots[room] ?? [] {
                if let slot = slots[index], !keep.contains(slot.config.slot) { release(index) }
            }
            var indices: [Int] = []
            for peer in peers {
                let index: Int
                if let existing = slotIndexByID[peer.slot] {
                    index = existing
                    if let old = slots[index]?.config.username, old != peer.username { byUsername[old] = nil }
                    if let old = slots[index]?.config, old.mayPublish != peer.mayPublish || old.ssrcs.0 != peer.ssrcs.0 {
                        slots[index]?.expectingSinceNs = MonotonicClock.nanoseconds()
                    }
                    slots[index]?.config = peer
                } else {
                    index = freeSlots.popLast() ?? { slots.append(nil); return slots.count - 1 }()
                    slots[index] = PeerSlot(config: peer, room: room, expectingSinceNs: MonotonicClock.nanoseconds())
                    slotIndexByID[peer.slot] = index
                }
                byUsername[peer.username] = index
                indices.append(index)
            }
            for index in indices {
                guard let subscribers = slots[index]?.config.subscribers else { continue }
                slots[index]?.subscriberIndices = subscribers.compactMap { slotIndexByID[$0] }
            }
            roomSlots[room] = indices
        case .removeRoom(let room):
            for index in roomSlots.removeValue(forKey: room) ?? [] { release(index) }
        }
    }

    private func release(_ index: Int) {
        guard let slot = slots[index] else { return }
        if let key = slot.boundKey, byAddress[key] == index { byAddress[key] = nil }
        if byUsername[slot.config.username] == index { byUsername[slot.config.username] = nil }
        slotIndexByID[slot.config.slot] = nil
        slots[index] = nil
        freeSlots.append(index)
    }

    /// Unbinds addresses silent for longer than the binding timeout.
    func expireBindings(nowNs: UInt64) {
        for index in slots.indices {
            guard let slot = slots[index], let key = slot.boundKey,
                nowNs > slot.lastHeardNs && nowNs - slot.lastHeardNs > bindingTimeoutNs
            else { continue }
            if byAddress[key] == index { byAddress[key] = nil }
            slots[index]?.bound = nil
            slots[index]?.boundKey = nil
            counters.bindingsExpired += 1
        }
    }

    // MARK: - One datagram

    /// Decides what to do with one datagram: queue copies to subscribers on
    /// `batch`, answer STUN through `reply`, or drop and count. `flush` sends
    /// the batch when it fills (the datagram's bytes stay valid meanwhile).
    @inline(__always)
    func process(
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
        guard let config = slots[index]?.config else { return drop(.unboundSource) }
        guard ssrc == config.ssrcs.0 || ssrc == config.ssrcs.1 else { return drop(.unknownSSRC) }
        guard config.mayPublish else { return drop(.notPermitted) }
        if let packet {
            if slots[index]?.statistics.ssrc != ssrc, ssrc == config.ssrcs.0 {
                slots[index]?.statistics.reset(ssrc: ssrc)
            }
            if slots[index]?.statistics.ssrc == ssrc {
                switch slots[index]?.statistics.accept(
                    sequence: packet.sequenceNumber, timestamp: packet.timestamp, arrivalNs: nowNs) {
                case .accepted?: break
                case .replay?, nil: return drop(.replay)
                case .unverifiedJump?: return drop(.sequenceJump)
                }
                if let level = packet.audioLevel(in: datagram) {
                    if level.level < slots[index]?.statistics.loudest ?? AudioLevel.silence {
                        slots[index]?.statistics.loudest = level.level
                    }
                    if level.voiceActivity { slots[index]?.statistics.voice = true }
                }
                slots[index]?.statistics.lastPacketNs = nowNs
                slots[index]?.statistics.packets += 1
                slots[index]?.statistics.bytes += Int64(datagram.count)
            }
        }
        slots[index]?.lastHeardNs = nowNs
        slots[index]?.forwardedPackets += 1
        counters.forwardedPackets += 1
        counters.forwardedBytes += datagram.count
        guard let subscribers = slots[index]?.subscriberIndices else { return }
        for subscriber in subscribers {
            guard let destination = slots[subscriber]?.bound else { continue }
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
                slots[index]?.lastHeardNs = nowNs
            } else {
                drop(.unboundSource)
            }
            return
        }
        guard message.type == .bindingRequest else { return drop(.malformed) }
        guard let name = message.username(in: datagram), let username = CredentialKey(name),
            let index = byUsername[username], let config = slots[index]?.config,
            message.verifyMessageIntegrity(key: config.integrityKey, in: datagram)
        else { return drop(.unauthenticated) }
        // Authenticated from here (RFC 8489 §9.1.3): bind, then answer.
        let address = sourceAddress()
        if slots[index]?.boundKey != source {
            if let old = slots[index]?.boundKey, byAddress[old] == index { byAddress[old] = nil }
            if let other = byAddress[source], other != index {
                slots[other]?.bound = nil
                slots[other]?.boundKey = nil
            }
            byAddress[source] = index
            slots[index]?.bound = address
            slots[index]?.boundKey = source
            counters.bindings += 1
        }
        slots[index]?.lastHeardNs = nowNs
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
        // (72 bytes in; 20 + 24 + 24 + 8 = 76 out with it, 68 without).
        let room = UnsafeMutableRawBufferPointer(rebasing: answer[0..<min(answer.count, datagram.count)])
        for attempt in 0..<2 {
            do {
                var builder = try STUNMessageBuilder(type: .bindingSuccess, transactionID: message.transactionID, into: room)
                try builder.appendXORMappedAddress(mapped)
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

    /// The per-peer figures since the last call, for speakers and quality.
    func takeReports(nowNs: UInt64) -> [MediaPeerReport] {
        var reports: [MediaPeerReport] = []
        for index in slots.indices {
            guard let slot = slots[index] else { continue }
            let statistics = slot.statistics
            let expected = statistics.expected
            let lost = max(0, expected - statistics.received)
            var silentMs: Int?
            if slot.config.mayPublish, let current = slot.config.ssrcs.0 {
                let heardNs = statistics.ssrc == current ? statistics.lastPacketNs : 0
                let since = max(heardNs, slot.expectingSinceNs)
                silentMs = nowNs > since ? Int((nowNs - since) / 1_000_000) : 0
            }
            reports.append(
                MediaPeerReport(
                    slot: slot.config.slot, room: slot.room, peer: slot.config.peer, bound: slot.bound != nil,
                    loudest: statistics.loudest, voice: statistics.voice,
                    heardRecently: statistics.lastPacketNs != 0 && nowNs - statistics.lastPacketNs < 1_000_000_000,
                    packets: statistics.packets, lost: lost, expected: expected,
                    jitterMs: statistics.jitter / 48, forwardedPackets: slot.forwardedPackets, silentMs: silentMs))
            slots[index]?.statistics.loudest = AudioLevel.silence
            slots[index]?.statistics.voice = false
        }
        return reports
    }
}

/// What the media thread reports about one peer.
public struct MediaPeerReport: Sendable, Hashable {
    public var slot: Int
    public var room: Int
    public var peer: PeerID
    /// Whether a UDP address is bound to the peer.
    public var bound: Bool
    /// The loudest RFC 6464 level since the previous report (0 loudest … 127 silence).
    public var loudest: UInt8
    /// Whether any packet since the previous report carried the voice-activity bit.
    public var voice: Bool
    /// A packet arrived in the last second.
    public var heardRecently: Bool
    public var packets: Int64
    public var lost: Int64
    public var expected: Int64
    /// Interarrival jitter (RFC 3550 §6.4.1) [ms].
    public var jitterMs: Double
    public var forwardedPackets: Int64
    /// How long the peer has sent nothing on its current SSRC while it may
    /// publish [ms]; nil when it is not expected to send (muted, a role that
    /// does not publish, no SSRC announced).
    public var silentMs: Int?

    /// The level on the 0…100 scale clients use: linear in dB from −60 dBov
    /// (0) to 0 dBov (100), like ConfabMedia's `LevelMeter.uiLevel`.
    public var level: Int {
        let attenuation = Int(loudest)
        return max(0, min(100, ((60 - attenuation) * 100 + 30) / 60))
    }
}
