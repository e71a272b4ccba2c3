// Loss feedback: listeners' reports in, one figure per publisher out.
//
//   listener ─ media.loss ─▶ RoomHost.recordLoss (does the listener hear that track?) ─▶ LossFeedbackBook.record
//   speakers timer ─▶ RoomHost.relayLossFeedback ─▶ LossFeedbackBook.due (at most every intervalMs per publisher)
//                  ─▶ media.feedback {worst listener's loss, our own uplink loss} ─▶ the publisher
//
// The server holds no media keys, so it cannot read the SRTCP receiver
// reports that would carry this in RTP (RFC 3550 §6.4.2); listeners send the
// same figures through the signalling instead. The worst listener decides:
// in-band FEC goes to everyone, and it is the listener losing most who needs it.
import ConfabProtocol
import ConfabSocket

/// The knobs of the feedback, with the defaults documented in docs/PROTOCOL.md.
public struct LossFeedbackConfiguration: Sendable, Hashable {
    /// A publisher hears `media.feedback` at most this often [ms].
    public var intervalMs: Int
    /// A listener's report counts this long after it arrives [ms].
    public var reportLifetimeMs: Int

    public init(intervalMs: Int = 1_000, reportLifetimeMs: Int = 3_000) {
        self.intervalMs = intervalMs
        self.reportLifetimeMs = reportLifetimeMs
    }
}

/// The latest report of each listener about each publisher. A value owned by its room's actor.
struct LossFeedbackBook {
    private struct Report {
        var expected: Int
        var lost: Int
        var atNs: UInt64
    }

    private var reports: [PeerID: [PeerID: Report]] = [:]
    private var lastSentNs: [PeerID: UInt64] = [:]

    /// Keeps `loss` as `listener`'s latest word on `publisher`; a report of nothing expected (a pause) says nothing.
    mutating func record(_ loss: TrackLoss, publisher: PeerID, listener: PeerID, nowNs: UInt64) {
        guard loss.expected > 0 else { return }
        reports[publisher, default: [:]][listener] = Report(expected: loss.expected, lost: loss.lost, atNs: nowNs)
    }

    /// The publishers due a `media.feedback` now, with the worst fresh listener
    /// report of each [‰] and how many listeners reported.
    mutating func due(nowNs: UInt64, configuration: LossFeedbackConfiguration)
        -> [(publisher: PeerID, lossPermille: Int, listeners: Int)]
    {
        let lifetimeNs = UInt64(max(1, configuration.reportLifetimeMs)) * 1_000_000
        let intervalNs = UInt64(max(1, configuration.intervalMs)) * 1_000_000
        var result: [(publisher: PeerID, lossPermille: Int, listeners: Int)] = []
        for (publisher, byListener) in reports {
            let fresh = byListener.filter { nowNs &- $0.value.atNs < lifetimeNs }
            reports[publisher] = fresh.isEmpty ? nil : fresh
            guard !fresh.isEmpty else { continue }
            if let last = lastSentNs[publisher], nowNs &- last < intervalNs { continue }
            lastSentNs[publisher] = nowNs
            let worst = fresh.values.map { ($0.lost * 1_000 + $0.expected / 2) / $0.expected }.max() ?? 0
            result.append((publisher, min(1_000, worst), fresh.count))
        }
        return result
    }

    /// Forgets a peer that left, as publisher and as listener.
    mutating func forget(_ peer: PeerID) {
        reports[peer] = nil
        lastSentNs[peer] = nil
        for publisher in reports.keys { reports[publisher]?[peer] = nil }
    }
}

extension RoomHost {
    /// `media.loss` from `listener`: each entry about a track it hears is kept;
    /// others (a track gone, a role that no longer hears it) are skipped, as a
    /// report racing a change may name them. Replies `ok`.
    func recordLoss(_ report: LossReport, from listener: PeerID, id: RequestID, sink: ConnectionSink) {
        guard connections[listener] === sink else {
            sink.send(CodedError(.notJoined, "this connection's session has ended"), id: id)
            return
        }
        let now = MonotonicClock.nanoseconds()
        // Each entry in O(1), not a walk of the room: a report may name 1,000
        // tracks, 50 times a second. A microphone's id is `PEER:mic`.
        for loss in report.tracks {
            guard let separator = loss.track.rawValue.lastIndex(of: ":"),
                let publisher = PeerID(rawValue: String(loss.track.rawValue[..<separator])),
                connections[publisher] != nil, room.peer(publisher)?.microphone?.id == loss.track,
                room.subscribes(listener, to: publisher)
            else { continue }
            lossFeedback.record(loss, publisher: publisher, listener: listener, nowNs: now)
        }
        sink.send(ServerMessage(id: id, .ok(OkReply())))
    }

    /// Sends each publisher due one its `media.feedback`.
    func relayLossFeedback(nowNs: UInt64) {
        for peer in lossFeedback.departed(keeping: Set(connections.keys)) { lossFeedback.forget(peer) }
        for due in lossFeedback.due(nowNs: nowNs, configuration: settings.lossFeedback) {
            guard let track = room.peer(due.publisher)?.microphone?.id else { continue }
            let uplink = trackHealth[due.publisher]?.health.lossPercent.map { Int(($0 * 10).rounded()) }
            let feedback = MediaFeedback(
                track: track, lossPermille: due.lossPermille, uplinkLossPermille: uplink.map { min(1_000, $0) },
                listeners: due.listeners)
            connections[due.publisher]?.send(ServerMessage(.mediaFeedback(feedback)))
        }
    }
}

extension LossFeedbackBook {
    /// Peers the book knows that are not in `present` (they left or dropped).
    func departed(keeping present: Set<PeerID>) -> [PeerID] {
        var known = Set(reports.keys)
        for byListener in reports.values { known.formUnion(byListener.keys) }
        return Array(known.subtracting(present))
    }
}
