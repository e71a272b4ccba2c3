// The receive path's network side, on the network thread.
//
//   UDPSocket (poll ▶ recvmmsg batch) ─▶ checks: size, RTP version, RTCP? ─▶ SSRC known?
//   ─▶ SRTP unprotect (in place; tag and replay checked) ─▶ RTP parse, payload type
//   ─▶ Opus: PacketRing ─▶ play-out thread
//   ─▶ RED (RFC 2198): validated whole ─▶ primary, then each earlier frame as a copy ─▶ PacketRing
//   RTCP (RFC 5761 §4) ─▶ SSRC known? ─▶ SRTCP unprotect ─▶ sender report? counted
//
// Everything dropped is counted by reason and nothing else happens: a hostile
// datagram costs a few comparisons and, at worst, one HMAC.
import ConfabSocket
import ConfabWire
import SRTP
import Synchronization

/// Why datagrams were accepted or dropped, readable from any thread.
public final class ReceiverStats: Sendable {
    public let datagrams = Atomic<Int>(0)
    /// Decrypted RTP handed to play-out.
    public let accepted = Atomic<Int>(0)
    /// Too short, not RTP version 2, or a header that does not parse.
    public let malformed = Atomic<Int>(0)
    /// Larger than the largest media datagram we accept.
    public let oversized = Atomic<Int>(0)
    /// An SSRC with no stream (no key was given for it).
    public let unknownSSRC = Atomic<Int>(0)
    /// SRTP tag did not verify: wrong key or tampering.
    public let authenticationFailures = Atomic<Int>(0)
    /// SRTP replay protection refused it (seen before or older than the window).
    public let replays = Atomic<Int>(0)
    /// A payload type other than the ones configured for Opus and RED.
    public let unknownPayloadType = Atomic<Int>(0)
    /// RED packets accepted (their frames are counted in `accepted` and handed on).
    public let redundantPackets = Atomic<Int>(0)
    /// Non-RTP datagrams (DTLS…, STUN when nobody listens) and RTCP other than sender reports.
    public let ignored = Atomic<Int>(0)
    /// RTCP sender reports (SRTCP) that verified and decrypted with the sender's key.
    public let senderReports = Atomic<Int>(0)
    /// STUN messages handed to the STUN handler (binding answers from the server).
    public let stun = Atomic<Int>(0)
    public init() {}

    /// A plain copy of the counters.
    public var snapshot: ReceiverCounters {
        ReceiverCounters(
            datagrams: datagrams.load(ordering: .relaxed), accepted: accepted.load(ordering: .relaxed),
            malformed: malformed.load(ordering: .relaxed), oversized: oversized.load(ordering: .relaxed),
            unknownSSRC: unknownSSRC.load(ordering: .relaxed),
            authenticationFailures: authenticationFailures.load(ordering: .relaxed),
            replays: replays.load(ordering: .relaxed), unknownPayloadType: unknownPayloadType.load(ordering: .relaxed),
            ignored: ignored.load(ordering: .relaxed))
    }
}

public struct ReceiverCounters: Sendable, Equatable, Codable {
    public var datagrams, accepted, malformed, oversized, unknownSSRC, authenticationFailures, replays, unknownPayloadType, ignored: Int
}

public final class MediaReceiver: @unchecked Sendable {
    public let stats = ReceiverStats()
    public let ring: PacketRing
    /// The largest datagram accepted as media [bytes].
    public static let maxDatagramBytes = 1_500

    private let configuration: MediaConfiguration
    private let socket: UDPSocket
    private let batch = DatagramBatch(capacity: 32, bufferSize: 2_048)
    private let srtp: InboundSession
    private let thread = EngineThread(name: "confab-network")
    /// Gets the STUN messages (first byte 0…3, RFC 7983 §7) that arrive on the
    /// media socket: the server's binding answers. Set before `start`; called
    /// on the network thread, so it must return quickly (copy and hand off).
    private var stunHandler: (@Sendable (UnsafeRawBufferPointer) -> Void)?

