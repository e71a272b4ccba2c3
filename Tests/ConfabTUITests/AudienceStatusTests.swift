import ConfabClient
import ConfabProtocol
import Testing

@testable import ConfabTUI

extension ScreenTests {
    @Test("in a room with an audience the status bar counts the listeners: 1,234 listening, short 1.2k aud.")
    func statusAudience() {
        var state = keyedRoom()
        #expect(!statusLine(state, columns: 160).contains("listening"), "no count in a room without an audience")
        let roles = (state.room?.roles ?? []).map {
            RoleCount(role: $0.name, count: $0.publishAudio ? 2 : 1_234)
        }
        reduce(&state, .countsUpdated(RoomCounts(total: roles.reduce(0) { $0 + $1.count }, roles: roles)))
        #expect(statusLine(state, columns: 160).contains("│ 1,234 listening │"))
        #expect(statusLine(state, columns: 80).contains("│ 1.2k aud. │"))
    }

    @Test("a server that lists one role a thousand times at 2^53 shows the room's total, not a crash")
    func hostileCounts() {
        var state = keyedRoom()
        let listener = (state.room?.roles ?? []).first { !$0.publishAudio }?.name ?? "listener"
        let roles = Array(repeating: RoleCount(role: listener, count: 1 << 53), count: 1_025)
        reduce(&state, .countsUpdated(RoomCounts(total: 5_000, roles: roles)))
        #expect(state.listeningCount == 5_000)
        #expect(statusLine(state, columns: 160).contains("│ 5,000 listening │"))
    }

    @Test("counts read in thousands and millions")
    func countForms() {
        #expect(MeetingView.grouped(7) == "7")
        #expect(MeetingView.grouped(1_234_567) == "1,234,567")
        #expect(MeetingView.abbreviated(999) == "999")
        #expect(MeetingView.abbreviated(10_000) == "10k")
        #expect(MeetingView.abbreviated(2_500_000) == "2.5M")
    }
}
