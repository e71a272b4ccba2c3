// Audio devices behind one protocol.
//
//   source (ALSA capture, WAV file, tone, silence, speech-like) ─▶ engine capture thread
//   engine playout thread ─▶ sink (ALSA playback, WAV file, null)
//
// Every device speaks the engine's one format: 48 kHz [Hz], mono, signed 16-bit
// native-endian samples. A device is used from one thread at a time (the
// engine's capture or playout thread); hence `@unchecked Sendable` on the
// implementations, which hand the object to that thread once.

/// The engine's sample format: 48 kHz mono S16.
public enum AudioFormat {
    public static let sampleRate = 48_000
    public static let channels = 1
    /// Samples in one frame of `frameMs` milliseconds.
    public static func samples(forMs frameMs: Int) -> Int { sampleRate / 1000 * frameMs }
}

/// Why a device could not be opened, read or written.
public enum AudioDeviceError: Error, Equatable, CustomStringConvertible {
    /// The device does not exist or cannot be opened (no sound card, missing file).
    case unavailable(String)
    /// Reading or writing failed after the device was open.
    case io(String)
    /// The data is not in a format the device can convert (a WAV that is not PCM, say).
    case format(String)

    public var description: String {
        switch self {
        case .unavailable(let why): return "audio device unavailable: \(why)"
        case .io(let why): return "audio I/O error: \(why)"
        case .format(let why): return "audio format error: \(why)"
        }
    }
}

/// Where captured audio comes from.
public protocol AudioSource: AnyObject, Sendable {
    /// A short human-readable name ("alsa:default", "tone:440 Hz", "speech.wav").
    var name: String { get }
    /// True when `read` blocks at the device's own pace (a sound card). False for
    /// files and generators, which the engine paces with the monotonic clock.
    var isClocked: Bool { get }
    /// Fills `buffer` with the next samples. Returns how many were written; fewer
    /// than `buffer.count` only at the end of a finite source, 0 once it has ended.
    func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(AudioDeviceError) -> Int
    /// Releases the device. Further reads return 0.
    func close()
    /// Over-runs recovered so far (a sound card's; 0 for others). Read on the device's thread.
    var xruns: Int { get }
}

/// Where played-out audio goes.
public protocol AudioSink: AnyObject, Sendable {
    var name: String { get }
    /// True when `write` blocks at the device's own pace (a sound card).
    var isClocked: Bool { get }
    func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError)
    /// Flushes and releases the device (a WAV sink finalises its header here).
    func close()
    /// Under-runs recovered so far (a sound card's; 0 for others). Read on the device's thread.
    var xruns: Int { get }
}

extension AudioSource {
    public var xruns: Int { 0 }
}

extension AudioSink {
    public var xruns: Int { 0 }
}
