// When a client pings and when it gives the server up: one rule for the room
// session and the call client (docs/PROTOCOL.md, "Keepalive").
//
//   every tickMs: silent for deadAfterMs ─▶ dead (treat as dropped, reconnect)
//                 sent nothing for pingIntervalMs ─▶ ping (the pong needs no waiter)
//
// Pure: the caller passes how long it has been since it last heard from and
// last sent to the server.

import ConfabProtocol

/// The keepalive rule, given the server's `keepalive` from `joined` / `connected`.
struct KeepalivePolicy: Sendable, Hashable {
    var info: KeepaliveInfo

    /// What to do on a tick.
    enum Action: Sendable, Hashable {
        case nothing
        /// Send a ping: nothing was sent for a ping interval.
        case ping
        /// The server said nothing for `deadAfterMs`: the connection is gone.
        case dead
    }

    /// How often to look [ms]: a quarter of the shorter period, at least 20 ms,
    /// so a ping goes out at most a quarter interval late.
    var tickMs: Int { max(20, min(info.pingIntervalMs, info.deadAfterMs) / 4) }

    /// What to do, `sinceReceivedMs` after the last message from the server and
    /// `sinceSentMs` after the last one to it. Silence wins over pinging.
    func action(sinceReceivedMs: Int64, sinceSentMs: Int64) -> Action {
        if sinceReceivedMs >= Int64(info.deadAfterMs) { return .dead }
        if sinceSentMs >= Int64(info.pingIntervalMs) { return .ping }
        return .nothing
    }
}
