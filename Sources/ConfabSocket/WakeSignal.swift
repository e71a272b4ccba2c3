// Wakes a thread blocked in `UDPSocket.receive(into:timeoutMs:wake:)` from any
// other thread, so an idle loop can wait without a timeout and still see
// changes and stop() at once.
import CLinuxShims
import Glibc

/// An eventfd a socket's poll also watches: `signal()` ends the wait.
public final class WakeSignal: Sendable {
    let descriptor: Int32

    public init() throws(SocketError) {
        let fd = confab_wake_descriptor()
        guard fd >= 0 else { throw .system(operation: "eventfd", errno: errno) }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Ends the current or next wait. Signals before that wait coalesce into one.
    public func signal() {
        var one: UInt64 = 1
        // EAGAIN means the counter is already non-zero: the waiter wakes anyway.
        while write(descriptor, &one, 8) < 0 && errno == EINTR {}
    }

    /// Resets the counter (after a wait it ended).
    func drain() {
        var count: UInt64 = 0
        while read(descriptor, &count, 8) < 0 && errno == EINTR {}
    }
}
