// The SDK's media side: drives the MediaEngine through the room server.
//
//   joined(media) ─▶ UDP socket ─▶ STUN Binding request (USERNAME + MESSAGE-INTEGRITY + FINGERPRINT)
//                   every 200 ms until a verified success ─▶ bound ─▶ refresh every 5 s (server unbinds at 20 s)
//   rebind() (network changed) ─▶ same descriptor, new port ─▶ the same Binding requests ─▶ bound again
//   bound + our role publishes ─▶ fresh SRTP key + SSRC ─▶ keys.publish sealed to every peer that hears us
//                               ─▶ engine.startSending(ssrc, key) to the server
//   a hearer leaves / is removed / stops hearing us ─▶ rotate: new key, new SSRC, epoch + 1, publish to the rest
//   a new hearer ─▶ our current key sealed to it alone
//   hearers (quiet peers that hear us, kept apart from the room's peers) ─▶ hearers too; one of them
//     leaving ─▶ rotate, at most once per `quietRotationInterval` (MediaController+Keys.swift)
//   `keys` in ─▶ HPKE open (MediaKeys) ─▶ engine.addRemoteTrack(ssrc, key) ─▶ TrackMonitor per peer
//   every 50 ms: per-peer levels ─▶ session (RoomState.media, event stream); every second: per-peer stats
//   every second: what we lost of each track ─▶ media.loss;  media.feedback in ─▶ LossAdaptation ─▶ encoder
//
// Everything mutable lives in this actor; the engine's threads share only its
// atomics. STUN answers come from the engine's network thread through an
// AsyncStream (copied there: STUN is rare, the RTP path stays allocation-free).

import ConfabMedia
import ConfabProtocol
import ConfabSocket
import ConfabWire
import Foundation
import Logging
import SRTP

/// Why the media side could not start.
public enum MediaControllerError: Error, Sendable, CustomStringConvertible {
    case socket(String)
    case engine(String)
    /// The server advertised an address no datagram can reach it at.
    case unusableAddress(String)

    public var description: String {
        switch self {
        case .unusableAddress(let text): text
        case .socket(let text): "media socket: \(text)"
        case .engine(let text): "media engine: \(text)"
        }
    }
}

