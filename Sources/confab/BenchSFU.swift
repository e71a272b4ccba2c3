// `confab bench sfu`: the server's forwarder against a minimal C relay, in one run.
//
//   this process: the relay under test, alone ──────────────────────────────────────────┐
//   child process (`confab bench sfu-load`, BenchSFULoad.swift):                        │
//     publisher sockets (P × R) ─▶ synthetic SRTP-shaped RTP with a send timestamp ─▶ relay
//     relay ─▶ every subscriber socket of the room (S × R) ─▶ receiver thread: count, latency histogram
//
//   relays: Confab's MediaPlane (STUN-bound peers, SSRC/role checks, levels, replay window)
//           and CReferenceRelay (recvmmsg/sendmmsg, same fan-out, no checks)
//   phases per relay: full load (as fast as the relay keeps up: at most 1,024 datagrams in flight) ─▶ pkt/s, CPU per packet
//                     half load (paced at half of Confab's rate) ─▶ p50/p99 latency, loss
// A fresh child per phase. CPU time is the relay thread's own (utime + stime
// from /proc/self/task/TID/stat) over the child's measuring window. Heap
// allocations are counted in this process only (the relay's) over Confab's
// full-load window. With --pin the relay is pinned to CPU 0 and the child to
// the others, so the two never share a core with each other.
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
import Synchronization

struct BenchSFU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sfu",
        abstract: "Forwarded packets per second, CPU per packet, loss and latency of the SFU, against a C reference relay.",
        discussion: """
            Run it on a release build (make bench). Every publisher's packets go to every subscriber of its room. \
            The load generator runs in a child process (confab bench sfu-load), so it does not share this one.
            """)

    @Option(help: "Rooms.") var rooms = 4
    @Option(help: "Publishers per room.") var publishers = 2
    @Option(help: "Subscribers per room.") var subscribers = 25
    @Option(help: "A large room's audience: subscribers hear only this many loudest publishers (each publisher talks at its own level).")
    var loudest: Int?
    @Option(help: "Seconds per phase.") var seconds = 3.0
    @Flag(help: "Pin the relay to CPU 0 and the load generator to the other CPUs.") var pin = false
    @OptionGroup var output: BenchOutput

    func validate() throws {
        guard rooms >= 1, publishers >= 1, subscribers >= 1 else { throw ValidationError("rooms, publishers and subscribers must be at least 1") }
        guard rooms * (publishers + subscribers) <= 2_100 else { throw ValidationError("at most 2,100 sockets") }
        if let loudest {
            guard (1...16).contains(loudest), loudest <= publishers else {
                throw ValidationError("--loudest must be 1 to 16 and at most --publishers")
            }
        }
        guard seconds >= 0.5 else { throw ValidationError("--seconds must be at least 0.5") }
    }

    func run() throws {
        let counting = AllocationCounter.ensureActive()
        let cpuCount = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        var generatorCPUs: String?
        if pin {
            guard cpuCount >= 2 else { throw CommandFailure("--pin needs at least two CPUs") }
            // Threads started from here on (the relays') inherit CPU 0.
            try pinToCPUs("0")
            generatorCPUs = "1-\(cpuCount - 1)"
        }
        let shape = SFUBenchShape(
            rooms: rooms, publishers: publishers, subscribers: subscribers, seconds: seconds, loudest: loudest)
        let load = SFULoadChild.Launch(shape: shape, cpus: generatorCPUs)
        let confabFull = try SFUBenchRun.confab(shape, load: load, packetsPerSecond: nil, countAllocations: counting)
        let referenceFull = try SFUBenchRun.reference(shape, load: load, packetsPerSecond: nil)
        // Half of what Confab forwarded, as sent packets per second.
        let half = max(100, confabFull.forwardedPerSecond / shape.fanOut / 2)
        let confabHalf = try SFUBenchRun.confab(shape, load: load, packetsPerSecond: half, countAllocations: false)
        let referenceHalf = try SFUBenchRun.reference(shape, load: load, packetsPerSecond: half)
        let results = SFUBenchResults(
            rooms: rooms, publishers: publishers, subscribers: subscribers, loudest: loudest, seconds: seconds, pinned: pin,
            cpus: cpuCount,
            confabFull: confabFull, referenceFull: referenceFull, confabHalf: confabHalf, referenceHalf: referenceHalf)
        try output.print(results)
    }
}

