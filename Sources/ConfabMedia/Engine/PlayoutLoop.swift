// The receive path's play-out side, on the play-out thread.
//
//   PacketRing.drain ─▶ PlayoutTrack(ssrc).insert         (every tick)
//   for each track: pull one frame ─▶ Mixer (gain, soft limit) ─▶ AudioSink.write
//   ─▶ FarEndRing (what was played: the echo canceller's reference, read by the capture thread)
//
// Paced by the sink: a sound card blocks in write at its own clock; files and
// the null sink are paced by the monotonic clock instead. Tracks come and go
// through a change list applied between frames, so the mixing loop itself
// takes no lock and allocates nothing.
import ConfabSocket
import Synchronization

/// Counters of the play-out side, readable from any thread.
public final class PlayoutStats: Sendable {
    public let framesPlayed = Atomic<Int>(0)
    /// Datagrams for an SSRC no play-out track exists for.
    public let unroutedPackets = Atomic<Int>(0)
    public init() {}
}

public final class PlayoutLoop: @unchecked Sendable {
    public let stats = PlayoutStats()
    public let finished = Atomic<Bool>(false)
    private let failureText = Mutex<String?>(nil)
    public var failure: String? { failureText.withLock { $0 } }

    private let configuration: MediaConfiguration
    private let ring: PacketRing
    private let sink: AudioSink
    private let farEnd: FarEndRing?
    private let mixer: Mixer
    private let trackFrame: UnsafeMutableBufferPointer<Int16>
    private let output: UnsafeMutableBufferPointer<Int16>
    /// The tracks, owned by the play-out thread. Capacity is reserved up front.
    private var tracks: [PlayoutTrack] = []
    private let thread = EngineThread(name: "confab-playout")

    private enum TrackChange {
        case add(PlayoutTrack)
        case remove(UInt32)
    }
    private let changes = ChangeQueue<TrackChange>()
    private var seenChanges = 0

    public init(ring: PacketRing, sink: AudioSink, configuration: MediaConfiguration, farEnd: FarEndRing? = nil) {
        self.ring = ring
        self.sink = sink
        self.farEnd = farEnd
        self.configuration = configuration
        mixer = Mixer(frameSamples: configuration.frameSamples)
        trackFrame = .allocate(capacity: configuration.frameSamples)
        trackFrame.initialize(repeating: 0)
        output = .allocate(capacity: configuration.frameSamples)
        output.initialize(repeating: 0)
        tracks.reserveCapacity(64)
    }

    deinit {
        trackFrame.deallocate()
        output.deallocate()
    }

    /// Adds a remote track to play; returns the monitor other threads read.
    public func addTrack(ssrc: UInt32) throws -> TrackMonitor {
        let track = try PlayoutTrack(ssrc: ssrc, configuration: configuration.jitter)
        changes.post(.add(track))
        return track.monitor
    }

    public func removeTrack(ssrc: UInt32) {
        changes.post(.remove(ssrc))
    }

    public func start() {
        thread.startFrames(
            configuration: configuration, deviceIsClocked: sink.isClocked,
            frame: { [self] in playAndWriteFrame() },
            finish: { [self] in finishPlaying() })
    }

    public func stop() {
        thread.stop()
    }

    /// Plays a frame into the sink; false when the sink failed.
    private func playAndWriteFrame() -> Bool {
        playOneFrame()
        do {
            try sink.write(UnsafeBufferPointer(output))
            farEnd?.write(UnsafeBufferPointer(output))
            return true
        } catch {
            failureText.withLock { $0 = error.description }
            return false
        }
    }

    private func finishPlaying() {
        // Count what arrived but was not played yet, so the final stats are exact.
        routePendingPackets()
        for track in tracks { track.publishStats() }
        finished.store(true, ordering: .releasing)
    }

    /// Routes waiting packets, pulls a frame from every track and mixes them
    /// into the output frame. Public for benchmarks and tests.
    @inline(__always)
    public func playOneFrame() {
        applyTrackChanges()
        routePendingPackets()
        mixer.begin()
        for track in tracks {
            if track.pull(into: trackFrame, frameMs: configuration.frameMs) {
                let gain = Float(track.monitor.gainPercent.load(ordering: .relaxed)) / 100
                mixer.add(UnsafeBufferPointer(trackFrame), gain: gain)
            }
        }
        mixer.finish(into: output)
        stats.framesPlayed.add(1, ordering: .relaxed)
    }

    /// Moves every packet waiting in the ring into its track's jitter buffer.
    @inline(__always)
    private func routePendingPackets() {
        ring.drain { header, payload in
            for track in tracks where track.ssrc == header.ssrc {
                track.insert(payload: payload, sequenceNumber: header.sequenceNumber,
                             timestamp: header.timestamp, arrivalNanoseconds: header.arrivalNanoseconds,
                             isRedundantCopy: header.isRedundantCopy)
                return
            }
            stats.unroutedPackets.add(1, ordering: .relaxed)
        }
    }

    /// The last mixed frame (for tests and benchmarks).
    public var lastOutput: UnsafeBufferPointer<Int16> { UnsafeBufferPointer(output) }

    private func applyTrackChanges() {
        for change in changes.take(since: &seenChanges) {
            switch change {
            case .add(let track):
                tracks.removeAll { $0.ssrc == track.ssrc }
                tracks.append(track)
            case .remove(let ssrc):
                tracks.removeAll { $0.ssrc == ssrc }
            }
        }
    }
}
