// The send path, on the capture thread.
//
//   AudioSource.read (ALSA period, or paced by the clock) ─▶ CaptureProcessing (echo, noise, gain)
//   ─▶ level (RFC 6464) + VAD
//   ─▶ EncoderControl changed? ─▶ new bitrate / FEC / expected loss (between frames)
//   ─▶ Opus encode (into the history of recent frames)
//   ─▶ payload: the frame alone, or RED (RFC 2198) with 1–2 earlier frames when listeners lose packets
//   ─▶ RTP header + audio-level extension
//   ─▶ SRTP protect (in place) ─▶ UDPSocket.send
//   every senderReportIntervalMs: RTCP sender report (RFC 3550 §6.4.1) ─▶ SRTCP protect ─▶ same socket,
//                                 to the RTP port (muxed, RFC 5761) or the port above it (RFC 3550 §11)
//
// The capture thread is also the sender: sendto on a non-blocking socket never
// waits, so handing frames to another thread would only add a hop of latency.
// Everything it touches is allocated in `init`; a frame allocates nothing.
import ConfabSocket
import ConfabWire
import Glibc
import Opus
import SRTP
import Synchronization

/// Counters of the send path, readable from any thread.
public final class SenderStats: Sendable {
    public let framesCaptured = Atomic<Int>(0)
    public let packetsSent = Atomic<Int>(0)
    public let bytesSent = Atomic<Int>(0)
    /// Frames not sent: muted, or silent under DTX.
    public let framesSuppressed = Atomic<Int>(0)
    /// sendto refused (full buffer, unreachable peer).
    public let sendFailures = Atomic<Int>(0)
    /// RTCP sender reports sent (SRTCP).
    public let senderReportsSent = Atomic<Int>(0)
    public init() {}
}

public final class MediaSender: @unchecked Sendable {
    public let ssrc: UInt32
    public let stats = SenderStats()
    /// The microphone's smoothed level 0…100 for the UI, and whether the VAD hears voice.
    public let micLevel = Atomic<Int>(0)
    public let voiceActive = Atomic<Bool>(false)
    /// While set, nothing is sent (the clock and sequence go on, so receivers see a pause, not a loss).
    public let muted = Atomic<Bool>(false)
    /// Set when the source has ended or failed; `failure` says why if it failed.
    public let finished = Atomic<Bool>(false)
    private let failureText = Mutex<String?>(nil)
    public var failure: String? { failureText.withLock { $0 } }
    /// Where the loss feedback sets the encoder's bitrate, FEC and expected loss.
    public let encoderControl: EncoderControl
    /// Echo cancellation, noise suppression and gain before the encoder (the engine's, shared across senders).
    public let processing: CaptureProcessing

    private let configuration: MediaConfiguration
    private let source: AudioSource
    private let socket: UDPSocket
    private let destination: SocketAddress
    /// Where sender reports go: `destination` (RTCP multiplexed on the RTP
    /// port, RFC 5761, as the server expects) or the RTP port + 1 (RFC 3550 §11).
    private let rtcpDestination: SocketAddress
    private let encoder: Opus.Encoder
    /// The EncoderControl word the encoder runs with.
    private var encoderWord: UInt64
    private let srtp: OutboundSession
    private let pcm: UnsafeMutableBufferPointer<Int16>
    private let packet: UnsafeMutableRawBufferPointer
    /// The sender report is built and protected here, apart from the RTP packet.
    private let report: UnsafeMutableRawBufferPointer
    /// The last frames encoded, for RED: each slot's bytes, and the sequence
    /// number and timestamp it was sent with (length 0: nothing sent from it).
    private let history: UnsafeMutableRawBufferPointer
    private let historyLength: UnsafeMutableBufferPointer<Int>
    private let historySequence: UnsafeMutableBufferPointer<UInt16>
    private let historyTimestamp: UnsafeMutableBufferPointer<UInt32>
    private var historyNext = 0
    private static let historySlots = EncoderControl.maxRedundantFrames + 1
    private static let historySlotBytes = OpusRTP.maxFrameLength
    private var nextReportNs: UInt64 = 0
    /// RFC 3550 §6.4.1: packets and payload octets sent since this SSRC began.
    private var packetCount: UInt32 = 0
    private var payloadOctets: UInt32 = 0
    private var vad = VoiceActivityDetector()
    private var smoother = LevelSmoother()
    private var sequenceNumber: UInt16
    private var timestamp: UInt32
    private var startOfTalkspurt = true
    private let thread = EngineThread(name: "confab-capture")