struct SFUBenchShape {
    var rooms: Int
    var publishers: Int
    var subscribers: Int
    var seconds: Double
    /// Subscribers hear only this many loudest publishers (nil: all of them).
    var loudest: Int? = nil

    /// Datagrams forwarded per datagram sent: each reaches every subscriber,
    /// or, with `loudest`, those of the loudest publishers only.
    var fanOut: Double { Double(subscribers) * Double(min(loudest ?? publishers, publishers)) / Double(publishers) }

    /// The RFC 6464 level publisher `index` (of its room) talks at: publisher 0
    /// the loudest, 3 dB apart, so the loudest few are always the same ones.
    func level(ofPublisher index: Int) -> UInt8 { UInt8(min(127, 10 + 3 * (index % publishers))) }

    /// Peer credentials by index: publisher p of room r is r·(P+S)+p, its subscribers follow.
    static func credentials(_ index: Int) -> (String, String) {
        let username = String(format: "bench%011d", index)  // 16 bytes
        return (username, "password-of-\(username)")
    }

    func credentialIndex(room: Int, publisher: Int) -> Int { room * (publishers + subscribers) + publisher }
    func credentialIndex(room: Int, subscriber: Int) -> Int { room * (publishers + subscribers) + publishers + subscriber }

    /// The SSRC of publisher socket `index` (room by room).
    static func ssrc(_ index: Int) -> UInt32 { UInt32(0x5F00_0000 + index) }
}

struct SFUBenchPhase: Codable {
    /// Datagrams the relay sent to subscribers, per second (as received).
    var forwardedPerSecond: Double
    /// Relay thread CPU time per forwarded datagram [ns].
    var cpuNsPerForwarded: Double
    /// Share of expected datagrams (sent × fan-out) that never arrived.
    var loss: Double
    var p50Us: Double
    var p99Us: Double
    var allocationsPerForwarded: Double?
}

struct SFUBenchResults: Codable, BenchReport {
    var rooms, publishers, subscribers: Int
    var loudest: Int?
    var seconds: Double
    var pinned: Bool
    var cpus: Int
    var confabFull, referenceFull, confabHalf, referenceHalf: SFUBenchPhase
    var ratio: Double { confabFull.forwardedPerSecond / max(1, referenceFull.forwardedPerSecond) }

    var table: String {
        func row(_ name: String, _ p: SFUBenchPhase) -> String {
            name.padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(format: " %12.0f %10.0f %8.3f%% %9.1f %9.1f", p.forwardedPerSecond, p.cpuNsPerForwarded,
                    p.loss * 100, p.p50Us, p.p99Us)
        }
        return """
            confab bench sfu: \(rooms) rooms × (\(publishers) publishers → \(subscribers) subscribers\(loudest.map { ", each hearing the \($0) loudest" } ?? "")), \(seconds) s per phase, \
            load generator in a child process\(pinned ? ", relay pinned to CPU 0 of \(cpus)" : "")
            relay / load            forwarded/s  CPU ns/pkt     loss   p50 µs    p99 µs
            \(row("confab, full load", confabFull))
            \(row("reference, full load", referenceFull))
            \(row("confab, half load", confabHalf))
            \(row("reference, half load", referenceHalf))
            confab ÷ reference (full load): \(String(format: "%.2f", ratio))
            heap allocations per forwarded packet (confab, full load, relay process): \(confabFull.allocationsPerForwarded.map { String(format: "%.4f", $0) } ?? "not measured (interposer not loaded)")
            """
    }
}

