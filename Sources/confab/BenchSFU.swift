// `confab bench sfu`: the server's forwarder against a minimal C relay, in one run.
//
//   publisher sockets (P × R) ─▶ synthetic SRTP-shaped RTP with a send timestamp ─▶ relay under test
//   relay ─▶ every subscriber socket of the room (S × R) ─▶ receiver thread: count, latency histogram
//
//   relays: Confab's MediaPlane (STUN-bound peers, SSRC/role checks, levels, replay window)
//           and CReferenceRelay (recvmmsg/sendmmsg, same fan-out, no checks)
//   phases per relay: full load (publishers send as fast as the relay keeps up) ─▶ pkt/s, CPU per packet
//                     half load (paced at half of Confab's rate) ─▶ p50/p99 latency, loss
// CPU time is the relay thread's own (utime + stime from /proc/self/task/TID/stat).
// Heap allocations are counted over Confab's full-load phase (whole process).
import ArgumentParser
import CLinuxShims
import ConfabProtocol
import ConfabServer
import ConfabSocket
import ConfabWire
import CReferenceRelay
import Foundation
import Glibc
import Logging
import MallocInterposerSwift
import Synchronization

struct BenchSFU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sfu",
        abstract: "Forwarded packets per second, CPU per packet, loss and latency of the SFU, against a C reference relay.",
        discussion: "Run it on a release build (make bench). Every publisher's packets go to every subscriber of its room.")

    @Option(help: "Rooms.") var rooms = 4
    @Option(help: "Publishers per room.") var publishers = 2
    @Option(help: "Subscribers per room.") var subscribers = 25
    @Option(help: "Seconds per phase.") var seconds = 3.0
    @Flag(help: "Print the results as JSON.") var json = false

    func validate() throws {
        guard rooms >= 1, publishers >= 1, subscribers >= 1 else { throw ValidationError("rooms, publishers and subscribers must be at least 1") }
        guard rooms * (publishers + subscribers) <= 2_000 else { throw ValidationError("at most 2,000 sockets") }
        guard seconds >= 0.5 else { throw ValidationError("--seconds must be at least 0.5") }
    }

    func run() throws {
        let counting = AllocationCounter.ensureActive()
        let shape = SFUBenchShape(rooms: rooms, publishers: publishers, subscribers: subscribers, seconds: seconds)
        let confabFull = try SFUBenchRun.confab(shape, packetsPerSecond: nil, countAllocations: counting)
        let referenceFull = try SFUBenchRun.reference(shape, packetsPerSecond: nil)
        // Half of what Confab forwarded, as sent packets per second.
        let half = max(100, confabFull.forwardedPerSecond / Double(subscribers) / 2)
        let confabHalf = try SFUBenchRun.confab(shape, packetsPerSecond: half, countAllocations: false)
        let referenceHalf = try SFUBenchRun.reference(shape, packetsPerSecond: half)
        let results = SFUBenchResults(
            rooms: rooms, publishers: publishers, subscribers: subscribers, seconds: seconds,
            confabFull: confabFull, referenceFull: referenceFull, confabHalf: confabHalf, referenceHalf: referenceHalf)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(results), as: UTF8.self))
        } else {
            print(results.table)
        }
    }
}

struct SFUBenchShape {
    var rooms: Int
    var publishers: Int
    var subscribers: Int
    var seconds: Double
}

struct SFUBenchPhase: Codable {
    /// Datagrams the relay sent to subscribers, per second (as received).
    var forwardedPerSecond: Double
    /// Relay thread CPU time per forwarded datagram [ns].
    var cpuNsPerForwarded: Double
    /// Share of expected datagrams (sent × subscribers) that never arrived.
    var loss: Double
    var p50Us: Double
    var p99Us: Double
    var allocationsPerForwarded: Double?
}

struct SFUBenchResults: Codable {
    var rooms, publishers, subscribers: Int
    var seconds: Double
    var confabFull, referenceFull, confabHalf, referenceHalf: SFUBenchPhase
    var ratio: Double { confabFull.forwardedPerSecond / max(1, referenceFull.forwardedPerSecond) }

    var table: String {
        func row(_ name: String, _ p: SFUBenchPhase) -> String {
            name.padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(format: " %12.0f %10.0f %8.3f%% %9.1f %9.1f", p.forwardedPerSecond, p.cpuNsPerForwarded,
                    p.loss * 100, p.p50Us, p.p99Us)
        }
        return """
            confab bench sfu: \(rooms) rooms × (\(publishers) publishers → \(subscribers) subscribers), \(seconds) s per phase
            relay / load            forwarded/s  CPU ns/pkt     loss   p50 µs    p99 µs
            \(row("confab, full load", confabFull))
            \(row("reference, full load", referenceFull))
            \(row("confab, half load", confabHalf))
            \(row("reference, half load", referenceHalf))
            confab ÷ reference (full load): \(String(format: "%.2f", ratio))
            heap allocations per forwarded packet (confab, full load): \(confabFull.allocationsPerForwarded.map { String(format: "%.4f", $0) } ?? "not measured (interposer not loaded)")
            """
    }
}

