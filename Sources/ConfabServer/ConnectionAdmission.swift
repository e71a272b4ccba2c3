// What a connection may hold before it has authenticated.
//
//   accept ─▶ DescriptorBudget: below the descriptor limit? else stop accepting (the kernel queues)
//          ─▶ NIOSSLServerHandler ─▶ AdmissionHandler ─▶ HTTP/1.1 ─▶ WebSocket ─▶ SignalingConnection
//                                    │ registers the connection as unauthenticated: over the cap
//                                    │ (per source, then in all) the oldest of the biggest source is closed
//                                    │ TLS handshake deadline, then HTTP request-head deadline
//                                    └ both passed: the handler leaves the pipeline
//   SignalingConnection: join/connect within joinTimeoutMs, else closed; admitted ─▶ ConnectionAdmission.authenticated
//
// A connection that never finishes its handshake, never ends its request head
// or never joins costs a descriptor, a TLS context and some buffers: the
// deadlines bound how long, the caps how many, so one source's flood cannot
// lock out everyone else's joins. Authenticated connections are not counted
// here: a room of a thousand peers needs a descriptor limit to match.

import ConfabProtocol
import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Deadlines and caps for connections that have not authenticated yet
/// (`[connections]` in the config file; docs/PROTOCOL.md, Limits).
public struct AdmissionLimits: Sendable, Hashable {
    /// From accept to the end of the TLS handshake.
    public var tlsHandshakeTimeoutMs = 5_000
    /// From the end of the TLS handshake to the end of the first HTTP request head.
    public var httpRequestTimeoutMs = 5_000
    /// From the WebSocket upgrade to a successful `join`, `resume` or `connect`.
    public var joinTimeoutMs = 5_000
    /// Connections not yet authenticated, in all; beyond, the oldest of the
    /// source holding the most is closed.
    public var maximumUnauthenticated = 512
    /// Connections not yet authenticated from one address (IPv6: one /64);
    /// beyond, that source's oldest is closed.
    public var maximumUnauthenticatedPerSource = 64

    public init() {}
}

/// The connections not yet authenticated, by source, oldest first.
final class ConnectionAdmission: Sendable {
    let limits: AdmissionLimits
    private let metrics: ServerMetrics
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        /// Per source, in arrival order (short: at most the per-source cap).
        var bySource: [String: [ObjectIdentifier]] = [:]
        var evicted = 0
        var timedOut = 0
    }

    private struct Entry {
        let channel: any Channel
        let source: String
    }

    init(limits: AdmissionLimits, metrics: ServerMetrics, logger: Logger) {
        self.limits = limits
        self.metrics = metrics
        self.logger = logger
    }

    /// Counts a new connection; closes the ones it displaces.
    func register(_ channel: any Channel) {
        let source = Self.sourceKey(channel.remoteAddress)
        let id = ObjectIdentifier(channel)
        let displaced = state.withLock { state -> [any Channel] in
            guard state.entries[id] == nil else { return [] }
            var displaced: [any Channel] = []
            if let queue = state.bySource[source], queue.count >= max(1, limits.maximumUnauthenticatedPerSource) {
                displaced.append(contentsOf: Self.evictOldest(of: source, in: &state))
            }
            if state.entries.count >= max(1, limits.maximumUnauthenticated),
                let biggest = state.bySource.max(by: { $0.value.count < $1.value.count })?.key
            {
                displaced.append(contentsOf: Self.evictOldest(of: biggest, in: &state))
            }
            state.entries[id] = Entry(channel: channel, source: source)
            state.bySource[source, default: []].append(id)
            // Set under the lock, so the gauge never goes back to an older count.
            metrics.unauthenticatedConnections(state.entries.count)
            return displaced
        }
        if !displaced.isEmpty {
            logger.debug("too many connections not yet authenticated: closing the oldest", metadata: ["source": "\(source)"])
        }
        for channel in displaced {
            metrics.unauthenticatedConnectionClosed(reason: "cap")
            channel.close(promise: nil)
        }
        channel.closeFuture.whenComplete { [weak self] _ in self?.remove(id) }
    }

    /// The connection joined or connected: it no longer counts.
    func authenticated(_ channel: any Channel) {
        remove(ObjectIdentifier(channel))
    }

    /// A deadline passed (counted for `/metrics`).
    func timedOut() {
        state.withLock { $0.timedOut += 1 }
        metrics.unauthenticatedConnectionClosed(reason: "deadline")
    }

    /// Closes every connection not yet authenticated (shutdown).
    func closeAll() {
        let channels = state.withLock { state in state.entries.values.map(\.channel) }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Open, evicted so far, timed out so far.
    var counts: (unauthenticated: Int, evicted: Int, timedOut: Int) {
        state.withLock { ($0.entries.count, $0.evicted, $0.timedOut) }
    }

    private func remove(_ id: ObjectIdentifier) {
        state.withLock { state in
            guard let entry = state.entries.removeValue(forKey: id) else { return }
            state.bySource[entry.source]?.removeAll { $0 == id }
            if state.bySource[entry.source]?.isEmpty == true { state.bySource[entry.source] = nil }
            metrics.unauthenticatedConnections(state.entries.count)
        }
    }

    private static func evictOldest(of source: String, in state: inout State) -> [any Channel] {
        guard var queue = state.bySource[source], !queue.isEmpty else { return [] }
        let oldest = queue.removeFirst()
        state.bySource[source] = queue.isEmpty ? nil : queue
        state.evicted += 1
        return state.entries.removeValue(forKey: oldest).map { [$0.channel] } ?? []
    }

    /// The address for IPv4, the /64 for IPv6 (one host is usually given a
    /// whole /64, so counting single addresses would not count one source).
    static func sourceKey(_ address: SocketAddress?) -> String {
        guard let address else { return "?" }
        guard case .v6(let v6) = address else { return address.ipAddress ?? address.description }
        var raw = v6.address.sin6_addr
        let bytes = withUnsafeBytes(of: &raw) { Array($0) }
        // An IPv4 client of a dual-stack socket (::ffff:a.b.c.d) is its IPv4 address.
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return address.ipAddress ?? address.description
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(format: "%02x%02x", bytes[$0], bytes[$0 + 1]) }
        return groups.joined(separator: ":") + "::/64"
    }
}

