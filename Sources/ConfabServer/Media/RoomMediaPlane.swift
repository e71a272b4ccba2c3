// What a room's host asks of the media plane, and nothing more:
//
//   RoomHost ─▶ makeID (room and per-session slot ids)
//            ─▶ endpoint (what `joined.media` tells the client)
//            ─▶ updateRoom / removeRoom (the room's forwarding table: peers,
//               credentials, SSRCs, who may publish, who hears whom)
//            ─▶ addListener / removeListeners (a listener's row and slot, changed in the table)
//            ─▶ updatePeer (one peer's SSRCs and whether it may publish: a mute, keys)
//   RoomRegistry ─▶ takeLevels / reports (what the forwarder measured)
//
// `MediaPlane` is the real one (a UDP socket and its thread); tests build
// rooms on one in memory, with no socket.

import ConfabProtocol

protocol RoomMediaPlane: AnyObject, Sendable {
    /// A fresh id for a room or a peer's media session (never reused in this process).
    func makeID() -> Int
    /// Where a client is told to send its media, with the session's credentials.
    /// `signallingLocalAddress`: the server's address on the client's signalling connection.
    func endpoint(username: String, password: String, signallingLocalAddress: String?) -> MediaEndpoint
    /// Installs or replaces room `room`'s forwarding table: peers not listed are gone.
    /// `loudest`: how many publishers the peers that `hearsLoudestOnly` hear at a time.
    func updateRoom(_ room: Int, peers: [MediaPeerConfig], loudest: Int?)
    /// Adds a peer that only listens to room `room`'s table, hearing the publishers of `publishers` (slots).
    func addListener(_ room: Int, _ config: MediaPeerConfig, publishers: [Int])
    /// Takes peers that only listened (slots) out of room `room`'s table.
    func removeListeners(_ room: Int, slots: [Int])
    /// Changes one peer's row of room `room`: the SSRCs it announced and whether it may publish now.
    func updatePeer(_ room: Int, slot: Int, ssrcs: (UInt32?, UInt32?), mayPublish: Bool)
    /// The room is gone: its peers' bindings with it.
    func removeRoom(_ room: Int)
    /// Per-peer reports with levels accumulated since the previous call (for the speakers timer).
    func takeLevels() -> [MediaPeerReport]
    /// The latest per-peer reports (levels of the last tick only).
    func reports() -> [MediaPeerReport]
}

extension MediaPlane: RoomMediaPlane {
    func endpoint(username: String, password: String, signallingLocalAddress: String?) -> MediaEndpoint {
        MediaEndpoint(
            host: advertisedHost(signallingLocalAddress: signallingLocalAddress), port: port, username: username,
            password: password)
    }

    func updateRoom(_ room: Int, peers: [MediaPeerConfig], loudest: Int?) {
        post(.room(room, peers, loudest: loudest))
    }

    func addListener(_ room: Int, _ config: MediaPeerConfig, publishers: [Int]) {
        post(.addListener(room, config, publishers: publishers))
    }

    func removeListeners(_ room: Int, slots: [Int]) { post(.removeListeners(room, slots: slots)) }

    func updatePeer(_ room: Int, slot: Int, ssrcs: (UInt32?, UInt32?), mayPublish: Bool) {
        post(.updatePeer(room, slot: slot, ssrcs: ssrcs, mayPublish: mayPublish))
    }

    func removeRoom(_ room: Int) { post(.removeRoom(room)) }
}
