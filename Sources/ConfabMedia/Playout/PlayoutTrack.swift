// One remote track on the play-out side (Mumble's AudioOutputSpeech model).
//
//   PacketRing ─▶ insert ─▶ JitterBuffer ─▶ nextAction ─▶ Opus.Decoder ─▶ PCM queue ─▶ pull(frame) ─▶ mixer
//                                                                              └▶ level (TrackMonitor, any thread)
//
// Owned by the play-out thread. What other threads may read (the level for
// the bars, the stats) lives in `TrackMonitor`.
import Opus
import Synchronization

/// What other threads may read about a remote track while it plays.
public final class TrackMonitor: Sendable {
    public let ssrc: UInt32
    /// The smoothed level of the decoded audio, 0…100 (the UI's bar).
    public let level = Atomic<Int>(0)
    /// The level of the last frame [dBov, ×10, negative], for precise readers.
    public let levelDeciBelsOV = Atomic<Int>(-1270)
    /// Playback gain ×100 (100 = unchanged), set by the UI.
    public let gainPercent = Atomic<Int>(100)
    private let published = Mutex(JitterStats())

    public init(ssrc: UInt32) { self.ssrc = ssrc }

    /// The latest jitter-buffer counters (published about ten times a second).
    public var stats: JitterStats { published.withLock { $0 } }

    func publish(_ stats: JitterStats) { published.withLock { $0 = stats } }
}

/// Handed to the play-out thread once, then used only there; hence `@unchecked Sendable`.
public final class PlayoutTrack: @unchecked Sendable {
    public let monitor: TrackMonitor
    public let buffer: JitterBuffer
    private let decoder: Opus.Decoder
    private let queue: UnsafeMutableBufferPointer<Int16>
    private let scratch: UnsafeMutableBufferPointer<Int16>
    private var queued = 0
    private var smoother = LevelSmoother()
    private var framesSincePublish = 0
    private var jitterSum = 0.0
    private var jitterSamples = 0

    public var ssrc: UInt32 { monitor.ssrc }

    public init(ssrc: UInt32, configuration: JitterBufferConfiguration = JitterBufferConfiguration()) throws(Opus.Error) {
        monitor = TrackMonitor(ssrc: ssrc)
        buffer = JitterBuffer(configuration: configuration)
        decoder = try Opus.Decoder()
        // Room for one frame still to hand out plus the longest packet (120 ms).
        queue = .allocate(capacity: 2 * Opus.maxFrameSamples)
        queue.initialize(repeating: 0)
        scratch = .allocate(capacity: Opus.maxFrameSamples)
        scratch.initialize(repeating: 0)
    }

    deinit {
        queue.deallocate()
        scratch.deallocate()
    }

    @inline(__always)
    public func insert(payload: UnsafeRawBufferPointer, sequenceNumber: UInt16, timestamp: UInt32, arrivalNanoseconds: UInt64,
                       isRedundantCopy: Bool = false) {
        // 48 kHz ticks: ns × 48 / 1 000 000.
        let arrival = Int64(arrivalNanoseconds / 1_000) * 48 / 1_000
        buffer.insert(payload: payload, sequenceNumber: sequenceNumber, timestamp: timestamp, arrivalSamples: arrival,
                      isRedundantCopy: isRedundantCopy)
    }

    /// Fills `frame` with the next play-out audio. Returns false when the track
    /// had nothing to play (not started or paused): `frame` is then silence.
    public func pull(into frame: UnsafeMutableBufferPointer<Int16>, frameMs: Int) -> Bool {
        var audible = false
        while queued < frame.count {
            let wanted = frame.count - queued
            let tail = UnsafeMutableBufferPointer(rebasing: queue[queued...])
            switch buffer.nextAction(wantedSamples: wanted) {
            case .decode(let slot, let samples):
                queued += decode(slot: slot, samples: samples, into: tail)
                buffer.release(slot: slot)
                audible = true
            case .skip(let slot, let samples):
                _ = decode(slot: slot, samples: samples, into: scratch)
                buffer.release(slot: slot)
            case .recoverFromFEC(let slot, let samples):
                let target = UnsafeMutableBufferPointer(rebasing: tail[0..<min(samples, tail.count)])
                if let n = try? decoder.decodeFEC(from: buffer.payload(slot: slot), into: target) {
                    queued += n
                } else {
                    queued += conceal(samples, into: tail)
                }
                audible = true
            case .conceal(let samples):
                queued += conceal(samples, into: tail)
                audible = true
            case .silence(let samples):
                let n = min(samples, tail.count)
                UnsafeMutableBufferPointer(rebasing: tail[0..<n]).update(repeating: 0)
                queued += n
            }
        }
        // Hand out one frame and keep the rest for next time.
        _ = frame.update(fromContentsOf: UnsafeBufferPointer(rebasing: queue[0..<frame.count]))
        let rest = queued - frame.count
        if rest > 0 {
            UnsafeMutableRawPointer(queue.baseAddress!).copyMemory(
                from: queue.baseAddress! + frame.count, byteCount: rest * MemoryLayout<Int16>.stride)
        }
        queued = rest

        let dBov = audible ? LevelMeter.dBov(UnsafeBufferPointer(frame)) : -127
        monitor.levelDeciBelsOV.store(Int(dBov * 10), ordering: .relaxed)
        monitor.level.store(smoother.update(level: LevelMeter.uiLevel(dBov: dBov), frameMs: frameMs), ordering: .relaxed)

        buffer.updateDelayStats(extraSamples: queued)
        framesSincePublish += 1
        if framesSincePublish * frameMs >= 100 {
            framesSincePublish = 0
            jitterSum += buffer.stats.jitterMs
            jitterSamples += 1
            publishStats()
        }
        return audible
    }

    /// Makes the current counters visible to other threads (every 100 ms, and at the end).
    public func publishStats() {
        var stats = buffer.stats
        stats.meanJitterMs = jitterSamples > 0 ? jitterSum / Double(jitterSamples) : stats.jitterMs
        monitor.publish(stats)
    }

    private func decode(slot: Int, samples: Int, into target: UnsafeMutableBufferPointer<Int16>) -> Int {
        if let n = try? decoder.decode(buffer.payload(slot: slot), into: target) { return n }
        // Validated at insert, so this is a decoder refusal: conceal the frame instead.
        return conceal(samples, into: target)
    }

    private func conceal(_ samples: Int, into target: UnsafeMutableBufferPointer<Int16>) -> Int {
        let n = min(samples, target.count)
        if let made = try? decoder.conceal(into: UnsafeMutableBufferPointer(rebasing: target[0..<n])) { return made }
        UnsafeMutableBufferPointer(rebasing: target[0..<n]).update(repeating: 0)
        return n
    }
}
