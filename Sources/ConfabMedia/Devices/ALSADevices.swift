// Sound cards through ALSA, and the factory that turns a device string into
// a source or sink.
//
//   "alsa:NAME" ─▶ ALSACaptureSource / ALSAPlaybackSink (clocked by the card)
//   "x.wav", "tone:440", "speech", "silence", "null" ─▶ the file and generated devices
//
// A sound card that is missing (servers, CI) degrades to silence or the null
// sink with one notice, never a crash (DESIGN.md).
import ALSA

/// An ALSA PCM (S16_LE, 48 kHz, mono) until it is closed: what the capture
/// source and the playback sink share.
public class ALSADevice: @unchecked Sendable {
    public let name: String
    public let isClocked: Bool
    private var pcm: ALSA.PCM?

    /// Opens the PCM with a buffer of `periods` frames; a card that cannot be
    /// opened is `unavailable`, which callers turn into the silent fallback.
    fileprivate init(
        _ pcmName: String, _ direction: ALSA.Direction, frameSamples: Int, periods: Int, configFile: String?
    ) throws(AudioDeviceError) {
        name = "alsa:\(pcmName)"
        do {
            let opened = try ALSA.PCM(
                name: pcmName, direction: direction,
                configuration: .init(periodFrames: frameSamples, bufferFrames: frameSamples * periods),
                configFile: configFile)
            pcm = opened
            isClocked = opened.isClocked
        } catch {
            throw .unavailable(error.description)
        }
    }

    /// Runs a transfer on the open PCM, its failure as `io`; `whenClosed` once closed.
    fileprivate func transfer<Result>(
        whenClosed: Result, _ body: (ALSA.PCM) throws(ALSA.Error) -> Result
    ) throws(AudioDeviceError) -> Result {
        guard let pcm else { return whenClosed }
        do {
            return try body(pcm)
        } catch {
            throw .io(error.description)
        }
    }

    public func close() { pcm = nil }

    /// Over- and under-runs recovered (`snd_pcm_recover`) since it was opened.
    public var xruns: Int { pcm?.xrunCount ?? 0 }
}

/// Captures from an ALSA PCM.
public final class ALSACaptureSource: ALSADevice, AudioSource, @unchecked Sendable {
    public init(pcmName: String, frameSamples: Int = 960, configFile: String? = nil) throws(AudioDeviceError) {
        // Four periods: capture may be read late by a busy engine thread without an overrun.
        try super.init(pcmName, .capture, frameSamples: frameSamples, periods: 4, configFile: configFile)
    }

    public func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(AudioDeviceError) -> Int {
        try transfer(whenClosed: 0) { pcm throws(ALSA.Error) in try pcm.read(into: buffer) }
    }
}

/// Plays to an ALSA PCM.
public final class ALSAPlaybackSink: ALSADevice, AudioSink, @unchecked Sendable {
    public init(pcmName: String, frameSamples: Int = 960, configFile: String? = nil) throws(AudioDeviceError) {
        // Three periods of buffer: enough to ride out a late wake-up, little added delay.
        try super.init(pcmName, .playback, frameSamples: frameSamples, periods: 3, configFile: configFile)
    }

    public func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {
        try transfer(whenClosed: ()) { pcm throws(ALSA.Error) in try pcm.write(samples) }
    }
}

/// Opens sources and sinks from device strings.
public enum AudioDevices {
    /// A sound card one can switch to, as `confab devices` lists it.
    public struct SoundCard: Hashable, Sendable {
        /// `alsa:NAME`, what `--input`, `--output` and a switch take.
        public var spec: String
        public var description: String
        /// "Input" or "Output" when the card does only one; nil for both.
        public var direction: String?
    }

    /// The sound cards alsa-lib knows, without `null` (which is no card).
    public static func soundCards() -> [SoundCard] {
        ALSA.listPCMs().filter { $0.name != "null" }.map {
            SoundCard(spec: "alsa:\($0.name)", description: $0.description, direction: $0.direction)
        }
    }

    /// Opens a capture source. A missing sound card gives silence and a notice
    /// (when `fallBackToNull`), any other problem an error.
    public static func openSource(_ spec: AudioDeviceSpec, frameSamples: Int = 960, durationSeconds: Double? = nil,
                                  alsaConfigFile: String? = nil, fallBackToNull: Bool = true,
                                  notice: (String) -> Void = { _ in }) throws(AudioDeviceError) -> AudioSource {
        switch spec {
        case .tone(let hz): return ToneSource(frequencyHz: hz, durationSeconds: durationSeconds)
        case .silence, .null: return SilenceSource(durationSeconds: durationSeconds)
        case .speech(let seed): return SpeechLikeSource(seed: seed, durationSeconds: durationSeconds)
        case .wav(let path): return try WAVFileSource(path: path)
        case .alsa(let name):
            // A card that vanishes later sends silence and is opened again (DeviceFallback.swift).
            let open = { () throws(AudioDeviceError) -> AudioSource in
                try ALSACaptureSource(pcmName: name, frameSamples: frameSamples, configFile: alsaConfigFile)
            }
            return try soundCard(fallBackToNull: fallBackToNull) { () throws(AudioDeviceError) -> AudioSource in
                FallbackSource(try open(), frameMs: frameSamples / (AudioFormat.sampleRate / 1000), reopen: open)
            } ifMissing: { why in
                notice("No capture device \(name) (\(why)); sending silence.")
                return SilenceSource(durationSeconds: durationSeconds)
            }
        }
    }

    /// Opens a play-out sink. A missing sound card gives the null sink and a
    /// notice (when `fallBackToNull`), any other problem an error.
    public static func openSink(_ spec: AudioDeviceSpec, frameSamples: Int = 960, alsaConfigFile: String? = nil,
                                fallBackToNull: Bool = true, notice: (String) -> Void = { _ in }) throws(AudioDeviceError) -> AudioSink {
        switch spec {
        case .null: return NullSink()
        case .wav(let path): return try WAVFileSink(path: path)
        case .tone, .silence, .speech:
            throw .unavailable("\(spec) is a source; an output is a .wav path, null, or alsa:NAME")
        case .alsa(let name):
            let open = { () throws(AudioDeviceError) -> AudioSink in
                try ALSAPlaybackSink(pcmName: name, frameSamples: frameSamples, configFile: alsaConfigFile)
            }
            return try soundCard(fallBackToNull: fallBackToNull) { () throws(AudioDeviceError) -> AudioSink in
                FallbackSink(try open(), frameMs: frameSamples / (AudioFormat.sampleRate / 1000), reopen: open)
            } ifMissing: { why in
                notice("No playback device \(name) (\(why)); audio goes to the null sink.")
                return NullSink()
            }
        }
    }

    /// Opens a sound card; when it is missing (`unavailable`) and
    /// `fallBackToNull`, what `fallback` makes of the reason instead. Any
    /// other problem is an error.
    private static func soundCard<Device>(
        fallBackToNull: Bool, open: () throws(AudioDeviceError) -> Device, ifMissing fallback: (String) -> Device
    ) throws(AudioDeviceError) -> Device {
        do {
            return try open()
        } catch {
            guard fallBackToNull, case .unavailable(let why) = error else { throw error }
            return fallback(why)
        }
    }
}
