import ConfabClient
import ConfabProtocol

/// The room's shared state in one row under the speaker strip, shown while
/// any key is set: the agenda first, then the pinned message, the spotlight,
/// then other keys by name. What does not fit is cut at the right.
///
///   ◆ agenda: Q3 review, then hiring · pinned: slides at example.org · spotlight: Bob
public struct SharedStateLine: Widget {
    public var state: RoomState

    /// Keys shown first, in this order.
    static let leadingKeys = ["agenda", "pinned", "spotlight"]

    public init(state: RoomState) {
        self.state = state
    }

    /// The entries in the order shown.
    static func ordered(_ shared: [String: StateEntry]) -> [StateEntry] {
        let leading = leadingKeys.compactMap { shared[$0] }
        let rest = shared.values.filter { !leadingKeys.contains($0.key) }.sorted { $0.key < $1.key }
        return leading + rest
    }

    public func render(in area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        let base = Style(.text, on: .surface)
        var line = Line([], fill: base)
        line.append(" ◆ ", Style(.accent, on: .surface, [.bold]))
        for (index, entry) in Self.ordered(state.sharedState).enumerated() {
            if index > 0 { line.append(" · ", Style(.dim, on: .surface)) }
            line.append(entry.key + ": ", Style(.dim, on: .surface))
            line.append(shown(entry), Style(.text, on: .surface, entry.key == "agenda" ? [.bold] : []))
        }
        line.render(in: area, into: &buffer)
    }

    /// A spotlight naming a peer in the room shows its display name.
    private func shown(_ entry: StateEntry) -> String {
        if entry.key == "spotlight", let id = PeerID(rawValue: entry.value), let peer = state.peer(id) {
            return peer.displayName
        }
        return entry.value
    }
}
