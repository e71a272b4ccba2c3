// A UDP socket for the media path, straight on the POSIX calls.
//
//   send: one datagram per sendto (the capture thread, per frame)
//         or a sendmmsg batch (the server's forwarder: one datagram, many destinations)
//   receive: poll ▶ recvmmsg batch (the network thread) ▶ caller's buffers
//
// Why not SwiftNIO here: its datagram channel allocates an envelope and a
// ByteBuffer per packet and delivers on an event loop; the media path must
// allocate nothing per frame and runs on its own threads. The calls live in
// this one file, each checked, EINTR retried in one place (STYLE.md item 2).
import CLinuxShims
import Glibc

/// An IPv4 or IPv6 address and port.
public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
    fileprivate var storage = sockaddr_storage()
    fileprivate var length: socklen_t = 0

    public init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// Resolves `host` (a literal or a name) and `port` with getaddrinfo.
    public init(host: String, port: Int) throws(SocketError) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw .resolution("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        length = first.pointee.ai_addrlen
    }

    /// Parses "HOST:PORT" or "[V6]:PORT".
    public init(parsing text: String) throws(SocketError) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .resolution("expected [IPv6]:PORT, got \(text)") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .resolution("expected HOST:PORT, got \(text)") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (1...65535).contains(port), !host.isEmpty else {
            throw .resolution("expected HOST:PORT with a port 1-65535, got \(text)")
        }
        try self.init(host: String(host), port: port)
    }

    public var family: Int32 { Int32(storage.ss_family) }

    /// An IPv4 address (host-order integer, 192.0.2.1 is 0xC0000201) and port.
    public init(ipv4 address: UInt32, port: UInt16) {
        var v4 = sockaddr_in()
        v4.sin_family = sa_family_t(AF_INET)
        v4.sin_port = port.bigEndian
        v4.sin_addr.s_addr = address.bigEndian
        withUnsafeBytes(of: &v4) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
        length = socklen_t(MemoryLayout<sockaddr_in>.size)
    }

    /// An IPv6 address (two host-order halves) and port.
    public init(ipv6 high: UInt64, _ low: UInt64, port: UInt16) {
        var v6 = sockaddr_in6()
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &v6.sin6_addr) { raw in
            raw.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        withUnsafeBytes(of: &v6) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
        length = socklen_t(MemoryLayout<sockaddr_in6>.size)
    }

    /// The address as a fixed-size hashable value (no heap), for tables keyed by source.
    public var key: SocketAddressKey { SocketAddressKey(storage: storage) }

    /// IPv4 address (host order) and port, when this is IPv4.
    public var ipv4: (address: UInt32, port: UInt16)? {
        guard family == AF_INET else { return nil }
        var copy = storage
        return withUnsafeBytes(of: &copy) {
            (UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self)), UInt16(port))
        }
    }

    /// IPv6 address (host-order halves) and port, when this is IPv6.
    public var ipv6: (high: UInt64, low: UInt64, port: UInt16)? {
        guard family == AF_INET6 else { return nil }
        var copy = storage
        return withUnsafeBytes(of: &copy) {
            (UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
             UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self)), UInt16(port))
        }
    }

    /// An IPv4 address in IPv6 clothing (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2),
    /// as a dual-stack socket reports IPv4 peers, as plain IPv4; anything else unchanged.
    public var unmapped: SocketAddress {
        guard let v6 = ipv6, v6.high == 0, v6.low >> 32 == 0xFFFF else { return self }
        return SocketAddress(ipv4: UInt32(truncatingIfNeeded: v6.low), port: v6.port)
    }

    /// Why no datagram sent to this address can reach one server, or nil when
    /// it can: a wildcard (`0.0.0.0`, `::`, the "this host" block 0/8), a
    /// multicast or broadcast address, or port 0.
    public var unusableAsDestination: String? {
        let address = unmapped
        if address.port == 0 { return "port 0" }
        if let v4 = address.ipv4 {
            // RFC 1122 §3.2.1.3: 0/8 means "this host on this network" only as a source.
            if v4.address >> 24 == 0 { return "a wildcard address, not one a client can send to" }
            if v4.address == 0xFFFF_FFFF { return "the broadcast address" }
            // RFC 5771: 224.0.0.0/4.
            if v4.address >> 28 == 0xE { return "a multicast address" }
            return nil
        }
        if let v6 = address.ipv6 {
            // RFC 4291 §2.5.2 (unspecified) and §2.7 (multicast ff00::/8).
            if v6.high == 0 && v6.low == 0 { return "a wildcard address, not one a client can send to" }
            if v6.high >> 56 == 0xFF { return "a multicast address" }
            return nil
        }
        return "not an IPv4 or IPv6 address"
    }

    /// The address without the port, as text (`192.0.2.1`, `2001:db8::1`).
    public var hostText: String {
        let text = description
        let host = text[..<(text.lastIndex(of: ":") ?? text.endIndex)]
        return family == AF_INET6 ? String(host.dropFirst().dropLast()) : String(host)
    }

    public var port: Int {
        var copy = storage
        // sin_port and sin6_port both sit at offset 2, in network byte order.
        return withUnsafeBytes(of: &copy) { Int(UInt16(bigEndian: $0.loadUnaligned(fromByteOffset: 2, as: UInt16.self))) }
    }

    public var description: String {
        var copy = storage
        var text = [UInt8](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok: Bool = withUnsafeBytes(of: &copy) { raw in
            text.withUnsafeMutableBufferPointer { out in
                // sin6_addr sits at offset 8, sin_addr at offset 4.
                let (family, offset) = self.family == AF_INET6 ? (AF_INET6, 8) : (AF_INET, 4)
                return inet_ntop(family, raw.baseAddress.map { $0 + offset }, out.baseAddress, socklen_t(out.count)) != nil
            }
        }
        let host = ok ? String(decoding: text.prefix { $0 != 0 }, as: UTF8.self) : "?"
        return family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        guard a.length == b.length else { return false }
        var x = a.storage, y = b.storage
        return withUnsafeBytes(of: &x) { xa in
            withUnsafeBytes(of: &y) { ya in memcmp(xa.baseAddress!, ya.baseAddress!, Int(a.length)) == 0 }
        }
    }
}

