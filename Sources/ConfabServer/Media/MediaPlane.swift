// The server's media port: one UDP socket and one dedicated thread.
//
//   UDP :port ─▶ poll ▶ recvmmsg (64) ─▶ Forwarder.route per datagram ─▶ sendmmsg batch ─▶ UDP
//                                              └▶ STUN answers ─▶ sendto
//   rooms (actors) ─▶ post(ForwarderCommand) ─▶ ChangeQueue ─▶ the last of each room ─▶ applied between batches
//   every 100 ms while a room has peers: binding expiry, reports (levels, loss, jitter)
//     ─▶ Mutex ─▶ speakers timer; idle, the thread waits without a timeout
//
// The thread blocks in poll, never in Swift concurrency. Its per-batch cost
// outside the forwarder is one atomic load (are there changes?) and a clock
// read; the lock is taken only when rooms changed or every 100 ms for reports.
// This loop is the only reader of the clock: the forwarder is given the time.

import ConfabMacros
import ConfabProtocol
import ConfabSocket
import ConfabWire
import Glibc
import Logging
import Synchronization

/// Settings of the media plane.
@PublicMemberwiseInit
public struct MediaPlaneConfiguration: Sendable {
    /// The address the UDP socket binds (the signalling `--host` by default).
    public var host: String = "127.0.0.1"
    /// The UDP port; 0 picks a free one.
    public var port: Int = 0
    /// The address clients are told to send to (`--media-host`): a NAT's
    /// public address. Nil: `host`, or for a wildcard `host` the address the
    /// client reached the signalling port on.
    public var advertisedHost: String?
    /// An address silent this long is unbound; clients refresh every 5 s.
    public var bindingTimeoutMs: Int = 20_000
}

/// A snapshot of the media plane's counters, readable from any thread.
public struct MediaPlaneStatistics: Sendable, Hashable {
    public var counters: ForwarderCounters
    public var boundPeers: Int
}

public final class MediaPlane: Sendable {
    public let configuration: MediaPlaneConfiguration
    let socket: UDPSocket
    /// Rare changes from the room actors to the media thread.
    private let changes = ChangeQueue<ForwarderCommand>()
    /// Ends the thread's wait when a change is posted or on stop().
    private let wake: WakeSignal
    private let running = Atomic<Bool>(true)
    private let thread = Mutex<MediaThread?>(nil)
    private let nextID = Atomic<Int>(1)
    private let latestReports = Mutex<[MediaPeerReport]>([])
    private let latestCounters = Mutex<MediaPlaneStatistics>(
        MediaPlaneStatistics(counters: ForwarderCounters(), boundPeers: 0))
    private let logger: Logger

