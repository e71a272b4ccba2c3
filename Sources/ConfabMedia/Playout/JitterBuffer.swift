// The adaptive jitter buffer of one remote track.
//
//   network thread ─▶ (packet ring) ─▶ insert(payload, seq, ts, arrival)
//                                        │  reorder by sequence number, drop late and duplicate;
//                                        │  a RED copy (RFC 2198) only fills a slot still empty
//                                        ▼
//   playout thread ◀─ nextAction() ◀─ slots[seq % capacity]
//        decode(slot) | recoverFromFEC(next slot) | conceal | silence (buffering)
//
// Timing follows the RTP timestamp (48 kHz clock, RFC 7587 §4.1); loss follows
// the sequence number (RFC 3550 §5.1). The target delay follows measured
// jitter: the 95th percentile of relative transit time over the last packets,
// never below `minimumDelayMs`. When the buffer runs dry it conceals and lets
// the delay grow; when it holds well above target for a while, or a frame
// more than it needs for a whole second, it drops one frame to come back down
// (NetEq's "accelerate", without time stretching).
//
// Owned by one thread (the playout thread); not thread-safe by itself.
import ConfabWire
import Opus

/// Counters of one track's jitter buffer. Durations are in milliseconds.
public struct JitterStats: Sendable, Equatable, Codable {
    /// Packets accepted into the buffer.
    public var received = 0
    /// Frames never received in time (recovered or concealed).
    public var lost = 0
    /// Lost frames rebuilt from the next packet's in-band FEC.
    public var recoveredByFEC = 0
    /// Packets that never came (or came after their turn), whose frame arrived
    /// as a redundant copy in a later packet (RED) in time to play. Counted
    /// apart from `received` and `lost`: the path lost them, the listener did
    /// not. A packet that comes after its copy but in time counts as received.
    public var recoveredByRED = 0
    /// Frames synthesised by packet-loss concealment (losses and under-runs).
    public var concealed = 0
    /// Packets that arrived after their play-out time.
    public var late = 0
    /// Packets received twice.
    public var duplicate = 0
    /// Payloads that were not valid Opus.
    public var invalid = 0
    /// Frames dropped to bring the delay back to target.
    public var droppedForDelay = 0
    /// Media buffered ahead of play-out now.
    public var currentDelayMs = 0.0
    /// Where the buffer aims to hold the delay.
    public var targetDelayMs = 0.0
    /// RFC 3550 §6.4.1 interarrival jitter estimate, now and its maximum.
    public var jitterMs = 0.0
    public var maxJitterMs = 0.0
    /// The mean of the jitter estimate over the track's life.
    public var meanJitterMs = 0.0

    public init() {}
}

/// Tuning of the jitter buffer. Defaults suit speech over a LAN or the Internet.
public struct JitterBufferConfiguration: Sendable, Equatable {
    /// The delay never aims below this [ms]; 20 ms by default.
    public var minimumDelayMs = 20
    /// Nor above this [ms].
    public var maximumDelayMs = 400
    /// Packets the buffer can hold; a power of two.
    public var capacity = 64
    /// The largest payload kept [bytes].
    public var maxPayloadBytes = 1_500
    /// Under-run concealment lasts this long before the track counts as paused [ms].
    public var maxUnderrunConcealmentMs = 100
    /// Packets in the jitter window that sets the target.
    public var windowPackets = 128

    public init(minimumDelayMs: Int = 20, maximumDelayMs: Int = 400, capacity: Int = 64) {
        self.minimumDelayMs = minimumDelayMs
        self.maximumDelayMs = maximumDelayMs
        self.capacity = capacity
    }
}

/// What the play-out side should do for the next piece of audio.
public enum PlayoutAction: Equatable, Sendable {
    /// Decode the packet in `slot` (`samples` long); the slot is released afterwards.
    case decode(slot: Int, samples: Int)
    /// Decode the packet in `slot` to keep the decoder's state, but do not play
    /// it: the buffer has held well above target and drops a frame to catch up.
    case skip(slot: Int, samples: Int)
    /// The frame was lost: rebuild `samples` from the FEC in the packet in `slot`, which stays for its own turn.
    case recoverFromFEC(slot: Int, samples: Int)
    /// Conceal `samples` (a loss with no FEC, a short under-run, or a DTX gap).
    case conceal(samples: Int)
    /// Nothing to play: not started, or paused after a long under-run.
    case silence(samples: Int)
}

