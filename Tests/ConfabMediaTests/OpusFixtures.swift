import ConfabMedia
import ConfabTestSupport
import Foundation
import Opus

/// Opus packets for `count` consecutive frames, with RTP numbering starting at
/// `firstSequence` / `firstTimestamp`.
struct EncodedStream {
    struct Packet {
        var sequence: UInt16
        var timestamp: UInt32
        var payload: [UInt8]
    }
    var packets: [Packet] = []
    var pcm: [[Int16]] = []

    init(count: Int, frameSamples: Int = 960, firstSequence: UInt16 = 1000, firstTimestamp: UInt32 = 90_000,
         settings: Opus.EncoderSettings = .init()) throws {
        let encoder = try Opus.Encoder(settings: settings)
        var buffer = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
        for i in 0..<count {
            let frame = voicedFrame(i, samples: frameSamples)
            let n = try frame.withUnsafeBufferPointer { input in try buffer.withUnsafeMutableBytes { try encoder.encode(input, into: $0) } }
            packets.append(Packet(sequence: firstSequence &+ UInt16(truncatingIfNeeded: i),
                                  timestamp: firstTimestamp &+ UInt32(i * frameSamples),
                                  payload: Array(buffer[0..<n])))
            pcm.append(frame)
        }
    }
}

/// Drives a jitter buffer on a simulated clock: packets arrive at given times,
/// and the play-out side asks for a 20 ms frame every 20 ms.
struct PlayoutSimulation {
    let buffer: JitterBuffer
    var actions: [PlayoutAction] = []
    /// Which packet index each decode played, in order.
    var decodedSequences: [Int64] = []

    init(configuration: JitterBufferConfiguration = JitterBufferConfiguration()) {
        buffer = JitterBuffer(configuration: configuration)
    }

    /// `arrivalsMs[i]` is when packet `i` arrives (nil: lost). Runs until `untilMs`.
    mutating func run(_ stream: EncodedStream, arrivalsMs: [Double?], untilMs: Double, pullPhaseMs: Double = 10) {
        var order = arrivalsMs.enumerated().compactMap { i, t in t.map { (i, $0) } }
        order.sort { $0.1 < $1.1 }
        var next = 0
        var tick = pullPhaseMs
        while tick <= untilMs {
            while next < order.count && order[next].1 <= tick {
                let (i, t) = order[next]
                let p = stream.packets[i]
                p.payload.withUnsafeBytes {
                    buffer.insert(payload: $0, sequenceNumber: p.sequence, timestamp: p.timestamp, arrivalSamples: Int64(t * 48))
                }
                next += 1
            }
            // Like PlayoutTrack: a skipped frame yields no audio, so ask again.
            var action = buffer.nextAction(wantedSamples: 960)
            while case .skip(let slot, _) = action {
                buffer.release(slot: slot)
                actions.append(action)
                action = buffer.nextAction(wantedSamples: 960)
            }
            actions.append(action)
            if case .decode(let slot, _) = action {
                decodedSequences.append(Int64(slot))
                buffer.release(slot: slot)
            }
            buffer.updateDelayStats(extraSamples: 0)
            tick += 20
        }
    }

    var decodes: Int { actions.filter { if case .decode = $0 { return true } else { return false } }.count }
    var fecRecoveries: Int { actions.filter { if case .recoverFromFEC = $0 { return true } else { return false } }.count }
    var concealments: Int { actions.filter { if case .conceal = $0 { return true } else { return false } }.count }
}
