// Who is speaking, for screen-reader lines: a turn starts when someone is
// loud and ends only after a pause, so pauses between words do not become
// a line each ("is speaking", "stopped speaking", …, many times a second).
import ConfabProtocol
import Foundation

public struct SpeakingTracker: Sendable {
    /// Silence that ends a turn [s].
    public var pauseSeconds: Double
    /// Speaking now, with when each was last loud.
    public private(set) var lastLoud: [PeerID: Date] = [:]

    public init(pauseSeconds: Double = 2) {
        self.pauseSeconds = pauseSeconds
    }

    /// Who is loud now; returns whose turn started and whose ended (each sorted).
    public mutating func update(loud: Set<PeerID>, now: Date) -> (started: [PeerID], stopped: [PeerID]) {
        let started = loud.filter { lastLoud[$0] == nil }.sorted()
        for peer in loud { lastLoud[peer] = now }
        let stopped = lastLoud.filter { !loud.contains($0.key) && now.timeIntervalSince($0.value) >= pauseSeconds }.keys.sorted()
        for peer in stopped { lastLoud[peer] = nil }
        return (started, stopped)
    }

    /// Someone left: no line about them stopping.
    public mutating func forget(_ peer: PeerID) {
        lastLoud[peer] = nil
    }
}