public final class JitterBuffer: @unchecked Sendable {
    public let configuration: JitterBufferConfiguration
    public private(set) var stats = JitterStats()

    private struct Slot {
        var occupied = false
        var sequence: Int64 = 0
        var timestamp: Int64 = 0
        var length = 0
        var samples = 0
        var hasFEC = false
        /// The SILK VAD flag: false for packets the sender's encoder judged silent.
        var voiced = true
        /// Filled from a RED copy while the packet itself has not come.
        var fromCopy = false
    }

    private let mask: Int
    private let slots: UnsafeMutableBufferPointer<Slot>
    private let payloads: UnsafeMutableRawBufferPointer
    private let transitWindow: UnsafeMutableBufferPointer<Int64>
    private let sortScratch: UnsafeMutableBufferPointer<Int64>
    private var transitCount = 0
    private var transitNext = 0
    private var packetsSinceTarget = 0

    private var sequences = SequenceUnwrapper()
    private var timestamps = TimestampUnwrapper()
    private var hasFirstPacket = false
    private var playing = false
    /// The next sequence number to play, and the media time [samples] of the next sample to play.
    private var nextSequence: Int64 = 0
    private var playoutTimestamp: Int64 = 0
    /// The newest packet held: its sequence number and end time [samples].
    private var newestSequence: Int64 = -1
    private var newestEnd: Int64 = 0
    private var lastFrameSamples = 960
    private var underrunSamples = 0
    private var aboveTargetFrames = 0
    /// The least the buffer held beyond its target over the last `surplusFrames` frames [samples].
    private var leastSurplus = Int.max
    private var surplusFrames = 0
    private var targetSamples: Int
    // RFC 3550 §6.4.1 jitter estimate, kept in samples ×16 as the RFC's integer form does.
    private var lastTransit: Int64 = 0
    private var jitterScaled: Int64 = 0

