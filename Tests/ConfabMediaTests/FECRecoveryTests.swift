import ConfabMedia
import ConfabTestSupport
import Testing

/// Drives a real PlayoutTrack (jitter buffer + Opus decoder) on a simulated
/// 20 ms clock with some packets missing, and returns it with its output.
func playThrough(_ stream: EncodedStream, lost: Set<Int>, minimumDelayMs: Int = 60) throws -> (PlayoutTrack, [Int16]) {
    let track = try PlayoutTrack(ssrc: 1, configuration: .init(minimumDelayMs: minimumDelayMs))
    var frame = [Int16](repeating: 0, count: 960)
    var output: [Int16] = []
    var next = 0
    let count = stream.packets.count
    var tickMs = 10.0
    while tickMs < Double(count * 20 + 200) {
        while next < count && Double(next * 20 + 5) <= tickMs {
            if !lost.contains(next) {
                let p = stream.packets[next]
                p.payload.withUnsafeBytes {
                    track.insert(payload: $0, sequenceNumber: p.sequence, timestamp: p.timestamp,
                                 arrivalNanoseconds: UInt64((Double(next * 20) + 5) * 1_000_000))
                }
            }
            next += 1
        }
        _ = frame.withUnsafeMutableBufferPointer { track.pull(into: $0, frameMs: 20) }
        output += frame
        tickMs += 20
    }
    return (track, output)
}

@Suite("In-band FEC under loss")
struct FECRecoveryTests {
    static let stream: EncodedStream = try! EncodedStream(count: 500)

    @Test("10 % isolated random loss: at least 90 % of lost frames come back from FEC")
    func isolatedLoss() throws {
        // 10 % of frames, chosen at random but never two in a row (the
        // pattern of libwebrtc's NetEq FEC test, where every loss is recoverable).
        var rng = SeededRandom(seed: 42)
        var lost = Set<Int>()
        while lost.count < 50 {
            let i = 10 + Int(rng.next() % 480)
            if !lost.contains(i - 1) && !lost.contains(i + 1) { lost.insert(i) }
        }
        let (track, output) = try playThrough(Self.stream, lost: lost)
        let stats = track.buffer.stats
        #expect(stats.lost == 50)
        #expect(Double(stats.recoveredByFEC) >= 0.9 * Double(stats.lost))
        // What came back sounds like the loss-free decode: compare the lost
        // frames with the same frames decoded with nothing lost.
        let (_, clean) = try playThrough(Self.stream, lost: [])
        let match = SignalComparison.align(reference: clean, received: output, maxLagSamples: 4_800)
        #expect(match.lagSamples == 0)
        var frameMatches: [Double] = []
        let start = clean.firstIndex { $0 != 0 } ?? 0
        for i in lost {
            let from = start + i * 960
            frameMatches.append(SignalComparison.normalizedCrossCorrelation(clean[from..<(from + 960)], output[from..<(from + 960)]))
        }
        let mean = frameMatches.reduce(0, +) / Double(frameMatches.count)
        // FEC frames score about 0.75 here; concealment alone scores about 0.05.
        #expect(mean >= 0.6, "lost frames resemble the clean decode: mean correlation \(mean)")
    }

    @Test("10 % Bernoulli loss: every loss whose next packet arrived is rebuilt from FEC")
    func bernoulliLoss() throws {
        var rng = SeededRandom(seed: 4242)
        var lost = Set<Int>()
        for i in 10..<490 where rng.next() % 10 == 0 { lost.insert(i) }
        let recoverable = lost.filter { !lost.contains($0 + 1) }.count
        let (track, _) = try playThrough(Self.stream, lost: lost)
        let stats = track.buffer.stats
        #expect(stats.lost == lost.count)
        // The sender's encoder leaves out FEC now and then (frames its VAD
        // thought quiet), so allow 5 % of the recoverable ones to be concealed.
        #expect(Double(stats.recoveredByFEC) >= 0.95 * Double(recoverable))
        #expect(stats.recoveredByFEC <= recoverable)
        #expect(stats.recoveredByFEC + stats.concealed >= stats.lost)
    }

    @Test("without FEC in the stream, the same losses are all concealed")
    func noFECMeansConcealment() throws {
        let plain = try EncodedStream(count: 200, settings: .init(inbandFEC: false))
        let lost: Set<Int> = [50, 80, 120, 150]
        let (track, _) = try playThrough(plain, lost: lost)
        #expect(track.buffer.stats.lost == 4)
        #expect(track.buffer.stats.recoveredByFEC == 0)
        #expect(track.buffer.stats.concealed >= 4)
    }
}
