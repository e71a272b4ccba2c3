// The host's audience dialog: what it asks the server, what it shows from the
// pages that come back, and where its actions go.
import ConfabProtocol
import Foundation
import Testing

@testable import ConfabClient
@testable import ConfabTUI

@Suite("audience dialog")
struct AudienceBrowserTests {
    /// A listener of the audience (not in the room's state: quiet peers are not announced).
    func listener(_ index: Int, _ name: String, hand: Bool = false) -> PeerInfo {
        PeerInfo(
            id: PeerID(uncheckedRawValue: "aud\(index)"), name: name, role: "listener",
            joinedAt: Fixtures.start.adding(milliseconds: index), handRaisedAt: hand ? Fixtures.start : nil, tracks: [])
    }

    /// The page `request` gets: `peers`, then `next` (nil: the last page), out of `total`.
    func deliver(
        _ peers: [PeerInfo], for request: RosterRequest, next: String? = nil, total: Int? = nil,
        to model: inout MeetingModel, state: RoomState
    ) {
        let page = RosterPage(peers: peers, next: next, total: total ?? peers.count)
        _ = model.apply(RoomUpdate(event: .rosterPage(page, request: request), state: state), previous: state)
    }

    /// The two first-page requests the dialog sends for `query`.
    func rosterRequests(_ commands: [MeetingCommand]) -> [RosterRequest] {
        commands.compactMap { if case .listRoster(let request) = $0 { request } else { nil } }
    }

    func screenText(_ model: MeetingModel, _ state: RoomState, size: Size = Size(columns: 100, rows: 30)) -> String {
        screen(state, size: size, model: model).0.text
    }

    @Test("A opens the audience for a host: hands up first (a full page), then everyone else; a listener is told no")
    func opensForHostsOnly() throws {
        let host = Fixtures.room(others: 2)
        var model = MeetingModel()
        let requests = rosterRequests(model.handle(.character("A"), state: host))
        #expect(requests.count == 2)
        #expect(requests.first?.handRaised == true && requests.first?.limit == ProtocolLimits.maximumRosterPageSize)
        #expect(requests.last?.handRaised == false && requests.last?.cursor == nil && requests.last?.namePrefix == nil)
        guard case .audience = model.overlay else { throw Failure("no audience dialog: \(String(describing: model.overlay))") }
        #expect(screenText(model, host).contains("reading the audience…"))

        let listenerRoom = Fixtures.room(others: 2, role: "listener")
        var listenerModel = MeetingModel()
        #expect(listenerModel.handle(.character("A"), state: listenerRoom).isEmpty)
        #expect(listenerModel.overlay == nil)
        #expect(listenerModel.input.notice?.text == "only a host may browse the audience")
    }

    @Test("raised hands are listed before everyone else, with the count and the role of each")
    func handsFirst() throws {
        let state = Fixtures.room(others: 2)
        var model = MeetingModel()
        let requests = rosterRequests(model.handle(.character("A"), state: state))
        deliver([listener(1, "Olive Early"), listener(2, "Pat Plain")], for: requests[1], next: "c2", total: 1_300,
                to: &model, state: state)
        deliver([listener(9, "Quinn Handup", hand: true)], for: requests[0], to: &model, state: state)
        let text = screenText(model, state)
        #expect(text.contains("Audience · 1,301 in the room"))
        let quinn = try #require(text.range(of: "✋ Quinn Handup"))
        let olive = try #require(text.range(of: "Olive Early"))
        #expect(quinn.lowerBound < olive.lowerBound, "the raised hand comes first")
        #expect(text.contains("↓ more"))
        #expect(text.contains("listener"))
    }

    @Test("typing searches by the start of a name; a page for an older search is dropped; Backspace widens it")
    func search() throws {
        let state = Fixtures.room(others: 2)
        var model = MeetingModel()
        let first = rosterRequests(model.handle(.character("A"), state: state))
        let g = rosterRequests(model.handle(.character("g"), state: state))
        #expect(g.map(\.namePrefix) == ["g", "g"])
        let gr = rosterRequests(model.handle(.character("r"), state: state))
        #expect(gr.map(\.namePrefix) == ["gr", "gr"])
        // The unfiltered page arrives late: it must not show under "gr".
        deliver([listener(1, "Zed Late")], for: first[1], to: &model, state: state)
        deliver([listener(2, "Grace Match")], for: gr[1], to: &model, state: state)
        var text = screenText(model, state)
        #expect(text.contains("Search: gr"))
        #expect(text.contains("Grace Match"))
        #expect(!text.contains("Zed Late"))
        #expect(text.contains("Audience · 1 found"))
        let widened = rosterRequests(model.handle(.backspace, state: state))
        #expect(widened.map(\.namePrefix) == ["g", "g"])
        deliver([], for: widened[0], to: &model, state: state)
        deliver([], for: widened[1], to: &model, state: state)
        text = screenText(model, state)
        #expect(text.contains("nobody whose name starts with that"))
    }