/// An IPv4 or IPv6 address and port packed into 24 bytes: a dictionary key
/// that hashes and compares without touching the heap.
public struct SocketAddressKey: Hashable, Sendable, BitwiseCopyable {
    /// Family and port.
    public let tag: UInt32
    /// IPv6 address, or an IPv4 address in `low`'s bottom 32 bits.
    public let high: UInt64
    public let low: UInt64

    @inline(__always)
    init(storage: sockaddr_storage) {
        var copy = storage
        (tag, high, low) = withUnsafeBytes(of: &copy) { raw in
            let family = raw.loadUnaligned(fromByteOffset: 0, as: sa_family_t.self)
            let port = raw.loadUnaligned(fromByteOffset: 2, as: UInt16.self)
            let tag = UInt32(family) << 16 | UInt32(port)
            if Int32(family) == AF_INET6 {
                return (tag, raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                        raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
            }
            return (tag, 0, UInt64(raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        }
    }
}

public enum SocketError: Error, Equatable, CustomStringConvertible {
    case resolution(String)
    case system(operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .resolution(let why): return why
        case .system(let op, let code): return "\(op): \(String(cString: strerror(code)))"
        }
    }
}

/// Received datagrams land in caller-owned buffers, `batch` at a time.
public final class DatagramBatch: @unchecked Sendable {
    public let capacity: Int
    public let bufferSize: Int
    fileprivate let storage: UnsafeMutableRawBufferPointer
    fileprivate let messages: UnsafeMutableBufferPointer<confab_mmsghdr>
    fileprivate let vectors: UnsafeMutableBufferPointer<iovec>
    fileprivate let addresses: UnsafeMutableBufferPointer<sockaddr_storage>
    /// Datagrams filled by the last receive.
    public fileprivate(set) var count = 0

    public init(capacity: Int = 32, bufferSize: Int = 2_048) {
        self.capacity = capacity
        self.bufferSize = bufferSize
        storage = .allocate(byteCount: capacity * bufferSize, alignment: 16)
        messages = .allocate(capacity: capacity)
        vectors = .allocate(capacity: capacity)
        addresses = .allocate(capacity: capacity)
        addresses.initialize(repeating: sockaddr_storage())
        for i in 0..<capacity {
            vectors[i] = iovec(iov_base: storage.baseAddress! + i * bufferSize, iov_len: bufferSize)
            messages[i] = confab_mmsghdr()
        }
    }

    deinit {
        storage.deallocate()
        messages.deallocate()
        vectors.deallocate()
        addresses.deallocate()
    }

    /// The bytes of datagram `index`, writable (SRTP decrypts in place).
    @inline(__always)
    public func datagram(_ index: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: storage.baseAddress! + index * bufferSize, count: min(bufferSize, Int(messages[index].msg_len)))
    }

    /// Whether datagram `index` was larger than the buffer (and so cut short).
    @inline(__always)
    public func wasTruncated(_ index: Int) -> Bool {
        messages[index].msg_hdr.msg_flags & Int32(MSG_TRUNC) != 0 || Int(messages[index].msg_len) > bufferSize
    }

    @inline(__always)
    public func source(_ index: Int) -> SocketAddress {
        SocketAddress(storage: addresses[index], length: messages[index].msg_hdr.msg_namelen)
    }

    /// The source of datagram `index` as a table key (no copy of the full address).
    @inline(__always)
    public func sourceKey(_ index: Int) -> SocketAddressKey {
        SocketAddressKey(storage: addresses[index])
    }

    fileprivate func prepare() {
        for i in 0..<capacity {
            messages[i].msg_hdr = msghdr(
                msg_name: UnsafeMutableRawPointer(addresses.baseAddress! + i),
                msg_namelen: socklen_t(MemoryLayout<sockaddr_storage>.size),
                msg_iov: vectors.baseAddress! + i, msg_iovlen: 1,
                msg_control: nil, msg_controllen: 0, msg_flags: 0)
            messages[i].msg_len = 0
        }
    }
}

/// Datagrams to send with one `sendmmsg`: each entry points at bytes the
/// caller keeps alive until `UDPSocket.send(_:)` returns (for the forwarder,
/// a received datagram going to several subscribers) and holds its own copy
/// of the destination address. Fixed capacity, no heap work per entry.
public final class DatagramSendBatch: @unchecked Sendable {
    public let capacity: Int
    fileprivate let messages: UnsafeMutableBufferPointer<confab_mmsghdr>
    fileprivate let vectors: UnsafeMutableBufferPointer<iovec>
    fileprivate let addresses: UnsafeMutableBufferPointer<sockaddr_storage>
    /// Entries queued.
    public fileprivate(set) var count = 0