    /// Stream changes wait here until the network thread applies them between batches.
    private enum StreamChange {
        case add(UInt32, SRTPKeyMaterial)
        case remove(UInt32)
    }
    private let changes = ChangeQueue<StreamChange>()
    private var seenChanges = 0

    public init(socket: UDPSocket, ring: PacketRing, configuration: MediaConfiguration) throws(SRTP.Error) {
        self.socket = socket
        self.ring = ring
        self.configuration = configuration
        srtp = try InboundSession()
    }

    /// Accepts SRTP from `ssrc` with `key` from now on.
    public func addStream(ssrc: UInt32, key: SRTPKeyMaterial) {
        changes.post(.add(ssrc, key))
    }

    /// Stops accepting `ssrc` (its packets count as unknown SSRC afterwards).
    public func removeStream(ssrc: UInt32) {
        changes.post(.remove(ssrc))
    }

    /// Hands STUN datagrams to `handler` from now on. Call before `start`
    /// (the network thread reads it without a lock). Only STUN pays for the
    /// hand-off; the RTP path is unchanged and allocates nothing.
    public func setSTUNHandler(_ handler: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) {
        precondition(!thread.isStarted, "set the STUN handler before the network thread starts")
        stunHandler = handler
    }

    public func start() {
        thread.start(configuration: configuration) { [self] loop in run(loop) }
    }

    public func stop() {
        thread.stop()
    }

    private func run(_ loop: StoppableLoop) {
        while loop.isRunning {
            guard let count = try? socket.receive(into: batch, timeoutMs: 20) else {
                MonotonicClock.sleep(until: MonotonicClock.nanoseconds() + 5_000_000)
                continue
            }
            // After the wait, so a stream added while we slept is there for its first packet.
            applyStreamChanges()
            for i in 0..<count {
                handle(batch.datagram(i), truncated: batch.wasTruncated(i), arrival: MonotonicClock.nanoseconds())
            }
        }
    }

    /// Applies stream changes made by other threads (libsrtp sessions are single-threaded).
    public func applyStreamChanges() {
        for change in changes.take(since: &seenChanges) {
            switch change {
            case .add(let ssrc, let key):
                try? srtp.addStream(ssrc: ssrc, key: key)
            case .remove(let ssrc):
                srtp.removeStream(ssrc: ssrc)
            }
        }
    }

    /// Checks, decrypts and queues one datagram. Public for benchmarks and tests.
    @inline(__always)
    public func handle(_ datagram: UnsafeMutableRawBufferPointer, truncated: Bool, arrival: UInt64) {
        stats.datagrams.add(1, ordering: .relaxed)
        guard !truncated, datagram.count <= Self.maxDatagramBytes else {
            stats.oversized.add(1, ordering: .relaxed)
            return
        }
        guard datagram.count >= 12 else {
            stats.malformed.add(1, ordering: .relaxed)
            return
        }
        // RFC 7983 §7: only 128…191 is RTP/RTCP; RFC 5761 §4: 192…223 in byte 2 is RTCP.
        let first = datagram[0], second = datagram[1]
        guard first >= 128 && first <= 191 else {
            if first < 4, let stunHandler {
                stats.stun.add(1, ordering: .relaxed)
                stunHandler(UnsafeRawBufferPointer(datagram))
            } else if first < 128 {
                stats.ignored.add(1, ordering: .relaxed)
            } else {
                stats.malformed.add(1, ordering: .relaxed)
            }
            return
        }
        if second >= 192 && second <= 223 {
            handleRTCP(datagram)
            return
        }
        guard let rtp = opened(datagram, isRTCP: false) else { return }
        guard let packet = try? RTPPacket.parse(rtp) else {
            stats.malformed.add(1, ordering: .relaxed)
            return
        }
        let header = ReceivedPacketHeader(ssrc: packet.ssrc, sequenceNumber: packet.sequenceNumber,
                                          timestamp: packet.timestamp, arrivalNanoseconds: arrival)
        let payload = UnsafeRawBufferPointer(rebasing: rtp[packet.payloadRange])
        if packet.payloadType == configuration.payloadType {
            if ring.push(header, payload: payload) {
                stats.accepted.add(1, ordering: .relaxed)
            }
        } else if packet.payloadType == configuration.redPayloadType && configuration.playsRED {
            handleRED(payload, header: header)
        } else {
            stats.unknownPayloadType.add(1, ordering: .relaxed)
        }
    }

