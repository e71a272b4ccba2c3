import ConfabMedia
import ConfabTestSupport
import Testing

@Suite("Jitter buffer")
struct JitterBufferTests {
    static let stream: EncodedStream = try! EncodedStream(count: 200)

    /// Packets sent every 20 ms and arriving after a fixed 5 ms.
    func steadyArrivals(_ count: Int, lost: Set<Int> = []) -> [Double?] {
        (0..<count).map { lost.contains($0) ? nil : Double($0) * 20 + 5 }
    }

    @Test("in-order packets all play, in order, with nothing lost or concealed")
    func inOrder() {
        var sim = PlayoutSimulation()
        sim.run(Self.stream, arrivalsMs: steadyArrivals(50), untilMs: 50 * 20)
        #expect(sim.buffer.stats.received == 50)
        #expect(sim.buffer.stats.lost == 0)
        #expect(sim.decodes >= 48)
        let slots = sim.decodedSequences.map { Int($0) }
        // Slots follow the sequence numbers: each decode is the next one.
        for (a, b) in zip(slots, slots.dropFirst()) { #expect(b == (a + 1) % 64) }
        #expect(sim.buffer.stats.droppedForDelay == 0)
    }

    @Test("reordered packets are put back in order before they play")
    func reordering() {
        var arrivals = steadyArrivals(40)
        // Swap pairs: packet 11 arrives before 10, 21 before 20.
        arrivals[10] = 11 * 20 + 5; arrivals[11] = 10 * 20 + 6
        arrivals[20] = 21 * 20 + 2; arrivals[21] = 20 * 20 + 9
        var sim = PlayoutSimulation(configuration: .init(minimumDelayMs: 40))
        sim.run(Self.stream, arrivalsMs: arrivals, untilMs: 40 * 20)
        #expect(sim.buffer.stats.lost == 0)
        #expect(sim.buffer.stats.late == 0)
        let slots = sim.decodedSequences.map { Int($0) }
        for (a, b) in zip(slots, slots.dropFirst()) { #expect(b == (a + 1) % 64) }
    }

    @Test("a duplicate is counted and played once")
    func duplicates() {
        let buffer = JitterBuffer()
        let p = Self.stream.packets[0]
        for _ in 0..<3 {
            p.payload.withUnsafeBytes { buffer.insert(payload: $0, sequenceNumber: p.sequence, timestamp: p.timestamp, arrivalSamples: 0) }
        }
        #expect(buffer.stats.received == 1)
        #expect(buffer.stats.duplicate == 2)
    }

    @Test("a packet that arrives after its play-out time is late and dropped")
    func latePacket() {
        var arrivals = steadyArrivals(30)
        arrivals[15] = 15 * 20 + 200  // 200 ms late: the frame was already concealed
        var sim = PlayoutSimulation()
        sim.run(Self.stream, arrivalsMs: arrivals, untilMs: 30 * 20)
        #expect(sim.buffer.stats.late == 1)
        #expect(sim.buffer.stats.lost == 1)
    }

    @Test("a single lost packet is rebuilt from the next packet's FEC")
    func singleLossUsesFEC() {
        var sim = PlayoutSimulation(configuration: .init(minimumDelayMs: 40))
        sim.run(Self.stream, arrivalsMs: steadyArrivals(60, lost: [40]), untilMs: 60 * 20)
        #expect(sim.buffer.stats.lost == 1)
        #expect(sim.buffer.stats.recoveredByFEC == 1)
        #expect(sim.fecRecoveries == 1)
    }

    @Test("two lost in a row: the first is concealed, the second rebuilt from FEC")
    func burstLoss() {
        // 60 ms of buffer: the packet after the gap is there before the gap is due.
        var sim = PlayoutSimulation(configuration: .init(minimumDelayMs: 60))
        sim.run(Self.stream, arrivalsMs: steadyArrivals(60, lost: [40, 41]), untilMs: 60 * 20)
        #expect(sim.buffer.stats.lost == 2)
        #expect(sim.buffer.stats.recoveredByFEC == 1)
        #expect(sim.buffer.stats.concealed == 1)
    }

    @Test("the target delay follows the jitter up, and stays within the configured bounds")
    func adaptsToJitter() {
        var rng = SeededRandom(seed: 7)
        // 0–60 ms of random extra delay per packet.
        let arrivals: [Double?] = (0..<150).map { Double($0) * 20 + 5 + Double(rng.next() % 60) }
        var sim = PlayoutSimulation()
        sim.run(Self.stream, arrivalsMs: arrivals, untilMs: 150 * 20 + 100)
        let target = sim.buffer.stats.targetDelayMs
        #expect(target >= 50 && target <= 100)
        // Once adapted, late packets are rare.
        #expect(sim.buffer.stats.late <= 6)

        var calm = PlayoutSimulation()
        calm.run(Self.stream, arrivalsMs: steadyArrivals(150), untilMs: 150 * 20)
        #expect(calm.buffer.stats.targetDelayMs <= 41)
        #expect(calm.buffer.stats.targetDelayMs >= 20)
    }

    @Test("when packets stop, it conceals briefly, then goes silent, then restarts when they resume")
    func underrunAndRestart() {
        var arrivals = steadyArrivals(100)
        for i in 30..<70 { arrivals[i] = nil }  // the sender paused for 800 ms…
        for i in 70..<100 { arrivals[i] = Double(i) * 20 + 5 }  // …and came back
        var sim = PlayoutSimulation()
        sim.run(Self.stream, arrivalsMs: arrivals, untilMs: 100 * 20)
        let silences = sim.actions.filter { if case .silence = $0 { return true } else { return false } }.count
        #expect(silences >= 30)
        // Frames 70…99 play after the restart.
        #expect(sim.decodes >= 30 + 25)
    }

    @Test("sequence numbers wrapping past 65535 play on without a hiccup")
    func wrapAround() throws {
        let wrapping = try EncodedStream(count: 60, firstSequence: 65_510, firstTimestamp: UInt32.max - 20 * 960)
        var sim = PlayoutSimulation()
        sim.run(wrapping, arrivalsMs: steadyArrivals(60), untilMs: 60 * 20)
        #expect(sim.buffer.stats.lost == 0)
        #expect(sim.buffer.stats.late == 0)
        #expect(sim.decodes >= 58)
    }

    @Test("a payload that is not Opus is counted invalid and never played")
    func invalidPayload() {
        let buffer = JitterBuffer()
        let junk: [UInt8] = [0x03, 0x00]  // code 3 with zero frames
        junk.withUnsafeBytes { buffer.insert(payload: $0, sequenceNumber: 1, timestamp: 0, arrivalSamples: 0) }
        [UInt8]().withUnsafeBytes { buffer.insert(payload: $0, sequenceNumber: 2, timestamp: 960, arrivalSamples: 0) }
        #expect(buffer.stats.invalid == 2)
        #expect(buffer.stats.received == 0)
        #expect(buffer.nextAction(wantedSamples: 960) == .silence(samples: 960))
    }

    @Test("after a 300 ms stall the delay comes back down within a few seconds")
    func drainsBacklog() throws {
        let long = try EncodedStream(count: 300)
        // A 300 ms stall, then everything arrives at once.
        var arrivals = steadyArrivals(300)
        for i in 20..<35 { arrivals[i] = 35 * 20 }
        var sim = PlayoutSimulation()
        sim.run(long, arrivalsMs: arrivals, untilMs: 300 * 20)
        #expect(sim.buffer.stats.droppedForDelay >= 1)
        #expect(sim.buffer.stats.targetDelayMs <= 60)
        // Voiced frames are dropped only while far (> 4 frames) above target;
        // the last few frames' surplus waits for a pause in the speech.
        #expect(sim.buffer.stats.currentDelayMs <= sim.buffer.stats.targetDelayMs + 80)
    }

    @Test("one late packet early in a call costs a concealed frame, not 20 ms of delay for the rest of it")
    func delayComesBackAfterOneUnderrun() throws {
        // Ten seconds of voiced frames: the surplus waits two seconds for a
        // silent frame before a voiced one goes.
        let long = try EncodedStream(count: 500)
        var calm = PlayoutSimulation()
        calm.run(long, arrivalsMs: steadyArrivals(500), untilMs: 500 * 20)
        // Packets 50 and 51 arrive together, 25 ms after 50 was due: one under-run.
        var arrivals = steadyArrivals(500)
        arrivals[50] = 51 * 20 + 10
        arrivals[51] = 51 * 20 + 10
        var hiccup = PlayoutSimulation()
        hiccup.run(long, arrivalsMs: arrivals, untilMs: 500 * 20)
        #expect(hiccup.concealments >= 1, "the late packet made the buffer run dry once")
        #expect(hiccup.buffer.stats.droppedForDelay == 1, "and one frame was dropped to come back")
        #expect(hiccup.buffer.stats.currentDelayMs == calm.buffer.stats.currentDelayMs)
        #expect(hiccup.buffer.stats.targetDelayMs == calm.buffer.stats.targetDelayMs)
        #expect(calm.buffer.stats.droppedForDelay == 0 && calm.concealments == 0)
    }

    @Test("steady jitter of up to 30 ms: the buffer settles and neither sheds nor conceals again and again")
    func settlesUnderSteadyJitter() throws {
        let long = try EncodedStream(count: 500)
        var random = SeededRandom(seed: 11)
        let arrivals: [Double?] = (0..<500).map { Double($0) * 20 + 5 + Double(random.next() % 30) }
        var sim = PlayoutSimulation()
        sim.run(long, arrivalsMs: arrivals, untilMs: 500 * 20 + 100)
        #expect(sim.concealments + sim.buffer.stats.droppedForDelay <= 6)
        #expect(sim.decodes >= 490)
    }
}
