// Generated audio sources and a discarding sink, for demos, tests and headless runs.
//
//   ToneSource        sine at frequencyHz ─┐
//   SilenceSource     zeros               ─┼─▶ read(into:) ─▶ engine capture thread
//   SpeechLikeSource  pulses ─▶ formants  ─┘
//   engine playout thread ─▶ NullSink (discards)
//
// All are unclocked (the engine paces them) and deterministic: the same
// arguments give the same samples on every run and machine. With a duration
// they end like a file: a short read, then 0.

import ConfabSocket

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How much of a generated source is left: it ends like a file after its
/// duration, and at once when closed.
private struct GeneratedLength {
    /// nil: endless.
    private let totalSamples: Int?
    private var producedSamples = 0
    private var isClosed = false

    /// - Parameter durationSeconds: nil for endless; negative or NaN is 0.
    init(durationSeconds: Double?) {
        if let seconds = durationSeconds {
            totalSamples =
                seconds.isFinite
                ? Int(Swift.max(0, Swift.min(1e12, (seconds * Double(AudioFormat.sampleRate)).rounded())))
                : (seconds == .infinity ? nil : 0)
        } else {
            totalSamples = nil
        }
    }

    /// How many of `capacity` samples to produce now (0 at the end), counted as produced.
    mutating func take(upTo capacity: Int) -> Int {
        guard !isClosed else { return 0 }
        let count = Swift.max(0, totalSamples.map { Swift.min(capacity, $0 - producedSamples) } ?? capacity)
        producedSamples += count
        return count
    }

    mutating func close() { isClosed = true }
}

// MARK: - Tone

/// A sine tone. Used from one thread at a time, hence `@unchecked Sendable`.
public final class ToneSource: AudioSource, @unchecked Sendable {
    public let name: String
    public let frequencyHz: Double
    /// Peak amplitude as a fraction of full scale (32767).
    public let amplitude: Double
    public var isClocked: Bool { false }

    private var length: GeneratedLength
    /// Phase [rad], kept in 0..<2π so precision does not drift over hours.
    private var phase = 0.0
    private let phaseStep: Double

    /// - Parameters:
    ///   - frequencyHz: clamped to 0…24000 Hz (the 48 kHz Nyquist limit); NaN is 0.
    ///   - amplitude: peak as a fraction of full scale, clamped to 0…1; 0.3 is −13.5 dBov.
    ///   - durationSeconds: nil for an endless tone.
    public init(frequencyHz: Double, amplitude: Double = 0.3, durationSeconds: Double? = nil) {
        let nyquist = Double(AudioFormat.sampleRate) / 2
        self.frequencyHz = frequencyHz.isNaN ? 0 : Swift.max(0, Swift.min(nyquist, frequencyHz))
        self.amplitude = amplitude.isNaN ? 0 : Swift.max(0, Swift.min(1, amplitude))
        length = GeneratedLength(durationSeconds: durationSeconds)
        phaseStep = 2 * Double.pi * self.frequencyHz / Double(AudioFormat.sampleRate)
        let hz = self.frequencyHz
        name = hz == hz.rounded() ? "tone:\(Int(hz)) Hz" : "tone:\(hz) Hz"
    }

    public func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(AudioDeviceError) -> Int {
        let count = length.take(upTo: buffer.count)
        let peak = amplitude * Double(Int16.max)
        for i in 0..<count {
            buffer[i] = Int16((peak * sin(phase)).rounded())
            phase += phaseStep
            if phase >= 2 * Double.pi { phase -= 2 * Double.pi }
        }
        return count
    }

    public func close() { length.close() }
}

// MARK: - Silence

/// Digital silence. Used from one thread at a time, hence `@unchecked Sendable`.
public final class SilenceSource: AudioSource, @unchecked Sendable {
    public let name = "silence"
    public var isClocked: Bool { false }

    private var length: GeneratedLength

    /// - Parameter durationSeconds: nil for endless silence.
    public init(durationSeconds: Double? = nil) {
        length = GeneratedLength(durationSeconds: durationSeconds)
    }

    public func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(AudioDeviceError) -> Int {
        let count = length.take(upTo: buffer.count)
        for i in 0..<count { buffer[i] = 0 }
        return count
    }

    public func close() { length.close() }
}

// MARK: - Null sink

