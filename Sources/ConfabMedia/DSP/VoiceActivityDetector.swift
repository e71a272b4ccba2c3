// An energy voice-activity detector for the capture side (the "speaking"
// indicator and the decision to mark frames as voice).
//
//   frame ─▶ LevelMeter.dBov ─▶ compare with noise floor + margin and an absolute
//            threshold ─▶ voice? ─▶ hangover (keeps "voice" through word gaps) ─▶ Bool
//                             └──▶ noise floor: drops to any quieter frame at once,
//                                  creeps upward slowly (minimum tracking)
//
// Why minimum tracking: background noise (a fan, a hum) is the quietest thing a
// microphone hears, so the floor follows the quietest recent frames. It rises
// only slowly so a long talk-spurt does not drag it up to the speech level; a
// steady sound that never pauses does end up as "noise" after a while, which is
// the point. The absolute threshold keeps a near-silent line from ever counting
// as speech however low the floor goes.
//
// The trade-off at start: the floor begins at a quiet room's −70 dBov, so a sound
// that is already there when the detector starts counts as voice until the
// floor has crept up to it (a −43 dBov hiss: about 18 s at 1 dB/s). A rise
// fast enough to learn it sooner would also swallow long talk-spurts, and a
// hiss below the −50 dBov threshold never counts anyway.

import ConfabMacros

/// Knobs for `VoiceActivityDetector`, with defaults that suit 10–20 ms frames.
@PublicMemberwiseInit
public struct VoiceActivityConfiguration: Sendable, Equatable {
    /// A frame is voice only when this many dB above the noise floor [dB].
    public var marginDb: Double = 9
    /// ...and at least this loud [dBov].
    public var absoluteThresholdDBov: Double = -50
    /// How long "voice" persists after the last loud frame [ms], so short gaps
    /// between words do not toggle the indicator.
    public var hangoverMs: Int = 200
    /// How fast the noise floor rises while frames are louder than it [dB/s].
    public var floorRiseDbPerSecond: Double = 1
    /// The floor before any frame was seen [dBov]: a quiet room.
    public var initialFloorDBov: Double = -70
}

/// Decides per frame whether someone is talking. A value type with no heap
/// storage: `process` does no allocation.
public struct VoiceActivityDetector: Sendable, Equatable {
    public let configuration: VoiceActivityConfiguration
    /// The current noise-floor estimate [dBov].
    public private(set) var noiseFloorDBov: Double
    /// The level of the last frame processed [dBov].
    public private(set) var lastLevelDBov: Double = LevelMeter.silenceDBov
    /// The last decision (including hangover).
    public private(set) var isVoice = false
    private var hangoverLeftMs = 0

    public init(configuration: VoiceActivityConfiguration = VoiceActivityConfiguration()) {
        self.configuration = configuration
        noiseFloorDBov = configuration.initialFloorDBov
    }

    /// Classifies one frame of `frameMs` milliseconds; true while voice is
    /// present or within the hangover after it.
    public mutating func process(_ frame: UnsafeBufferPointer<Int16>, frameMs: Int) -> Bool {
        process(levelDBov: LevelMeter.dBov(frame), frameMs: frameMs)
    }

    /// The same decision for a level already measured (the engine measures each
    /// frame once for RFC 6464 and reuses it here).
    public mutating func process(levelDBov: Double, frameMs: Int) -> Bool {
        let level = levelDBov.isNaN ? LevelMeter.silenceDBov : levelDBov
        let durationMs = Swift.max(0, frameMs)
        lastLevelDBov = level

        // Decide against the floor as it was before this frame, so a loud frame
        // cannot raise the bar it is measured against.
        let loud = level >= noiseFloorDBov + configuration.marginDb
            && level >= configuration.absoluteThresholdDBov

        if level < noiseFloorDBov {
            noiseFloorDBov = level
        } else {
            let rise = configuration.floorRiseDbPerSecond * Double(durationMs) / 1000
            noiseFloorDBov = Swift.min(level, noiseFloorDBov + rise)
        }

        if loud {
            hangoverLeftMs = configuration.hangoverMs
            isVoice = true
        } else if hangoverLeftMs > 0 {
            // This frame is still inside the hangover window that began at the
            // last loud frame.
            hangoverLeftMs -= durationMs
            isVoice = true
        } else {
            isVoice = false
        }
        return isVoice
    }

    /// Forgets everything (a new track or a device change).
    public mutating func reset() {
        self = VoiceActivityDetector(configuration: configuration)
    }
}
