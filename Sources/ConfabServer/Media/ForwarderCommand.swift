// What room actors post to the media thread (RoomHost+MediaTable.swift builds
// it; `Forwarder.apply` carries it out between batches).
//
//   a room's whole table ─▶ .room         a listener joins ─▶ .addListener
//   the room is gone     ─▶ .removeRoom   listeners leave  ─▶ .removeListeners
//   one peer's SSRCs or whether it may publish changed (mute, unmute, keys) ─▶ .updatePeer
//
// A mute in a room of 10,000 is one row, not 10,000: the whole table goes
// for a role change, a publisher's arrival or departure, and the room's end.

import ConfabMacros
import ConfabProtocol
import ConfabWire

/// One peer of one room as the forwarder needs it; posted by the room.
/// (Package access: the fuzz targets drive the forwarder as a room does.)
@PublicMemberwiseInit
package struct MediaPeerConfig: Sendable {
    var slot: Int
    var peer: PeerID
    var username: CredentialKey
    var integrityKey: STUNIntegrityKey
    /// The SSRCs the peer announced: the current one and the one before a
    /// rotation (its last packets may still be in flight).
    var ssrcs: (UInt32?, UInt32?)
    /// The role may publish audio and the microphone is not muted.
    var mayPublish: Bool
    /// Slots of the peers whose role hears this peer's role.
    var subscribers: [Int]
    /// As a subscriber: hears only the room's loudest few publishers (an
    /// audience in a room whose template limits it).
    var hearsLoudestOnly: Bool = false
}

/// What room actors ask of the media thread.
package enum ForwarderCommand: Sendable {
    /// The whole media state of room `room`: peers not listed are gone.
    /// `loudest`: how many publishers those that `hearsLoudestOnly` hear at a time.
    case room(Int, [MediaPeerConfig], loudest: Int? = nil)
    /// The room is gone.
    case removeRoom(Int)
    /// A peer that only listens joined room `room`: its row, and the slots of
    /// the publishers it hears (RoomHost+MediaTable.swift): O(publishers), not O(room).
    case addListener(Int, MediaPeerConfig, publishers: [Int])
    /// Peers that only listened left room `room`: their slots.
    case removeListeners(Int, slots: [Int])
    /// One peer of room `room` announced other SSRCs or may now publish or not
    /// (a mute, an unmute, `keys.publish`): its row changed, nobody's subscribers.
    case updatePeer(Int, slot: Int, ssrcs: (UInt32?, UInt32?), mayPublish: Bool)
}
