// The figures the screen shows that the media engine fills in: per-peer
// levels, connection quality, the safety code in short form. Read here, in
// one place, so the widgets never interpret raw media figures themselves.
import ConfabClient
import ConfabProtocol

/// How good a peer's connection looks.
public enum ConnectionQuality: Int, Hashable, Sendable, Comparable {
    case poor = 1, fair = 2, good = 3

    public static func < (lhs: ConnectionQuality, rhs: ConnectionQuality) -> Bool { lhs.rawValue < rhs.rawValue }

    public var label: String {
        switch self {
        case .good: "good"
        case .fair: "fair"
        case .poor: "poor"
        }
    }

    /// Signal-strength bars.
    public var bars: String {
        switch self {
        case .good: "▂▄▆"
        case .fair: "▂▄ "
        case .poor: "▂  "
        }
    }
}

extension RoomState {
    /// A peer's audio level 0 … 100: the locally decoded level when the media
    /// engine reports one, else the server's speaker level, else 0.
    public func displayLevel(of peer: PeerID) -> Int {
        if let level = media[peer]?.level, level > 0 { return min(level, 100) }
        return speakers.first { $0.peer == peer }?.level ?? 0
    }

    /// Whether a peer counts as speaking now.
    public func isSpeaking(_ peer: PeerID) -> Bool {
        displayLevel(of: peer) >= 8
    }

    /// A peer's connection quality from loss, jitter and delay (the audio
    /// buffered ahead of play-out, which grows with the network's delay
    /// spread); nil with no figures. Loss is counted against what arrived.
    public func quality(of peer: PeerID) -> ConnectionQuality? {
        if let info = self.peer(peer), info.tracks.contains(where: { $0.degraded != nil }) { return .poor }
        guard let media = media[peer] else { return nil }
        let lossPercent = media.packetsLost * 100 / max(1, media.packetsLost + media.packetsReceived)
        if lossPercent >= 10 || media.jitterMs > 60 || media.playoutDelayMs > 400 { return .poor }
        if lossPercent >= 3 || media.jitterMs > 30 || media.playoutDelayMs > 200 { return .fair }
        return .good
    }

    /// Our own microphone level (from the media engine, when it reports it).
    public var yourLevel: Int {
        guard let you else { return 0 }
        return displayLevel(of: you.id)
    }

    /// The end-to-end safety code in short form: its first group of five
    /// digits, enough to notice a swapped key at a glance (compare the whole
    /// code aloud: docs/SECURITY.md).
    public var shortSafetyCode: String? {
        safetyCode.map { String($0.prefix { $0 != " " }) }
    }

    /// Who is loudest now: (peer, level), loudest first.
    public var loudest: [(PeerID, Int)] {
        var all = peers.keys.map { ($0, displayLevel(of: $0)) }
        if let you { all.append((you.id, displayLevel(of: you.id))) }
        return all.filter { $0.1 >= 8 }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    }
}

extension PeerInfo {
    /// The microphone track, if the peer's role has one.
    public var microphone: TrackInfo? { tracks.first { $0.source == .microphone } }

    /// The name ready for a terminal: sanitised again here (a client never
    /// trusts the server with its terminal), never empty.
    public var displayName: String {
        let cleaned = ScreenText.clean(name, lineBreaks: .singleLine)
        return cleaned.isEmpty ? id.rawValue : cleaned
    }
}

/// A microphone's state as the tile shows it.
public enum MicState: Hashable, Sendable {
    case none
    case on
    case mutedBySelf
    case mutedByHost(PeerID)

    public init(_ peer: PeerInfo) {
        guard let mic = peer.microphone else {
            self = .none
            return
        }
        if !mic.muted {
            self = .on
        } else if let by = mic.mutedBy, by != peer.id {
            self = .mutedByHost(by)
        } else {
            self = .mutedBySelf
        }
    }
}
