import ConfabClient
import ConfabProtocol
import Testing
@testable import ConfabTUI

@Suite("shared state on the meeting screen")
struct SharedStateScreenTests {
    private static func entry(_ key: String, _ value: String) -> StateEntry {
        StateEntry(key: key, value: value, by: "p1", at: Fixtures.start)
    }

    @Test("no row while nothing is set; with keys, a row under the speaker strip: agenda, pinned, spotlight by name, the rest")
    func row() {
        var state = Fixtures.room(others: 2)
        let (plain, _) = screen(state, size: Size(columns: 120, rows: 30))
        #expect(!plain.screen.lines[1].contains("agenda"))
        state.sharedState = [
            "zeta": Self.entry("zeta", "last"), "spotlight": Self.entry("spotlight", "p1"),
            "agenda": Self.entry("agenda", "Q3 review"), "pinned": Self.entry("pinned", "slides at example.org"),
        ]
        for size in ScreenTests.sizes {
            let (backend, _) = screen(state, size: size)
            #expect(rowsAreAligned(backend.screen))
            let row = backend.screen.lines[1]
            #expect(row.contains("agenda: Q3 review · pinned: slides"), "\(row)")
            if size.columns > 100 {
                let spotlight = state.peer("p1")?.displayName ?? "?"
                #expect(row.contains("spotlight: \(spotlight) · zeta: last"), "\(row)")
            }
        }
    }

    @Test("/agenda and /pin set the keys, an empty one clears; a change is a chat line")
    func commands() {
        let state = Fixtures.room(others: 1)
        var model = MeetingModel()
        #expect(model.runLine("/agenda Q3 review, then hiring", state: state)
            == [.setState(key: "agenda", value: "Q3 review, then hiring")])
        #expect(model.runLine("/pin", state: state) == [.setState(key: "pinned", value: nil)])
        let change = SessionEvent.stateChanged(StateChanged(key: "agenda", value: "Q3", by: .server, at: Fixtures.start))
        _ = model.apply(RoomUpdate(event: change, state: state), previous: state)
        #expect(model.systemLines.last?.text == "the server set agenda: Q3")
    }
}
