// WAV files as audio devices: a source that plays a file into the engine and a
// sink that records the engine's output.
//
//   file.wav ─▶ load ─▶ parse RIFF chunks ─▶ decode (8/16/24/32-bit int, 32/64-bit float)
//            ─▶ downmix to mono (average) ─▶ resample to 48 kHz (linear) ─▶ [Int16] ─▶ read(into:)
//
//   write(samples) ─▶ fwrite (stdio buffer) ─▶ every 1 s of audio: fflush + patch the
//                     RIFF and data sizes ─▶ close(): final patch + fclose
//
// Format: RIFF/WAVE ("RIFF" or "RF64"), `fmt ` chunk with WAVE_FORMAT_PCM (1),
// WAVE_FORMAT_IEEE_FLOAT (3) or WAVE_FORMAT_EXTENSIBLE (0xFFFE) with a PCM or
// float subformat GUID. Unknown chunks are skipped, honouring the pad byte after
// an odd-sized chunk (RIFF: chunks are word aligned). The reader is lenient
// where streaming writers are sloppy: the RIFF size is ignored, and a data size
// of 0, 0xFFFFFFFF, or anything larger than the file means "to the end of the
// file". Writers that cannot seek back leave such sizes: sox writing to a pipe
// puts 0x7FFFF000, a GStreamer wavenc pipeline killed before EOS leaves
// 0x7FFF0000, others 0 or 0xFFFFFFFF (all checked against real files).
// Anything it cannot make sense of is a typed `AudioDeviceError.format`, never
// a trap.
//
// The resampler interpolates linearly. That is fine for test signals and
// speech prompts, but not audiophile: downsampling aliases (no low-pass) and
// upsampling leaves faint images above the source's Nyquist frequency.

import ConfabMacros

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a WAV file holds, as found in its `fmt ` and `data` chunks.
@PublicMemberwiseInit
public struct WAVFileInfo: Sendable, Equatable {
    public enum Encoding: Sendable, Equatable {
        /// Integer PCM: unsigned for 8 bits, signed two's complement otherwise.
        case integer
        /// IEEE 754 floating point, nominal range −1…1.
        case float
    }

    public var encoding: Encoding
    /// The file's sample rate [Hz].
    public var sampleRate: Int
    public var channels: Int
    /// Bits per sample as stored (the container size for WAVE_FORMAT_EXTENSIBLE).
    public var bitsPerSample: Int
    /// Whole sample frames (one sample per channel) in the data chunk.
    public var frameCount: Int

    public var durationSeconds: Double { Double(frameCount) / Double(sampleRate) }
}

/// Whole-file helpers for tests and tools (the engine uses the device classes).
public enum WAVFile {
    /// Files longer than this are refused rather than loaded: the source keeps
    /// the whole converted file in memory (345 MB of 48 kHz samples per hour).
    public static let maxDurationSeconds = 3600.0
    /// Files larger than this are refused before they are read [bytes].
    public static let maxFileBytes = 1 << 30

    /// Reads a WAV file as 48 kHz mono samples (see the file comment for the formats).
    public static func read(path: String) throws(AudioDeviceError) -> [Int16] {
        let bytes = try loadFile(path: path)
        do {
            return try decode(bytes)
        } catch {
            throw error.prefixed(with: path)
        }
    }

    /// Reads only the format of a WAV file, without converting its samples.
    public static func info(path: String) throws(AudioDeviceError) -> WAVFileInfo {
        let bytes = try loadFile(path: path)
        do {
            return try parse(bytes).info
        } catch {
            throw error.prefixed(with: path)
        }
    }

    /// Writes `samples` as a 48 kHz mono 16-bit WAV file, replacing any file at `path`.
    public static func write(_ samples: [Int16], path: String) throws(AudioDeviceError) {
        let sink = try WAVFileSink(path: path)
        do {
            try samples.withUnsafeBufferPointer { (buffer) throws(AudioDeviceError) in
                try sink.write(buffer)
            }
        } catch {
            sink.close()
            throw error
        }
        try sink.finish()
    }

    /// Decodes a whole WAV file image into 48 kHz mono samples.
    public static func decode(_ bytes: [UInt8]) throws(AudioDeviceError) -> [Int16] {
        let layout = try parse(bytes)
        return convertToEngineFormat(bytes, layout)
    }

    // MARK: Parsing

