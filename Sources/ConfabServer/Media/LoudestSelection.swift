// Which publishers an audience hears: the N loudest at a time, from the
// RFC 6464 levels the forwarder already reads (RFC 6464 §3: 0 is the
// loudest, 127 silence, in -dBov).
//
//   RTP packet of publisher P (accepted) ─▶ Loudness.add(level, nowNs)    smoothed level in dB
//     ─▶ LoudestSelection.consider(P)  selected already? nothing
//                                      a free place?     P takes it
//                                      louder than the quietest selected by `marginDb`? P replaces it
//     ─▶ copies to the audience only while P is selected
//
// The smoothing and the margin are the hysteresis. The average rises fast
// (`attackMs`) and falls slowly (`releaseMs`), as a level meter's ballistics
// do: a voice is counted within a few frames, and the pauses between words
// do not hand a speaker's place to the room's background. Two speakers
// within the margin of each other do not flap. A voice 10 dB above the
// quietest selected one takes its place in under 300 ms of speech, and so
// does the next voice when a speaker stops (docs/MEDIA.md, "The loudest few").
//
// Values with no clock and no heap: the forwarder gives the times, and keeps
// them in its tables on the media thread.

import Glibc

/// The knobs of the loudest-few selection (defaults in docs/MEDIA.md).
struct LoudestSettings: Sendable, Hashable {
    /// How many publishers an audience member hears at a time.
    var count: Int
    /// The time constant of the level's average while it rises [ms].
    var attackMs: Int = 80
    /// The time constant while it falls, and of the decay while nothing arrives [ms].
    var releaseMs: Int = 800
    /// How much louder [dB] a publisher must be than the quietest one heard to take its place.
    var marginDb: Double = 6

    var releaseNs: Double { Double(max(1, releaseMs)) * 1_000_000 }
    /// The weight of one packet (a 20 ms frame) in the average, rising and falling.
    var attackWeight: Double { Self.weight(ms: attackMs) }
    var releaseWeight: Double { Self.weight(ms: releaseMs) }

    private static func weight(ms: Int) -> Double {
        1 - exp(-Double(Loudness.packetSpanNs) / (Double(max(1, ms)) * 1_000_000))
    }
}

/// A publisher's smoothed loudness: dB above silence (127 − the RFC 6464
/// level), averaged over time; it decays towards 0 while nothing arrives.
struct Loudness: Sendable, Hashable {
    private(set) var decibels: Double = 0
    private(set) var updatedNs: UInt64 = 0
    /// How much audio one packet speaks for [ns]: a frame. Past that, the
    /// time without packets is silence (DTX, a muted microphone, loss).
    static let packetSpanNs: UInt64 = 20_000_000

    /// The loudness at `nowNs`: decayed towards silence from the end of the last packet's span.
    func value(at nowNs: UInt64, settings: LoudestSettings) -> Double {
        let heardUntil = updatedNs &+ Self.packetSpanNs
        guard nowNs > heardUntil, decibels > 0 else { return decibels }
        return decibels * exp(-Double(nowNs - heardUntil) / settings.releaseNs)
    }

    /// Takes one packet's level (RFC 6464: 0 loudest … 127 silence) that
    /// arrived at `nowNs`. Each packet weighs one frame's worth, however
    /// packets bunch up on the way.
    mutating func add(level: UInt8, at nowNs: UInt64, settings: LoudestSettings) {
        let sample = Double(127 - Int(min(level, 127)))
        let before = value(at: nowNs, settings: settings)
        let weight = sample > before ? settings.attackWeight : settings.releaseWeight
        decibels = before + weight * (sample - before)
        updatedNs = max(updatedNs, nowNs)
    }
}

/// One room's selection of loudest publishers, by the caller's ids (the
/// forwarder's table indices). At most `settings.count` are selected.
struct LoudestSelection: Sendable {
    var settings: LoudestSettings
    /// The ids selected, in no particular order (capacity reserved: no heap when it changes).
    private(set) var selected: [Int]

    init(settings: LoudestSettings) {
        self.settings = settings
        selected = []
        selected.reserveCapacity(max(1, settings.count))
    }

    /// What one `consider` changed.
    struct Change: Equatable {
        var added: Int?
        var removed: Int?
        static let unchanged = Change()
    }

    func isSelected(_ id: Int) -> Bool { selected.contains(id) }

    /// Publisher `candidate`, `loudness` dB now, just sent a packet: it takes
    /// a free place, or the quietest selected one's when it is `marginDb`
    /// louder. `loudnessOf` gives a selected publisher's loudness now.
    mutating func consider(_ candidate: Int, loudness: Double, loudnessOf: (Int) -> Double) -> Change {
        guard !selected.contains(candidate), settings.count > 0 else { return .unchanged }
        if selected.count < settings.count {
            selected.append(candidate)
            return Change(added: candidate)
        }
        var quietest = 0
        var quietestLoudness = Double.infinity
        for position in selected.indices {
            let value = loudnessOf(selected[position])
            if value < quietestLoudness {
                quietestLoudness = value
                quietest = position
            }
        }
        guard loudness > quietestLoudness + settings.marginDb else { return .unchanged }
        let removed = selected[quietest]
        selected[quietest] = candidate
        return Change(added: candidate, removed: removed)
    }

    /// Drops a publisher that left or may no longer publish; its place is free.
    mutating func remove(_ id: Int) {
        selected.removeAll { $0 == id }
    }
}
