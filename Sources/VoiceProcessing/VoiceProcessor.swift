// A typed Swift face on WebRTC's audio processing (libwebrtc-audio-processing
// 0.3, through the CVoiceProcessing shim): echo cancellation, noise
// suppression and automatic gain control on 10 ms frames of 48 kHz mono S16.
//
//   what the loudspeaker played (10 ms) ─▶ analyzeFarEnd      (the echo reference)
//   what the microphone heard  (10 ms) ─▶ processNearEnd ─▶ the same buffer, cleaned
//
// The C state is created in `init` and freed in `deinit`; both calls work in
// buffers the caller owns, so the per-frame path allocates nothing in Swift.
// Call both from one thread (the engine's capture thread): the library's own
// lock is then never contended.
import CVoiceProcessing

/// Why the processor refused.
public struct VoiceProcessingError: Error, Equatable, CustomStringConvertible {
    public let operation: String
    public let code: Int32
    public var description: String { "voice processing: \(operation) failed (webrtc error \(code))" }
}

public final class VoiceProcessor: @unchecked Sendable {
    /// The processor works on frames of exactly this length: 10 ms.
    public static let frameMs = 10
    public let sampleRate: Int
    public var frameSamples: Int { sampleRate / 1000 * Self.frameMs }
    private let state: OpaquePointer

    /// A processor with every part off; `configure` switches them on.
    public init(sampleRate: Int = 48_000) throws(VoiceProcessingError) {
        guard let state = confab_voice_processor_create(Int32(sampleRate)) else {
            throw VoiceProcessingError(operation: "create", code: -1)
        }
        self.state = state
        self.sampleRate = sampleRate
    }

    deinit {
        confab_voice_processor_destroy(state)
    }

    /// Switches parts on or off; takes effect from the next frame (no allocation).
    public func configure(echoCancellation: Bool, noiseSuppression: Bool, automaticGain: Bool) throws(VoiceProcessingError) {
        let code = confab_voice_processor_configure(
            state, echoCancellation ? 1 : 0, noiseSuppression ? 1 : 0, automaticGain ? 1 : 0)
        guard code == 0 else { throw VoiceProcessingError(operation: "configure", code: code) }
    }

    /// Hands over 10 ms of what was played: the reference the echo is cancelled against.
    @discardableResult
    public func analyzeFarEnd(_ frame: UnsafeBufferPointer<Int16>) -> Bool {
        guard frame.count == frameSamples, let base = frame.baseAddress else { return false }
        return confab_voice_processor_analyze_far_end(state, base, Int32(frame.count)) == 0
    }

    /// Cleans 10 ms of microphone in place. `delayMs` is the delay from a
    /// far-end frame to its echo when known; 0 lets the estimator find it.
    @discardableResult
    public func processNearEnd(_ frame: UnsafeMutableBufferPointer<Int16>, delayMs: Int = 0) -> Bool {
        guard frame.count == frameSamples, let base = frame.baseAddress else { return false }
        return confab_voice_processor_process_near_end(state, base, Int32(frame.count), Int32(delayMs)) == 0
    }
}