    struct Layout {
        var info: WAVFileInfo
        /// Byte offset of the first sample frame.
        var dataStart: Int
        /// Bytes in one sample frame (all channels).
        var frameBytes: Int
    }

    private struct Format {
        var encoding: WAVFileInfo.Encoding
        var channels: Int
        var sampleRate: Int
        var bitsPerSample: Int
    }

    static func parse(_ bytes: [UInt8]) throws(AudioDeviceError) -> Layout {
        guard bytes.count >= 12 else {
            throw .format("the file is \(bytes.count) bytes, too short for a RIFF/WAVE header (12 bytes)")
        }
        let riff = fourCC(bytes, 0)
        if riff == "RIFX" {
            throw .format("big-endian RIFX files are not supported")
        }
        guard riff == "RIFF" || riff == "RF64" else {
            throw .format("not a WAV file: it does not start with \"RIFF\"")
        }
        guard fourCC(bytes, 8) == "WAVE" else {
            throw .format("not a WAV file: the RIFF form type is not \"WAVE\"")
        }

        var format: Format?
        var data: Range<Int>?
        var offset = 12
        while offset <= bytes.count - 8 {
            let id = fourCC(bytes, offset)
            let size = Int(readUInt32(bytes, offset + 4))
            let bodyStart = offset + 8
            let available = bytes.count - bodyStart
            if id == "data" {
                if size == 0 || size == 0xFFFF_FFFF || size > available {
                    // A streaming writer never came back to fill in the size, or
                    // the file was cut short: take everything that is there.
                    data = bodyStart..<bytes.count
                    break
                }
                data = bodyStart..<(bodyStart + size)
                if format != nil { break }
            } else if id == "fmt " {
                guard size <= available else {
                    throw .format("the fmt chunk claims \(size) bytes but only \(available) follow (truncated header)")
                }
                format = try parseFormat(bytes, at: bodyStart, size: size)
                if data != nil { break }
            }
            // Chunks are word aligned: an odd-sized chunk is followed by a pad byte.
            let next = bodyStart + size + (size & 1)
            guard next > offset else { break }
            offset = next
        }

        guard let format else {
            throw .format("no fmt chunk before the end of the file (truncated or not a WAV file)")
        }
        guard let data else {
            throw .format("no data chunk (truncated file?)")
        }
        let frameBytes = format.channels * (format.bitsPerSample / 8)
        let info = WAVFileInfo(
            encoding: format.encoding,
            sampleRate: format.sampleRate,
            channels: format.channels,
            bitsPerSample: format.bitsPerSample,
            frameCount: data.count / frameBytes
        )
        guard info.durationSeconds <= maxDurationSeconds else {
            throw .format("the audio is \(Int(info.durationSeconds)) s long; at most \(Int(maxDurationSeconds)) s is supported")
        }
        return Layout(info: info, dataStart: data.lowerBound, frameBytes: frameBytes)
    }

