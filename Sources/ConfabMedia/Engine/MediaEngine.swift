// The media engine: one UDP socket, one send path, any number of remote tracks.
//
//   capture thread:  AudioSource ─▶ MediaSender ─▶ UDP ───────────────────────────▶ (peer or server)
//   network thread:  UDP ─▶ MediaReceiver (SRTP unprotect) ─▶ PacketRing
//   play-out thread: PacketRing ─▶ PlayoutLoop (jitter buffer, decode per track, mix) ─▶ AudioSink
//                                                                     └─▶ FarEndRing ─▶ the sender's echo canceller
//
// The three threads share only atomics, the ring, and change lists that are
// read when their generation counter moves.
import ConfabSocket
import SRTP

public final class MediaEngine: @unchecked Sendable {
    public let configuration: MediaConfiguration
    public let socket: UDPSocket
    public let receiver: MediaReceiver
    public private(set) var sender: MediaSender?
    public private(set) var playout: PlayoutLoop?
    /// The capture side's processing; what the play-out thread plays is its echo reference.
    public let processing: CaptureProcessing
    private let ring = PacketRing()
    private var receiving = false

    public init(socket: UDPSocket, configuration: MediaConfiguration = MediaConfiguration()) throws {
        self.socket = socket
        self.configuration = configuration
        receiver = try MediaReceiver(socket: socket, ring: ring, configuration: configuration)
        processing = try CaptureProcessing(settings: configuration.processing)
    }

    /// Starts sending `source` as `ssrc` to `destination`, protected with
    /// `key`; sender reports go to `rtcpDestination` (nil: multiplexed on `destination`).
    @discardableResult
    public func startSending(source: AudioSource, ssrc: UInt32, key: SRTPKeyMaterial, to destination: SocketAddress,
                             rtcpTo rtcpDestination: SocketAddress? = nil) throws -> MediaSender {
        sender?.stop()
        let sender = try MediaSender(source: source, socket: socket, destination: destination, rtcpDestination: rtcpDestination,
                                     ssrc: ssrc, key: key, configuration: configuration, processing: processing)
        self.sender = sender
        sender.start()
        return sender
    }

    /// Stops sending (the role may no longer publish); the socket stays open.
    public func stopSending() {
        sender?.stop()
        sender = nil
    }

    /// Starts the network and play-out threads, mixing every remote track into `sink`.
    @discardableResult
    public func startReceiving(sink: AudioSink) -> PlayoutLoop {
        if let playout { return playout }
        let playout = PlayoutLoop(ring: ring, sink: sink, configuration: configuration, farEnd: processing.farEnd)
        self.playout = playout
        receiver.start()
        playout.start()
        receiving = true
        return playout
    }

    /// Plays the remote sender `ssrc`, whose packets are protected with `key`.
    /// Call after `startReceiving`.
    public func addRemoteTrack(ssrc: UInt32, key: SRTPKeyMaterial) throws -> TrackMonitor {
        guard let playout else { throw MediaEngineError.notReceiving }
        let monitor = try playout.addTrack(ssrc: ssrc)
        receiver.addStream(ssrc: ssrc, key: key)
        return monitor
    }

    public func removeRemoteTrack(ssrc: UInt32) {
        receiver.removeStream(ssrc: ssrc)
        playout?.removeTrack(ssrc: ssrc)
    }

    /// Stops every thread and waits for them. Sinks are closed (a WAV file is finalised).
    public func stop() {
        sender?.stop()
        if receiving {
            receiver.stop()
            playout?.stop()
            receiving = false
        }
    }
}

public enum MediaEngineError: Error, CustomStringConvertible {
    case notReceiving
    public var description: String {
        switch self {
        case .notReceiving: return "the engine is not receiving: call startReceiving(sink:) first"
        }
    }
}
