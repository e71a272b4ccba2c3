// The audience of a large room, on the server's side (the rules are in
// ConfabRooms/Room+Audience.swift):
//
//   any delivery ─▶ scheduleCounts ─▶ (one flush pending at a time) ─▶ sleep until the interval allows
//                ─▶ flushCounts: Room.counts changed since the last sent? ─▶ room.counts to everyone
//   roster.list  ─▶ Room.roster (permission, filters, cursor) ─▶ roster.page
//
// Counts are coalesced: however many join or leave in an interval, everyone
// gets one `room.counts` with the latest figures, and none while nothing changed.
// The interval grows with the room (1 ms per connected peer, 5 s at most).

import ConfabProtocol
import ConfabRooms

/// When `room.counts` last went out and whether a flush waits.
struct CountsSchedule: Sendable {
    var pending = false
    var lastSent: RoomCounts?
    var lastSentAt: ContinuousClock.Instant?

    /// The longest a big room's counts wait (LiveKit sends its room counts every 5 s).
    static let longestIntervalMs = 5_000

    /// How long `room.counts` waits after the last: the template's interval,
    /// or 1 ms per connected peer when that is longer (at most 5 s), so the
    /// copies sent stay about 1,000 a second up to 5,000 peers (2,000 at
    /// 10,000) — one a second would be 10,000 writes a second there, each a
    /// job queued in front of the joins.
    static func intervalMs(template: Int, connected: Int) -> Int {
        max(template, min(connected, longestIntervalMs))
    }
}

extension RoomHost {
    /// Makes sure a flush of the counts is due within the template's
    /// interval (rooms with an audience only). Cheap when one is pending already.
    func scheduleCounts() {
        guard let audience = room.template.audience, !countsSchedule.pending, room.phase == .open else { return }
        countsSchedule.pending = true
        let interval = Duration.milliseconds(
            CountsSchedule.intervalMs(template: audience.countsIntervalMs, connected: connections.count))
        let due = countsSchedule.lastSentAt.map { $0 + interval } ?? .now
        Task { [weak self] in
            if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
            await self?.flushCounts()
        }
    }

    /// Sends `room.counts` to everyone connected if the counts changed since the last sent.
    func flushCounts() {
        countsSchedule.pending = false
        guard room.phase == .open, room.hasAudience else { return }
        let counts = room.counts
        guard counts != countsSchedule.lastSent else { return }
        countsSchedule.lastSent = counts
        countsSchedule.lastSentAt = .now
        let text = ConnectionSink.encode(ServerMessage(.roomCounts(counts)))
        for sink in connections.values { sink.send(text) }
    }

    /// For each role, the media slots of the connected peers that hear it
    /// (`Room.subscribers`, grouped by role): one pass over the room per
    /// forwarding table instead of one per peer, which made every join cost
    /// the square of the room. Only roles that publish are listed.
    func hearerSlots() -> [RoleName: [Int]] {
        let published = Set(room.template.roles.filter(\.publishAudio).map(\.name))
        // The published roles each role hears, worked out once per role, not per peer.
        var heardBy: [RoleName: [RoleName]] = [:]
        for role in room.template.roles { heardBy[role.name] = Array(Set(role.subscribesTo).intersection(published)) }
        var hearers: [RoleName: [Int]] = [:]
        for (id, session) in mediaSessions {
            guard let peer = room.peer(id), peer.isConnected else { continue }
            for heard in heardBy[peer.role] ?? [] { hearers[heard, default: []].append(session.slot) }
        }
        return hearers
    }

    /// Whether `peer` is in the audience the media plane sends only the
    /// loudest few publishers: a role that does not publish, in a room with an audience.
    func hearsLoudestOnly(_ peer: Peer) -> Bool {
        room.template.audience != nil && !room.role(of: peer).publishAudio
    }

    /// Answers `roster.list` with a page, or the refusal.
    func sendRoster(_ request: RosterRequest, id: RequestID, to peer: PeerID, sink: ConnectionSink) {
        do throws(CodedError) {
            sink.send(ServerMessage(id: id, .rosterPage(try room.roster(request, for: peer))))
        } catch {
            metrics.error(error.code)
            sink.send(error, id: id)
        }
    }
}
