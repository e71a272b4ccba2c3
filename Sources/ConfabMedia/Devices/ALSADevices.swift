// Sound cards through ALSA, and the factory that turns a device string into
// a source or sink.
//
//   "alsa:NAME" ─▶ ALSACaptureSource / ALSAPlaybackSink (clocked by the card)
//   "x.wav", "tone:440", "speech", "silence", "null" ─▶ the file and generated devices
//
// A sound card that is missing (servers, CI) degrades to silence or the null
// sink with one notice, never a crash (DESIGN.md).
import ALSA

/// Opens an ALSA PCM (S16_LE, 48 kHz, mono) with a buffer of `periods` frames;
/// a card that cannot be opened is `unavailable`, which callers turn into the
/// silent fallback.
private func openPCM(
    _ pcmName: String, _ direction: ALSA.Direction, frameSamples: Int, periods: Int, configFile: String?
) throws(AudioDeviceError) -> ALSA.PCM {
    do {
        return try ALSA.PCM(name: pcmName, direction: direction,
                            configuration: .init(periodFrames: frameSamples, bufferFrames: frameSamples * periods),
                            configFile: configFile)
    } catch {
        throw .unavailable(error.description)
    }
}

/// Captures from an ALSA PCM (S16_LE, 48 kHz, mono).
public final class ALSACaptureSource: AudioSource, @unchecked Sendable {
    public let name: String
    private var pcm: ALSA.PCM?
    public let isClocked: Bool

    public init(pcmName: String, frameSamples: Int = 960, configFile: String? = nil) throws(AudioDeviceError) {
        name = "alsa:\(pcmName)"
        // Four periods: capture may be read late by a busy engine thread without an overrun.
        let opened = try openPCM(pcmName, .capture, frameSamples: frameSamples, periods: 4, configFile: configFile)
        pcm = opened
        isClocked = opened.isClocked
    }

    public func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(AudioDeviceError) -> Int {
        guard let pcm else { return 0 }
        do {
            return try pcm.read(into: buffer)
        } catch {
            throw .io(error.description)
        }
    }

    public func close() { pcm = nil }
}

/// Plays to an ALSA PCM (S16_LE, 48 kHz, mono).
public final class ALSAPlaybackSink: AudioSink, @unchecked Sendable {
    public let name: String
    private var pcm: ALSA.PCM?
    public let isClocked: Bool

    public init(pcmName: String, frameSamples: Int = 960, configFile: String? = nil) throws(AudioDeviceError) {
        name = "alsa:\(pcmName)"
        // Three periods of buffer: enough to ride out a late wake-up, little added delay.
        let opened = try openPCM(pcmName, .playback, frameSamples: frameSamples, periods: 3, configFile: configFile)
        pcm = opened
        isClocked = opened.isClocked
    }

    public func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {
        guard let pcm else { return }
        do {
            try pcm.write(samples)
        } catch {
            throw .io(error.description)
        }
    }

    public func close() { pcm = nil }
}

/// Opens sources and sinks from device strings.
public enum AudioDevices {
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
            do {
                return try ALSACaptureSource(pcmName: name, frameSamples: frameSamples, configFile: alsaConfigFile)
            } catch {
                guard fallBackToNull, case .unavailable(let why) = error else { throw error }
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
            do {
                return try ALSAPlaybackSink(pcmName: name, frameSamples: frameSamples, configFile: alsaConfigFile)
            } catch {
                guard fallBackToNull, case .unavailable(let why) = error else { throw error }
                notice("No playback device \(name) (\(why)); audio goes to the null sink.")
                return NullSink()
            }
        }
    }
}
