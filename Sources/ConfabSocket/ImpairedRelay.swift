// A UDP relay that loses and delays datagrams, for benchmarks and tests of
// media over a bad network (a netem for one port, without root).
//
//   client ─▶ relay port ─ drop? delay(base ± jitter) ─▶ upstream (one socket per client, like a NAT)
//   client ◀──────────── drop? delay(base ± jitter) ◀─ upstream's answers
//
// Each direction has its own loss and delay. The delay of each datagram is
// drawn on its own, so with jitter larger than the packet interval datagrams
// overtake each other (reordering), as on a real path. Draws come from a
// seeded generator: the same seed drops the same datagrams.
import Glibc
import Synchronization

/// What one direction of the relay does to the datagrams it carries.
public struct PathImpairment: Sendable, Equatable, CustomStringConvertible {
    /// Share of datagrams dropped [%], 0…100.
    public var lossPercent: Double
    /// Mean one-way delay added [ms].
    public var delayMs: Double
    /// Each datagram's delay is uniform in delayMs ± jitterMs [ms].
    public var jitterMs: Double

    public init(lossPercent: Double = 0, delayMs: Double = 0, jitterMs: Double = 0) {
        self.lossPercent = lossPercent
        self.delayMs = delayMs
        self.jitterMs = jitterMs
    }

    public static let none = PathImpairment()

    public var description: String {
        if self == .none { return "clean" }
        return "\(Int(lossPercent.rounded())) % loss, \(Int(delayMs.rounded())) ± \(Int(jitterMs.rounded())) ms"
    }
}

/// Counters of a relay, per direction.
public final class RelayStats: Sendable {
    public let forwardedUp = Atomic<Int>(0)
    public let droppedUp = Atomic<Int>(0)
    public let forwardedDown = Atomic<Int>(0)
    public let droppedDown = Atomic<Int>(0)
    public init() {}
}

/// Relays between clients and one upstream address, impairing both ways.
/// Datagrams are copied into the relay's queue: this is a test instrument,
/// not a media path, so it allocates as it likes.
public final class ImpairedRelay: @unchecked Sendable {
    /// Where clients send to reach the upstream.
    public let address: SocketAddress
    public let stats = RelayStats()
    private let front: UDPSocket
    private let upstream: SocketAddress
    private let up: PathImpairment
    private let down: PathImpairment
    private let running = Atomic<Bool>(true)
    private var thread: MediaThread?

    private struct Pending {
        var dueNs: UInt64
        var bytes: [UInt8]
        var socket: UDPSocket
        var destination: SocketAddress
    }

    /// Starts relaying to `upstream`; `up` impairs client → upstream, `down` the way back.
    /// `realtime` asks SCHED_FIFO for the relay's thread, so its delays hold on a busy machine.
    public init(
        upstream: SocketAddress, up: PathImpairment, down: PathImpairment, seed: UInt64, realtime: Bool = false
    ) throws(SocketError) {
        front = try UDPSocket(bindTo: upstream.family == AF_INET6 ? "::1" : "127.0.0.1", port: 0)
        address = front.localAddress
        self.upstream = upstream
        self.up = up
        self.down = down
        thread = MediaThread(name: "confab-relay", realtime: realtime) { [self] in run(seed: seed) }
    }

    /// Stops the relay and waits for its thread; what is still queued is dropped.
    public func stop() {
        running.store(false, ordering: .relaxed)
        thread?.join()
        thread = nil
    }

    private func run(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        // One upstream socket per client address, so the upstream tells clients apart.
        var clients: [(client: SocketAddress, socket: UDPSocket)] = []
        var queue: [Pending] = []
        let batch = DatagramBatch(capacity: 32, bufferSize: 2_048)

        func enqueue(_ bytes: UnsafeRawBufferPointer, via socket: UDPSocket, to destination: SocketAddress,
                     _ impairment: PathImpairment, upward: Bool) {
            if random.nextUnit() * 100 < impairment.lossPercent {
                if upward { stats.droppedUp.add(1, ordering: .relaxed) } else { stats.droppedDown.add(1, ordering: .relaxed) }
                return
            }
            let delayMs = max(0, impairment.delayMs + (random.nextUnit() * 2 - 1) * impairment.jitterMs)
            let due = MonotonicClock.nanoseconds() + UInt64(delayMs * 1_000_000)
            queue.append(Pending(dueNs: due, bytes: Array(bytes), socket: socket, destination: destination))
            if upward { stats.forwardedUp.add(1, ordering: .relaxed) } else { stats.forwardedDown.add(1, ordering: .relaxed) }
        }

        while running.load(ordering: .relaxed) {
            // From the front: a client talks to the upstream.
            if let count = try? front.receive(into: batch, timeoutMs: 1) {
                for index in 0..<count where !batch.wasTruncated(index) {
                    let client = batch.source(index)
                    let socket: UDPSocket
                    if let known = clients.first(where: { $0.client == client }) {
                        socket = known.socket
                    } else if let fresh = try? UDPSocket(bindTo: front.localAddress.hostText, port: 0) {
                        clients.append((client, fresh))
                        socket = fresh
                    } else {
                        continue
                    }
                    enqueue(UnsafeRawBufferPointer(batch.datagram(index)), via: socket, to: upstream, up, upward: true)
                }
            }
            // From the upstream: answers go back out of the front to their client.
            for (client, socket) in clients {
                guard let count = try? socket.receive(into: batch, timeoutMs: 0), count > 0 else { continue }
                for index in 0..<count where !batch.wasTruncated(index) {
                    enqueue(UnsafeRawBufferPointer(batch.datagram(index)), via: front, to: client, down, upward: false)
                }
            }
            let now = MonotonicClock.nanoseconds()
            queue.removeAll { pending in
                guard pending.dueNs <= now else { return false }
                pending.bytes.withUnsafeBytes { _ = pending.socket.send($0, to: pending.destination) }
                return true
            }
        }
    }
}
