// Is a node that holds a room still there? (docs/CLUSTER.md, "Failover")
//
//   a join or resume for a room whose live lease names another node
//     ─▶ TCP connect to that node's advertised HOST:PORT (non-blocking, 1 s)
//         ├ connected, or no answer in time ─▶ it may be alive: redirect as usual
//         └ refused (RST: nothing listens there) ─▶ the process is gone ─▶ its row is
//           marked stale at once, so its rooms are placed again without waiting 10 s
//
// Only a refusal counts: a timeout may be a slow network, and a node cut off
// that way keeps its rooms until its lease lapses.

import Foundation
import Glibc

enum NodeProbe {
    /// How long a connection attempt may take before the node counts as maybe alive.
    static let timeoutMs: Int32 = 1_000

    /// Whether nothing listens at the node's `wss://HOST:PORT` (the connection was refused).
    static func isRefused(_ advertisedURL: String) async -> Bool {
        guard let components = URLComponents(string: advertisedURL), let host = components.host else { return false }
        let port = components.port ?? 443
        return await withCheckedContinuation { continuation in
            // getaddrinfo and poll block: off the cooperative pool.
            DispatchQueue.global().async {
                continuation.resume(returning: refused(host: host, port: port))
            }
        }
    }

    private static func refused(host: String, port: Int) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        guard getaddrinfo(bare, String(port), &hints, &list) == 0, let list else { return false }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = list
        var sawRefusal = false
        while let address = entry {
            switch attempt(address.pointee) {
            case .connected, .noAnswer: return false
            case .refused: sawRefusal = true
            case .failed: break
            }
            entry = address.pointee.ai_next
        }
        return sawRefusal
    }

    private enum Attempt { case connected, refused, noAnswer, failed }

    /// One non-blocking connect (connect(2), EINPROGRESS, then poll and SO_ERROR).
    private static func attempt(_ address: addrinfo) -> Attempt {
        let socket = Glibc.socket(address.ai_family, address.ai_socktype | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard socket >= 0 else { return .failed }
        defer { close(socket) }
        if connect(socket, address.ai_addr, address.ai_addrlen) == 0 { return .connected }
        switch errno {
        case ECONNREFUSED: return .refused
        case EINPROGRESS: break
        default: return .failed
        }
        var descriptor = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
        var ready: Int32
        repeat { ready = poll(&descriptor, 1, timeoutMs) } while ready < 0 && errno == EINTR
        guard ready > 0 else { return .noAnswer }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return .failed }
        switch error {
        case 0: return .connected
        case ECONNREFUSED: return .refused
        default: return .failed
        }
    }
}

extension PostgresStore {
    /// Whether nothing listens at the holder's address any more: then its row
    /// is marked stale, so its leases can be taken over at once.
    func markGoneIfRefused(_ holder: RoomHolder) async -> Bool {
        guard await NodeProbe.isRefused(holder.advertisedURL) else { return false }
        do throws(StorageError) {
            try await markNodeGone(id: holder.node, advertisedURL: holder.advertisedURL)
        } catch {
            return false
        }
        return true
    }
}