/// The client side of one phase: sockets, a publisher thread, a receiver thread.
final class SFUBenchRun: @unchecked Sendable {
    let shape: SFUBenchShape
    let publisherSockets: [UDPSocket]
    let subscriberSockets: [UDPSocket]
    let relay: SocketAddress
    let ssrcs: [UInt32]

    init(shape: SFUBenchShape, relay: SocketAddress) throws {
        self.shape = shape
        self.relay = relay
        publisherSockets = try (0..<(shape.rooms * shape.publishers)).map { _ in try UDPSocket(bindTo: "127.0.0.1", port: 0) }
        subscriberSockets = try (0..<(shape.rooms * shape.subscribers)).map { _ in try UDPSocket(bindTo: "127.0.0.1", port: 0) }
        ssrcs = publisherSockets.indices.map { UInt32(0x5F00_0000 + $0) }
    }

    static func credentials(_ index: Int) -> (String, String) {
        let username = String(format: "bench%011d", index)  // 16 bytes
        return (username, "password-of-\(username)")
    }

    /// Confab's MediaPlane on a loopback port, every peer bound with STUN.
    static func confab(_ shape: SFUBenchShape, packetsPerSecond: Double?, countAllocations: Bool) throws -> SFUBenchPhase {
        var logger = Logger(label: "confab.bench")
        logger.logLevel = .critical
        let plane = try MediaPlane(configuration: MediaPlaneConfiguration(host: "127.0.0.1", port: 0), logger: logger)
        plane.start()
        defer { plane.stop() }
        let run = try SFUBenchRun(shape: shape, relay: try SocketAddress(host: "127.0.0.1", port: plane.port))
        var index = 0
        for room in 0..<shape.rooms {
            var peers: [StaticMediaPeer] = []
            let subscriberIndices = Array(shape.publishers..<(shape.publishers + shape.subscribers))
            for p in 0..<shape.publishers {
                let (user, password) = credentials(index + p)
                peers.append(StaticMediaPeer(
                    peer: PeerID(uncheckedRawValue: "p\(room)-\(p)"), username: user, password: password,
                    ssrc: run.ssrcs[room * shape.publishers + p], mayPublish: true, heardBy: subscriberIndices))
            }
            for s in 0..<shape.subscribers {
                let (user, password) = credentials(index + shape.publishers + s)
                peers.append(StaticMediaPeer(
                    peer: PeerID(uncheckedRawValue: "s\(room)-\(s)"), username: user, password: password, ssrc: nil,
                    mayPublish: false, heardBy: []))
            }
            _ = plane.installStaticRoom(peers)
            index += shape.publishers + shape.subscribers
        }
        // Bind every socket: publisher p of room r is credential r·(P+S)+p, subscribers follow.
        var sockets: [(UDPSocket, Int)] = []
        for room in 0..<shape.rooms {
            let base = room * (shape.publishers + shape.subscribers)
            for p in 0..<shape.publishers { sockets.append((run.publisherSockets[room * shape.publishers + p], base + p)) }
            for s in 0..<shape.subscribers {
                sockets.append((run.subscriberSockets[room * shape.subscribers + s], base + shape.publishers + s))
            }
        }
        try bind(sockets, to: run.relay)
        return run.measure(packetsPerSecond: packetsPerSecond, relayThread: "confab-sfu", countAllocations: countAllocations)
    }