    /// WAVEFORMATEX / WAVEFORMATEXTENSIBLE: tag, channels, rate, byte rate, block
    /// align, bits; the extensible form adds cbSize, valid bits, channel mask and a
    /// subformat GUID whose first four bytes are the real format tag.
    private static func parseFormat(_ bytes: [UInt8], at start: Int, size: Int) throws(AudioDeviceError) -> Format {
        guard size >= 16 else {
            throw .format("the fmt chunk is \(size) bytes; at least 16 are needed")
        }
        var tag = Int(readUInt16(bytes, start))
        let channels = Int(readUInt16(bytes, start + 2))
        let sampleRate = Int(readUInt32(bytes, start + 4))
        let bitsPerSample = Int(readUInt16(bytes, start + 14))

        if tag == 0xFFFE {
            guard size >= 40, readUInt16(bytes, start + 16) >= 22 else {
                throw .format("the WAVE_FORMAT_EXTENSIBLE fmt chunk is \(size) bytes; 40 are needed")
            }
            // KSDATAFORMAT_SUBTYPE_*: xxxxxxxx-0000-0010-8000-00aa00389b71.
            let guidTail: [UInt8] = [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
            for i in 0..<12 where bytes[start + 28 + i] != guidTail[i] {
                throw .format("the WAVE_FORMAT_EXTENSIBLE subformat is not a standard PCM or float GUID")
            }
            tag = Int(readUInt32(bytes, start + 24))
        }

        let encoding: WAVFileInfo.Encoding
        switch tag {
        case 1: encoding = .integer
        case 3: encoding = .float
        case 6: throw .format("A-law (format 6) is not supported; convert to PCM, e.g. sox in.wav -e signed -b 16 out.wav")
        case 7: throw .format("µ-law (format 7) is not supported; convert to PCM, e.g. sox in.wav -e signed -b 16 out.wav")
        default: throw .format("format tag \(tag) is not PCM or IEEE float; only uncompressed WAV files are supported")
        }
        guard (1...64).contains(channels) else {
            throw .format("\(channels) channels is not valid; 1 to 64 are supported")
        }
        guard (1000...768_000).contains(sampleRate) else {
            throw .format("a sample rate of \(sampleRate) Hz is not valid; 1000 to 768000 Hz are supported")
        }
        let supportedBits = encoding == .integer ? [8, 16, 24, 32] : [32, 64]
        guard supportedBits.contains(bitsPerSample) else {
            let kind = encoding == .integer ? "integer" : "float"
            throw .format("\(bitsPerSample)-bit \(kind) samples are not supported (integer: 8, 16, 24, 32; float: 32, 64)")
        }
        // The block align field is ignored: the frame size follows from channels
        // and bits, and some writers get block align wrong.
        return Format(encoding: encoding, channels: channels, sampleRate: sampleRate, bitsPerSample: bitsPerSample)
    }

    // MARK: Conversion

    /// Downmixes (average of channels, so nothing clips) and resamples to 48 kHz.
    static func convertToEngineFormat(_ bytes: [UInt8], _ layout: Layout) -> [Int16] {
        let info = layout.info
        let inputFrames = info.frameCount
        guard inputFrames > 0 else { return [] }
        let outputRate = AudioFormat.sampleRate
        let outputCount = inputFrames * outputRate / info.sampleRate
        var output = [Int16](repeating: 0, count: outputCount)
        bytes.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                if info.sampleRate == outputRate {
                    for i in 0..<outputCount {
                        destination[i] = toInt16(monoSample(source, layout, frame: i))
                    }
                    return
                }
                for i in 0..<outputCount {
                    // Position in input frames: i · rateIn / rateOut, kept exact as a fraction.
                    let numerator = i * info.sampleRate
                    let index = numerator / outputRate
                    let fraction = Double(numerator % outputRate) / Double(outputRate)
                    let a = monoSample(source, layout, frame: index)
                    let b = index + 1 < inputFrames ? monoSample(source, layout, frame: index + 1) : a
                    destination[i] = toInt16(a + (b - a) * fraction)
                }
            }
        }
        return output
    }

    /// The average of all channels of one frame, in −1…1.
    private static func monoSample(_ bytes: UnsafeBufferPointer<UInt8>, _ layout: Layout, frame: Int) -> Double {
        let info = layout.info
        let bytesPerSample = info.bitsPerSample / 8
        var offset = layout.dataStart + frame * layout.frameBytes
        var sum = 0.0
        for _ in 0..<info.channels {
            sum += decodeSample(bytes, at: offset, bytesPerSample: bytesPerSample, encoding: info.encoding)
            offset += bytesPerSample
        }
        return sum / Double(info.channels)
    }

    private static func decodeSample(
        _ bytes: UnsafeBufferPointer<UInt8>, at offset: Int, bytesPerSample: Int, encoding: WAVFileInfo.Encoding
    ) -> Double {
        switch (encoding, bytesPerSample) {
        case (.integer, 1):
            return (Double(bytes[offset]) - 128) / 128
        case (.integer, 2):
            let bits = UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
            return Double(Int16(bitPattern: bits)) / 32768
        case (.integer, 3):
            let bits = UInt32(bytes[offset]) << 8 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 24
            return Double(Int32(bitPattern: bits)) / 2_147_483_648
        case (.integer, 4):
            return Double(Int32(bitPattern: readUInt32(bytes, offset))) / 2_147_483_648
        case (.float, 4):
            return clampUnit(Double(Float(bitPattern: readUInt32(bytes, offset))))
        case (.float, 8):
            let bits = UInt64(readUInt32(bytes, offset)) | UInt64(readUInt32(bytes, offset + 4)) << 32
            return clampUnit(Double(bitPattern: bits))
        default:
            return 0 // parseFormat admits no other combination
        }
    }

    private static func clampUnit(_ x: Double) -> Double {
        x.isNaN ? 0 : Swift.max(-1, Swift.min(1, x))
    }

    private static func toInt16(_ x: Double) -> Int16 {
        Int16(Swift.max(-32768, Swift.min(32767, (x * 32768).rounded())))
    }

    // MARK: Bytes

    private static func fourCC(_ bytes: [UInt8], _ offset: Int) -> String {
        String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self)
    }

    private static func readUInt16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    private static func readUInt32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
            | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    private static func readUInt32(_ bytes: UnsafeBufferPointer<UInt8>, _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
            | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    // MARK: Files

    /// Reads a whole file with stdio (works for pipes and FIFOs too).
    static func loadFile(path: String) throws(AudioDeviceError) -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw .unavailable("cannot open \(path): \(lastErrorText())")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maxFileBytes {
                throw .format("\(path) is larger than \(maxFileBytes >> 20) MiB")
            }
            if count < chunk.count {
                if ferror(file) != 0 {
                    throw .io("cannot read \(path): \(lastErrorText())")
                }
                break
            }
        }
        return bytes
    }
}

