import ConfabMedia
import ConfabTestSupport
import Opus
import Testing

/// The receive side of RED (RFC 2198) in the jitter buffer: each packet is
/// inserted as MediaReceiver hands it on, the primary first and then copies
/// of the frames sent one and two packets before it.
@Suite("RED recovery in the jitter buffer")
struct REDRecoveryTests {
    static let stream: EncodedStream = try! EncodedStream(count: 80)

    /// Runs the buffer on a simulated clock; packet i (unless lost) arrives at
    /// i × 20 + 5 ms carrying copies of the `copies` frames before it.
    /// The buffer holds 60 ms, so a frame's copies (20 and 40 ms after it) come before its turn.
    func run(_ count: Int, lost: Set<Int>, copies: Int,
             buffer: JitterBuffer = JitterBuffer(configuration: .init(minimumDelayMs: 60)))
        -> (buffer: JitterBuffer, actions: [PlayoutAction], decodedSlots: [Int]) {
        var actions: [PlayoutAction] = []
        var decoded: [Int] = []
        var tick = 10.0
        var next = 0
        while tick <= Double(count * 20 + 100) {
            while next < count && Double(next * 20 + 5) <= tick {
                if !lost.contains(next) { deliver(next, copies: copies, to: buffer) }
                next += 1
            }
            let action = buffer.nextAction(wantedSamples: 960)
            actions.append(action)
            if case .decode(let slot, _) = action {
                decoded.append(slot)
                buffer.release(slot: slot)
            }
            tick += 20
        }
        // What follows the last frame is the stream's end (an under-run), not a loss.
        let lastDecode = actions.lastIndex { if case .decode = $0 { return true } else { return false } } ?? 0
        return (buffer, Array(actions[...lastDecode]), decoded)
    }

    func repairs(_ actions: [PlayoutAction]) -> Int {
        actions.filter {
            switch $0 {
            case .recoverFromFEC, .conceal: return true
            default: return false
            }
        }.count
    }

    func deliver(_ index: Int, copies: Int, to buffer: JitterBuffer) {
        let p = Self.stream.packets[index]
        let arrival = Int64((index * 20 + 5) * 48)
        p.payload.withUnsafeBytes { buffer.insert(payload: $0, sequenceNumber: p.sequence, timestamp: p.timestamp, arrivalSamples: arrival) }
        for back in stride(from: copies, through: 1, by: -1) where index - back >= 0 {
            let earlier = Self.stream.packets[index - back]
            earlier.payload.withUnsafeBytes {
                buffer.insert(payload: $0, sequenceNumber: earlier.sequence, timestamp: earlier.timestamp,
                              arrivalSamples: arrival, isRedundantCopy: true)
            }
        }
    }

    func consecutive(_ slots: [Int]) -> Bool {
        zip(slots, slots.dropFirst()).allSatisfy { $1 == ($0 + 1) % 64 }
    }

    @Test("a lost packet's frame is decoded from the next packet's copy, in its place, before FEC or concealment")
    func oneCopy() {
        // 20 and 21 in a row: one copy brings 21 back (from 22), but 20's only carrier (21) is lost too.
        let (buffer, actions, decoded) = run(60, lost: [10, 20, 21], copies: 1)
        #expect(buffer.stats.recoveredByRED == 2)
        #expect(buffer.stats.lost == 1)
        #expect(buffer.stats.received == 57)
        #expect(buffer.stats.duplicate == 0 && buffer.stats.late == 0)
        // Every frame in order and none twice; only frame 20 (slot 60) is missing.
        #expect(decoded.count == 59)
        #expect(consecutive(Array(decoded.prefix(20))) && consecutive(Array(decoded.dropFirst(20))))
        #expect(decoded[20] == (decoded[19] + 2) % 64)
        #expect(repairs(actions) == 1, "only frame 20 needs FEC or concealment: \(actions)")
    }

    @Test("two copies cover two packets lost in a row")
    func twoCopies() {
        let (buffer, actions, decoded) = run(60, lost: [10, 20, 21, 40, 41], copies: 2)
        #expect(buffer.stats.recoveredByRED == 5)
        #expect(buffer.stats.lost == 0)
        #expect(repairs(actions) == 0)
        #expect(consecutive(decoded))
        #expect(decoded.count == 60)
    }

    @Test("copies of frames that arrived are neither played again nor counted as duplicates")
    func noDoublePlay() {
        let (buffer, actions, decoded) = run(60, lost: [], copies: 2)
        #expect(buffer.stats.received == 60)
        #expect(buffer.stats.recoveredByRED == 0)
        #expect(buffer.stats.duplicate == 0)
        #expect(consecutive(decoded))
        let decodes = actions.filter { if case .decode = $0 { return true } else { return false } }
        #expect(decodes.count == 60, "each of the 60 frames once")
    }