    /// The C relay on a loopback port, told the subscribers' addresses.
    static func reference(_ shape: SFUBenchShape, packetsPerSecond: Double?) throws -> SFUBenchPhase {
        let socket = try UDPSocket(bindTo: "127.0.0.1", port: 0)
        var size: Int32 = 8 << 20
        _ = setsockopt(socket.descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(socket.descriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let run = try SFUBenchRun(shape: shape, relay: socket.localAddress)
        var addresses = run.subscriberSockets.map { subscriber -> sockaddr_in in
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(subscriber.localAddress.port).bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            return address
        }
        guard let relay = confab_reference_relay_create(socket.descriptor, Int32(shape.rooms), Int32(shape.subscribers), &addresses)
        else { throw CommandFailure("cannot make the reference relay") }
        defer { confab_reference_relay_destroy(relay) }
        for (index, publisher) in run.publisherSockets.enumerated() {
            confab_reference_relay_map(relay, UInt16(publisher.localAddress.port), Int32(index / shape.publishers))
        }
        let relayBox = UnsafeSendable(relay)
        let thread = MediaThread(name: "confab-ref") { confab_reference_relay_run(relayBox.value) }
        let phase = run.measure(packetsPerSecond: packetsPerSecond, relayThread: "confab-ref", countAllocations: false)
        confab_reference_relay_stop(relay)
        thread.join()
        _ = socket
        return phase
    }

    /// STUN-binds each socket with its credentials, retrying until answered.
    static func bind(_ sockets: [(UDPSocket, Int)], to relay: SocketAddress) throws {
        let batch = DatagramBatch(capacity: 8)
        for (socket, index) in sockets {
            let (user, password) = credentials(index)
            var buffer = [UInt8](repeating: 0, count: 128)
            let request = try buffer.withUnsafeMutableBytes { raw -> [UInt8] in
                var builder = try STUNMessageBuilder(type: .bindingRequest, transactionID: .random(), into: raw)
                try builder.appendUsername(user)
                try builder.appendMessageIntegrity(key: STUNIntegrityKey(shortTermPassword: password))
                return Array(builder.bytes)
            }
            var answered = false
            for _ in 0..<50 where !answered {
                request.withUnsafeBytes { _ = socket.send($0, to: relay) }
                answered = (try socket.receive(into: batch, timeoutMs: 100)) > 0
            }
            guard answered else { throw CommandFailure("peer \(index) could not bind") }
        }
    }

    func measure(packetsPerSecond: Double?, relayThread: String, countAllocations: Bool) -> SFUBenchPhase {
        let stop = StopFlag()
        let receiver = SFUBenchReceiver(sockets: subscriberSockets)
        let receiverThread = MediaThread(name: "bench-recv") { [receiver] in receiver.run(until: stop) }
        let publisherThread = MediaThread(name: "bench-send") { [self] in
            _ = publish(packetsPerSecond: packetsPerSecond, until: stop)
        }
        // Warm up, then measure a window.
        usleep(300_000)
        receiver.reset()
        let cpuBefore = Self.threadCPUNanoseconds(named: relayThread)
        let sentBefore = sentCount.load(ordering: .relaxed)
        let start = MonotonicClock.nanoseconds()
        var allocations: Int?
        if countAllocations {
            allocations = AllocationCounter.count { usleep(UInt32(shape.seconds * 1_000_000)) }
        } else {
            usleep(UInt32(shape.seconds * 1_000_000))
        }
        let elapsed = Double(MonotonicClock.nanoseconds() - start) / 1e9
        let cpuAfter = Self.threadCPUNanoseconds(named: relayThread)
        let sentInWindow = sentCount.load(ordering: .relaxed) - sentBefore
        let (received, p50, p99) = receiver.snapshot()
        stop.flag.store(true, ordering: .relaxed)
        publisherThread.join()
        receiverThread.join()
        let expected = Double(sentInWindow * shape.subscribers)
        let forwarded = Double(received)
        return SFUBenchPhase(
            forwardedPerSecond: forwarded / elapsed,
            cpuNsPerForwarded: forwarded > 0 ? Double(cpuAfter - cpuBefore) / forwarded : 0,
            loss: expected > 0 ? max(0, 1 - forwarded / expected) : 0,
            p50Us: p50, p99Us: p99,
            allocationsPerForwarded: allocations.map { forwarded > 0 ? Double($0) / forwarded : 0 })
    }

    private let sentCount = Atomic<Int>(0)

    /// Sends round-robin over the publishers; paced when a rate is given,
    /// else in bursts of one packet per publisher with a short yield, so the
    /// relay, not the kernel's queue, sets the pace.
    private func publish(packetsPerSecond: Double?, until stop: StopFlag) -> Int {
        var packet = [UInt8](repeating: 0xAB, count: 172)
        var sequence = [UInt16](repeating: 0, count: publisherSockets.count)
        var count = 0
        let intervalNs = packetsPerSecond.map { UInt64(1e9 / $0) } ?? 0
        var next = MonotonicClock.nanoseconds()
        while !stop.flag.load(ordering: .relaxed) {
            for (index, socket) in publisherSockets.enumerated() {
                sequence[index] &+= 1
                packet.withUnsafeMutableBytes { raw in
                    raw[0] = 0x90  // V=2, X=1
                    raw[1] = 111
                    raw.storeBytes(of: sequence[index].bigEndian, toByteOffset: 2, as: UInt16.self)
                    raw.storeBytes(of: (UInt32(sequence[index]) &* 960).bigEndian, toByteOffset: 4, as: UInt32.self)
                    raw.storeBytes(of: ssrcs[index].bigEndian, toByteOffset: 8, as: UInt32.self)
                    // RFC 8285 one-byte block: id 1 (RFC 6464 level), length 0.
                    raw.storeBytes(of: UInt32(0xBEDE_0001).bigEndian, toByteOffset: 12, as: UInt32.self)
                    raw.storeBytes(of: UInt32(0x10A8_0000).bigEndian, toByteOffset: 16, as: UInt32.self)
                    raw.storeBytes(of: MonotonicClock.nanoseconds(), toByteOffset: 20, as: UInt64.self)
                    _ = socket.send(UnsafeRawBufferPointer(raw), to: relay)
                }
                count += 1
                sentCount.store(count, ordering: .relaxed)
                if intervalNs > 0 {
                    next += intervalNs
                    MonotonicClock.sleep(until: next)
                }
            }
            if intervalNs == 0, count % 64 == 0 { sched_yield() }
        }
        return count
    }

    /// utime + stime of the process's thread named `name` [ns], from /proc.
    static func threadCPUNanoseconds(named name: String) -> UInt64 {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return 0 }
        let ticks = UInt64(sysconf(Int32(_SC_CLK_TCK)))
        for task in tasks {
            guard let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8),
                comm.trimmingCharacters(in: .whitespacesAndNewlines) == name,
                let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // Fields after the ")": state is 3rd field overall; utime and stime are the 14th and 15th.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 13, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return 0 }
            return (user + system) * 1_000_000_000 / ticks
        }
        return 0
    }
}