/// Discards everything (a listener with no speaker, a benchmark).
public final class NullSink: AudioSink, @unchecked Sendable {
    public let name = "null"
    public var isClocked: Bool { false }
    /// Samples written so far (handy in tests).
    public private(set) var samplesWritten = 0

    public init() {}

    public func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {
        samplesWritten += samples.count
    }

    public func close() {}
}

// MARK: - Speech-like

/// A deterministic stand-in for a talker: voiced syllables grouped into words
/// and phrases, with the pauses that make a VAD and a level meter see
/// talk-spurts and a codec see voice.
///
///   glottal pulses (Rosenberg shape, f0 100–220 Hz by seed, declining over a phrase)
///   ─▶ × syllable envelope ─▶ F1 ─▶ F2 ─▶ F3 resonators (Klatt, moving per syllable)
///   ─▶ lip radiation (first difference) ─▶ + consonant noise bursts + a −80 dBov floor
///   ─▶ soft limiter ─▶ Int16
///
/// Timing: syllables of 150–250 ms; 0–25 ms dips inside a word; 70–150 ms
/// between words (shorter than a 200 ms VAD hangover); 450–900 ms between
/// phrases of 2–6 words (longer, so a VAD falls silent). Loud syllable nuclei
/// reach about −17 dBov (20 ms RMS); the median 20 ms frame is about −36 dBov.
/// It is not intelligible and not meant to be.
///
/// Used from one thread at a time, hence `@unchecked Sendable`; no heap
/// allocation after `init`.
public final class SpeechLikeSource: AudioSource, @unchecked Sendable {
    public let name: String
    public let seed: UInt64
    /// The talker's mean pitch [Hz], 100–220, chosen by the seed.
    public let basePitchHz: Double
    public var isClocked: Bool { false }

    private static let sampleRate = Double(AudioFormat.sampleRate)
    /// Formant coefficients are recomputed this often [samples] (1 ms): cheap and smooth.
    private static let coefficientUpdateSamples = 48
    /// Output scale found by measurement so stressed nuclei reach about −17 dBov (20 ms RMS).
    private static let outputGain = 177_000.0

    private var length: GeneratedLength
    private var random: SplitMix64
    private let limiter = SoftLimiter(kneeFraction: 0.8)
    /// Formants scale with the vocal tract: higher voices, slightly higher formants.
    private let formantScale: Double

    // Prosody: where we are in the phrase / word / syllable.
    private var segmentIsSyllable = false
    private var segmentLength = 1
    private var segmentPosition = 1
    private var wordsLeftInPhrase = 0
    private var syllablesLeftInWord = 0
    private var phraseElapsedSamples = 0

    // The current syllable.
    private var syllablePeak = 0.0
    private var onsetSamples = 0
    private var pitchAccent = 1.0
    private var vowel = 0
    private var vowelGain = 1.0
    private var startFormants = (700.0, 1200.0, 2500.0)
    private var targetFormants = (700.0, 1200.0, 2500.0)

    // Signal state.
    private var glottalPhase = 0.0
    private var periodJitter = 1.0
    private var resonators = (Resonator(), Resonator(), Resonator())
    private var previousVoiced = 0.0
    private var previousNoise = 0.0

    /// - Parameters:
    ///   - seed: picks the talker's pitch and the sequence of syllables.
    ///   - durationSeconds: nil for endless speech.
    public init(seed: UInt64 = 1, durationSeconds: Double? = nil) {
        self.seed = seed
        name = "speech:\(seed)"
        length = GeneratedLength(durationSeconds: durationSeconds)
        random = SplitMix64(seed: seed)
        basePitchHz = 100 + 120 * random.nextUnit()
        formantScale = 0.95 + 0.15 * (basePitchHz - 100) / 120
        vowel = random.nextInt(below: Self.vowelCount)
        startFormants = Self.formants(ofVowel: vowel, scale: formantScale)
        targetFormants = startFormants
        // Start with a short breath so the first syllable has a clean onset.
        segmentLength = Int(0.05 * Self.sampleRate)
        segmentPosition = 0
    }

    public func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(AudioDeviceError) -> Int {
        let count = length.take(upTo: buffer.count)
        for i in 0..<count { buffer[i] = nextSample() }
        return count
    }

    public func close() { length.close() }