    public init(capacity: Int = 256) {
        self.capacity = capacity
        messages = .allocate(capacity: capacity)
        vectors = .allocate(capacity: capacity)
        addresses = .allocate(capacity: capacity)
        addresses.initialize(repeating: sockaddr_storage())
        vectors.initialize(repeating: iovec())
        messages.initialize(repeating: confab_mmsghdr())
    }

    deinit {
        messages.deallocate()
        vectors.deallocate()
        addresses.deallocate()
    }

    public var isFull: Bool { count == capacity }

    /// Queues `bytes` for `destination`; false (and nothing queued) when full.
    @inline(__always)
    @discardableResult
    public func append(_ bytes: UnsafeRawBufferPointer, to destination: SocketAddress) -> Bool {
        guard count < capacity else { return false }
        let i = count
        addresses[i] = destination.storage
        vectors[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
        messages[i].msg_hdr = msghdr(
            msg_name: UnsafeMutableRawPointer(addresses.baseAddress! + i), msg_namelen: destination.length,
            msg_iov: vectors.baseAddress! + i, msg_iovlen: 1, msg_control: nil, msg_controllen: 0, msg_flags: 0)
        messages[i].msg_len = 0
        count = i + 1
        return true
    }

    public func removeAll() { count = 0 }

    /// Entry `index`: its bytes (the caller's buffer, not a copy) and where it goes.
    /// For tests of the code that fills the batch without a socket.
    public func entry(_ index: Int) -> (bytes: UnsafeRawBufferPointer, destination: SocketAddress) {
        precondition(index < count, "no entry \(index) in a batch of \(count)")
        let vector = vectors[index]
        return (
            UnsafeRawBufferPointer(start: vector.iov_base, count: vector.iov_len),
            SocketAddress(storage: addresses[index], length: messages[index].msg_hdr.msg_namelen)
        )
    }
}

public final class UDPSocket: @unchecked Sendable {
    /// The descriptor every thread uses; `rebind` swaps the socket behind it, never the number.
    public let descriptor: Int32

    /// Binds a UDP socket to `host:port` (port 0 picks a free one).
    public init(bindTo host: String = "127.0.0.1", port: Int = 0) throws(SocketError) {
        descriptor = try Self.openBound(host: host, port: port)
    }

