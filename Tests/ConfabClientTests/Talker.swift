// Test participants for the audio-through-the-server suites: a session with a
// MediaController, the source it says and the sink that keeps what it heard.

@testable import ConfabClient
import ConfabMedia
import ConfabProtocol
import ConfabRooms
import ConfabServer
import ConfabSocket
import ConfabTestSupport
import Foundation
import Synchronization
import Testing

/// A participant, its MediaController, what it says and what it heard.
struct Talker {
    let participant: Participant
    let controller: MediaController
    let source: TimedSource?
    let sink: RecordingSink

    enum Say {
        case speech(seed: UInt64, seconds: Double, after: Double = 0)
        /// Speech held back (silence is sent) until `speak(onceKeyedBy:)`.
        case heldSpeech(seed: UInt64, seconds: Double)
        case tone(hz: Double, seconds: Double)
    }

    /// `withholdKeys`: the sealed keys sent to this participant never reach its session.
    /// `playsRED: false`: a client that predates RED (declares nothing, plays nothing of payload type 63).
    static func join(
        _ server: LiveServer, _ user: PeerID, role: String, room: String, source say: Say?,
        keepaliveInterval: Duration = .seconds(5), withholdKeys: Bool = false, mediaRoute: SocketAddress? = nil,
        playsRED: Bool = true
    ) async throws -> Talker {
        let participant = try await server.participant(user, role: role, room: room, receives: playsRED ? .all : [])
        if withholdKeys { participant.transport.withhold("keys") }
        let source: TimedSource? = say.map {
            switch $0 {
            case .speech(let seed, let seconds, let after):
                TimedSource(SpeechLikeSource(seed: seed, durationSeconds: seconds), silenceFirst: after)
            case .heldSpeech(let seed, let seconds):
                TimedSource(SpeechLikeSource(seed: seed, durationSeconds: seconds), held: true)
            case .tone(let hz, let seconds): TimedSource(ToneSource(frequencyHz: hz, durationSeconds: seconds))
            }
        }
        let sink = RecordingSink()
        var configuration = MediaConfiguration()
        configuration.playsRED = playsRED
        let controller = try await joinWithMedia(
            participant, source: source, sink: sink, configuration: configuration, keepaliveInterval: keepaliveInterval,
            mediaRoute: mediaRoute)
        return Talker(participant: participant, controller: controller, source: source, sink: sink)
    }

    /// Joins with a MediaController on `source` and `sink`, unmuted if it may
    /// talk, and waits until its media address is bound.
    static func joinWithMedia(
        _ participant: Participant, source: AudioSource?, sink: AudioSink,
        configuration: MediaConfiguration = MediaConfiguration(), keepaliveInterval: Duration = .seconds(5),
        mediaRoute: SocketAddress? = nil
    ) async throws -> MediaController {
        let controller = MediaController(
            session: participant.session, source: source, sink: sink, configuration: configuration,
            keepaliveInterval: keepaliveInterval)
        if let mediaRoute { await controller.routeMedia(through: mediaRoute) }
        await controller.start()
        try await participant.session.join()
        if participant.session.state.yourMicrophone != nil { try await participant.session.unmuteSelf() }
        _ = await eventually(timeoutMs: 10_000, pollMs: 20) { await controller.isBound }
        guard await controller.isBound else { throw ToolError("\(participant.id) did not bind its media address") }
        return controller
    }

    /// A live server where bob, a speaker who says nothing, hears through a relay that drops
    /// `lossPercent` of what the server forwards him, and alice, the host, says `aliceSays`.
    /// The caller stops the relay and the server.
    static func lossyListener(
        room: String, lossPercent: Double, relaySeed: UInt64, aliceSays: Say
    ) async throws -> (server: LiveServer, relay: ImpairedRelay, bob: Talker, alice: Talker) {
        let server = try await LiveServer.start()
        let media = try SocketAddress(host: "127.0.0.1", port: server.server.media.port)
        let relay = try ImpairedRelay(
            upstream: media, up: .none, down: PathImpairment(lossPercent: lossPercent), seed: relaySeed)
        do {
            let bob = try await join(server, "bob", role: "speaker", room: room, source: nil, mediaRoute: relay.address)
            let alice = try await join(server, "alice", role: "host", room: room, source: aliceSays)
            return (server, relay, bob, alice)
        } catch {
            relay.stop()
            await server.stop()
            throw error
        }
    }

    /// Waits until the server has relayed a listener's loss of at least `permille` of this talker's packets.
    func untilLossReported(atLeastPermille permille: Int, sourceLocation: SourceLocation = #_sourceLocation) async {
        await participant.until("\(participant.id) hears of a listener's loss", sourceLocation: sourceLocation, events: { events in
            events.contains { if case .mediaFeedback(let feedback) = $0 { feedback.lossPermille >= permille } else { false } }
        })
    }

