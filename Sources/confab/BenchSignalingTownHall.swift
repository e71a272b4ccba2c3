// `confab bench signaling --town-hall`: what differs from the plain run.
//
//   server template .townHall (listeners quiet, room.counts coalesced)
//   phase 1 ─▶ room "bench-sdk" (its own)   phase 2 ─▶ bench-0, bench-1 … from index 0:
//     the first --speakers of each room speak (the first of them chats once a second), the rest listen;
//     pings every 5 s instead of every second (the keepalive allows 15 s)
//
// Each step also reports the largest `joined` reply and the server process's resident memory.

import CLinuxShims
import Foundation

extension SignalingResults {
    /// The heading of phase 2: what the peers did.
    var phase2Title: String {
        if let speakers = townHallSpeakers {
            return "phase 2, town hall: light peers joining in steps; per room \(speakers) speakers, the rest quiet "
                + "listeners, one broadcast a second:"
        }
        return "phase 2, light peers joining in steps while every tenth peer chats once a second:"
    }
}

extension SignalingBenchmark {
    /// Resident memory of this process [KiB], from /proc/self/statm: the server's (phase 2's light peers run in a child).
    static func residentKiB() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1_024
    }

    /// Bytes glibc's allocator has handed out and not taken back [KiB].
    static func heapInUseKiB() -> Int {
        Int(confab_heap_in_use()) / 1_024
    }
}
