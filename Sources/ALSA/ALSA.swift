// A typed Swift face on ALSA's PCM API (alsa-lib), for 48 kHz mono S16_LE voice.
//
//   capture:  sound card ─▶ PCM.read(frames)  ─▶ engine capture thread
//   playback: engine playout thread ─▶ PCM.write(frames) ─▶ sound card
//
// Shape after swift-system: `PCM` owns the `snd_pcm_t` (opened in `init`,
// closed in `deinit`), errors are typed, and every read and write goes through
// one funnel that retries EINTR and recovers over- and underruns (-EPIPE) and
// suspends (-ESTRPIPE) with `snd_pcm_recover`, so no caller forgets.
import CALSA
import Glibc

public enum ALSA {
    /// ALSA failed; `code` is the negative errno alsa-lib returned.
    public struct Error: Swift.Error, Equatable, CustomStringConvertible {
        public let code: Int32
        public let operation: String
        public init(code: Int32, operation: String) {
            self.code = code
            self.operation = operation
        }
        public var description: String {
            "\(operation): \(String(cString: snd_strerror(code)))"
        }
        /// The device does not exist (no sound card, or a PCM name nobody defined).
        public var isMissingDevice: Bool { code == -ENOENT || code == -ENODEV || code == -ENXIO }
    }

    public enum Direction: Sendable {
        case capture, playback
        var cValue: snd_pcm_stream_t { self == .capture ? SND_PCM_STREAM_CAPTURE : SND_PCM_STREAM_PLAYBACK }
    }

    /// Keeps alsa-lib from printing its own errors to stderr (they would land on the TUI).
    public static func silenceLibraryErrors() { confab_alsa_silence_errors() }

    /// One funnel for alsa-lib status codes.
    @inline(__always)
    static func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(ALSA.Error) {
        if code < 0 { throw ALSA.Error(code: code, operation: operation()) }
    }

    /// A PCM the system knows of, from the device-name hints.
    public struct DeviceInfo: Sendable, Equatable, Codable {
        public var name: String
        public var description: String
        /// "Input", "Output", or nil for both.
        public var direction: String?
    }

    /// Lists the PCMs alsa-lib knows (the corresponding C function is `snd_device_name_hint`).
    public static func listPCMs() -> [DeviceInfo] {
        silenceLibraryErrors()
        var hints: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        guard snd_device_name_hint(-1, "pcm", &hints) >= 0, let hints else { return [] }
        defer { snd_device_name_free_hint(hints) }
        var result: [DeviceInfo] = []
        var cursor = hints
        while let hint = cursor.pointee {
            func field(_ id: String) -> String? {
                guard let value = snd_device_name_get_hint(hint, id) else { return nil }
                defer { free(value) }
                return String(cString: value)
            }
            if let name = field("NAME") {
                let desc = (field("DESC") ?? "").split(separator: "\n").joined(separator: " — ")
                result.append(DeviceInfo(name: name, description: desc, direction: field("IOID")))
            }
            cursor += 1
        }
        return result
    }

    /// How the PCM was set up.
    public struct Configuration: Sendable, Equatable {
        /// Frames per period: the unit the device wakes us for (960 = 20 ms at 48 kHz).
        public var periodFrames: Int
        /// Frames the device buffers in all.
        public var bufferFrames: Int
        public var sampleRate: Int
        public init(periodFrames: Int = 960, bufferFrames: Int = 960 * 4, sampleRate: Int = 48_000) {
            self.periodFrames = periodFrames
            self.bufferFrames = bufferFrames
            self.sampleRate = sampleRate
        }
    }

    /// An open PCM (capture or playback), S16_LE, mono, interleaved read/write access.
    public final class PCM: @unchecked Sendable {
        private var handle: OpaquePointer?
        private var config: OpaquePointer?
        public let name: String
        public let direction: Direction
        /// What the device granted (it may round the period and buffer).
        public private(set) var configuration: Configuration
        /// Over/underruns recovered so far.
        public private(set) var xrunCount = 0

        /// Opens `name` ("default", "hw:0,0", "null", or a name from `configFile`).
        /// With `configFile`, names are looked up in that alsa-lib configuration
        /// instead of the system's (the corresponding C function is `snd_pcm_open_lconf`).
        public init(name: String, direction: Direction, configuration: Configuration = Configuration(), configFile: String? = nil) throws(ALSA.Error) {
            ALSA.silenceLibraryErrors()
            self.name = name
            self.direction = direction
            self.configuration = configuration
            var pcm: OpaquePointer?
            if let configFile {
                var top: OpaquePointer?
                try ALSA.check(snd_config_top(&top), "snd_config_top")
                var input: OpaquePointer?
                let opened = snd_input_stdio_open(&input, configFile, "r")
                guard opened >= 0, let input else {
                    snd_config_delete(top)
                    throw ALSA.Error(code: opened < 0 ? opened : -ENOENT, operation: "open ALSA config \(configFile)")
                }
                let loaded = snd_config_load(top, input)
                snd_input_close(input)
                guard loaded >= 0 else {
                    snd_config_delete(top)
                    throw ALSA.Error(code: loaded, operation: "load ALSA config \(configFile)")
                }
                config = top
                let status = snd_pcm_open_lconf(&pcm, name, direction.cValue, 0, top)
                guard status >= 0 else {
                    snd_config_delete(top)
                    config = nil
                    throw ALSA.Error(code: status, operation: "snd_pcm_open \(name)")
                }
            } else {
                try ALSA.check(snd_pcm_open(&pcm, name, direction.cValue, 0), "snd_pcm_open \(name)")
            }
            handle = pcm
            do {
                try setParameters(configuration)
            } catch {
                snd_pcm_close(pcm)
                handle = nil
                if let config { snd_config_delete(config) }
                config = nil
                throw error
            }
        }

