// A media plane without a socket, for building a RoomHost in tests: it keeps
// the forwarding tables the room posts and hands out the reports a test sets.

@testable import ConfabServer
import ConfabProtocol
import Synchronization

final class InMemoryMediaPlane: RoomMediaPlane {
    private struct State {
        var nextID = 1
        var tables: [Int: [MediaPeerConfig]] = [:]
        var loudest: [Int: Int] = [:]
        var removed: Set<Int> = []
        var reports: [MediaPeerReport] = []
        var posts = Posts()
    }

    /// How many of each change the rooms posted.
    struct Posts: Equatable {
        var tables = 0
        var rows = 0
        var listenerChanges = 0
    }

    private let state = Mutex(State())
    static let host = "192.0.2.10"
    static let port = 7_443

    func makeID() -> Int {
        state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    func endpoint(username: String, password: String, signallingLocalAddress: String?) -> MediaEndpoint {
        MediaEndpoint(host: Self.host, port: Self.port, username: username, password: password)
    }

    func updateRoom(_ room: Int, peers: [MediaPeerConfig], loudest: Int?) {
        state.withLock {
            $0.tables[room] = peers
            $0.posts.tables += 1
            $0.loudest[room] = loudest
            $0.removed.remove(room)
        }
    }

    func addListener(_ room: Int, _ config: MediaPeerConfig, publishers: [Int]) {
        state.withLock { state in
            guard var table = state.tables[room] else { return }
            for index in table.indices where publishers.contains(table[index].slot) {
                table[index].subscribers.append(config.slot)
            }
            table.append(config)
            state.tables[room] = table
            state.posts.listenerChanges += 1
        }
    }

    func removeListeners(_ room: Int, slots: [Int]) {
        state.withLock { state in
            guard var table = state.tables[room] else { return }
            table.removeAll { slots.contains($0.slot) }
            for index in table.indices { table[index].subscribers.removeAll { slots.contains($0) } }
            state.tables[room] = table
            state.posts.listenerChanges += 1
        }
    }

    func updatePeer(_ room: Int, slot: Int, ssrcs: (UInt32?, UInt32?), mayPublish: Bool) {
        state.withLock { state in
            guard var table = state.tables[room], let index = table.firstIndex(where: { $0.slot == slot }) else { return }
            table[index].ssrcs = ssrcs
            table[index].mayPublish = mayPublish
            state.tables[room] = table
            state.posts.rows += 1
        }
    }

    /// What the rooms posted so far.
    var posts: Posts { state.withLock { $0.posts } }

    func removeRoom(_ room: Int) {
        state.withLock {
            $0.tables[room] = nil
            $0.removed.insert(room)
        }
    }

    func takeLevels() -> [MediaPeerReport] { state.withLock { $0.reports } }

    func reports() -> [MediaPeerReport] { state.withLock { $0.reports } }

    /// Sets what the next `takeLevels` and `reports` return.
    func setReports(_ reports: [MediaPeerReport]) { state.withLock { $0.reports = reports } }

    /// The only room's table, by peer (nil when no room or more than one has a table).
    var table: [PeerID: MediaPeerConfig]? {
        state.withLock { state in
            guard state.tables.count == 1, let peers = state.tables.first?.value else { return nil }
            return Dictionary(uniqueKeysWithValues: peers.map { ($0.peer, $0) })
        }
    }

    /// The id of the only room with a table.
    var room: Int? { state.withLock { $0.tables.count == 1 ? $0.tables.first?.key : nil } }

    var removedRooms: Set<Int> { state.withLock { $0.removed } }
}