/// The load generator's process: spawned per phase, spoken to in JSON lines.
final class SFULoadChild {
    struct Launch {
        var shape: SFUBenchShape
        var cpus: String?
    }

    private let process = Process()
    private let toChild = Pipe()
    private let fromChild = Pipe()
    private let lines: LineReader
    let sockets: SFULoadSockets

    /// Starts `confab bench sfu-load` and reads the ports it bound.
    init(_ launch: Launch) throws {
        process.executableURL = try thisExecutable()
        var arguments = [
            "bench", "sfu-load", "--rooms", "\(launch.shape.rooms)", "--publishers", "\(launch.shape.publishers)",
            "--subscribers", "\(launch.shape.subscribers)", "--seconds", "\(launch.shape.seconds)",
        ]
        if let loudest = launch.shape.loudest { arguments += ["--loudest", "\(loudest)"] }
        if let cpus = launch.cpus { arguments += ["--cpus", cpus] }
        process.arguments = arguments
        process.standardInput = toChild
        process.standardOutput = fromChild
        try process.run()
        lines = LineReader(descriptor: fromChild.fileHandleForReading.fileDescriptor)
        sockets = try Self.decode(SFULoadSockets.self, lines.next())
    }

    /// Tells the child where to send; returns when its measuring window starts.
    func go(_ message: SFULoadGo) throws {
        var data = try JSONEncoder().encode(message)
        data.append(0x0A)
        try toChild.fileHandleForWriting.write(contentsOf: data)
        let start = try Self.decode(SFULoadWindow.self, lines.next())
        guard start.window == "start" else { throw CommandFailure("sfu-load: expected the window's start") }
    }

    /// Waits for the end of the window and the child's exit.
    func finish() throws -> SFULoadWindow {
        let end = try Self.decode(SFULoadWindow.self, lines.next())
        process.waitUntilExit()
        guard end.window == "end" else { throw CommandFailure("sfu-load: expected the window's end") }
        return end
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ line: String?) throws -> T {
        guard let line else { throw CommandFailure("sfu-load ended early") }
        return try JSONDecoder().decode(type, from: Data(line.utf8))
    }
}

/// One phase on the relay's side: the relay, the child, the CPU clock.
enum SFUBenchRun {
    /// Confab's MediaPlane on a loopback port; the child binds every peer with STUN.
    static func confab(_ shape: SFUBenchShape, load: SFULoadChild.Launch, packetsPerSecond: Double?, countAllocations: Bool)
        throws -> SFUBenchPhase
    {
        var logger = Logger(label: "confab.bench")
        logger.logLevel = .critical
        let plane = try MediaPlane(configuration: MediaPlaneConfiguration(host: "127.0.0.1", port: 0), logger: logger)
        plane.start()
        defer { plane.stop() }
        for room in 0..<shape.rooms {
            var peers: [StaticMediaPeer] = []
            let subscriberIndices = Array(shape.publishers..<(shape.publishers + shape.subscribers))
            for p in 0..<shape.publishers {
                let (user, password) = SFUBenchShape.credentials(shape.credentialIndex(room: room, publisher: p))
                peers.append(StaticMediaPeer(
                    peer: PeerID(uncheckedRawValue: "p\(room)-\(p)"), username: user, password: password,
                    ssrc: SFUBenchShape.ssrc(room * shape.publishers + p), mayPublish: true, heardBy: subscriberIndices))
            }
            for s in 0..<shape.subscribers {
                let (user, password) = SFUBenchShape.credentials(shape.credentialIndex(room: room, subscriber: s))
                peers.append(StaticMediaPeer(
                    peer: PeerID(uncheckedRawValue: "s\(room)-\(s)"), username: user, password: password, ssrc: nil,
                    mayPublish: false, heardBy: [], hearsLoudestOnly: shape.loudest != nil))
            }
            _ = plane.installStaticRoom(peers, loudest: shape.loudest)
        }
        let child = try SFULoadChild(load)
        return try measure(
            child, go: SFULoadGo(relayPort: plane.port, bind: true, packetsPerSecond: packetsPerSecond), shape: shape,
            relayThread: "confab-sfu", countAllocations: countAllocations)
    }