        deinit {
            if let handle {
                if direction == .playback { snd_pcm_drain(handle) }
                snd_pcm_close(handle)
            }
            if let config { snd_config_delete(config) }
        }

        /// True for PCMs with no clock of their own (`null`, the `file` plugin):
        /// reads and writes return at once, so the caller must pace itself.
        public var isClocked: Bool {
            guard let handle else { return false }
            let type = snd_pcm_type(handle)
            return type != SND_PCM_TYPE_NULL && type != SND_PCM_TYPE_FILE
        }

        private func setParameters(_ wanted: Configuration) throws(ALSA.Error) {
            var params: OpaquePointer?
            try ALSA.check(snd_pcm_hw_params_malloc(&params), "snd_pcm_hw_params_malloc")
            defer { snd_pcm_hw_params_free(params) }
            try ALSA.check(snd_pcm_hw_params_any(handle, params), "snd_pcm_hw_params_any")
            try ALSA.check(snd_pcm_hw_params_set_access(handle, params, SND_PCM_ACCESS_RW_INTERLEAVED), "set access")
            try ALSA.check(snd_pcm_hw_params_set_format(handle, params, SND_PCM_FORMAT_S16_LE), "set format S16_LE")
            try ALSA.check(snd_pcm_hw_params_set_channels(handle, params, 1), "set 1 channel")
            var rate = UInt32(wanted.sampleRate)
            try ALSA.check(snd_pcm_hw_params_set_rate_near(handle, params, &rate, nil), "set rate")
            guard rate == UInt32(wanted.sampleRate) else {
                throw ALSA.Error(code: -EINVAL, operation: "device \(name) offers \(rate) Hz, not \(wanted.sampleRate) Hz")
            }
            var period = snd_pcm_uframes_t(wanted.periodFrames)
            try ALSA.check(snd_pcm_hw_params_set_period_size_near(handle, params, &period, nil), "set period size")
            var buffer = snd_pcm_uframes_t(wanted.bufferFrames)
            try ALSA.check(snd_pcm_hw_params_set_buffer_size_near(handle, params, &buffer), "set buffer size")
            try ALSA.check(snd_pcm_hw_params(handle, params), "snd_pcm_hw_params")
            configuration = Configuration(periodFrames: Int(period), bufferFrames: Int(buffer), sampleRate: Int(rate))
            try ALSA.check(snd_pcm_prepare(handle), "snd_pcm_prepare")
        }

        /// Reads up to `buffer.count` frames, blocking until they are there.
        /// Recovers over-runs and retries EINTR. The corresponding C function is `snd_pcm_readi`.
        public func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(ALSA.Error) -> Int {
            guard let base = buffer.baseAddress else { return 0 }
            var done = 0
            while done < buffer.count {
                let n = snd_pcm_readi(handle, base + done, snd_pcm_uframes_t(buffer.count - done))
                if n >= 0 {
                    if n == 0 { break }
                    done += Int(n)
                } else {
                    try recover(Int32(n), operation: "snd_pcm_readi")
                }
            }
            return done
        }

        /// Writes all of `samples`, blocking while the device buffer is full.
        /// Recovers under-runs and retries EINTR. The corresponding C function is `snd_pcm_writei`.
        public func write(_ samples: UnsafeBufferPointer<Int16>) throws(ALSA.Error) {
            guard let base = samples.baseAddress else { return }
            var done = 0
            while done < samples.count {
                let n = snd_pcm_writei(handle, base + done, snd_pcm_uframes_t(samples.count - done))
                if n >= 0 {
                    done += Int(n)
                } else {
                    try recover(Int32(n), operation: "snd_pcm_writei")
                }
            }
        }

        /// The recovery funnel: EINTR and EAGAIN retry, EPIPE (xrun) and ESTRPIPE
        /// (suspend) go through `snd_pcm_recover`, anything else is an error.
        private func recover(_ code: Int32, operation: String) throws(ALSA.Error) {
            switch code {
            case -EINTR, -EAGAIN:
                return
            case -EPIPE, -ESTRPIPE:
                xrunCount += 1
                try ALSA.check(snd_pcm_recover(handle, code, 1), "\(operation) recover")
            default:
                throw ALSA.Error(code: code, operation: operation)
            }
        }

        /// Frames queued for playback or waiting to be read now (the corresponding C function is `snd_pcm_delay`).
        public var delayFrames: Int {
            var delay: snd_pcm_sframes_t = 0
            return snd_pcm_delay(handle, &delay) >= 0 ? Int(delay) : 0
        }
    }
}
