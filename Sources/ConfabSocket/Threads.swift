// Dedicated threads for the media path (client engine and server forwarder),
// and the clock that paces them.
//
// The capture, network and play-out loops each own a POSIX thread for their
// whole life (DESIGN.md, "Audio runs on its own threads"): they block in the
// sound card, in poll, or in clock_nanosleep, never in Swift concurrency, so
// a frame is never stuck behind an unrelated task on a cooperative pool.
import CLinuxShims
import Glibc
import Synchronization

/// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID) in nanoseconds:
/// what benchmarks time code by on a shared host, where the wall clock also
/// counts the time spent waiting for a core.
public enum ThreadCPUClock {
    public static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

/// CLOCK_MONOTONIC in nanoseconds, and absolute sleeps on it.
public enum MonotonicClock {
    @inline(__always)
    public static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Sleeps until the monotonic clock reads `deadline` [ns]; returns at once if it has passed.
    @inline(__always)
    public static func sleep(until deadline: UInt64) {
        var target = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
    }
}

/// A joinable POSIX thread running one closure.
public final class MediaThread: @unchecked Sendable {
    private var thread: pthread_t?
    public let name: String

    private final class Box {
        let body: () -> Void
        let name: String
        init(name: String, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new thread named `name` (at most 15 characters show in `top`).
    public init(name: String, realtime: Bool = false, body: @escaping @Sendable () -> Void) {
        self.name = name
        let box = Unmanaged.passRetained(Box(name: name, body: body))
        var handle = pthread_t()
        let status = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            _ = confab_set_thread_name(String(box.name.prefix(15)))
            box.body()
            return nil
        }, box.toOpaque())
        if status == 0 {
            thread = handle
            if realtime {
                // Best effort: SCHED_FIFO needs CAP_SYS_NICE; without it the thread stays normal.
                var param = sched_param(sched_priority: 10)
                _ = pthread_setschedparam(handle, SCHED_FIFO, &param)
            }
        } else {
            box.release()
            thread = nil
        }
    }

    /// Whether the thread was created.
    public var started: Bool { thread != nil }

    /// Waits for the thread to finish (once).
    public func join() {
        guard let thread else { return }
        self.thread = nil
        pthread_join(thread, nil)
    }
}

