// `confab bench sfu-load` (hidden): the load generator of `confab bench sfu`,
// in a process of its own so it does not share the relay's process.
//
//   parent ──spawn──▶ this process: binds P × R publisher and S × R subscriber sockets
//   this ─▶ stdout {"publisherPorts", "subscriberPorts"}       (the parent sets the relay up)
//   parent ─▶ stdin {"relayPort", "bind", "packetsPerSecond"}  (go)
//   this: STUN-binds every socket (Confab) ─▶ publisher thread + receiver thread ─▶ 300 ms warm-up
//   this ─▶ stdout {"window": "start"} ─▶ measures for --seconds ─▶ {"window": "end", counts, p50/p99}
// One JSON object per line. The parent reads its relay thread's CPU time at
// "start" and "end", so both sides measure the same window.
import ArgumentParser
import CLinuxShims
import ConfabSocket
import ConfabWire
import Foundation
import Glibc
import Synchronization

struct BenchSFULoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sfu-load",
        abstract: "The load generator `confab bench sfu` runs in a child process.",
        shouldDisplay: false)

    @Option(help: "Rooms.") var rooms = 4
    @Option(help: "Publishers per room.") var publishers = 2
    @Option(help: "Subscribers per room.") var subscribers = 25
    @Option(help: "Seconds to measure.") var seconds = 3.0
    @Option(help: "Subscribers hear only this many loudest publishers.") var loudest: Int?
    @Option(help: "Pin this process to these CPUs (say 1 or 1-3).") var cpus: String?

    func run() throws {
        if let cpus { try pinToCPUs(cpus) }
        let shape = SFUBenchShape(
            rooms: rooms, publishers: publishers, subscribers: subscribers, seconds: seconds, loudest: loudest)
        let generator = try SFULoadGenerator(shape: shape)
        try SFULoadMessage.write(
            SFULoadSockets(
                publisherPorts: generator.publisherSockets.map(\.localAddress.port),
                subscriberPorts: generator.subscriberSockets.map(\.localAddress.port)))
        let lines = LineReader(descriptor: STDIN_FILENO)
        guard let line = lines.next() else { throw CommandFailure("sfu-load: no go from the parent") }
        let go = try JSONDecoder().decode(SFULoadGo.self, from: Data(line.utf8))
        let relay = try SocketAddress(host: "127.0.0.1", port: go.relayPort)
        if go.bind { try generator.bindAll(to: relay) }
        let window = generator.measure(relay: relay, packetsPerSecond: go.packetsPerSecond) {
            try? SFULoadMessage.write(SFULoadWindow(window: "start"))
        }
        try SFULoadMessage.write(window)
    }
}

/// What the generator bound (child ▶ parent).
struct SFULoadSockets: Codable {
    var publisherPorts: [Int]
    var subscriberPorts: [Int]
}

/// Where to send and how fast (parent ▶ child).
struct SFULoadGo: Codable {
    var relayPort: Int
    /// STUN-bind every socket first (Confab); the reference relay needs no binding.
    var bind: Bool
    /// Total packets per second over all publishers; nil sends as fast as possible.
    var packetsPerSecond: Double?
}

/// The measuring window: "start", then "end" with the figures (child ▶ parent).
struct SFULoadWindow: Codable {
    var window: String
    var sent: Int = 0
    var received: Int = 0
    var elapsedSeconds: Double = 0
    var p50Us: Double = 0
    var p99Us: Double = 0
}

enum SFULoadMessage {
    /// One JSON line on stdout, flushed at once (the parent waits for it).
    static func write<T: Encodable>(_ value: T) throws {
        var data = try JSONEncoder().encode(value)
        data.append(0x0A)
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(STDOUT_FILENO, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}

/// Reads newline-terminated lines from a descriptor (a pipe), blocking.
final class LineReader {
    private let descriptor: Int32
    private var pending: [UInt8] = []

    init(descriptor: Int32) { self.descriptor = descriptor }

    /// The next line without its newline; nil at the end of the stream.
    func next() -> String? {
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeFirst(newline + 1)
                return line
            }
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            pending.append(contentsOf: chunk[0..<count])
        }
    }
}

