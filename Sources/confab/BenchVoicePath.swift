// One real-time run of `confab bench voice` through the media path:
//
//   WAVFileSource ─▶ MediaEngine (send) ─▶ relay hop 1 ─▶ relay hop 2 ─▶ MediaEngine (receive) ─▶ WAVFileSink
//        ▲ adaptive: EncoderControl (Opus settings, RED copies) ◀─ LossAdaptation ◀─ ReceiveLossMeter ◀─ the listener's TrackMonitor, every second
//
// In a meeting the listener's figure reaches the sender through the server
// (media.loss → media.feedback, about a second later); here it is handed over
// in process at the same pace.
import ConfabMedia
import ConfabSocket
import Foundation
import SRTP
import Opus

struct VoicePathRun {
    let reference: String
    let output: String
    let hop: PathImpairment
    let seed: UInt64
    let settings: Opus.EncoderSettings
    /// nil: the fixed setting.
    let policy: LossAdaptationPolicy?

    func run() throws -> VoiceRun {
        var configuration = MediaConfiguration()
        configuration.encoder = settings
        // SCHED_FIFO where allowed (root, CAP_SYS_NICE): the machine is shared,
        // and a starved thread would be scored as the network's fault.
        configuration.realtimeThreads = true
        let key = SRTPKeyMaterial.random()
        let ssrc: UInt32 = 0x5EEC_0001
        let receiverSocket = try UDPSocket(bindTo: "127.0.0.1", port: 0)
        let receiver = try MediaEngine(socket: receiverSocket, configuration: configuration)
        // Written frames timed for mouth to ear: 10 minutes of 20 ms frames at the most.
        let sink = WriteClock(try WAVFileSink(path: output), capacity: 30_000)
        receiver.startReceiving(sink: sink)
        let track = try receiver.addRemoteTrack(ssrc: ssrc, key: key)
        // Hop 2 is in front of the listener, hop 1 in front of hop 2; each draws its own drops.
        let second = try ImpairedRelay(
            upstream: receiverSocket.localAddress, up: hop, down: hop, seed: seed &* 2 &+ 1, realtime: true)
        let first = try ImpairedRelay(upstream: second.address, up: hop, down: hop, seed: seed &* 2, realtime: true)
        defer {
            first.stop()
            second.stop()
        }
        let sender = try MediaEngine(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0), configuration: configuration)
        let source = FirstReadClock(try WAVFileSource(path: reference))
        let sending = try sender.startSending(source: source, ssrc: ssrc, key: key, to: first.address)

        var adaptation = LossAdaptation(configured: settings, policy: policy ?? LossAdaptationPolicy())
        var meter = ReceiveLossMeter()
        var nextFeedback = Date().addingTimeInterval(1)
        // What the listener's jitter buffer holds ahead of play-out, sampled every 20 ms once packets come.
        var delaySum = 0.0, delaySamples = 0
        while !sending.finished.load(ordering: .acquiring) {
            usleep(20_000)
            let now = track.stats
            if now.received > 0 {
                delaySum += now.currentDelayMs
                delaySamples += 1
            }
            guard policy != nil, Date() >= nextFeedback else { continue }
            nextFeedback = nextFeedback.addingTimeInterval(1)
            if let loss = meter.lossPercent(since: track.stats) {
                let settings = adaptation.update(lossPercent: loss)
                sending.encoderControl.request(settings, redundantFrames: adaptation.redundantFrames)
            }
        }
        // What is still in flight: two hops of delay and the jitter buffer.
        usleep(1_000_000)
        let applied = sending.encoderControl.applied
        sender.stop()
        receiver.stop()
        source.close()
        sink.close()
        if let failure = sending.failure { throw CommandFailure("the WAV source failed: \(failure)") }
        let stats = track.stats
        let mouthToEar = MouthToEar.milliseconds(
            source: source, sink: sink, reference: try WAVFile.read(path: reference), played: try WAVFile.read(path: output),
            frameMs: configuration.frameMs)
        return VoiceRun(path: "", setting: policy != nil ? "adaptive" : "fixed", lost: stats.lost,
                        recoveredByFEC: stats.recoveredByFEC, recoveredByRED: stats.recoveredByRED, concealed: stats.concealed,
                        late: stats.late, droppedForDelay: stats.droppedForDelay,
                        finalBitrate: applied.bitrate, finalFEC: applied.inbandFEC,
                        finalExpectedLossPercent: applied.expectedPacketLossPercent,
                        finalRedundantFrames: sending.encoderControl.appliedRedundantFrames,
                        meanPlayoutDelayMs: delaySamples > 0 ? delaySum / Double(delaySamples) : 0,
                        mouthToEarMs: mouthToEar)
    }
}