/// After the TLS handler: enforces the TLS handshake deadline and then the
/// HTTP request-head deadline, then leaves the pipeline. It sees decrypted
/// bytes, so the end of the head is the first CR LF CR LF (RFC 9112 §2.1).
final class AdmissionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Phase {
        case tls, requestHead, done
    }

    private let admission: ConnectionAdmission
    private var phase = Phase.tls
    private var deadline: Scheduled<Void>?
    /// The last four bytes seen, to find CR LF CR LF across reads.
    private var tail: UInt32 = 0

    init(admission: ConnectionAdmission) {
        self.admission = admission
    }

    func handlerAdded(context: ChannelHandlerContext) {
        admission.register(context.channel)
        arm(context: context, milliseconds: admission.limits.tlsHandshakeTimeoutMs)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent, phase == .tls {
            phase = .requestHead
            arm(context: context, milliseconds: admission.limits.httpRequestTimeoutMs)
        } else if event is ChannelShouldQuiesceEvent, phase != .done {
            // Shutting down: a connection still in its handshake has nothing to finish.
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var headEnded = false
        if phase == .requestHead {
            let buffer = unwrapInboundIn(data)
            for byte in buffer.readableBytesView {
                tail = tail << 8 | UInt32(byte)
                if tail == 0x0D0A_0D0A {
                    headEnded = true
                    break
                }
            }
        }
        context.fireChannelRead(data)
        if headEnded { finish(context: context) }
    }

    private func finish(context: ChannelHandlerContext) {
        phase = .done
        deadline?.cancel()
        deadline = nil
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func arm(context: ChannelHandlerContext, milliseconds: Int) {
        deadline?.cancel()
        let phase = self.phase
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .milliseconds(Int64(max(1, milliseconds)))) {
            let (handler, context) = loopBound.value
            guard handler.phase == phase else { return }
            handler.admission.timedOut()
            context.close(promise: nil)
        }
    }
}

/// Hummingbird's child channel with TLS and the admission handler in front:
/// the same set-up as HummingbirdTLS's `TLSChannel`, plus the deadlines.
struct AdmittedTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let sslContext: NIOSSLContext
    let admission: ConnectionAdmission

    init(_ base: Base, tlsConfiguration: TLSConfiguration, admission: ConnectionAdmission) throws {
        self.base = base
        sslContext = try NIOSSLContext(configuration: tlsConfiguration)
        self.admission = admission
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let operations = channel.pipeline.syncOperations
            try operations.addHandler(NIOSSLServerHandler(context: sslContext))
            try operations.addHandler(AdmissionHandler(admission: admission))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        // Hummingbird logs a connection closed before its upgrade decision
        // ("Error handling upgrade result") at error level; that is a client
        // gone or a deadline passed, not a server fault, and a flood of them
        // must not flood the log. `--verbose` still shows them.
        var connectionLogger = logger
        if connectionLogger.logLevel > .debug { connectionLogger.logLevel = .critical }
        await base.handle(value: value, logger: connectionLogger)
    }
}

/// Stops accepting while the open connections are near the process's
/// descriptor limit (RLIMIT_NOFILE), so accept never fails with EMFILE: new
/// connections wait in the kernel's queue until one closes, and the event
/// loop does not spin on a listening socket it cannot accept from.
struct DescriptorBudget: AvailableConnectionsDelegate {
    /// Descriptors kept for everything else: the database, the UDP socket, event loops, files.
    static let reserve = 64

    let maximum: Int
    private var open = 0

    init(maximum: Int = DescriptorBudget.fromLimit()) {
        self.maximum = maximum
    }

    static func fromLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else {
            return 1 << 20
        }
        return max(16, Int(clamping: limit.rlim_cur) - reserve)
    }

    mutating func connectionOpened() { open += 1 }
    mutating func connectionClosed() { open -= 1 }
    func isAcceptingNewConnections() -> Bool { open < maximum }
}