/// Reads every subscriber socket and keeps a latency histogram (1 µs buckets up to 20 ms).
final class SFUBenchReceiver: @unchecked Sendable {
    private let sockets: [UDPSocket]
    private let lock = Mutex<(received: Int, histogram: [Int])>((0, Array(repeating: 0, count: 20_001)))
    private let resetRequested = Atomic<Bool>(false)

    init(sockets: [UDPSocket]) { self.sockets = sockets }

    func reset() { resetRequested.store(true, ordering: .releasing) }

    func run(until stop: StopFlag) {
        let batch = DatagramBatch(capacity: 64, bufferSize: 256)
        var pollfds = sockets.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        var received = 0
        var histogram = [Int](repeating: 0, count: 20_001)
        var lastPublish = MonotonicClock.nanoseconds()
        while !stop.flag.load(ordering: .relaxed) {
            if resetRequested.exchange(false, ordering: .acquiring) {
                received = 0
                for i in histogram.indices { histogram[i] = 0 }
            }
            _ = poll(&pollfds, nfds_t(pollfds.count), 20)
            for (index, socket) in sockets.enumerated() where pollfds[index].revents != 0 {
                while let count = try? socket.receive(into: batch, timeoutMs: 0), count > 0 {
                    let now = MonotonicClock.nanoseconds()
                    for i in 0..<count {
                        let datagram = batch.datagram(i)
                        guard datagram.count >= 28 else { continue }
                        let sentAt = datagram.loadUnaligned(fromByteOffset: 20, as: UInt64.self)
                        let us = now > sentAt ? Int((now - sentAt) / 1_000) : 0
                        histogram[min(us, histogram.count - 1)] += 1
                        received += 1
                    }
                }
            }
            let now = MonotonicClock.nanoseconds()
            if now - lastPublish > 50_000_000 {
                lastPublish = now
                let (r, h) = (received, histogram)
                lock.withLock { $0 = (r, h) }
            }
        }
        let (r, h) = (received, histogram)
        lock.withLock { $0 = (r, h) }
    }

    /// Received count and p50/p99 latency [µs] as of the receiver's last publish (≤ 50 ms old).
    func snapshot() -> (Int, Double, Double) {
        usleep(60_000)
        let (received, histogram) = lock.withLock { ($0.received, $0.histogram) }
        func percentile(_ p: Double) -> Double {
            let target = Int((Double(received) * p).rounded(.up))
            var seen = 0
            for (us, count) in histogram.enumerated() {
                seen += count
                if seen >= target, target > 0 { return Double(us) }
            }
            return 0
        }
        return (received, percentile(0.5), percentile(0.99))
    }
}

/// Tells the bench threads to finish.
final class StopFlag: Sendable {
    let flag = Atomic<Bool>(false)
}

/// Hands a pointer to a thread body; the caller keeps it alive until the thread is joined.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
