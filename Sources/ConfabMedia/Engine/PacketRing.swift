// A single-producer single-consumer ring of received packets.
//
//   network thread ─▶ reserve() / commit() ─▶ [slot][slot][slot]… ─▶ peek() / consume() ─▶ playout thread
//
// Fixed slots allocated once; the two sides meet only through two atomic
// indices (acquire/release), so neither ever waits for or locks the other. The
// slot memory is handed over by the release store of the index and read after
// the matching acquire load.
import Synchronization

/// A decrypted RTP payload and what play-out needs to know about it.
public struct ReceivedPacketHeader: Sendable {
    public var ssrc: UInt32 = 0
    public var sequenceNumber: UInt16 = 0
    public var timestamp: UInt32 = 0
    /// Local arrival time [ns, CLOCK_MONOTONIC].
    public var arrivalNanoseconds: UInt64 = 0
    public var payloadLength = 0
    /// A copy of an earlier frame from a RED packet (RFC 2198), not the packet itself.
    public var isRedundantCopy = false
}

public final class PacketRing: @unchecked Sendable {
    public let capacity: Int
    public let maxPayloadBytes: Int
    private let headers: UnsafeMutableBufferPointer<ReceivedPacketHeader>
    private let payloads: UnsafeMutableRawBufferPointer
    /// Next slot the producer writes / the consumer reads; both only grow.
    private let writeIndex = Atomic<Int>(0)
    private let readIndex = Atomic<Int>(0)
    /// Packets the producer had to drop because the consumer fell behind.
    public let overflows = Atomic<Int>(0)

    public init(capacity: Int = 512, maxPayloadBytes: Int = 1_500) {
        self.capacity = capacity
        self.maxPayloadBytes = maxPayloadBytes
        headers = .allocate(capacity: capacity)
        headers.initialize(repeating: ReceivedPacketHeader())
        payloads = .allocate(byteCount: capacity * maxPayloadBytes, alignment: 16)
    }

    deinit {
        headers.deallocate()
        payloads.deallocate()
    }

    // MARK: Producer side (one thread)

    /// Copies a packet in; returns false (and counts an overflow) when the ring is full.
    @discardableResult
    public func push(_ header: ReceivedPacketHeader, payload: UnsafeRawBufferPointer) -> Bool {
        let write = writeIndex.load(ordering: .relaxed)
        let read = readIndex.load(ordering: .acquiring)
        guard write - read < capacity, payload.count <= maxPayloadBytes else {
            overflows.add(1, ordering: .relaxed)
            return false
        }
        let slot = write % capacity
        var h = header
        h.payloadLength = payload.count
        headers[slot] = h
        if let source = payload.baseAddress, payload.count > 0 {
            (payloads.baseAddress! + slot * maxPayloadBytes).copyMemory(from: source, byteCount: payload.count)
        }
        writeIndex.store(write + 1, ordering: .releasing)
        return true
    }

    // MARK: Consumer side (one thread)

    /// Calls `body` for each packet waiting, oldest first, then frees them. Returns how many.
    @inline(__always)
    @discardableResult
    public func drain(_ body: (ReceivedPacketHeader, UnsafeRawBufferPointer) -> Void) -> Int {
        let read = readIndex.load(ordering: .relaxed)
        let write = writeIndex.load(ordering: .acquiring)
        var index = read
        while index < write {
            let slot = index % capacity
            let header = headers[slot]
            body(header, UnsafeRawBufferPointer(start: payloads.baseAddress! + slot * maxPayloadBytes, count: header.payloadLength))
            index += 1
        }
        if index != read { readIndex.store(index, ordering: .releasing) }
        return index - read
    }
}