    // MARK: Synthesis

    private func nextSample() -> Int16 {
        if segmentPosition >= segmentLength { startNextSegment() }
        let t = segmentPosition
        segmentPosition += 1
        phraseElapsedSamples += 1

        var voicedAmplitude = 0.0
        var noiseAmplitude = 0.0
        if segmentIsSyllable {
            if t % Self.coefficientUpdateSamples == 0 { updateFormants(at: t) }
            voicedAmplitude = syllablePeak * vowelGain * voicedEnvelope(at: t)
            if t < onsetSamples {
                // A fricative-like burst before the vowel, fading out as voicing starts.
                let progress = Double(t) / Double(onsetSamples)
                noiseAmplitude = 0.06 * syllablePeak * sin(Double.pi * progress)
            }
        }

        // Glottal source: a Rosenberg pulse per pitch period (open 40 %, closing 16 %).
        // The pulse's slopes, and so the radiated level, grow with f0; 100/f0 keeps
        // high and low voices equally loud.
        let f0 = currentPitchHz(at: t) * periodJitter
        voicedAmplitude *= 100 / f0
        glottalPhase += f0 / Self.sampleRate
        if glottalPhase >= 1 {
            glottalPhase -= 1
            periodJitter = 1 + 0.01 * random.nextSigned()
        }
        let pulse: Double
        if glottalPhase < 0.4 {
            pulse = 0.5 * (1 - cos(Double.pi * glottalPhase / 0.4))
        } else if glottalPhase < 0.56 {
            pulse = cos(0.5 * Double.pi * (glottalPhase - 0.4) / 0.16)
        } else {
            pulse = 0
        }

        var voiced = resonators.0.process(pulse * voicedAmplitude)
        voiced = resonators.1.process(voiced)
        voiced = resonators.2.process(voiced)
        // Lip radiation: a first difference (+6 dB/octave).
        let radiated = voiced - previousVoiced
        previousVoiced = voiced

        // High-passed white noise for consonants, and a faint constant floor so
        // pauses are not digital silence (as with a real microphone).
        let noise = random.nextSigned()
        let hiss = noise - previousNoise
        previousNoise = noise
        let floorNoise = 6 * random.nextSigned()

        let value = radiated * Self.outputGain + hiss * noiseAmplitude * 32767 * 0.5 + floorNoise
        let limited = limiter.apply(Float(value)).rounded()
        return Int16(Swift.max(-32767, Swift.min(32767, limited)))
    }

    /// Raised-cosine attack after the consonant onset and release at the end.
    private func voicedEnvelope(at t: Int) -> Double {
        let attack = Int(0.03 * Self.sampleRate)
        let release = Int(0.05 * Self.sampleRate)
        if t < onsetSamples { return 0 }
        let sinceVoicing = t - onsetSamples
        let untilEnd = segmentLength - t
        if sinceVoicing < attack {
            return 0.5 * (1 - cos(Double.pi * Double(sinceVoicing) / Double(attack)))
        }
        if untilEnd < release {
            return 0.5 * (1 - cos(Double.pi * Double(untilEnd) / Double(release)))
        }
        return 1
    }

    /// Pitch declines over a phrase (about 10 % a second, to at most −20 %),
    /// stressed syllables are higher, and each syllable rises then falls a little.
    private func currentPitchHz(at t: Int) -> Double {
        let phraseSeconds = Double(phraseElapsedSamples) / Self.sampleRate
        let declination = Swift.max(0.8, 1.1 - 0.1 * phraseSeconds)
        var contour = 1.0
        if segmentIsSyllable {
            contour = 1 + 0.04 * sin(Double.pi * Double(t) / Double(segmentLength))
        }
        return basePitchHz * declination * pitchAccent * contour
    }

    /// Glides from the previous vowel's formants to this syllable's over its
    /// first 40 %, then holds.
    private func updateFormants(at t: Int) {
        let progress = Swift.min(1, Double(t) / (0.4 * Double(segmentLength)))
        let smooth = progress * progress * (3 - 2 * progress)
        func glide(_ a: Double, _ b: Double) -> Double { a + (b - a) * smooth }
        resonators.0.tune(frequencyHz: glide(startFormants.0, targetFormants.0), bandwidthHz: 70)
        resonators.1.tune(frequencyHz: glide(startFormants.1, targetFormants.1), bandwidthHz: 90)
        resonators.2.tune(frequencyHz: glide(startFormants.2, targetFormants.2), bandwidthHz: 130)
    }

