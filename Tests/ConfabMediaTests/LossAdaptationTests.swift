import ConfabMedia
import ConfabSocket
import Opus
import SRTP
import Testing

@Suite("Loss adaptation: the loss listeners report sets FEC, expected loss and bitrate")
struct LossAdaptationTests {
    static let configured = Opus.EncoderSettings()  // 32 kb/s, FEC for 10 %

    @Test("no loss: FEC off, nothing expected, the configured bitrate")
    func clean() {
        var adaptation = LossAdaptation(configured: Self.configured)
        let settings = adaptation.update(lossPercent: 0)
        #expect(!settings.inbandFEC)
        #expect(settings.expectedPacketLossPercent == 0)
        #expect(settings.bitrate == 32_000)
        #expect(settings.complexity == Self.configured.complexity)
    }

    @Test(
        "loss turns FEC on and is expected as measured, rounded up, at most 10 %",
        arguments: [(1.0, Int32(1)), (4.2, 5), (10, 10), (19.5, 10), (29.9, 10)])
    func lossy(loss: Double, expected: Int32) {
        var adaptation = LossAdaptation(configured: Self.configured)
        let settings = adaptation.update(lossPercent: loss)
        #expect(settings.inbandFEC)
        #expect(settings.expectedPacketLossPercent == expected)
        #expect(settings.bitrate == 32_000, "random loss below 30 % keeps the bitrate")
    }

    @Test("heavy loss lowers the bitrate in steps, never below the floor, and caps the expected loss")
    func heavy() {
        var adaptation = LossAdaptation(configured: Self.configured)
        #expect(adaptation.update(lossPercent: 30).bitrate == 24_000)
        var fresh = LossAdaptation(configured: Self.configured)
        let settings = fresh.update(lossPercent: 60)
        #expect(settings.bitrate == 16_000)
        #expect(settings.expectedPacketLossPercent == 10)
        var low = Opus.EncoderSettings()
        low.bitrate = 16_000
        var floor = LossAdaptation(configured: low)
        #expect(floor.update(lossPercent: 90).bitrate == 12_000)
    }

    @Test("loss rises at once and falls slowly; FEC stays on until loss is well below the on threshold")
    func hysteresis() {
        var adaptation = LossAdaptation(configured: Self.configured)
        #expect(adaptation.update(lossPercent: 8).expectedPacketLossPercent == 8)
        // One clean second does not switch protection off.
        let after = adaptation.update(lossPercent: 0)
        #expect(after.inbandFEC)
        #expect(after.expectedPacketLossPercent >= 5)
        // A sustained clean path does.
        for _ in 0..<20 { adaptation.update(lossPercent: 0) }
        #expect(!adaptation.settings.inbandFEC)
        #expect(adaptation.settings.expectedPacketLossPercent == 0)
        // Between the thresholds, the previous state holds.
        var between = LossAdaptation(configured: Self.configured)
        #expect(!between.update(lossPercent: 0.7).inbandFEC, "0.7 % is below the 1 % that turns FEC on")
    }

    @Test("nonsense reports are clamped, never crash")
    func nonsense() {
        var adaptation = LossAdaptation(configured: Self.configured)
        #expect(!adaptation.update(lossPercent: -5).inbandFEC)
        #expect(adaptation.update(lossPercent: .nan).expectedPacketLossPercent == 0)
        #expect(adaptation.update(lossPercent: 500).expectedPacketLossPercent == 10)
    }

    @Test("the listener's meter counts frames expected and lost since its last look")
    func meter() {
        var meter = ReceiveLossMeter()
        var stats = JitterStats()
        stats.received = 45
        stats.lost = 5
        let first = meter.take(stats)
        #expect(first.expected == 50 && first.lost == 5)
        stats.received = 90
        stats.lost = 15
        #expect(meter.lossPercent(since: stats) == 10 * 100 / 55.0)
        #expect(meter.lossPercent(since: stats) == nil, "nothing new: a pause says nothing")
    }

    @Test("a requested change reaches the encoder between frames, and only then")
    func encoderControl() throws {
        let socket = try UDPSocket(bindTo: "127.0.0.1", port: 0)
        let sender = try MediaSender(
            source: SilenceSource(), socket: socket, destination: socket.localAddress, ssrc: 0x1234,
            key: SRTPKeyMaterial.random(), configuration: MediaConfiguration())
        let frame = [Int16](repeating: 0, count: 960)
        #expect(Self.describe(sender.encoderControl) == "32000 FEC 10")
        var wanted = Opus.EncoderSettings()
        wanted.bitrate = 24_000
        wanted.inbandFEC = false
        wanted.expectedPacketLossPercent = 0
        sender.encoderControl.request(wanted)
        #expect(Self.describe(sender.encoderControl) == "32000 FEC 10", "nothing changes until the next frame")
        frame.withUnsafeBufferPointer { sender.sendFrame($0) }
        #expect(Self.describe(sender.encoderControl) == "24000 no FEC 0")
        #expect(sender.stats.packetsSent.load(ordering: .relaxed) == 1)
    }

    static func describe(_ control: EncoderControl) -> String {
        let applied = control.applied
        return "\(applied.bitrate) \(applied.inbandFEC ? "FEC" : "no FEC") \(applied.expectedPacketLossPercent)"
    }
}
