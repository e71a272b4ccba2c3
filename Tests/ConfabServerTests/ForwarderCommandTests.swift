// The media thread applies only the last forwarding table each room posted
// in a burst (a room posts its whole table on every join).

@testable import ConfabServer
import Testing

@Suite("Forwarder commands: a burst of tables is applied as the last table of each room")
struct ForwarderCommandTests {
    static func peers(_ count: Int) -> [MediaPeerConfig] {
        let harness = ForwarderTests.Harness()
        return (0..<count).map { _ in harness.config(ForwarderTests.alice, mayPublish: true, subscribers: []) }
    }

    @Test("only the last command of each room is kept, in the order they were posted")
    func latestPerRoom() {
        let burst: [ForwarderCommand] = [
            .room(1, Self.peers(1)), .room(2, Self.peers(1)), .room(1, Self.peers(2)), .removeRoom(3),
            .room(2, Self.peers(3), loudest: 3), .room(1, Self.peers(4)),
        ]
        let kept = ForwarderCommand.latestPerRoom(burst)
        #expect(kept.map(\.room) == [3, 2, 1])
        guard case .room(2, let two, let loudest) = kept[1], case .room(1, let one, nil) = kept[2] else {
            Issue.record("the tables kept are not the last ones: \(kept)")
            return
        }
        #expect(two.count == 3 && loudest == 3)
        #expect(one.count == 4)
    }

    @Test("listener changes after a room's last table are kept after it, in order; those before it are dropped")
    func listenerChangesKept() {
        let listener = Self.peers(1)[0]
        let burst: [ForwarderCommand] = [
            .addListener(1, listener, publishers: []), .room(1, Self.peers(2)), .addListener(2, listener, publishers: []),
            .addListener(1, listener, publishers: [7]), .removeListeners(1, slots: [9]), .room(2, Self.peers(1)),
        ]
        let kept = ForwarderCommand.latestPerRoom(burst)
        #expect(kept.map(\.room) == [1, 1, 1, 2])
        guard case .room(1, _, _) = kept[0], case .addListener(1, _, let heard) = kept[1],
            case .removeListeners(1, let slots) = kept[2], case .room(2, _, _) = kept[3]
        else {
            Issue.record("not the last table and the changes after it: \(kept)")
            return
        }
        #expect(heard == [7] && slots == [9])
    }

    @Test("a row change after a room's last table is kept after it; one before it is dropped (the table has it)")
    func rowChangesKept() {
        let burst: [ForwarderCommand] = [
            .updatePeer(1, slot: 4, ssrcs: (1, nil), mayPublish: true), .room(1, Self.peers(2)),
            .updatePeer(1, slot: 4, ssrcs: (2, 1), mayPublish: false),
        ]
        let kept = ForwarderCommand.latestPerRoom(burst)
        guard kept.count == 2, case .room(1, _, _) = kept[0], case .updatePeer(1, 4, let ssrcs, false) = kept[1] else {
            Issue.record("not the last table and the row change after it: \(kept)")
            return
        }
        #expect(ssrcs.0 == 2 && ssrcs.1 == 1)
    }

    @Test("a removal after a table removes; a table after a removal installs again")
    func removalOrder() {
        #expect(ForwarderCommand.latestPerRoom([.room(5, Self.peers(1)), .removeRoom(5)]).map(\.room) == [5])
        guard case .removeRoom(5) = ForwarderCommand.latestPerRoom([.room(5, Self.peers(1)), .removeRoom(5)])[0] else {
            Issue.record("the removal was not kept")
            return
        }
        guard case .room(5, _, _) = ForwarderCommand.latestPerRoom([.removeRoom(5), .room(5, Self.peers(1))])[0] else {
            Issue.record("the table after the removal was not kept")
            return
        }
    }
}
