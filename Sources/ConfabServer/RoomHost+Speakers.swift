// What the media thread reports about a room's microphones, turned into
// room events: who is speaking now (`speakers`, from RFC 6464 levels through
// the SpeakerDetector) and which tracks went silent or lossy
// (`track.degraded` / `track.restored`, from TrackHealth).

import ConfabProtocol
import ConfabRooms
import ConfabWire

extension RoomHost {
    /// Sends `speakers`: the peers the speaker detector finds speaking at
    /// `nowNs` (voice flagged or a level above its threshold since the last
    /// call, or within its hangover), loudest first; an empty list once when
    /// everyone falls silent.
    func publishSpeakers(_ reports: [MediaPeerReport], nowNs: UInt64) {
        guard room.phase == .open else { return }
        var speakers: [SpeakerLevel] = []
        var sessions: Set<Int> = []
        for report in reports where report.room == mediaRoomID {
            guard let session = mediaSessions[report.peer], session.slot == report.slot,
                let peer = room.peer(report.peer), let microphone = peer.microphone, !microphone.muted
            else { continue }
            sessions.insert(session.slot)
            guard speakerDetector.isSpeaking(report, nowNs: nowNs) else { continue }
            speakers.append(SpeakerLevel(peer: report.peer, track: microphone.id, level: report.level))
        }
        speakerDetector.keep(only: sessions)
        speakers.sort { $0.level != $1.level ? $0.level > $1.level : $0.peer < $1.peer }
        guard !speakers.isEmpty || speakersWereActive else { return }
        speakersWereActive = !speakers.isEmpty
        deliver([RoomEvent(audience: room.connectedIDs, body: .speakers(speakers))])
    }

    /// Flags microphones that went silent or lossy (`track.degraded`) and
    /// clears the flag when they recover or stop being expected to send
    /// (`track.restored`), from the forwarder's latest reports.
    func assessTracks(_ reports: [MediaPeerReport], nowNs: UInt64) {
        guard room.phase == .open else { return }
        var seen: Set<PeerID> = []
        var events: [RoomEvent] = []
        for report in reports where report.room == mediaRoomID {
            guard let session = mediaSessions[report.peer], session.slot == report.slot,
                let microphone = room.peer(report.peer)?.microphone
            else { continue }
            seen.insert(report.peer)
            // A new slot (a resume) starts a new history.
            var entry = trackHealth[report.peer].flatMap { $0.slot == report.slot ? $0 : nil }
                ?? (slot: report.slot, health: TrackHealth())
            let verdict = entry.health.assess(report, nowNs: nowNs, configuration: settings.trackHealth)
            trackHealth[report.peer] = entry
            events += room.markTrack(microphone.id, degraded: verdict)
        }
        for peer in trackHealth.keys where !seen.contains(peer) { trackHealth[peer] = nil }
        deliver(events)
    }

    /// The media figures of this room's peers (for tests and metrics).
    func mediaReports(_ reports: [MediaPeerReport]) -> [PeerID: MediaPeerReport] {
        var result: [PeerID: MediaPeerReport] = [:]
        for report in reports where report.room == mediaRoomID { result[report.peer] = report }
        return result
    }
}