/// Pins the calling thread (and the threads it starts later) to `list`:
/// "1", "0-1" or "1,3". The corresponding C function is `sched_setaffinity`.
func pinToCPUs(_ list: String) throws {
    var cpus: [Int] = []
    for part in list.split(separator: ",") {
        let bounds = part.split(separator: "-").compactMap { Int($0) }
        guard let low = bounds.first, let high = bounds.last, low <= high, high < 1_024 else {
            throw CommandFailure("not a CPU list: \(list)")
        }
        cpus += Array(low...high)
    }
    guard confab_pin_calling_thread(cpus.map(Int32.init), Int32(cpus.count)) == 0 else {
        throw CommandFailure("cannot pin to CPUs \(list): errno \(errno)")
    }
}

/// The client side of one phase: sockets, a publisher thread, a receiver thread.
final class SFULoadGenerator: @unchecked Sendable {
    let shape: SFUBenchShape
    let publisherSockets: [UDPSocket]
    let subscriberSockets: [UDPSocket]
    private let sentCount = Atomic<Int>(0)

    init(shape: SFUBenchShape) throws {
        self.shape = shape
        publisherSockets = try (0..<(shape.rooms * shape.publishers)).map { _ in try UDPSocket(bindTo: "127.0.0.1", port: 0) }
        subscriberSockets = try (0..<(shape.rooms * shape.subscribers)).map { _ in try UDPSocket(bindTo: "127.0.0.1", port: 0) }
    }

    /// STUN-binds every socket with its credentials (`SFUBenchShape.credentials`), retrying until answered.
    func bindAll(to relay: SocketAddress) throws {
        let batch = DatagramBatch(capacity: 8)
        for room in 0..<shape.rooms {
            for p in 0..<shape.publishers {
                try bind(publisherSockets[room * shape.publishers + p], as: shape.credentialIndex(room: room, publisher: p), to: relay, batch: batch)
            }
            for s in 0..<shape.subscribers {
                try bind(subscriberSockets[room * shape.subscribers + s], as: shape.credentialIndex(room: room, subscriber: s), to: relay, batch: batch)
            }
        }
    }

    /// Binds as a client does: a request, then the same request echoing the
    /// answer's CONSENT-TOKEN, until an answer without one says it is bound.
    private func bind(_ socket: UDPSocket, as index: Int, to relay: SocketAddress, batch: DatagramBatch) throws {
        let (user, password) = SFUBenchShape.credentials(index)
        let key = STUNIntegrityKey(shortTermPassword: password)
        var consent: STUNConsentToken?
        for _ in 0..<50 {
            var buffer = [UInt8](repeating: 0, count: 160)
            let request = try buffer.withUnsafeMutableBytes { raw -> [UInt8] in
                var builder = try STUNMessageBuilder(type: .bindingRequest, transactionID: .random(), into: raw)
                try builder.appendUsername(user)
                // Room for the answer's CONSENT-TOKEN: never more bytes out than in.
                try builder.appendSoftware("confab bench sfu")
                if let consent { try builder.appendConsentToken(consent) }
                try builder.appendMessageIntegrity(key: key)
                return Array(builder.bytes)
            }
            request.withUnsafeBytes { _ = socket.send($0, to: relay) }
            guard try socket.receive(into: batch, timeoutMs: 100) > 0 else { continue }
            let answer = UnsafeRawBufferPointer(batch.datagram(0))
            guard let message = try? STUNMessage.parse(answer), message.type == .bindingSuccess else { continue }
            guard let token = message.consentToken(in: answer) else { return }
            consent = token
        }
        throw CommandFailure("peer \(index) could not bind")
    }

