import ConfabClient
import ConfabProtocol

// The audience of a large room in the status bar: "1,234 listening" (short:
// "1.2k aud."), from the server's counts. Rooms without an audience show nothing.

extension RoomState {
    /// Peers in roles that do not publish audio, by the server's counts; nil
    /// in a room without an audience.
    var listeningCount: Int? {
        guard let counts, let room else { return nil }
        let listening = Set(room.roles.filter { !$0.publishAudio }.map(\.name))
        // Never more than the room's total: a server that sends a role many
        // times cannot overflow the sum (each figure is at most 2^53).
        return counts.roles.filter { listening.contains($0.role) }.reduce(0) { min($0 + $1.count, counts.total) }
    }
}

extension MeetingView {
    /// 1234567 → "1,234,567".
    static func grouped(_ count: Int) -> String {
        let digits = Array(String(count))
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return text
    }

    /// 950 → "950", 1234 → "1.2k", 12345 → "12k", 1234567 → "1.2M".
    static func abbreviated(_ count: Int) -> String {
        switch count {
        case ..<1_000: "\(count)"
        case ..<10_000: "\(count / 1_000).\(count % 1_000 / 100)k"
        case ..<1_000_000: "\(count / 1_000)k"
        default: "\(count / 1_000_000).\(count % 1_000_000 / 100_000)M"
        }
    }
}