    /// Hands on the frames of a RED payload: the primary first (it moves the
    /// play-out's view of the newest packet), then the earlier frames, each
    /// under the sequence number and timestamp it was first sent with. The
    /// jitter buffer keeps a copy only where the packet itself is missing.
    @inline(__always)
    private func handleRED(_ payload: UnsafeRawBufferPointer, header: ReceivedPacketHeader) {
        let opus = configuration.payloadType
        do throws(AudioREDError) {
            var primaryRange = 0..<0
            var primaryType: UInt8 = 0
            try AudioRED.forEachBlock(in: payload) { block in
                if block.packetsBack == 0 {
                    primaryRange = block.range
                    primaryType = block.payloadType
                }
            }
            guard primaryType == opus, !primaryRange.isEmpty else {
                stats.unknownPayloadType.add(1, ordering: .relaxed)
                return
            }
            stats.redundantPackets.add(1, ordering: .relaxed)
            if ring.push(header, payload: UnsafeRawBufferPointer(rebasing: payload[primaryRange])) {
                stats.accepted.add(1, ordering: .relaxed)
            }
            try AudioRED.forEachBlock(in: payload) { block in
                guard block.packetsBack > 0, block.payloadType == opus, !block.range.isEmpty else { return }
                var copy = header
                copy.sequenceNumber = header.sequenceNumber &- UInt16(block.packetsBack)
                copy.timestamp = header.timestamp &- block.timestampOffset
                copy.isRedundantCopy = true
                ring.push(copy, payload: UnsafeRawBufferPointer(rebasing: payload[block.range]))
            }
        } catch {
            stats.malformed.add(1, ordering: .relaxed)
        }
    }

    /// SRTCP from a sender whose key we hold: verified, decrypted and, for
    /// a sender report (RFC 3550 §6.4.1), counted.
    private func handleRTCP(_ datagram: UnsafeMutableRawBufferPointer) {
        guard let rtcp = opened(datagram, isRTCP: true) else { return }
        guard let first = try? RTCPPacket.parse(rtcp) else {
            stats.malformed.add(1, ordering: .relaxed)
            return
        }
        if first.packetType == .senderReport, (try? RTCPSenderReport.parse(first, in: rtcp)) != nil {
            stats.senderReports.add(1, ordering: .relaxed)
        } else {
            stats.ignored.add(1, ordering: .relaxed)
        }
    }

    /// `datagram` verified and decrypted in place, as SRTCP or SRTP; nil,
    /// with the failure counted, when it does not verify.
    @inline(__always)
    private func opened(_ datagram: UnsafeMutableRawBufferPointer, isRTCP: Bool) -> UnsafeRawBufferPointer? {
        do throws(SRTP.Error) {
            let length =
                isRTCP
                ? try srtp.unprotectRTCP(datagram, length: datagram.count)
                : try srtp.unprotect(datagram, length: datagram.count)
            return UnsafeRawBufferPointer(rebasing: datagram[0..<length])
        } catch {
            count(error)
            return nil
        }
    }

    private func count(_ error: SRTP.Error) {
        switch error {
        case .authenticationFailed: stats.authenticationFailures.add(1, ordering: .relaxed)
        case .replay, .replayOld: stats.replays.add(1, ordering: .relaxed)
        case .unknownSSRC: stats.unknownSSRC.add(1, ordering: .relaxed)
        default: stats.malformed.add(1, ordering: .relaxed)
        }
    }
}