/// Talks and listens for one `ConfabSession`: create it before `join()`, keep
/// a reference, and call `stop()` at the end (after the session is over: the
/// sender stops by itself when the session ends, the receive side at `stop()`).
public actor MediaController {
    public nonisolated let session: ConfabSession
    let source: AudioSource?
    let sink: AudioSink
    var configuration: MediaConfiguration
    let logger: Logger
    private let keepaliveInterval: Duration
    private let events: AsyncStream<SessionEvent>
    private let stunStream: AsyncStream<[UInt8]>
    private let stunContinuation: AsyncStream<[UInt8]>.Continuation

    var engine: MediaEngine?
    private var server: SocketAddress?
    /// Binding with the current join's credentials (MediaBinding.swift).
    private var binding: MediaBinding?
    private var bindGeneration = 0
    public private(set) var isBound = false
    /// The address the server saw (XOR-MAPPED-ADDRESS), once bound.
    public private(set) var mappedAddress: String?
    var tasks: [Task<Void, Never>] = []
    private var keepaliveTask: Task<Void, Never>?
    var stopped = false

    /// What we send with now. A new value (key, SSRC, epoch) at every rotation.
    struct Outbound {
        var ssrc: UInt32
        var keyBytes: [UInt8]
        var epoch: Int
        var recipients: Set<PeerID>
    }
    var outbound: Outbound?
    /// The quiet peers that hear us, apart from `state.peers` (MediaController+Keys.swift).
    var quietHearers = QuietHearerList()
    /// A quiet hearer's departure rotates the key at most this often (docs/SECURITY.md).
    var quietRotationInterval = MediaController.defaultQuietRotationInterval
    private var epoch = 0
    /// Rotations so far (tests read it).
    public private(set) var rotations = 0

    private struct RemoteTrack {
        var ssrc: UInt32
        var epoch: Int
        var monitor: TrackMonitor
        var track: TrackID
        var meter = ReceiveLossMeter()
    }
    private var remote: [PeerID: RemoteTrack] = [:]
    /// The encoder settings our listeners' loss calls for (docs/MEDIA.md, "Loss feedback").
    var adaptation: LossAdaptation
    /// Peers that hear us but declared no RED: while any is here, we send none (MediaController+RED.swift).
    var hearersWithoutRED: Set<PeerID> = []
    /// Reminds a muted user who talks that nobody hears them.
    private var talkingWhileMuted = TalkingWhileMutedWatch()
    /// Sound cards that went away or came back (AudioDeviceChange.swift).
    var deviceWatches = (input: DeviceHealthWatch(), output: DeviceHealthWatch())
    /// Tests only: media goes here instead of the server's address (an impaired relay in front of it).
    private var mediaRoute: SocketAddress?
    /// Opens the card a switch names (tests: alsa-lib's file plugin, with a configuration of their own).
    var soundCards = SoundCardOpener.alsa
    /// Sound cards plugged in or pulled out (SoundCardPolling.swift).
    var cardPolling = SoundCardPolling()
    /// The default device in place of a card that went, until it returns (DeviceFailover.swift).
    var failover = DeviceFailover()

    /// - Parameters:
    ///   - source: what we say (nil: listen only).
    ///   - sink: where what we hear goes (a WAV file, the null sink, ALSA).
    ///   - keepaliveInterval: how often the binding is refreshed; the server
    ///     unbinds after 20 s of silence and PROTOCOL.md asks for 5 s.
    ///   - lossPolicy: how the encoder and RED follow the listeners' loss
    ///     (`maximumRedundantFrames = 0` keeps RED off altogether; a listener
    ///     that does not declare RED is never sent it either way).
    public init(
        session: ConfabSession, source: AudioSource?, sink: AudioSink,
        configuration: MediaConfiguration = MediaConfiguration(), keepaliveInterval: Duration = .seconds(5),
        lossPolicy: LossAdaptationPolicy = LossAdaptationPolicy(),
        logger: Logger = Logger(label: "confab.media")
    ) {
        self.keepaliveInterval = keepaliveInterval
        self.session = session
        self.source = source
        self.sink = sink
        self.configuration = configuration
        self.logger = logger
        adaptation = LossAdaptation(configured: configuration.encoder, policy: lossPolicy)
        // Subscribed now, before `join()`, so the first `joined` is not missed.
        events = session.events()
        (stunStream, stunContinuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(16))
    }

    /// Starts following the session. Call once, before `session.join()`.
    public func start() {
        guard tasks.isEmpty, !stopped else { return }
        let events = self.events
        tasks.append(Task { [weak self] in
            for await event in events {
                guard let self else { return }
                await self.handle(event)
            }
        })
        let answers = stunStream
        tasks.append(Task { [weak self] in
            for await answer in answers {
                guard let self else { return }
                await self.stunAnswer(answer)
            }
        })
        watchSoundCards()
    }

    /// Stops the engine's threads (a WAV output is finalised). Idempotent.
    public func stop() async {
        guard !stopped else { return }
        stopped = true
        for task in tasks { task.cancel() }
        keepaliveTask?.cancel()
        stunContinuation.finish()
        if let engine { await Self.offThread { engine.stop() } }
    }

    /// Runs `work` on a thread of its own and waits for it without holding a
    /// cooperative thread: stopping the engine's threads joins them, which
    /// can take a frame or a poll timeout (20 ms), and the pool has only as
    /// many threads as cores.
    private static func offThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.name = "confab-media-control"
            thread.start()
        }
    }

    // MARK: - For tests and tools

    /// The SSRC we send with now (nil while not sending).
    public var sendingSSRC: UInt32? { outbound?.ssrc }
    /// The current sending epoch.
    public var sendingEpoch: Int? { outbound?.epoch }
    /// The monitor of the track we play for `peer`.
    public func monitor(of peer: PeerID) -> TrackMonitor? { remote[peer]?.monitor }
    /// The engine (nil before the first `joined`).
    public var mediaEngine: MediaEngine? { engine }
    /// Sends media through `relay` (which forwards to the server) from the next `joined` on: tests only.
    func routeMedia(through relay: SocketAddress) { mediaRoute = relay }

    // MARK: - Events

    private func handle(_ event: SessionEvent) async {
        guard !stopped else { return }
        switch event {
        case .joined(let joined, _):
            await joinedRoom(joined)
        case .mediaKeyReceived(let delivery):
            switch openKey(delivery) {
            case .accepted: await session.reportMedia(.mediaKeyAccepted(delivery))
            case .refused(let reason):
                await session.reportMedia(
                    .mediaKeyRefused(from: delivery.from, track: delivery.track, epoch: delivery.epoch, reason: reason))
            case .ignored: break
            }
        case .peerLeft(let peer, _, _):
            if let track = remote.removeValue(forKey: peer) { engine?.removeRemoteTrack(ssrc: track.ssrc) }
            await reconcile()
        case .peerJoined(let peer, _):
            // A peer back after a drop may have lost our key: seal it again.
            outbound?.recipients.remove(peer.id)
            if await keyNewcomer(peer.id) { return }
            await reconcile()
        case .peerUpdated, .trackMuted, .trackUnmuted, .trackAdded, .trackRemoved:
            await reconcile()
        case .hearersChanged(let update):
            if quietHearers.apply(update, outbound: &outbound) { await reconcile() }
        case .mediaFeedback(let feedback):
            guard let you = session.state.you, feedback.track == TrackID.microphone(of: you.id) else { return }
            adaptation.update(lossPercent: Double(feedback.lossPermille) / 10)
            requestEncoderSettings()
        case .disconnected:
            // Never send once out of the room. Receiving stays up until
            // `stop()`, which the owner calls (it finalises a WAV output).
            keepaliveTask?.cancel()
            bindGeneration += 1
            isBound = false
            outbound = nil
            if let engine { await Self.offThread { engine.stopSending() } }
        default:
            break
        }
    }

    // MARK: - Binding

    private func joinedRoom(_ joined: Joined) async {
        guard let media = joined.media else {
            logger.warning("the server offers no media endpoint: no audio")
            return
        }
        do {
            try prepareEngine(for: media)
        } catch {
            logger.error("\(error)")
            await session.reportMedia(.mediaBound(mapped: nil, problem: error.description))
            return
        }
        binding = MediaBinding(media)
        isBound = false
        mappedAddress = nil
        bindGeneration += 1
        let generation = bindGeneration
        await bindAddress(generation: generation)
        guard generation == bindGeneration, !stopped else { return }
        let problem = "no STUN binding answer from \(media.host) port \(media.port) (UDP) in 10 s: no audio"
        await session.reportMedia(.mediaBound(mapped: isBound ? mappedAddress : nil, problem: isBound ? nil : problem))
        guard isBound else {
            logger.error("\(problem)")
            return
        }
        startKeepalive()
        // Every (re)join gets a fresh key and SSRC (RFC 3711 §9.1): forget the old one.
        outbound = nil
        // The server sends this session's quiet hearers afresh.
        quietHearers = QuietHearerList()
        await reconcile()
    }

    /// Sends binding requests every 200 ms (PROTOCOL.md, Media) for up to
    /// 10 s, until one is answered or the join it belongs to is over.
    private func bindAddress(generation: Int) async {
        for _ in 0..<50 {
            sendBindingRequest()
            try? await Task.sleep(for: .milliseconds(200))
            if isBound || stopped || generation != bindGeneration { break }
        }
    }

    /// Moves to a new local UDP port and binds it again with the same
    /// credentials, as after a network change (a new interface, a new NAT
    /// mapping): the server moves the binding to whichever address
    /// authenticates last (docs/SFU.md, "Rebinding") and unbinds the old one.
    /// No signalling resume: the SSRC, the key and the SRTP sequence go on
    /// (nothing restarts, RFC 3711 §9.1). Returns whether the server
    /// confirmed the new address; call it when the network changed.
    @discardableResult
    public func rebind(port: Int = 0) async -> Bool {
        guard let engine, let server, binding != nil, !stopped else { return false }
        do {
            try engine.socket.rebind(to: server.family == AF_INET6 ? "::" : "0.0.0.0", port: port)
        } catch {
            logger.error("cannot move the media socket: \(error)")
            return false
        }
        binding?.forgetAddress()
        isBound = false
        let generation = bindGeneration
        await bindAddress(generation: generation)
        guard generation == bindGeneration, !stopped else { return false }
        await session.reportMedia(.mediaBound(mapped: isBound ? mappedAddress : nil))
        if isBound { await reconcile() }
        return isBound
    }

    private func prepareEngine(for media: MediaEndpoint) throws(MediaControllerError) {
        let server: SocketAddress
        do {
            server = try SocketAddress(host: media.host, port: media.port)
        } catch {
            throw .socket("cannot resolve \(media.host):\(media.port): \(error)")
        }
        if let why = server.unusableAsDestination {
            // A server on 0.0.0.0 that tells clients so: sending there would
            // reach this machine, not the server. Say so instead of going silent.
            throw .unusableAddress(
                "the server told us to send audio to \(media.host) port \(media.port), which is \(why): no audio. "
                    + "The server's operator should run confab serve with --media-host ADDRESS (an address clients can reach)")
        }
        self.server = mediaRoute ?? server
        guard engine == nil else { return }
        let socket: UDPSocket
        do {
            socket = try UDPSocket(bindTo: server.family == AF_INET6 ? "::" : "0.0.0.0", port: 0)
        } catch {
            throw .socket(error.description)
        }
        let engine: MediaEngine
        do {
            engine = try MediaEngine(socket: socket, configuration: configuration)
        } catch {
            throw .engine("\(error)")
        }
        let continuation = stunContinuation
        engine.receiver.setSTUNHandler { bytes in continuation.yield(Array(bytes)) }
        engine.startReceiving(sink: sink)
        self.engine = engine
        tasks.append(Task { [weak self] in
            // Levels at 20 Hz, so level bars move at 20 fps; stats once a second.
            var tick = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50))
                tick += 1
                await self?.publishLevels(withStats: tick % 20 == 0)
            }
        })
    }

    private func sendBindingRequest() {
        guard let engine, let server, let request = binding?.request() else { return }
        request.withUnsafeBytes { _ = engine.socket.send($0, to: server) }
    }

    /// A STUN message from the network thread: a binding success for one of
    /// our requests, signed with our password, binds us, or asks us to echo
    /// its consent token first (at once: binding takes one more round trip).
    private func stunAnswer(_ bytes: [UInt8]) {
        switch binding?.take(bytes) {
        case .bound(let mapped)?:
            isBound = true
            if let mapped { mappedAddress = mapped.description }
        case .echoConsent?:
            sendBindingRequest()
        case .consentPending?, .ignored?, nil:
            break
        }
    }

    /// Binding requests every 5 s keep the server's binding (it expires
    /// after 20 s of silence); a listener sends nothing else.
    private func startKeepalive() {
        keepaliveTask?.cancel()
        let interval = keepaliveInterval
        keepaliveTask = Task { [weak self] in
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
                await self?.sendBindingRequest()
            }
        }
    }

    // MARK: - Sending and keys

    /// Brings what we send in line with the room: publish or not, rotate when
    /// someone who could hear us no longer does, key newcomers.
    func reconcile() async {
        guard isBound, !stopped, let engine, let server else { return }
        let state = session.state
        guard let you = state.you, let room = state.room, let source else { return }
        let track = state.yourMicrophone?.id ?? TrackID.microphone(of: you.id)
        let mayPublish = room.role(named: you.role)?.publishAudio ?? false
        guard mayPublish, state.yourMicrophone != nil else {
            hearersWithoutRED = []
            if outbound != nil {
                outbound = nil
                await Self.offThread { engine.stopSending() }
            }
            return
        }
        guard quietHearers.isComplete else { return }  // a list of hearers is acted on once whole
        let audience = PublisherAudience(
            publisher: you.id, role: you.role, room: room, peers: state.peers.values, quiet: quietHearers.hearers,
            roomHasAudience: state.counts != nil)
        let hearers = audience.keys
        if audience.withoutRED != hearersWithoutRED {
            // Before any key is sealed: a newcomer that plays no RED decrypts only plain Opus.
            hearersWithoutRED = audience.withoutRED
            requestEncoderSettings()
        }
        let current = Set(hearers.keys)
        if var outbound, deferRotation(departed: outbound.recipients.subtracting(current)) {
            // Same key (or a rotation that may wait); seal it to whoever is new.
            let newcomers = current.subtracting(outbound.recipients)
            if !newcomers.isEmpty {
                outbound.recipients.formUnion(newcomers)
                self.outbound = outbound
                await publish(outbound, to: hearers.filter { newcomers.contains($0.key) }, track: track, room: room.name, you: you.id)
            }
        } else {
            // First key of this join, or someone stopped hearing us: a new key
            // and a new SSRC, sealed only to who hears us now.
            let rotating = outbound != nil
            epoch += 1
            var keyBytes = [UInt8](repeating: 0, count: configuration.profile.keyMaterialLength)
            var rng = SystemRandomNumberGenerator()
            for i in keyBytes.indices { keyBytes[i] = UInt8.random(in: 0...255, using: &rng) }
            let taken = Set(remote.values.map(\.ssrc))
            var ssrc = UInt32.random(in: 1...UInt32.max)
            while taken.contains(ssrc) || ssrc == outbound?.ssrc { ssrc = UInt32.random(in: 1...UInt32.max) }
            let next = Outbound(ssrc: ssrc, keyBytes: keyBytes, epoch: epoch, recipients: current)
            outbound = next
            quietHearers.keyChanged()
            if rotating { rotations += 1 }
            // Announce first, so the server knows the SSRC and receivers hold the key by the first packet.
            await publish(next, to: hearers, track: track, room: room.name, you: you.id)
            guard outbound?.ssrc == ssrc, !stopped else { return }
            let profile = configuration.profile
            let (material, newSSRC) = (keyBytes, ssrc)
            // Replacing the sender joins the old capture thread: off the pool.
            let failure: String? = await Self.offThread {
                do {
                    let key = try SRTPKeyMaterial(profile: profile, bytes: material)
                    try engine.startSending(source: source, ssrc: newSSRC, key: key, to: server)
                    return nil
                } catch {
                    return "\(error)"
                }
            }
            if let failure { logger.error("cannot start sending: \(failure)") }
            // A new sender starts from the configured settings: give it what the listeners' loss calls for.
            requestEncoderSettings()
        }
        engine.sender?.muted.store(state.isMuted, ordering: .relaxed)
    }

    /// What became of a key sealed to us.
    private enum KeyOutcome {
        case accepted
        /// Not usable: that sender's SSRC stays undecodable (said on `media.keyRefused`).
        case refused(String)
        /// Nothing to do: media is off, or an older or repeated key.
        case ignored
    }

    /// Opens a key sealed to us and plays that sender's SSRC with it.
    private func openKey(_ delivery: SealedKeyDelivery) -> KeyOutcome {
        let state = session.state
        guard let engine, let you = state.you, let room = state.room else { return .ignored }
        guard let ssrc = delivery.ssrc else { return .refused("the key names no SSRC") }
        guard let sender = state.peers[delivery.from] else { return .refused("the sender is not in the room") }
        guard let senderKey = sender.publicKey else { return .refused("the sender announced no public key") }
        if let known = remote[delivery.from] {
            // Stale (an older rotation) or the same key again after a drop.
            if delivery.epoch < known.epoch || (delivery.epoch == known.epoch && ssrc == known.ssrc) { return .ignored }
        }
        let context = MediaKeyContext(
            room: room.name, sender: delivery.from, recipient: you.id, track: delivery.track, epoch: delivery.epoch,
            ssrc: ssrc)
        let monitor: TrackMonitor
        do {
            let bytes = try MediaKeySealing.open(
                delivery.sealed, senderKey: senderKey, identity: session.identity, context: context,
                expectedLength: configuration.profile.keyMaterialLength)
            let material = try SRTPKeyMaterial(profile: configuration.profile, bytes: bytes)
            monitor = try engine.addRemoteTrack(ssrc: ssrc, key: material)
        } catch {
            logger.warning("a key from \(delivery.from) was refused: \(error)")
            return .refused("the key does not open: \(error)")
        }
        monitor.gainPercent.store(Int((state.volume(of: delivery.from) * 100).rounded()), ordering: .relaxed)
        if let old = remote[delivery.from], old.ssrc != ssrc {
            // Packets of the old SSRC may still be in flight or buffered: let them play out first.
            let oldSSRC = old.ssrc
            Task { [weak self] in
                try? await Task.sleep(for: .seconds(1))
                await self?.retire(ssrc: oldSSRC)
            }
        }
        remote[delivery.from] = RemoteTrack(ssrc: ssrc, epoch: delivery.epoch, monitor: monitor, track: delivery.track)
        return .accepted
    }

    private func retire(ssrc: UInt32) {
        guard !remote.values.contains(where: { $0.ssrc == ssrc }) else { return }
        engine?.removeRemoteTrack(ssrc: ssrc)
    }

    // MARK: - Levels and stats

    private func publishLevels(withStats: Bool) async {
        guard !stopped else { return }
        await reportDeviceChanges()
        let state = session.state
        // Our own mute, as the room sees it (ours or a host's), follows the
        // state here too: no event is needed for the sender to fall silent.
        engine?.sender?.muted.store(state.isMuted, ordering: .relaxed)
        if let sender = engine?.sender,
            talkingWhileMuted.observe(
                muted: state.isMuted, voice: sender.voiceActive.load(ordering: .relaxed),
                nowMs: Int(MonotonicClock.nanoseconds() / 1_000_000))
        {
            await session.reportMedia(.talkingWhileMuted)
        }
        let devices = withStats ? deviceStats() : []
        guard !remote.isEmpty || !devices.isEmpty else { return }
        var levels: [PeerID: Int] = [:]
        for (peer, track) in remote {
            levels[peer] = track.monitor.level.load(ordering: .relaxed)
            // The listener's volume for that peer (0 … 2 → 0 … 200 %).
            track.monitor.gainPercent.store(Int((state.volume(of: peer) * 100).rounded()), ordering: .relaxed)
        }
        if !remote.isEmpty { await session.reportMedia(.mediaLevels(levels)) }
        guard withStats else { return }
        var figures: [PeerID: PeerMediaState] = [:]
        for (peer, track) in remote {
            let stats = track.monitor.stats
            var media = PeerMediaState()
            media.level = levels[peer] ?? 0
            media.packetsReceived = stats.received
            media.packetsLost = stats.lost
            media.fecRecovered = stats.recoveredByFEC
            media.redRecovered = stats.recoveredByRED
            media.concealed = stats.concealed
            media.jitterMs = Int(stats.jitterMs.rounded())
            media.playoutDelayMs = Int(stats.currentDelayMs.rounded())
            figures[peer] = media
        }
        await session.reportMedia(.mediaStats(figures, devices: devices))
        reportLoss()
    }

    /// Sends `media.loss`: what we lost of each track since the last report
    /// (once a second, with the stats), so each publisher's encoder can adapt.
    private func reportLoss() {
        var entries: [TrackLoss] = []
        for (peer, track) in remote {
            var meter = track.meter
            let counts = meter.take(track.monitor.stats)
            remote[peer]?.meter = meter
            if counts.expected > 0 {
                entries.append(TrackLoss(track: track.track, expected: counts.expected, lost: counts.lost))
            }
        }
        guard !entries.isEmpty else { return }
        let session = self.session
        Task { try? await session.reportLoss(LossReport(tracks: entries)) }
    }
}