private func lastErrorText() -> String {
    String(cString: strerror(errno))
}

fileprivate extension AudioDeviceError {
    /// The same error with the file it concerns named at the front.
    func prefixed(with path: String) -> AudioDeviceError {
        switch self {
        case .format(let why): return .format("\(path): \(why)")
        case .io(let why): return .io("\(path): \(why)")
        case .unavailable(let why): return .unavailable("\(path): \(why)")
        }
    }
}

// MARK: - Source

/// Plays a WAV file into the engine. The whole file is converted to 48 kHz mono
/// in `init` (files are short prompts and test signals), so `read` only copies.
///
/// Used from one thread at a time (the capture thread), hence
/// `@unchecked Sendable`.
public final class WAVFileSource: AudioSource, @unchecked Sendable {
    public let name: String
    public let path: String
    /// The file's own format, before conversion.
    public let info: WAVFileInfo
    /// Converted samples (48 kHz mono) in the file.
    public let sampleCount: Int
    public var isClocked: Bool { false }

    private let samples: UnsafeMutableBufferPointer<Int16>
    private var position = 0
    private var isClosed = false

    public init(path: String) throws(AudioDeviceError) {
        let bytes = try WAVFile.loadFile(path: path)
        let layout: WAVFile.Layout
        do {
            layout = try WAVFile.parse(bytes)
        } catch {
            throw error.prefixed(with: path)
        }
        let converted = WAVFile.convertToEngineFormat(bytes, layout)
        self.path = path
        name = path.split(separator: "/").last.map(String.init) ?? path
        info = layout.info
        sampleCount = converted.count
        samples = .allocate(capacity: Swift.max(1, converted.count))
        _ = samples.initialize(from: converted)
    }

    deinit {
        samples.deallocate()
    }

    public func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(AudioDeviceError) -> Int {
        guard !isClosed else { return 0 }
        let count = Swift.min(buffer.count, sampleCount - position)
        guard count > 0, let destination = buffer.baseAddress, let source = samples.baseAddress else { return 0 }
        destination.update(from: source + position, count: count)
        position += count
        return count
    }

    /// Starts again from the first sample (to loop a prompt).
    public func rewind() {
        position = 0
    }

    public func close() {
        isClosed = true
    }
}

// MARK: - Sink

/// Records the engine's output as a 48 kHz mono 16-bit WAV file, streaming to
/// disk. The header's sizes are rewritten after every second of audio (and on
/// `close`), so a process that is killed leaves a file that plays up to the
/// last full second.
///
/// Used from one thread at a time (the playout thread), hence
/// `@unchecked Sendable`.
public final class WAVFileSink: AudioSink, @unchecked Sendable {
    public let name: String
    public let path: String
    public var isClocked: Bool { false }
    /// Audio bytes written so far.
    public private(set) var dataBytes = 0

    /// Size of the canonical header written here: RIFF(12) + fmt(24) + data(8).
    static let headerBytes = 44
    /// Rewrite the header after this much audio: 1 s at 48 kHz, 2 bytes a sample.
    static let headerUpdateIntervalBytes = AudioFormat.sampleRate * 2
    /// RIFF sizes are 32-bit; stop before the RIFF size would overflow.
    static let maxDataBytes = Int(UInt32.max) - (headerBytes - 8)

    private var file: UnsafeMutablePointer<FILE>?
    private var bytesSinceHeaderUpdate = 0
    #if _endian(big)
    private let swapBuffer = UnsafeMutableBufferPointer<Int16>.allocate(capacity: 4096)
    #endif