    /// Warms up for 300 ms, calls `windowStarts`, measures for the shape's seconds.
    func measure(relay: SocketAddress, packetsPerSecond: Double?, windowStarts: () -> Void) -> SFULoadWindow {
        let stop = StopFlag()
        let receiver = SFUBenchReceiver(sockets: subscriberSockets)
        let receiverThread = MediaThread(name: "bench-recv") { [receiver] in receiver.run(until: stop) }
        let publisherThread = MediaThread(name: "bench-send") { [self] in
            publish(to: relay, packetsPerSecond: packetsPerSecond, receiver: receiver, until: stop)
        }
        usleep(300_000)
        receiver.reset()
        let sentBefore = sentCount.load(ordering: .relaxed)
        let start = MonotonicClock.nanoseconds()
        windowStarts()
        usleep(UInt32(shape.seconds * 1_000_000))
        let elapsed = Double(MonotonicClock.nanoseconds() - start) / 1e9
        let sent = sentCount.load(ordering: .relaxed) - sentBefore
        let (received, p50, p99) = receiver.snapshot()
        stop.flag.store(true, ordering: .relaxed)
        publisherThread.join()
        receiverThread.join()
        return SFULoadWindow(window: "end", sent: sent, received: received, elapsedSeconds: elapsed, p50Us: p50, p99Us: p99)
    }

    /// Datagrams (packets × subscribers) the full-load publisher lets be in
    /// flight: the relay, not the kernel's queues, sets the pace, so full
    /// load measures forwarding, not overflow. A wait gives up after 20 ms
    /// (datagrams the kernel dropped never come back).
    static let fullLoadWindow = 1_024

    /// Sends round-robin over the publishers; paced when a rate is given,
    /// else as fast as the relay forwards (`fullLoadWindow`).
    private func publish(
        to relay: SocketAddress, packetsPerSecond: Double?, receiver: SFUBenchReceiver, until stop: StopFlag
    ) {
        var packet = [UInt8](repeating: 0xAB, count: 172)
        var sequence = [UInt16](repeating: 0, count: publisherSockets.count)
        var count = 0
        /// Datagrams given up for lost by the flow control.
        var writtenOff = 0
        let intervalNs = packetsPerSecond.map { UInt64(1e9 / $0) } ?? 0
        var next = MonotonicClock.nanoseconds()
        while !stop.flag.load(ordering: .relaxed) {
            for (index, socket) in publisherSockets.enumerated() {
                if intervalNs == 0 {
                    let giveUp = MonotonicClock.nanoseconds() + 20_000_000
                    var inFlight = 0
                    repeat {
                        inFlight = Int(Double(count) * shape.fanOut) - receiver.receivedSinceStart.load(ordering: .relaxed)
                            - writtenOff
                        if inFlight <= Self.fullLoadWindow { break }
                        sched_yield()
                    } while MonotonicClock.nanoseconds() < giveUp
                    // Still over after 20 ms: the excess was lost; stop waiting for it.
                    if inFlight > Self.fullLoadWindow { writtenOff += inFlight - Self.fullLoadWindow }
                }
                sequence[index] &+= 1
                packet.withUnsafeMutableBytes { raw in
                    raw[0] = 0x90  // V=2, X=1
                    raw[1] = 111
                    raw.storeBytes(of: sequence[index].bigEndian, toByteOffset: 2, as: UInt16.self)
                    raw.storeBytes(of: (UInt32(sequence[index]) &* 960).bigEndian, toByteOffset: 4, as: UInt32.self)
                    raw.storeBytes(of: SFUBenchShape.ssrc(index).bigEndian, toByteOffset: 8, as: UInt32.self)
                    // RFC 8285 one-byte block: id 1 (RFC 6464 level, voice flag set), length 0.
                    raw.storeBytes(of: UInt32(0xBEDE_0001).bigEndian, toByteOffset: 12, as: UInt32.self)
                    raw[16] = 0x10
                    raw[17] = 0x80 | shape.level(ofPublisher: index)
                    raw[18] = 0
                    raw[19] = 0
                    // CLOCK_MONOTONIC is one clock for every process on the machine.
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
        }
    }
}
