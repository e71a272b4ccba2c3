// Network byte order (big-endian) reads and writes over raw buffers.
//
// Every packet format in this module is big-endian ("network byte order",
// RFC 3550 §5.1, RFC 791 Appendix B). These helpers do no bounds checking of
// their own in release builds: each caller has already checked that the bytes
// it reads or writes exist, which is the one rule that keeps hostile input
// from trapping.

extension UnsafeRawBufferPointer {
    @inline(__always)
    func readUInt16(at offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    func readUInt32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    func readUInt64(at offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func writeUInt16(_ value: UInt16, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
    }

    @inline(__always)
    func writeUInt32(_ value: UInt32, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
    }

    @inline(__always)
    func writeUInt64(_ value: UInt64, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt64.self)
    }

    /// Copies `source` to `offset` with memmove semantics, so the source may
    /// already live inside this buffer (a payload encoded in place).
    @inline(__always)
    func copyBytes(from source: UnsafeRawBufferPointer, at offset: Int) {
        guard let from = source.baseAddress, source.count > 0, let to = baseAddress else { return }
        (to + offset).copyMemory(from: from, byteCount: source.count)
    }

    /// Zero-fills `count` bytes from `offset`.
    @inline(__always)
    func zero(from offset: Int, count: Int) {
        guard count > 0, let to = baseAddress else { return }
        (to + offset).initializeMemory(as: UInt8.self, repeating: 0, count: count)
    }
}