    @Test("moving down to the end of what arrived reads the next page, once, and appends it")
    func paging() throws {
        let state = Fixtures.room(others: 2)
        var model = MeetingModel()
        let requests = rosterRequests(model.handle(.character("A"), state: state))
        deliver([], for: requests[0], to: &model, state: state)
        deliver((0..<8).map { listener($0, "Person \($0)") }, for: requests[1], next: "after-8", total: 12,
                to: &model, state: state)
        var asked: [RosterRequest] = []
        for _ in 0..<7 { asked += rosterRequests(model.handle(.down, state: state)) }
        #expect(asked.count == 1, "one request for the next page while it is on its way")
        #expect(asked.first?.cursor == "after-8" && asked.first?.handRaised == false)
        deliver((8..<12).map { listener($0, "Person \($0)") }, for: try #require(asked.first), to: &model, state: state)
        for _ in 0..<10 { _ = model.handle(.down, state: state) }
        guard case .audience(let browser) = model.overlay else { throw Failure("the dialog closed") }
        #expect(browser.entries.count == 12)
        #expect(browser.selectedPeer?.displayName == "Person 11")
        #expect(browser.next == nil)
        #expect(screenText(model, state).contains("Person 11"))
    }

    @Test("Enter opens the person's actions; asking them on stage goes to the server and back to the audience")
    func promote() throws {
        let state = Fixtures.room(others: 2)
        var model = MeetingModel()
        let requests = rosterRequests(model.handle(.character("A"), state: state))
        let quinn = listener(9, "Quinn Handup", hand: true)
        deliver([quinn], for: requests[0], to: &model, state: state)
        deliver([], for: requests[1], to: &model, state: state)
        _ = model.handle(.enter, state: state)
        guard case .actions(let menu) = model.overlay else { throw Failure("no action menu") }
        #expect(menu.peer == quinn.id)
        #expect(menu.items.contains(.changeRole("speaker")))
        #expect(menu.items.contains(.remove))
        #expect(screenText(model, state).contains("Ask to become speaker"))
        // Esc goes back to the audience, not to the meeting.
        _ = model.handle(.escape, state: state)
        guard case .audience = model.overlay else { throw Failure("Esc left the audience") }
        _ = model.handle(.enter, state: state)
        let index = try #require(menu.items.firstIndex(of: .changeRole("speaker")))
        for _ in 0..<index { _ = model.handle(.down, state: state) }
        let commands = model.handle(.enter, state: state)
        #expect(commands.first == .changeRole(quinn.id, "speaker"))
        #expect(rosterRequests(commands).count == 2, "the lists are read again: the person may have moved")
        guard case .audience = model.overlay else { throw Failure("not back in the audience") }
    }

    @Test("removing someone from the audience asks first, by name, then removes them")
    func remove() throws {
        let state = Fixtures.room(others: 2)
        var model = MeetingModel()
        let requests = rosterRequests(model.handle(.character("A"), state: state))
        let troll = listener(4, "Trouble Maker")
        deliver([troll], for: requests[1], to: &model, state: state)
        _ = model.handle(.enter, state: state)
        guard case .actions(let menu) = model.overlay else { throw Failure("no action menu") }
        let index = try #require(menu.items.firstIndex(of: .remove))
        for _ in 0..<index { _ = model.handle(.down, state: state) }
        _ = model.handle(.enter, state: state)
        #expect(screenText(model, state).contains("Remove Trouble Maker from the room?"))
        #expect(model.handle(.character("y"), state: state) == [.remove(troll.id, reason: nil)])
    }

    @Test("/audience NAME opens it already searching; hostile names are drawn without their escape sequences")
    func commandAndHostileNames() throws {
        let state = Fixtures.room(others: 2)
        var model = MeetingModel()
        model.focus = .input
        model.editor.setText("/audience bo")
        let requests = rosterRequests(model.handle(.enter, state: state))
        #expect(requests.map(\.namePrefix) == ["bo", "bo"])
        deliver([listener(1, "Bo\u{1B}]0;owned\u{07}\u{1B}[2J Evil")], for: requests[1], to: &model, state: state)
        let text = screenText(model, state)
        #expect(text.contains("Search: bo"))
        #expect(text.contains("Bo"))
        #expect(!text.contains("\u{1B}"))
        #expect(!text.contains("owned\u{07}"))
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