    public init(configuration: JitterBufferConfiguration = JitterBufferConfiguration()) {
        var capacity = 8
        while capacity < configuration.capacity { capacity <<= 1 }
        self.configuration = configuration
        mask = capacity - 1
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot())
        payloads = .allocate(byteCount: capacity * configuration.maxPayloadBytes, alignment: 16)
        transitWindow = .allocate(capacity: max(8, configuration.windowPackets))
        transitWindow.initialize(repeating: 0)
        sortScratch = .allocate(capacity: max(8, configuration.windowPackets))
        sortScratch.initialize(repeating: 0)
        targetSamples = configuration.minimumDelayMs * 48
        stats.targetDelayMs = Double(configuration.minimumDelayMs)
    }

    deinit {
        slots.deallocate()
        payloads.deallocate()
        transitWindow.deallocate()
        sortScratch.deallocate()
    }

    /// The payload bytes held in `slot`.
    @inline(__always)
    public func payload(slot: Int) -> UnsafeRawBufferPointer {
        let start = slot * configuration.maxPayloadBytes
        return UnsafeRawBufferPointer(rebasing: payloads[start..<(start + slots[slot].length)])
    }

    /// Media buffered ahead of the play-out point [samples at 48 kHz].
    public var bufferedSamples: Int {
        guard hasFirstPacket, newestSequence >= nextSequence else { return 0 }
        return Int(max(0, newestEnd - playoutTimestamp))
    }

    /// Whether the track is playing (started and not paused after a long silence).
    public var isPlaying: Bool { playing }

    /// The delay the buffer aims for [samples at 48 kHz].
    public var targetDelaySamples: Int { targetSamples }

    /// Takes one Opus RTP payload. `arrivalSamples` is the local arrival time in
    /// 48 kHz ticks (any epoch, monotonic). Late, duplicate and malformed
    /// packets are counted and dropped. A redundant copy (`isRedundantCopy`,
    /// from a RED packet) is kept only when its frame is still to play and
    /// missing; otherwise it is dropped without a count, since its packet
    /// arrived or its time has passed.
    public func insert(payload: UnsafeRawBufferPointer, sequenceNumber: UInt16, timestamp: UInt32, arrivalSamples: Int64,
                       isRedundantCopy: Bool = false) {
        guard let source = payload.baseAddress, payload.count > 0, payload.count <= configuration.maxPayloadBytes,
              let samples = try? Opus.sampleCount(of: payload), samples > 0, samples <= Opus.maxFrameSamples else {
            stats.invalid += 1
            return
        }
        if isRedundantCopy {
            insertRedundantCopy(payload, source: source, samples: samples, sequenceNumber: sequenceNumber, timestamp: timestamp)
            return
        }
        let sequence = sequences.unwrap(sequenceNumber)
        let ts = timestamps.unwrap(timestamp)

        if !hasFirstPacket {
            hasFirstPacket = true
            nextSequence = sequence
            playoutTimestamp = ts
        } else if sequence < nextSequence {
            if !playing && nextSequence - sequence <= Int64(mask) && sequence > newestSequence - Int64(mask) {
                // Reordered before play-out began: start earlier.
                nextSequence = sequence
                playoutTimestamp = ts
            } else {
                stats.late += 1
                return
            }
        } else if sequence - nextSequence > Int64(mask) {
            // Far ahead of play-out (a long pause or a sender restart): start over from here.
            reset(toSequence: sequence, timestamp: ts)
        }

        let slot = Int(sequence & Int64(mask))
        if slots[slot].occupied {
            if slots[slot].sequence == sequence {
                if slots[slot].fromCopy {
                    // Reordered behind a later packet that carried its copy: the
                    // path did not lose it after all. The copy is the same frame.
                    slots[slot].fromCopy = false
                    stats.recoveredByRED -= 1
                    stats.received += 1
                    observeTransit(arrivalSamples: arrivalSamples, timestamp: ts)
                } else {
                    stats.duplicate += 1
                }
                return
            }
            // A stale packet from a full lap ago: this one is newer.
        }
        let start = slot * configuration.maxPayloadBytes
        UnsafeMutableRawBufferPointer(rebasing: payloads[start..<(start + payload.count)]).copyMemory(from: UnsafeRawBufferPointer(start: source, count: payload.count))
        slots[slot] = Slot(occupied: true, sequence: sequence, timestamp: ts, length: payload.count,
                           samples: samples, hasFEC: Opus.hasFEC(payload), voiced: Self.isVoiced(payload))
        stats.received += 1
        if sequence > newestSequence {
            newestSequence = sequence
            newestEnd = ts + Int64(samples)
        }
        observeTransit(arrivalSamples: arrivalSamples, timestamp: ts)
    }

    /// A frame from a RED packet, sent first as `sequenceNumber`: it fills
    /// that slot if the packet is still awaited there. It never starts the
    /// buffer, moves the newest packet, or feeds the jitter estimate (it
    /// rides on a later packet, so its transit says nothing about the path).
    private func insertRedundantCopy(_ payload: UnsafeRawBufferPointer, source: UnsafeRawPointer, samples: Int,
                                     sequenceNumber: UInt16, timestamp: UInt32) {
        guard hasFirstPacket else { return }
        // On copies of the unwrappers, so a hostile copy cannot move them.
        var sequenceScratch = sequences, timestampScratch = timestamps
        let sequence = sequenceScratch.unwrap(sequenceNumber)
        guard sequence >= nextSequence, sequence < newestSequence, newestSequence - sequence <= Int64(mask) else { return }
        let slot = Int(sequence & Int64(mask))
        if slots[slot].occupied && slots[slot].sequence == sequence { return }
        let ts = timestampScratch.unwrap(timestamp)
        let start = slot * configuration.maxPayloadBytes
        UnsafeMutableRawBufferPointer(rebasing: payloads[start..<(start + payload.count)]).copyMemory(from: UnsafeRawBufferPointer(start: source, count: payload.count))
        slots[slot] = Slot(occupied: true, sequence: sequence, timestamp: ts, length: payload.count,
                           samples: samples, hasFEC: Opus.hasFEC(payload), voiced: Self.isVoiced(payload), fromCopy: true)
        stats.recoveredByRED += 1
    }

    /// Decides what to play for the next `wantedSamples` (the mixer frame).
    public func nextAction(wantedSamples: Int) -> PlayoutAction {
        guard hasFirstPacket else { return .silence(samples: wantedSamples) }
        if !playing {
            // Pre-buffer up to the target before starting (or restarting after a pause).
            guard var first = lowestHeldSlot(), bufferedFrom(first) >= targetSamples else {
                return .silence(samples: wantedSamples)
            }
            // After a stall, a backlog may have piled up: start no more than
            // one frame above target rather than replaying stale audio.
            while bufferedFrom(first) > targetSamples + slots[first].samples {
                let stale = slots[first].sequence
                slots[first].occupied = false
                stats.droppedForDelay += 1
                guard let next = lowestHeldSlot(), slots[next].sequence > stale else { break }
                first = next
            }
            nextSequence = slots[first].sequence
            playoutTimestamp = slots[first].timestamp
            playing = true
            underrunSamples = 0
            aboveTargetFrames = 0
            resetSurplus()
        }

        let slot = Int(nextSequence & Int64(mask))
        if slots[slot].occupied && slots[slot].sequence == nextSequence {
            let packet = slots[slot]
            let gap = packet.timestamp - playoutTimestamp
            if gap > 0 && gap < 48_000 {
                // A timestamp jump with no sequence gap: the sender paused (DTX). Let
                // the decoder fill it as comfort noise; this is not a loss.
                // Opus conceals in multiples of 2.5 ms (120 samples).
                let fill = max(120, Int(min(gap, Int64(wantedSamples))) / 120 * 120)
                playoutTimestamp += Int64(fill)
                return .conceal(samples: fill)
            }
            underrunSamples = 0
            nextSequence += 1
            playoutTimestamp = packet.timestamp + Int64(packet.samples)
            lastFrameSamples = packet.samples
            if shouldDropForDelay(voiced: packet.voiced) {
                stats.droppedForDelay += 1
                return .skip(slot: slot, samples: packet.samples)
            }
            return .decode(slot: slot, samples: packet.samples)
        }

        if newestSequence > nextSequence {
            // Something newer is here, so this frame is lost (RFC 3550 §6.4.1 counts it).
            stats.lost += 1
            nextSequence += 1
            let samples = lastFrameSamples
            playoutTimestamp += Int64(samples)
            let following = Int(nextSequence & Int64(mask))
            if slots[following].occupied && slots[following].sequence == nextSequence && slots[following].hasFEC {
                stats.recoveredByFEC += 1
                return .recoverFromFEC(slot: following, samples: samples)
            }
            stats.concealed += 1
            return .conceal(samples: samples)
        }

        // Nothing newer: an under-run. Conceal briefly (the delay grows by what
        // we conceal, which is how the buffer adapts upward), then pause.
        underrunSamples += wantedSamples
        if underrunSamples <= configuration.maxUnderrunConcealmentMs * 48 {
            stats.concealed += 1
            if underrunSamples == wantedSamples { raiseTargetAfterUnderrun() }
            playoutTimestamp += Int64(wantedSamples)
            return .conceal(samples: wantedSamples)
        }
        playing = false
        return .silence(samples: wantedSamples)
    }

    /// Frees the slot after the play-out side has used it.
    public func release(slot: Int) {
        slots[slot].occupied = false
    }

    /// Publishes the current delay into `stats` (call once per mixer frame).
    public func updateDelayStats(extraSamples: Int) {
        stats.currentDelayMs = Double(bufferedSamples + extraSamples) / 48
        stats.targetDelayMs = Double(targetSamples) / 48
        stats.jitterMs = Double(jitterScaled >> 4) / 48
        stats.maxJitterMs = max(stats.maxJitterMs, stats.jitterMs)
    }

    // MARK: - Internals

    private func reset(toSequence sequence: Int64, timestamp: Int64) {
        for i in slots.indices { slots[i].occupied = false }
        nextSequence = sequence
        playoutTimestamp = timestamp
        newestSequence = sequence - 1
        playing = false
    }

    private func lowestHeldSlot() -> Int? {
        var best: Int? = nil
        var bestSequence = Int64.max
        for i in slots.indices where slots[i].occupied && slots[i].sequence >= nextSequence && slots[i].sequence < bestSequence {
            bestSequence = slots[i].sequence
            best = i
        }
        return best
    }

    private func bufferedFrom(_ slot: Int) -> Int { Int(newestEnd - slots[slot].timestamp) }

    /// Whether to drop the frame about to play to bring the delay back down.
    private func shouldDropForDelay(voiced: Bool) -> Bool {
        let excess = bufferedSamples - targetSamples
        if shouldCatchUpFast(excess: excess, voiced: voiced) || shouldShedSurplus(excess: excess, voiced: voiced) {
            aboveTargetFrames = 0
            resetSurplus()
            return true
        }
        return false
    }

    /// Drops a frame once the buffer has held two frames above target for
    /// 200 ms, preferring frames the sender's VAD marked silent; far above
    /// target (four frames) it drops voiced frames too, every 60 ms.
    private func shouldCatchUpFast(excess: Int, voiced: Bool) -> Bool {
        if excess > 2 * lastFrameSamples {
            aboveTargetFrames += 1
        } else {
            aboveTargetFrames = 0
        }
        // Far above target, catch up faster: a frame every 60 ms rather than 200 ms.
        let farAbove = excess > 4 * lastFrameSamples
        guard aboveTargetFrames * lastFrameSamples >= (farAbove ? 2_880 : 9_600) else { return false }
        return !voiced || farAbove
    }

    /// The smaller surplus the fast path leaves: a frame the buffer never
    /// needed. When through a whole second it always held at least one frame
    /// more than the target asks for, dropping one cannot run it dry unless
    /// the network changes (a single under-run would otherwise keep its 20 ms
    /// for the rest of the call). A frame the sender marked silent goes
    /// first; a voiced one only once the surplus has lasted two seconds.
    private func shouldShedSurplus(excess: Int, voiced: Bool) -> Bool {
        // After taking its frame, a buffer right on target holds target − one frame.
        leastSurplus = min(leastSurplus, excess + lastFrameSamples)
        surplusFrames += 1
        let heldSamples = surplusFrames * lastFrameSamples
        guard heldSamples >= 48_000 else { return false }
        guard leastSurplus >= lastFrameSamples else {
            resetSurplus()
            return false
        }
        return !voiced || heldSamples >= 96_000
    }

    private func resetSurplus() {
        leastSurplus = Int.max
        surplusFrames = 0
    }

    /// The SILK VAD flag (RFC 6716 §4.2.3): the first bit of the first frame.
    /// CELT-only packets have none, so they count as voiced.
    private static func isVoiced(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard payload.count >= 2, payload[0] >> 3 < 16, payload[0] & 0x3 < 2 else { return true }
        return payload[1] & 0x80 != 0
    }

    /// The buffer ran dry: aim one frame higher (the jitter window will keep it there if it was no fluke).
    private func raiseTargetAfterUnderrun() {
        targetSamples = min(configuration.maximumDelayMs * 48, targetSamples + lastFrameSamples)
    }

    private func observeTransit(arrivalSamples: Int64, timestamp: Int64) {
        let transit = arrivalSamples - timestamp
        // RFC 3550 §6.4.1 / A.8: J += (|D| - J) / 16.
        if stats.received > 1 {
            let d = abs(transit - lastTransit)
            jitterScaled += d - ((jitterScaled + 8) >> 4)
        }
        lastTransit = transit

        transitWindow[transitNext] = transit
        transitNext = (transitNext + 1) % transitWindow.count
        transitCount = min(transitCount + 1, transitWindow.count)
        packetsSinceTarget += 1
        if packetsSinceTarget >= 16 || transitCount < 16 {
            packetsSinceTarget = 0
            recomputeTarget()
        }
    }

    /// Target = 95th percentile of relative transit over the window (how late a
    /// packet can be relative to the quickest one), plus one frame, clamped.
    private func recomputeTarget() {
        let n = transitCount
        guard n >= 2 else { return }
        for i in 0..<n { sortScratch[i] = transitWindow[i] }
        // Insertion sort: n ≤ 128, runs every 16 packets, allocates nothing.
        for i in 1..<n {
            let v = sortScratch[i]
            var j = i - 1
            while j >= 0 && sortScratch[j] > v {
                sortScratch[j + 1] = sortScratch[j]
                j -= 1
            }
            sortScratch[j + 1] = v
        }
        let spread = sortScratch[min(n - 1, n * 95 / 100)] - sortScratch[0]
        let wanted = Int(spread) + lastFrameSamples
        let floor = configuration.minimumDelayMs * 48
        let cap = configuration.maximumDelayMs * 48
        let computed = min(cap, max(floor, wanted))
        // Rise at once; fall gradually (a quarter of the gap, at least 5 ms, per
        // 16 packets) so one calm second does not undo a learnt jitter.
        if computed >= targetSamples {
            targetSamples = computed
        } else {
            targetSamples = max(computed, targetSamples - max(240, (targetSamples - computed) / 4))
        }
    }
}