    /// The C relay on a loopback port, told the child's subscriber addresses and publisher ports.
    static func reference(_ shape: SFUBenchShape, load: SFULoadChild.Launch, packetsPerSecond: Double?) throws -> SFUBenchPhase {
        let socket = try UDPSocket(bindTo: "127.0.0.1", port: 0)
        var size: Int32 = 8 << 20
        _ = setsockopt(socket.descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(socket.descriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let child = try SFULoadChild(load)
        var addresses = child.sockets.subscriberPorts.map { port -> sockaddr_in in
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            return address
        }
        guard let relay = confab_reference_relay_create(socket.descriptor, Int32(shape.rooms), Int32(shape.subscribers), &addresses)
        else { throw CommandFailure("cannot make the reference relay") }
        defer { confab_reference_relay_destroy(relay) }
        confab_reference_relay_set_loudest(relay, Int32(shape.loudest ?? 0))
        for (index, port) in child.sockets.publisherPorts.enumerated() {
            confab_reference_relay_map(relay, UInt16(port), Int32(index / shape.publishers))
        }
        let relayBox = UnsafeSendable(relay)
        let thread = MediaThread(name: "confab-ref") { confab_reference_relay_run(relayBox.value) }
        let phase = try measure(
            child, go: SFULoadGo(relayPort: socket.localAddress.port, bind: false, packetsPerSecond: packetsPerSecond),
            shape: shape, relayThread: "confab-ref", countAllocations: false)
        confab_reference_relay_stop(relay)
        thread.join()
        _ = socket
        return phase
    }

    /// Starts the child's load and reads the relay thread's CPU time over the child's window.
    static func measure(
        _ child: SFULoadChild, go: SFULoadGo, shape: SFUBenchShape, relayThread: String, countAllocations: Bool
    ) throws -> SFUBenchPhase {
        try child.go(go)
        let cpuBefore = threadCPUNanoseconds(named: relayThread)
        var window: SFULoadWindow?
        var failure: (any Error)?
        var allocations: Int?
        let waitForEnd = {
            do { window = try child.finish() } catch { failure = error }
        }
        if countAllocations {
            allocations = AllocationCounter.count(waitForEnd)
        } else {
            waitForEnd()
        }
        let cpuAfter = threadCPUNanoseconds(named: relayThread)
        if let failure { throw failure }
        guard let window else { throw CommandFailure("sfu-load reported nothing") }
        let expected = Double(window.sent) * shape.fanOut
        let forwarded = Double(window.received)
        return SFUBenchPhase(
            forwardedPerSecond: forwarded / max(0.001, window.elapsedSeconds),
            cpuNsPerForwarded: forwarded > 0 ? Double(cpuAfter - cpuBefore) / forwarded : 0,
            loss: expected > 0 ? max(0, 1 - forwarded / expected) : 0,
            p50Us: window.p50Us, p99Us: window.p99Us,
            allocationsPerForwarded: allocations.map { forwarded > 0 ? Double($0) / forwarded : 0 })
    }

    /// utime + stime of this process's thread named `name` [ns], from /proc.
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

    /// Every datagram received since the start (never reset): the publisher's flow control reads it.
    let receivedSinceStart = Atomic<Int>(0)

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
                    receivedSinceStart.add(count, ordering: .relaxed)
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

/// This process's executable (/proc/self/exe), to start a child of the same build.
func thisExecutable() throws -> URL {
    var path = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let length = readlink("/proc/self/exe", &path, path.count - 1)
    guard length > 0 else { throw CommandFailure("cannot find this executable") }
    return URL(fileURLWithPath: String(decoding: path[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self))
}