    @Test("a packet reordered behind the packet carrying its copy counts as received, not recovered, and plays once")
    func reorderedBehindItsCopy() {
        // A target of all ten frames, so play-out starts with none dropped.
        let buffer = JitterBuffer(configuration: .init(minimumDelayMs: 200))
        // Packets 0…9, but 5 comes after 6, which carries its copy.
        for i in [0, 1, 2, 3, 4, 6, 5, 7, 8, 9] {
            let p = Self.stream.packets[i]
            p.payload.withUnsafeBytes { buffer.insert(payload: $0, sequenceNumber: p.sequence, timestamp: p.timestamp, arrivalSamples: Int64(i * 960)) }
            if i > 0 {
                let copy = Self.stream.packets[i - 1]
                copy.payload.withUnsafeBytes {
                    buffer.insert(payload: $0, sequenceNumber: copy.sequence, timestamp: copy.timestamp,
                                  arrivalSamples: Int64(i * 960), isRedundantCopy: true)
                }
            }
        }
        #expect(buffer.stats.received == 10)
        #expect(buffer.stats.recoveredByRED == 0)
        #expect(buffer.stats.duplicate == 0)
        var decodes = 0
        for _ in 0..<10 {
            if case .decode(let slot, _) = buffer.nextAction(wantedSamples: 960) {
                decodes += 1
                buffer.release(slot: slot)
            }
        }
        #expect(decodes == 10)
    }

    @Test("a copy that comes after its frame's turn is dropped quietly")
    func lateCopy() {
        let buffer = JitterBuffer()
        _ = run(30, lost: [], copies: 0, buffer: buffer)
        let before = buffer.stats
        // Frame 5 again, long after it played.
        let old = Self.stream.packets[5]
        old.payload.withUnsafeBytes {
            buffer.insert(payload: $0, sequenceNumber: old.sequence, timestamp: old.timestamp, arrivalSamples: 40 * 960,
                          isRedundantCopy: true)
        }
        #expect(buffer.stats == before, "not late, not received, not recovered")
    }

    @Test("copies alone never start a track, and copies claiming frames ahead of every packet are ignored")
    func hostileCopies() {
        let buffer = JitterBuffer()
        let p = Self.stream.packets[3]
        p.payload.withUnsafeBytes {
            buffer.insert(payload: $0, sequenceNumber: p.sequence, timestamp: p.timestamp, arrivalSamples: 0, isRedundantCopy: true)
        }
        #expect(buffer.bufferedSamples == 0)
        #expect(buffer.nextAction(wantedSamples: 960) == .silence(samples: 960))
        // A real packet, then "copies" of frames after it and a lap away.
        let first = Self.stream.packets[0]
        first.payload.withUnsafeBytes { buffer.insert(payload: $0, sequenceNumber: first.sequence, timestamp: first.timestamp, arrivalSamples: 0) }
        for sequence in [first.sequence &+ 1, first.sequence &+ 500, first.sequence &- 30_000] {
            p.payload.withUnsafeBytes {
                buffer.insert(payload: $0, sequenceNumber: sequence, timestamp: p.timestamp, arrivalSamples: 0, isRedundantCopy: true)
            }
        }
        #expect(buffer.stats.recoveredByRED == 0)
        #expect(buffer.bufferedSamples == 960, "only the real packet is held")
        // Garbage as a copy is invalid Opus, counted as such.
        [UInt8](repeating: 0xFF, count: 3).withUnsafeBytes {
            buffer.insert(payload: $0, sequenceNumber: first.sequence &+ 1, timestamp: 0, arrivalSamples: 0, isRedundantCopy: true)
        }
        #expect(buffer.stats.recoveredByRED == 0)
    }

    @Test("the loss reported to the sender still counts frames that RED brought back, so the redundancy stays on")
    func meterSeesPathLoss() {
        var meter = ReceiveLossMeter()
        var stats = JitterStats()
        stats.received = 80
        stats.lost = 4
        stats.recoveredByRED = 16
        #expect(meter.lossPercent(since: stats) == 20)
        stats.received = 170
        stats.recoveredByRED = 26
        #expect(meter.lossPercent(since: stats) == 10)
    }

    @Test("RED follows the loss with hysteresis: one copy from 5 %, two from 15 %, and none on a clean path")
    func adaptationSteps() {
        var adaptation = LossAdaptation(configured: Opus.EncoderSettings())
        adaptation.update(lossPercent: 0)
        #expect(adaptation.redundantFrames == 0)
        adaptation.update(lossPercent: 4)
        #expect(adaptation.redundantFrames == 0, "4 % is left to FEC")
        adaptation.update(lossPercent: 6)
        #expect(adaptation.redundantFrames == 1)
        adaptation.update(lossPercent: 19)
        #expect(adaptation.redundantFrames == 2)
        // Falling reports close 30 % of the gap each: 13.3, 9.3, 6.5, 4.6, 3.2, 2.2, 1.6.
        var levels: [Int] = []
        for _ in 0..<7 {
            adaptation.update(lossPercent: 0)
            levels.append(adaptation.redundantFrames)
        }
        #expect(levels == [2, 1, 1, 1, 1, 1, 0])

        var policy = LossAdaptationPolicy()
        policy.maximumRedundantFrames = 0
        var never = LossAdaptation(configured: Opus.EncoderSettings(), policy: policy)
        never.update(lossPercent: 40)
        #expect(never.redundantFrames == 0, "a policy may rule RED out")
    }
}