    /// The address bound now (it changes with `rebind`). The corresponding C function is `getsockname`.
    public var localAddress: SocketAddress {
        var local = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return SocketAddress(storage: local, length: length)
    }

    /// Moves to a new local address, as after a network change: a fresh
    /// socket bound to `host:port` replaces this one under the same
    /// descriptor (the kernel swaps it atomically), so the threads sending
    /// and receiving on it carry on from the new port; the old one is closed.
    /// A thread blocked in `receive` sees the new socket at its next poll.
    /// The corresponding C function is `dup2`.
    public func rebind(to host: String, port: Int = 0) throws(SocketError) {
        let fresh = try Self.openBound(host: host, port: port)
        defer { close(fresh) }
        while dup2(fresh, descriptor) < 0 {
            guard errno == EINTR || errno == EBUSY else { throw .system(operation: "dup2", errno: errno) }
        }
        // dup2 clears close-on-exec on the descriptor it fills.
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
    }

    private static func openBound(host: String, port: Int) throws(SocketError) -> Int32 {
        let wanted = try SocketAddress(host: host, port: port)
        let fd = socket(wanted.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(operation: "socket", errno: errno) }
        if wanted.family == AF_INET6 {
            // Both families on one socket (RFC 4291 §2.5.5.2 mapped addresses),
            // whatever net.ipv6.bindv6only says: a server on `::` serves IPv4
            // clients too. An IPv4-only host refuses the bind, not this.
            var off: Int32 = 0
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = wanted
        let bound = withUnsafePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, address.length) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw .system(operation: "bind \(host):\(port)", errno: code)
        }
        // Room for bursts while the network thread is descheduled.
        var size: Int32 = 1 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    deinit { close(descriptor) }

    /// Sends one datagram. A full send buffer (EAGAIN) or an unreachable peer
    /// (ECONNREFUSED from an earlier ICMP) drops this datagram, as UDP would.
    @inline(__always)
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, to destination: SocketAddress) -> Bool {
        var address = destination
        while true {
            let sent = withUnsafePointer(to: &address.storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, address.length)
                }
            }
            if sent >= 0 { return true }
            if errno == EINTR { continue }
            return false
        }
    }

    /// Sends every datagram queued in `batch` with `sendmmsg` and empties it.
    /// Returns how many the kernel took; the rest are dropped as UDP would
    /// (a full send buffer, an unreachable destination).
    @discardableResult
    public func send(_ batch: DatagramSendBatch) -> Int {
        var sent = 0
        var start = 0
        while start < batch.count {
            let n = confab_sendmmsg(descriptor, batch.messages.baseAddress! + start, UInt32(batch.count - start), Int32(MSG_DONTWAIT))
            if n > 0 {
                sent += Int(n)
                start += Int(n)
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { break }
            // The first datagram failed (e.g. ECONNREFUSED from an earlier ICMP, EINVAL for an
            // address of the other family): skip it and go on with the rest.
            start += 1
        }
        batch.count = 0
        return sent
    }

    /// Waits up to `timeoutMs` (-1: without limit) for datagrams, or until
    /// `wake` is signalled, and reads as many as fit into `batch` (recvmmsg).
    /// Returns how many arrived (0 on timeout or wake-up).
    public func receive(into batch: DatagramBatch, timeoutMs: Int32, wake: WakeSignal? = nil) throws(SocketError) -> Int {
        batch.count = 0
        var watched = (
            pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wake?.descriptor ?? -1, events: Int16(POLLIN), revents: 0))
        while true {
            // A negative descriptor is ignored by poll (POSIX): no wake signal, one socket.
            let ready = withUnsafeMutablePointer(to: &watched) { pair in
                pair.withMemoryRebound(to: pollfd.self, capacity: 2) { poll($0, 2, timeoutMs) }
            }
            if ready > 0 { break }
            if ready == 0 { return 0 }
            if errno == EINTR { continue }
            throw .system(operation: "poll", errno: errno)
        }
        if watched.1.revents != 0 { wake?.drain() }
        guard watched.0.revents != 0 else { return 0 }
        batch.prepare()
        while true {
            let n = confab_recvmmsg(descriptor, batch.messages.baseAddress, UInt32(batch.capacity), Int32(MSG_DONTWAIT) | Int32(MSG_TRUNC))
            if n >= 0 {
                batch.count = Int(n)
                return Int(n)
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, ECONNREFUSED: return 0
            default: throw .system(operation: "recvmmsg", errno: errno)
            }
        }
    }
}