    /// Prepares the send path. The key must be fresh for this SSRC (RFC 3711 §9.1).
    public init(source: AudioSource, socket: UDPSocket, destination: SocketAddress, rtcpDestination: SocketAddress? = nil,
                ssrc: UInt32, key: SRTPKeyMaterial, configuration: MediaConfiguration,
                processing: CaptureProcessing? = nil) throws {
        self.source = source
        self.socket = socket
        self.destination = destination
        self.rtcpDestination = rtcpDestination ?? destination
        self.ssrc = ssrc
        self.configuration = configuration
        encoder = try Opus.Encoder(settings: configuration.encoder)
        self.processing = try processing ?? CaptureProcessing(settings: configuration.processing)
        encoderControl = EncoderControl(initial: configuration.encoder)
        encoderWord = EncoderControl.pack(configuration.encoder)
        srtp = try OutboundSession(ssrc: ssrc, key: key)
        pcm = .allocate(capacity: configuration.frameSamples)
        pcm.initialize(repeating: 0)
        packet = .allocate(byteCount: 1_500 + SRTPLibrary.maxTrailerLength, alignment: 16)
        report = .allocate(byteCount: 128 + SRTPLibrary.maxTrailerLength + 4, alignment: 16)
        history = .allocate(byteCount: Self.historySlots * Self.historySlotBytes, alignment: 16)
        historyLength = .allocate(capacity: Self.historySlots)
        historyLength.initialize(repeating: 0)
        historySequence = .allocate(capacity: Self.historySlots)
        historySequence.initialize(repeating: 0)
        historyTimestamp = .allocate(capacity: Self.historySlots)
        historyTimestamp.initialize(repeating: 0)
        // RFC 3550 §5.1: sequence number and timestamp start at random values.
        sequenceNumber = UInt16.random(in: 0...UInt16.max)
        timestamp = UInt32.random(in: 0...UInt32.max)
    }

    deinit {
        pcm.deallocate()
        packet.deallocate()
        report.deallocate()
        history.deallocate()
        historyLength.deallocate()
        historySequence.deallocate()
        historyTimestamp.deallocate()
    }

    /// Starts the capture thread.
    public func start() {
        thread.startFrames(
            configuration: configuration, deviceIsClocked: source.isClocked,
            frame: { [self] in captureFrame() },
            finish: { [self] in finished.store(true, ordering: .releasing) })
    }

    /// Stops the capture thread and waits for it.
    public func stop() {
        thread.stop()
    }

    /// Reads a frame from the source and sends it; false once the source has
    /// ended (a short last frame is padded with silence and sent) or failed.
    private func captureFrame() -> Bool {
        let count: Int
        do {
            count = try source.read(into: pcm)
        } catch {
            failureText.withLock { $0 = error.description }
            return false
        }
        if count == 0 { return false }
        if count < pcm.count {
            UnsafeMutableBufferPointer(rebasing: pcm[count...]).update(repeating: 0)
        }
        sendFrame()
        return count == pcm.count
    }

    /// Sends one frame from outside the capture loop (benchmarks, tests).
    /// `samples.count` must be the configured frame size.
    public func sendFrame(_ samples: UnsafeBufferPointer<Int16>) {
        precondition(samples.count == pcm.count, "a frame is \(pcm.count) samples")
        _ = pcm.update(fromContentsOf: samples)
        sendFrame()
    }

    /// Encodes, packetises, protects and sends the frame in `pcm`.
    @inline(__always)
    func sendFrame() {
        stats.framesCaptured.add(1, ordering: .relaxed)
        // Before the level and the VAD: an echo must not light the speaking indicator.
        processing.process(pcm)
        let frame = UnsafeBufferPointer(pcm)
        let dBov = LevelMeter.dBov(frame)
        let voice = vad.process(levelDBov: dBov, frameMs: configuration.frameMs)
        micLevel.store(smoother.update(level: LevelMeter.uiLevel(dBov: dBov), frameMs: configuration.frameMs), ordering: .relaxed)
        voiceActive.store(voice, ordering: .relaxed)
        defer { timestamp &+= UInt32(pcm.count) }

        if muted.load(ordering: .relaxed) {
            stats.framesSuppressed.add(1, ordering: .relaxed)
            startOfTalkspurt = true
            return
        }
        var extensions = HeaderExtensionList()
        try? extensions.append(audioLevel: AudioLevel(dBov: dBov, voiceActivity: voice), id: configuration.audioLevelExtensionID)
        let headerLength = RTPPacket.headerLength(extensions: extensions)
        if let word = encoderControl.pendingChange(current: encoderWord) { adoptEncoderSettings(word) }
        // Encode into the history, where the next packets find it for their redundant copies.
        let slot = historyNext
        let encoded = UnsafeMutableRawBufferPointer(
            rebasing: history[(slot * Self.historySlotBytes)..<((slot + 1) * Self.historySlotBytes)])
        historyLength[slot] = 0
        guard let encodedLength = try? encoder.encode(frame, into: encoded) else {
            stats.sendFailures.add(1, ordering: .relaxed)
            return
        }
        if configuration.encoder.dtx && encodedLength <= 2 {
            // libopus' DTX says nothing is worth sending for this frame.
            stats.framesSuppressed.add(1, ordering: .relaxed)
            startOfTalkspurt = true
            return
        }
        let primary = UnsafeRawBufferPointer(rebasing: encoded[0..<encodedLength])
        let payloadArea = UnsafeMutableRawBufferPointer(rebasing: packet[headerLength..<1_400])
        var payloadType = configuration.payloadType
        var payloadLength = 0
        let redundant = redundantFramesAvailable(wanted: EncoderControl.redundantFrames(encoderWord))
        if redundant > 0, let length = try? AudioRED.write(
            payloadType: configuration.payloadType, primary: primary, redundantCount: redundant,
            redundant: { i in redundantBlock(packetsBack: redundant - i) }, into: payloadArea) {
            payloadType = configuration.redPayloadType
            payloadLength = length
        } else {
            payloadArea.copyMemory(from: primary)
            payloadLength = encodedLength
        }
        let header = RTPHeaderFields(marker: startOfTalkspurt, payloadType: payloadType,
                                     sequenceNumber: sequenceNumber, timestamp: timestamp, ssrc: ssrc)
        let payload = UnsafeRawBufferPointer(rebasing: packet[headerLength..<(headerLength + payloadLength)])
        guard let rtpLength = try? RTPPacket.write(header: header, extensions: extensions, payload: payload, into: packet),
              let srtpLength = try? srtp.protect(packet, length: rtpLength) else {
            stats.sendFailures.add(1, ordering: .relaxed)
            return
        }
        startOfTalkspurt = false
        historyLength[slot] = encodedLength
        historySequence[slot] = sequenceNumber
        historyTimestamp[slot] = timestamp
        historyNext = (slot + 1) % Self.historySlots
        sequenceNumber &+= 1
        if socket.send(UnsafeRawBufferPointer(rebasing: packet[0..<srtpLength]), to: destination) {
            stats.packetsSent.add(1, ordering: .relaxed)
            stats.bytesSent.add(srtpLength, ordering: .relaxed)
        } else {
            stats.sendFailures.add(1, ordering: .relaxed)
        }
        packetCount &+= 1
        payloadOctets &+= UInt32(payloadLength)
        let now = MonotonicClock.nanoseconds()
        let intervalNs = UInt64(max(1, configuration.senderReportIntervalMs)) * 1_000_000
        if nextReportNs == 0 {
            nextReportNs = now + intervalNs / 2
        } else if now >= nextReportNs {
            nextReportNs = now + intervalNs
            sendSenderReport(rtpTimestamp: timestamp)
        }
    }