    /// Lets a held source speak once every listener holds this talker's media
    /// key: what a publisher sends before its sealed key reaches a listener is
    /// forwarded but cannot be opened, and how long the key takes depends on
    /// the machine's load, not on what a test checks.
    func speak(onceKeyedBy listeners: Talker...) async {
        let speaker = participant.id
        for listener in listeners {
            await listener.participant.until("\(listener.participant.id) holds \(speaker)'s key", events: { events in
                events.contains { if case .mediaKeyAccepted(let delivery) = $0 { delivery.from == speaker } else { false } }
            })
        }
        source?.release()
    }

    /// Waits until the source has been read to its end.
    func waitUntilSent(seconds: Double) async throws {
        _ = await eventually(timeoutMs: Int((seconds + 10) * 1_000), pollMs: 50) { source?.ended == true }
    }

    static func end(_ talkers: Talker...) async {
        for talker in talkers {
            await talker.participant.session.leave()
            await talker.controller.stop()
        }
    }

    /// The references laid out on the sink's clock: each starts where its source was first read.
    static func placed(_ references: [([Int16], UInt64?)], sinkStart: UInt64?, count: Int) throws -> [Int16] {
        guard let sinkStart else { throw ToolError("the sink never played") }
        var mix = [Int32](repeating: 0, count: count)
        for (samples, start) in references {
            guard let start else { throw ToolError("a source was never read") }
            let offset = Int((Int64(start) - Int64(sinkStart)) * 48 / 1_000_000)
            for (i, sample) in samples.enumerated() where offset + i >= 0 && offset + i < count {
                mix[offset + i] += Int32(sample)
            }
        }
        return mix.map { Int16(clamping: $0) }
    }
}

/// Wraps a source to note when it was first read (the "mouth" time) and when it ended.
/// A held source gives silence, and notes no mouth time, until `release()`.
final class TimedSource: AudioSource, @unchecked Sendable {
    private let inner: AudioSource
    private let first = Atomic<UInt64>(0)
    private let done = Atomic<Bool>(false)
    private let held: Atomic<Bool>
    /// Samples of silence still to give before the inner source (read on the capture thread only).
    private var silence: Int
    init(_ inner: AudioSource, silenceFirst seconds: Double = 0, held: Bool = false) {
        self.inner = inner
        silence = Int(seconds * 48_000)
        self.held = Atomic(held)
    }
    func release() { held.store(false, ordering: .releasing) }
    var name: String { inner.name }
    var isClocked: Bool { inner.isClocked }
    var firstReadAt: UInt64? { let value = first.load(ordering: .acquiring); return value == 0 ? nil : value }
    var ended: Bool { done.load(ordering: .acquiring) }
    func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(AudioDeviceError) -> Int {
        if held.load(ordering: .acquiring) {
            buffer.update(repeating: 0)
            return buffer.count
        }
        _ = first.compareExchange(expected: 0, desired: MonotonicClock.nanoseconds(), ordering: .acquiringAndReleasing)
        if silence > 0 {
            // Whole frames of silence (the delays used are multiples of 20 ms).
            buffer.update(repeating: 0)
            silence -= buffer.count
            return buffer.count
        }
        let count = try inner.read(into: buffer)
        if count < buffer.count { done.store(true, ordering: .releasing) }
        return count
    }
    func close() { inner.close() }
}

/// Keeps everything played, and when each frame was played (the "ear" clock).
final class RecordingSink: AudioSink, Sendable {
    private let recorded = Mutex<[Int16]>([])
    /// The monotonic time of every write, with the index of its first sample.
    private let writes = Mutex<[(sample: Int, at: UInt64)]>([])
    private let started = Atomic<UInt64>(0)
    let name = "recording"
    var isClocked: Bool { false }
    var samples: [Int16] { recorded.withLock { $0 } }
    var startedAt: UInt64? { let value = started.load(ordering: .acquiring); return value == 0 ? nil : value }
    func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {
        let now = MonotonicClock.nanoseconds()
        _ = started.compareExchange(expected: 0, desired: now, ordering: .acquiringAndReleasing)
        let index = recorded.withLock { recorded in
            defer { recorded.append(contentsOf: samples) }
            return recorded.count
        }
        writes.withLock { $0.append((index, now)) }
    }
    func close() {}

    /// The index of the sample played at monotonic time `time` (nil before the first write).
    func sampleIndex(at time: UInt64) -> Int? {
        let frames = writes.withLock { $0 }
        guard let write = frames.last(where: { $0.at <= time }) else { return nil }
        return write.sample + Int((time - write.at) * 48 / 1_000_000)
    }

    /// Mouth-to-ear delay: when the frame holding sample `lagSamples` was
    /// handed to the sink (the moment a sound card would get it) minus when
    /// the source's first frame was read (the moment a microphone period is
    /// complete).
    func delayMs(lagSamples: Int, sourceStart: UInt64?) -> Int? {
        guard let sourceStart else { return nil }
        let frames = writes.withLock { $0 }
        guard let write = frames.last(where: { $0.sample <= lagSamples }) else { return nil }
        // Within the frame, the sample's own offset (at 48 kHz).
        let playedAt = Int64(write.at) + Int64(lagSamples - write.sample) * 1_000_000 / 48
        return Int((playedAt - Int64(sourceStart)) / 1_000_000)
    }
}
