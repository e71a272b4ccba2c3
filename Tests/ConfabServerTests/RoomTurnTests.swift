// The room's turn (RoomHost+Turn.swift): a change that lowers privileges goes
// ahead of the chat sends, joins and resumes waiting for it, and gives up at
// its deadline without disturbing the queue.

@testable import ConfabServer
import ConfabProtocol
import ConfabRooms
import ConfabTestSupport
import Logging
import Synchronization
import Testing

/// Who got the turn, in order, appended from any task.
final class ServedOrder: Sendable {
    private let order = Mutex<[String]>([])
    func append(_ who: String) { order.withLock { $0.append(who) } }
    var all: [String] { order.withLock { $0 } }
}

@Suite("The room's turn: privileged changes go ahead and keep their deadline")
struct RoomTurnTests {
    static func host(_ data: TempDirectory) throws -> RoomHost {
        RoomHost(
            name: "standup", template: TestServer.template(), store: try ChatStore(path: data.path + "/chat.sqlite"),
            metrics: ServerMetrics(), settings: RoomHost.HostSettings(keepalive: KeepaliveInfo(), media: InMemoryMediaPlane()),
            logger: Logger(label: "test"))
    }

    /// Waits until `count` waiters are queued for the turn.
    static func queued(_ count: Int, at host: RoomHost) async -> Bool {
        await waitUntil(timeout: .seconds(10)) { await host.chatTurnWaiters.count == count }
    }

    @Test("a change queued after two chat sends takes the turn before them; the sends keep their order")
    func changeGoesAhead() async throws {
        let data = try TempDirectory()
        defer { data.remove() }
        let host = try Self.host(data)
        let served = ServedOrder()
        await host.takeChatTurn()  // a chat send waiting on the database
        var sends: [Task<Void, Never>] = []
        for index in 1...2 {
            sends.append(
                Task {
                    await host.takeChatTurn()
                    served.append("send \(index)")
                    await host.passChatTurn()
                })
            #expect(await Self.queued(index, at: host))
        }
        let change = Task {
            let taken = await host.takeChatTurnAhead(before: .now + .seconds(30))
            served.append("change")
            if taken { await host.passChatTurn() }
            return taken
        }
        #expect(await Self.queued(3, at: host))
        await host.passChatTurn()
        #expect(await change.value)
        for task in sends { await task.value }
        #expect(served.all == ["change", "send 1", "send 2"])
        #expect(await !host.chatTurnHeld)
    }

    @Test("a change whose deadline passes while the turn is held gets false at once, and the queue goes on")
    func deadlinePasses() async throws {
        let data = try TempDirectory()
        defer { data.remove() }
        let host = try Self.host(data)
        await host.takeChatTurn()
        let send = Task {
            await host.takeChatTurn()
            await host.passChatTurn()
        }
        #expect(await Self.queued(1, at: host))
        let asked = ContinuousClock.now
        let taken = await host.takeChatTurnAhead(before: .now + .milliseconds(200))
        let waited = ContinuousClock.now - asked
        #expect(!taken)
        #expect(waited >= .milliseconds(200) && waited < .seconds(2), "gave up after \(waited)")
        // Only the chat send is left in the queue, and it gets the turn when it is passed.
        #expect(await host.chatTurnWaiters.count == 1)
        await host.passChatTurn()
        await send.value
        #expect(await !host.chatTurnHeld)
    }
}