    /// How many of the `wanted` earlier frames can go along: each must be the
    /// frame of the packet sent exactly that many packets before this one
    /// (the receiver places copies by sequence number), within RED's 14-bit
    /// timestamp offset.
    @inline(__always)
    private func redundantFramesAvailable(wanted: Int) -> Int {
        var count = 0
        while count < wanted {
            let back = count + 1
            let slot = (historyNext + Self.historySlots - back) % Self.historySlots
            guard historyLength[slot] > 0, historySequence[slot] == sequenceNumber &- UInt16(back),
                  timestamp &- historyTimestamp[slot] <= AudioRED.maxTimestampOffset else { break }
            count = back
        }
        return count
    }

    @inline(__always)
    private func redundantBlock(packetsBack back: Int) -> (timestampOffset: UInt32, data: UnsafeRawBufferPointer) {
        let slot = (historyNext + Self.historySlots - back) % Self.historySlots
        let start = slot * Self.historySlotBytes
        return (timestamp &- historyTimestamp[slot], UnsafeRawBufferPointer(rebasing: history[start..<(start + historyLength[slot])]))
    }

    /// Applies a change from `encoderControl` between two frames: libopus'
    /// ctl calls only set fields of the encoder's state, nothing is allocated.
    private func adoptEncoderSettings(_ word: UInt64) {
        encoderWord = word
        if (try? encoder.apply(EncoderControl.settings(word, over: configuration.encoder))) != nil {
            encoderControl.markApplied(word)
        }
    }

    /// An RTCP sender report for our SSRC (RFC 3550 §6.4.1), protected as
    /// SRTCP with our key, to `rtcpDestination`. Receivers pair its NTP
    /// and RTP timestamps; the server forwards it like our RTP.
    private func sendSenderReport(rtpTimestamp: UInt32) {
        var wallClock = timespec()
        clock_gettime(CLOCK_REALTIME, &wallClock)
        // NTP time: seconds since 1900 (RFC 3550 §4) and a 32-bit fraction.
        let seconds = UInt64(wallClock.tv_sec) + 2_208_988_800
        let fraction = (UInt64(wallClock.tv_nsec) << 32) / 1_000_000_000
        let info = RTCPSenderInfo(
            ntpTimestamp: seconds << 32 | fraction, rtpTimestamp: rtpTimestamp, packetCount: packetCount,
            octetCount: payloadOctets)
        guard let length = try? RTCPSenderReport.write(senderSSRC: ssrc, senderInfo: info, into: report),
            let protectedLength = try? srtp.protectRTCP(report, length: length),
            socket.send(UnsafeRawBufferPointer(rebasing: report[0..<protectedLength]), to: rtcpDestination)
        else {
            stats.sendFailures.add(1, ordering: .relaxed)
            return
        }
        stats.senderReportsSent.add(1, ordering: .relaxed)
    }
}