    /// Creates (or truncates) the file and writes a header whose sizes say
    /// "unknown" (0xFFFFFFFF) until the first update.
    public init(path: String) throws(AudioDeviceError) {
        guard let file = fopen(path, "wb") else {
            throw .unavailable("cannot create \(path): \(lastErrorText())")
        }
        self.file = file
        self.path = path
        name = path.split(separator: "/").last.map(String.init) ?? path

        var header: [UInt8] = []
        func append(_ text: String) { header.append(contentsOf: Array(text.utf8)) }
        func append32(_ value: UInt32) { for i in 0..<4 { header.append(UInt8(truncatingIfNeeded: value >> (8 * i))) } }
        func append16(_ value: UInt16) { for i in 0..<2 { header.append(UInt8(truncatingIfNeeded: value >> (8 * i))) } }
        append("RIFF"); append32(0xFFFF_FFFF); append("WAVE")
        append("fmt "); append32(16)
        append16(1)                                        // WAVE_FORMAT_PCM
        append16(UInt16(AudioFormat.channels))
        append32(UInt32(AudioFormat.sampleRate))
        append32(UInt32(AudioFormat.sampleRate * AudioFormat.channels * 2)) // byte rate
        append16(UInt16(AudioFormat.channels * 2))          // block align
        append16(16)                                        // bits per sample
        append("data"); append32(0xFFFF_FFFF)
        let written = header.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard written == header.count else {
            let why = lastErrorText()
            fclose(file)
            self.file = nil
            throw .io("cannot write the WAV header to \(path): \(why)")
        }
    }

    deinit {
        close()
        #if _endian(big)
        swapBuffer.deallocate()
        #endif
    }

    public func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {
        guard let file else { throw .io("\(path) is already closed") }
        guard let base = samples.baseAddress, !samples.isEmpty else { return }
        let bytes = samples.count * 2
        guard dataBytes + bytes <= Self.maxDataBytes else {
            throw .io("\(path) reached the 4 GiB size limit of a WAV file")
        }
        #if _endian(little)
        let written = fwrite(base, 2, samples.count, file)
        #else
        var written = 0
        var start = 0
        while start < samples.count {
            let count = Swift.min(swapBuffer.count, samples.count - start)
            for i in 0..<count { swapBuffer[i] = base[start + i].littleEndian }
            let done = fwrite(swapBuffer.baseAddress, 2, count, file)
            written += done
            if done < count { break }
            start += count
        }
        #endif
        guard written == samples.count else {
            throw .io("cannot write to \(path): \(lastErrorText())")
        }
        dataBytes += bytes
        bytesSinceHeaderUpdate += bytes
        if bytesSinceHeaderUpdate >= Self.headerUpdateIntervalBytes {
            try updateHeader(file)
        }
    }

    /// Finalises the header and closes the file, reporting any error (the
    /// protocol's `close()` cannot).
    public func finish() throws(AudioDeviceError) {
        guard let file else { return }
        self.file = nil
        var failure: AudioDeviceError?
        do {
            try updateHeader(file)
        } catch {
            failure = error
        }
        if fclose(file) != 0, failure == nil {
            failure = .io("cannot close \(path): \(lastErrorText())")
        }
        if let failure { throw failure }
    }

    /// Finalises the header and closes the file; errors are dropped (use
    /// `finish()` to see them).
    public func close() {
        try? finish()
    }

    /// Flushes the audio, then writes the sizes that match what is on disk.
    private func updateHeader(_ file: UnsafeMutablePointer<FILE>) throws(AudioDeviceError) {
        bytesSinceHeaderUpdate = 0
        guard fflush(file) == 0 else {
            throw .io("cannot write to \(path): \(lastErrorText())")
        }
        let ok = patch(file, at: 4, UInt32(dataBytes + Self.headerBytes - 8))
            && patch(file, at: Self.headerBytes - 4, UInt32(dataBytes))
            && fseek(file, 0, SEEK_END) == 0
            && fflush(file) == 0
        guard ok else {
            throw .io("cannot update the WAV header of \(path): \(lastErrorText())")
        }
    }

    private func patch(_ file: UnsafeMutablePointer<FILE>, at offset: Int, _ value: UInt32) -> Bool {
        var littleEndian = value.littleEndian
        return fseek(file, offset, SEEK_SET) == 0 && fwrite(&littleEndian, 4, 1, file) == 1
    }
}
