// Who is speaking, from the levels the forwarder read (RFC 6464), per room.
//
//   forwarder ─▶ loudest level + voice flag per peer since the last speakers tick
//   speakers timer ─▶ SpeakerDetector.isSpeaking(report, nowNs) per peer
//                  ─▶ loud enough (threshold) or flagged voice ─▶ speaking, and remembered
//                  ─▶ otherwise still speaking within the hangover of the last time it was
//
// Times come in from the caller: the detector reads no clock.

import ConfabMacros

/// When a peer counts as speaking; the defaults are what `speakers` has always used (docs/SFU.md).
@PublicMemberwiseInit
public struct SpeakerDetectorSettings: Sendable, Hashable {
    /// A level at or above this on the clients' 0…100 scale counts as speech.
    public var threshold: Int = 10
    /// Whether the RFC 6464 voice-activity bit alone counts as speech.
    public var voiceActivityCounts: Bool = true
    /// A peer stays listed this long after its last interval with speech [ms]:
    /// bridges the short pauses between words. 0: listed only in intervals with speech.
    public var hangoverMs: Int = 0
}

/// One room's speaker decisions. A value owned by the room's actor.
struct SpeakerDetector {
    let settings: SpeakerDetectorSettings
    /// When each media session (by slot) last had speech.
    private var lastSpeechNs: [Int: UInt64] = [:]

    init(settings: SpeakerDetectorSettings = SpeakerDetectorSettings()) {
        self.settings = settings
    }

    /// Whether the peer of `report` counts as speaking at `nowNs`, given the
    /// loudest level and voice flag since the previous call.
    mutating func isSpeaking(_ report: MediaPeerReport, nowNs: UInt64) -> Bool {
        if (settings.voiceActivityCounts && report.voice) || report.level >= settings.threshold {
            lastSpeechNs[report.slot] = nowNs
            return true
        }
        guard let last = lastSpeechNs[report.slot] else { return false }
        let hangoverNs = UInt64(max(0, settings.hangoverMs)) * 1_000_000
        if nowNs >= last, nowNs - last < hangoverNs { return true }
        lastSpeechNs[report.slot] = nil
        return false
    }

    /// Forgets sessions not in `slots` (peers gone, or back with a new session).
    mutating func keep(only slots: Set<Int>) {
        lastSpeechNs = lastSpeechNs.filter { slots.contains($0.key) }
    }
}
