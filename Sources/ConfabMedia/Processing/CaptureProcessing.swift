// The processing of the microphone before the encoder, on the capture thread.
//
//   capture frame (10 or 20 ms) ─▶ per 10 ms: FarEndRing ─▶ analyzeFarEnd (one 10 ms frame)
//                                             microphone ─▶ processNearEnd (echo cancellation,
//                                             noise suppression, automatic gain) ─▶ back in place
//   ─▶ level + VAD ─▶ Opus
//
// WebRTC's audio processing (libwebrtc-audio-processing 0.3) was chosen over
// speexdsp by measurement: docs/MEDIA.md, "Processing". Settings change
// through one atomic word that the capture thread reads between frames, as the
// encoder's do; all off, nothing is called and the frame passes untouched.
import Synchronization
import VoiceProcessing

/// Which parts of the processing run.
public struct VoiceProcessingSettings: Sendable, Hashable, Codable {
    public var echoCancellation: Bool
    public var noiseSuppression: Bool
    public var automaticGain: Bool
    /// Keyboard clicks gated out while you are not talking (KeyClickGate).
    public var keyboardSuppression: Bool

    public init(echoCancellation: Bool = true, noiseSuppression: Bool = true, automaticGain: Bool = true,
                keyboardSuppression: Bool = true) {
        self.echoCancellation = echoCancellation
        self.noiseSuppression = noiseSuppression
        self.automaticGain = automaticGain
        self.keyboardSuppression = keyboardSuppression
    }

    /// Everything on: what a microphone gets unless the user says otherwise.
    public static let all = VoiceProcessingSettings()
    /// Everything off: the source is sent as it is.
    public static let off = VoiceProcessingSettings(
        echoCancellation: false, noiseSuppression: false, automaticGain: false, keyboardSuppression: false)

    /// True when any part runs.
    public var isActive: Bool { word != 0 }

    /// "echo cancellation, noise suppression" or "off", for notices.
    public var summary: String {
        let parts = [(echoCancellation, "echo cancellation"), (noiseSuppression, "noise suppression"),
                     (automaticGain, "automatic gain"), (keyboardSuppression, "keyboard suppression")].filter(\.0).map(\.1)
        return parts.isEmpty ? "off" : parts.joined(separator: ", ")
    }

    var word: Int {
        (echoCancellation ? 1 : 0) | (noiseSuppression ? 2 : 0) | (automaticGain ? 4 : 0) | (keyboardSuppression ? 8 : 0)
    }

    init(word: Int) {
        self.init(echoCancellation: word & 1 != 0, noiseSuppression: word & 2 != 0, automaticGain: word & 4 != 0,
                  keyboardSuppression: word & 8 != 0)
    }
}

/// Counters of the processing, readable from any thread.
public final class ProcessingStats: Sendable {
    /// 10 ms microphone frames processed.
    public let nearFrames = Atomic<Int>(0)
    /// 10 ms far-end frames analysed (what the play-out thread played).
    public let farFrames = Atomic<Int>(0)
    /// Calls the library refused (the frame went on unprocessed).
    public let failures = Atomic<Int>(0)
    public init() {}
}

/// One per engine: the processor keeps what it learned (the echo path, the
/// noise) across senders, so a key rotation does not make it start over.
public final class CaptureProcessing: @unchecked Sendable {
    public let farEnd: FarEndRing
    public let stats = ProcessingStats()
    private let processor: VoiceProcessor
    private let requested: Atomic<Int>
    /// The word the processor runs with; capture thread only.
    private var applied = -1
    private let farFrame: UnsafeMutableBufferPointer<Int16>
    private var clickGate = KeyClickGate()
    /// 10 ms frames the click gate attenuated (capture thread writes, anyone reads).
    public let clicksSuppressed = Atomic<Int>(0)

    public init(settings: VoiceProcessingSettings, farEnd: FarEndRing = FarEndRing()) throws {
        processor = try VoiceProcessor(sampleRate: AudioFormat.sampleRate)
        self.farEnd = farEnd
        requested = Atomic(settings.word)
        farFrame = .allocate(capacity: processor.frameSamples)
        farFrame.initialize(repeating: 0)
    }

    deinit { farFrame.deallocate() }

    /// What runs from the next frame on; settable from any thread.
    public var settings: VoiceProcessingSettings {
        get { VoiceProcessingSettings(word: requested.load(ordering: .acquiring)) }
        set { requested.store(newValue.word, ordering: .releasing) }
    }

    /// The far end is fed to the canceller one 10 ms frame per 10 ms of
    /// microphone, as a sound card clocks both directions, not all that waits:
    /// the play-out and capture threads run at the same period in either order,
    /// and a reference that arrived in bursts of 0 or 40 ms before each
    /// microphone frame moved the canceller's delay estimate back and forth
    /// (the echo came back 15–25 dB louder for seconds at a time). The ring
    /// absorbs that jitter instead. More than this waiting means the play-out
    /// ran ahead (a stall of the capture thread, a card's clock running fast,
    /// or nobody read it): the oldest is dropped down to `farBacklogKeptSamples`,
    /// since a reference that comes after its echo cannot cancel it.
    static let farBacklogLimitSamples = AudioFormat.samples(forMs: 60)
    static let farBacklogKeptSamples = AudioFormat.samples(forMs: 20)

    /// On the capture thread: cleans `frame` (a whole number of 10 ms) in place.
    /// Public for benchmarks and tests.
    @inline(__always)
    public func process(_ frame: UnsafeMutableBufferPointer<Int16>) {
        let word = requested.load(ordering: .relaxed)
        if word != applied { adopt(word) }
        guard word != 0 else {
            farEnd.discardAll()
            return
        }
        let step = processor.frameSamples
        var start = 0
        while start + step <= frame.count {
            if word & 1 != 0 {
                if farEnd.available > Self.farBacklogLimitSamples {
                    farEnd.discardOldest(keeping: Self.farBacklogKeptSamples)
                }
                if farEnd.read(into: farFrame) {
                    if !processor.analyzeFarEnd(UnsafeBufferPointer(farFrame)) { stats.failures.add(1, ordering: .relaxed) }
                    stats.farFrames.add(1, ordering: .relaxed)
                }
            } else {
                farEnd.discardAll()
            }
            let part = UnsafeMutableBufferPointer(rebasing: frame[start..<(start + step)])
            if word & 7 != 0 {
                if !processor.processNearEnd(part) { stats.failures.add(1, ordering: .relaxed) }
                stats.nearFrames.add(1, ordering: .relaxed)
            }
            if word & 8 != 0 {
                let before = clickGate.clicksSuppressed
                clickGate.process(part, frameMs: VoiceProcessor.frameMs)
                if clickGate.clicksSuppressed != before { clicksSuppressed.add(1, ordering: .relaxed) }
            }
            start += step
        }
    }

    /// Switches the library's parts between two frames (its enable calls allocate nothing).
    private func adopt(_ word: Int) {
        let settings = VoiceProcessingSettings(word: word)
        if !settings.keyboardSuppression { clickGate = KeyClickGate() }
        do {
            try processor.configure(echoCancellation: settings.echoCancellation, noiseSuppression: settings.noiseSuppression,
                                    automaticGain: settings.automaticGain)
        } catch {
            stats.failures.add(1, ordering: .relaxed)
        }
        applied = word
    }
}