    /// Binds the UDP socket; the thread starts with `start()`.
    public init(configuration: MediaPlaneConfiguration, logger: Logger) throws(SocketError) {
        self.configuration = configuration
        socket = try UDPSocket(bindTo: configuration.host, port: configuration.port)
        wake = try WakeSignal()
        // A bigger receive buffer for bursts from many publishers.
        var size: Int32 = 8 << 20
        _ = setsockopt(socket.descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(socket.descriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        self.logger = logger
    }

    /// The UDP port bound.
    public var port: Int { socket.localAddress.port }

    /// Whether the socket is bound to every interface (`0.0.0.0`, `::`): no
    /// client can send there, so each is told its own way in.
    public var isWildcard: Bool {
        guard let bound = try? SocketAddress(host: configuration.host, port: 0) else { return false }
        if let v4 = bound.ipv4 { return v4.address == 0 }
        if let v6 = bound.ipv6 { return v6.high == 0 && v6.low == 0 }
        return false
    }

    /// The host a client is told in `joined.media`: `--media-host` if set;
    /// for a wildcard bind, `signallingLocalAddress`, the local address of
    /// the client's own signalling connection (the address it reached us on,
    /// so the same route carries its UDP; a dual-stack socket's
    /// `::ffff:a.b.c.d` as `a.b.c.d`); otherwise the bound host.
    public func advertisedHost(signallingLocalAddress: String?) -> String {
        if let advertised = configuration.advertisedHost { return advertised }
        guard isWildcard else { return configuration.host }
        guard let local = signallingLocalAddress, let parsed = try? SocketAddress(host: local, port: 0) else {
            return configuration.host
        }
        return parsed.unmapped.hostText
    }

    /// What `confab serve` prints about the address clients are told.
    public var advertisedHostSummary: String {
        if let advertised = configuration.advertisedHost { return advertised }
        return isWildcard ? "\(configuration.host) (each client is told the address it reached the server on)" : configuration.host
    }

    /// A fresh id for a room or a peer slot (never reused in this process).
    func makeID() -> Int { nextID.add(1, ordering: .relaxed).oldValue }

    func post(_ command: ForwarderCommand) {
        changes.post(command)
        wake.signal()
    }

    /// The reports of the last 100 ms tick (levels since the previous tick).
    func reports() -> [MediaPeerReport] { latestReports.withLock { $0 } }

    /// Counters as of the last tick (at most 100 ms old).
    public var statistics: MediaPlaneStatistics { latestCounters.withLock { $0 } }

    public func start() {
        let started = MediaThread(name: "confab-sfu") { [self] in loop() }
        thread.withLock { $0 = started }
    }

    public func stop() {
        running.store(false, ordering: .relaxed)
        wake.signal()
        let started = thread.withLock { current in
            defer { current = nil }
            return current
        }
        started?.join()
    }

    /// How long the thread may wait for a datagram: a 50 ms cadence while any
    /// room has peers (binding expiry, 100 ms reports); idle, only until the
    /// figures of the last activity are published, then without limit — an
    /// idle server does not wake at all (a datagram, a change or stop() ends
    /// the wait).
    static func waitLimitMs(idle: Bool, unpublished: Bool, nowNs: UInt64, nextTickNs: UInt64) -> Int32 {
        guard idle else { return 50 }
        guard unpublished else { return -1 }
        return nowNs >= nextTickNs ? 0 : Int32((nextTickNs - nowNs + 999_999) / 1_000_000)
    }

    private func loop() {
        let forwarder = Forwarder(bindingTimeoutMs: configuration.bindingTimeoutMs)
        let batch = DatagramBatch(capacity: 64, bufferSize: 2_048)
        let sendBatch = DatagramSendBatch(capacity: 1_024)
        var seen = 0
        var nextTick = MonotonicClock.nanoseconds() + 100_000_000
        var levels: [MediaPeerReport] = []
        // Whether a datagram or a change came since the last tick published its figures.
        var unpublished = false
        while running.load(ordering: .relaxed) {
            for change in ForwarderCommand.latestPerRoom(changes.take(since: &seen)) {
                forwarder.apply(change, nowNs: MonotonicClock.nanoseconds())
                unpublished = true
            }
            let count: Int
            do {
                count = try socket.receive(
                    into: batch,
                    timeoutMs: Self.waitLimitMs(
                        idle: forwarder.isIdle, unpublished: unpublished, nowNs: MonotonicClock.nanoseconds(),
                        nextTickNs: nextTick),
                    wake: wake)
            } catch {
                logger.error("media socket: \(error)")
                break
            }
            guard running.load(ordering: .relaxed) else { break }
            // Again after the wait: a change posted before a client's packet
            // left (say, the SSRC its `keys.publish` announced) applies to it.
            let now = MonotonicClock.nanoseconds()
            for change in ForwarderCommand.latestPerRoom(changes.take(since: &seen)) {
                forwarder.apply(change, nowNs: now)
                unpublished = true
            }
            if count > 0 { unpublished = true }
            for i in 0..<count {
                forwarder.route(
                    UnsafeRawBufferPointer(batch.datagram(i)), truncated: batch.wasTruncated(i),
                    from: batch.sourceKey(i), sourceAddress: { batch.source(i) }, nowNs: now,
                    batch: sendBatch, flush: { socket.send(sendBatch) },
                    reply: { bytes, destination in socket.send(bytes, to: destination) })
            }
            if sendBatch.count > 0 { socket.send(sendBatch) }
            if now >= nextTick {
                nextTick = now + 100_000_000
                unpublished = false
                forwarder.sweep(nowNs: now)
                let fresh = forwarder.takeReports(nowNs: now)
                // Levels accumulate until the speakers timer reads them.
                levels = merge(levels, fresh)
                let snapshot = levels
                latestReports.withLock { $0 = snapshot }
                let bound = fresh.reduce(0) { $0 + ($1.bound ? 1 : 0) }
                let counters = forwarder.counters
                latestCounters.withLock { $0 = MediaPlaneStatistics(counters: counters, boundPeers: bound) }
            }
        }
    }

    /// Keeps the loudest level and voice flag across ticks until `takeLevels` resets them.
    private func merge(_ old: [MediaPeerReport], _ fresh: [MediaPeerReport]) -> [MediaPeerReport] {
        let resetAt = levelsReset.load(ordering: .acquiring)
        defer { levelsSeen.store(resetAt, ordering: .relaxed) }
        guard levelsSeen.load(ordering: .relaxed) == resetAt else { return fresh }
        var previous: [Int: MediaPeerReport] = [:]
        for report in old { previous[report.slot] = report }
        return fresh.map { report in
            guard let before = previous[report.slot] else { return report }
            var merged = report
            merged.loudest = min(report.loudest, before.loudest)
            merged.voice = report.voice || before.voice
            return merged
        }
    }

    private let levelsReset = Atomic<Int>(0)
    private let levelsSeen = Atomic<Int>(0)

    /// The reports with levels accumulated since the previous call (for the
    /// speakers timer), starting a new accumulation.
    func takeLevels() -> [MediaPeerReport] {
        let reports = latestReports.withLock { $0 }
        levelsReset.add(1, ordering: .releasing)
        return reports
    }
}

/// A peer of a room set up without signalling, for `confab bench sfu` and tools.
@PublicMemberwiseInit
public struct StaticMediaPeer: Sendable {
    public var peer: PeerID
    /// The STUN USERNAME (exactly 16 bytes) and password the peer binds with.
    public var username: String
    public var password: String
    public var ssrc: UInt32?
    public var mayPublish: Bool
    /// Indices (into the same array) of the peers that hear this one.
    public var heardBy: [Int]
    /// As a subscriber: hears only the room's `loudest` publishers at a time.
    public var hearsLoudestOnly: Bool = false
}

extension MediaPlane {
    /// Installs a room's forwarding table directly (no signalling, no
    /// tokens): for benchmarks. Returns the room's id. Nil when a username is
    /// not 16 bytes.
    /// `loudest`: how many publishers those that `hearsLoudestOnly` hear at a time.
    public func installStaticRoom(_ peers: [StaticMediaPeer], loudest: Int? = nil) -> Int? {
        let room = makeID()
        let slots = peers.map { _ in makeID() }
        var configs: [MediaPeerConfig] = []
        for (index, peer) in peers.enumerated() {
            guard let username = CredentialKey(peer.username) else { return nil }
            configs.append(
                MediaPeerConfig(
                    slot: slots[index], peer: peer.peer, username: username,
                    integrityKey: STUNIntegrityKey(shortTermPassword: peer.password), ssrcs: (peer.ssrc, nil),
                    mayPublish: peer.mayPublish, subscribers: peer.heardBy.map { slots[$0] },
                    hearsLoudestOnly: peer.hearsLoudestOnly))
        }
        post(.room(room, configs, loudest: loudest))
        return room
    }
}
