// The receive side of a published track: what the forwarder learns from
// each accepted RTP packet of a peer's microphone, before copies go out.
//
//   RTP packet (SSRC matched) ─▶ sequence number: in order, replay window, or a jump
//     (RFC 3550 Appendix A.1) ─▶ accepted ─▶ level (RFC 6464), packets, bytes
//                                          ─▶ loss (A.3), jitter (§6.4.1)
//
// Everything is a value in the forwarder's table on the media thread: no
// lock, no heap, and the arrival time comes in with the packet.

import ConfabWire

/// What the sequence check makes of one RTP packet.
enum SequenceVerdict: Equatable {
    case accepted
    /// Already forwarded, or older than the replay window.
    case replay
    /// Far from the stream; believed only if the next packet follows it (RFC 3550 Appendix A.1).
    case unverifiedJump
}

/// The receive side of one published track (one SSRC): sequence validation,
/// replay window, loss and jitter from sequence numbers and arrival times
/// (RFC 3550 §6.4.1, Appendix A.1, A.3 and A.8) and the loudest RFC 6464
/// level, kept with no heap. Arrival times are given, never read here.
///
/// The server cannot authenticate SRTP, so anyone who can send from a bound
/// address (spoofing it on the path) can send packets with an announced SSRC.
/// Such a packet may move the state only a little: a jump of `maxDropout`
/// or more (or a packet more than `maxMisorder` behind) is believed only
/// when the next packet follows it in sequence, as Appendix A.1's
/// `update_seq` does. One forged packet far ahead cannot make the genuine
/// stream look like replays.
struct TrackReceiver {
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
    /// The level of the last packet accepted; nil when it carried none.
    var latestLevel: UInt8?
    var lastPacketNs: UInt64 = 0
    var packets: Int64 = 0
    var bytes: Int64 = 0

    mutating func reset(ssrc: UInt32) {
        self = TrackReceiver()
        self.ssrc = ssrc
    }

    /// Takes one RTP packet of this track that arrived at `nowNs`: checks its
    /// sequence number and, when accepted, records its level and size.
    mutating func receive(_ packet: RTPPacket, in datagram: UnsafeRawBufferPointer, nowNs: UInt64) -> SequenceVerdict {
        let verdict = accept(sequence: packet.sequenceNumber, timestamp: packet.timestamp, arrivalNs: nowNs)
        guard verdict == .accepted else { return verdict }
        let level = packet.audioLevel(in: datagram)
        latestLevel = level?.level
        if let level {
            if level.level < loudest { loudest = level.level }
            if level.voiceActivity { voice = true }
        }
        lastPacketNs = nowNs
        packets += 1
        bytes += Int64(datagram.count)
        return .accepted
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