    private func startNextSegment() {
        segmentPosition = 0
        if segmentIsSyllable {
            // A syllable ended: choose the gap after it.
            segmentIsSyllable = false
            let gapMs: Double
            if syllablesLeftInWord > 0 {
                gapMs = 25 * random.nextUnit()
            } else if wordsLeftInPhrase > 0 {
                gapMs = 70 + 80 * random.nextUnit()
            } else {
                gapMs = 450 + 450 * random.nextUnit()
            }
            segmentLength = Swift.max(1, Int(gapMs * Self.sampleRate / 1000))
            return
        }

        if syllablesLeftInWord == 0 {
            if wordsLeftInPhrase == 0 {
                wordsLeftInPhrase = 2 + random.nextInt(below: 5)
                phraseElapsedSamples = 0
            }
            wordsLeftInPhrase -= 1
            syllablesLeftInWord = 1 + random.nextInt(below: 3)
        }
        syllablesLeftInWord -= 1

        segmentIsSyllable = true
        segmentLength = Int((0.15 + 0.1 * random.nextUnit()) * Self.sampleRate)
        let stressed = random.nextUnit() < 0.35
        syllablePeak = stressed ? 0.85 + 0.15 * random.nextUnit() : 0.5 + 0.3 * random.nextUnit()
        pitchAccent = stressed ? 1.08 : 1
        onsetSamples = random.nextUnit() < 0.6 ? Int((0.025 + 0.035 * random.nextUnit()) * Self.sampleRate) : 0

        // A different vowel each syllable, so the formants always move.
        startFormants = targetFormants
        vowel = (vowel + 1 + random.nextInt(below: Self.vowelCount - 1)) % Self.vowelCount
        targetFormants = Self.formants(ofVowel: vowel, scale: formantScale)
        vowelGain = Self.levelCorrection(ofVowel: vowel)
    }

    /// Linear gains that even out the vowels' levels through the resonators
    /// (measured: open vowels came out up to 7 dB louder than /i/ and /u/).
    private static func levelCorrection(ofVowel vowel: Int) -> Double {
        let dB: Double
        switch vowel {
        case 0: dB = -2
        case 1: dB = 3
        case 2: dB = 3
        case 3: dB = 1.5
        case 4: dB = -3
        default: dB = 0.5
        }
        return pow(10, dB / 20)
    }

    private static let vowelCount = 6

    /// F1, F2, F3 [Hz] of six vowels of an adult male talker (after Peterson &
    /// Barney, 1952), scaled for the talker.
    private static func formants(ofVowel vowel: Int, scale: Double) -> (Double, Double, Double) {
        let f: (Double, Double, Double)
        switch vowel {
        case 0: f = (730, 1090, 2440)   // /ɑ/ "father"
        case 1: f = (270, 2290, 3010)   // /i/ "beet"
        case 2: f = (300, 870, 2240)    // /u/ "boot"
        case 3: f = (530, 1840, 2480)   // /ɛ/ "bet"
        case 4: f = (570, 840, 2410)    // /ɔ/ "bought"
        default: f = (660, 1720, 2410)  // /æ/ "bat"
        }
        return (f.0 * scale, f.1 * scale, f.2 * scale)
    }
}

/// A two-pole resonator with unity gain at 0 Hz (Klatt 1980):
/// y[n] = A·x[n] + B·y[n−1] + C·y[n−2].
private struct Resonator {
    private var a = 1.0
    private var b = 0.0
    private var c = 0.0
    private var y1 = 0.0
    private var y2 = 0.0

    mutating func tune(frequencyHz: Double, bandwidthHz: Double) {
        let period = 1 / Double(AudioFormat.sampleRate)
        c = -exp(-2 * Double.pi * bandwidthHz * period)
        b = 2 * exp(-Double.pi * bandwidthHz * period) * cos(2 * Double.pi * frequencyHz * period)
        a = 1 - b - c
    }

    mutating func process(_ x: Double) -> Double {
        let y = a * x + b * y1 + c * y2
        y2 = y1
        y1 = y
        return y
    }
}
