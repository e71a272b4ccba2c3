// `confab bench tui`: the cost of a frame. A 160×50 screen with 50 tiles and
// a full chat pane is rendered into the memory backend, with a level change
// every frame (so the diff has real work), and then idle (nothing changed:
// the renderer must send nothing at all).
//
//   RoomState (50 peers, 2,000 messages) ─▶ MeetingView ─▶ Buffer ─▶ diff ─▶ MemoryBackend
import ConfabClient
import ConfabProtocol
import ConfabSocket
import Foundation

public struct TUIBenchmark {
    public struct Result: Sendable {
        public var frames: Int
        public var meanMs: Double
        public var p50Ms: Double
        public var p99Ms: Double
        public var maxMs: Double
        /// The same frames in this thread's CPU time: what the frame costs
        /// without the time other processes held the core (a shared machine).
        public var cpuMeanMs: Double
        public var cpuP50Ms: Double
        public var cpuP99Ms: Double
        public var idleCellsWritten: Int
        public var idleFlushes: Int
        public var idleMeanMs: Double
    }

    public init() {}

    /// A room of `peers` others and `messages` chat messages, all with speech levels.
    public static func room(peers: Int, messages: Int) -> RoomState {
        let start = Timestamp(millisecondsSince1970: 1_700_000_000_000)
        let roles: [Role] = [
            Role(name: "host", priority: 100, publishAudio: true, subscribesTo: ["host", "speaker"], chat: .all, permissions: .all),
            Role(name: "speaker", priority: 50, publishAudio: true, subscribesTo: ["host", "speaker"], chat: .all, permissions: .none),
        ]
        func peer(_ index: Int) -> PeerInfo {
            let id = PeerID(uncheckedRawValue: "peer\(index)")
            return PeerInfo(
                id: id, name: index % 5 == 0 ? "参加者 \(index) 🎤" : "Participant \(index)", role: index == 0 ? "host" : "speaker",
                joinedAt: start.adding(milliseconds: index), handRaisedAt: index % 9 == 0 ? start : nil,
                tracks: [TrackInfo(id: .microphone(of: id), muted: index % 3 == 0)])
        }
        let you = PeerInfo(id: "you", name: "You", role: "host", joinedAt: start, tracks: [TrackInfo(id: .microphone(of: "you"), muted: false)])
        let chat = (1...max(1, messages)).map { seq in
            ChatMessage(
                id: MessageID(uncheckedRawValue: "m\(seq)"), seq: seq, sentAt: start.adding(milliseconds: seq * 1000),
                from: PeerID(uncheckedRawValue: "peer\(seq % peers)"), fromName: "Participant \(seq % peers)", fromRole: "speaker",
                target: .broadcast, text: "message \(seq): the quick brown fox jumps over the lazy dog, 快速的棕色狐狸")
        }
        var state = RoomState()
        reduce(&state, .joined(
            Joined(
                room: RoomInfo(name: "bench", startedAt: start, roles: roles), you: you, peers: (0..<peers).map(peer),
                history: ChatPage(messages: chat, hasMore: false), joinedAt: start, joinTimeMs: 1, resumed: false,
                reconnect: ReconnectInfo(resumeToken: "t")), roundTripMs: 1))
        return state
    }

    /// Renders `frames` frames with changing levels, then `frames` idle ones.
    public func run(frames: Int = 2_000, size: Size = Size(columns: 160, rows: 50)) -> Result {
        var state = Self.room(peers: 49, messages: 2_000)
        let backend = MemoryBackend(size: size)
        let renderer = Renderer(backend: backend)
        var model = MeetingModel()
        let view = MeetingView(timeZone: TimeZone(identifier: "UTC") ?? .current)
        let clock = ContinuousClock()
        var times: [Double] = []
        times.reserveCapacity(frames)
        var cpuTimes: [Double] = []
        cpuTimes.reserveCapacity(frames)
        let speakers = state.orderedPeers.prefix(8).map(\.id)
        for frame in 0..<frames {
            // Eight people talking, levels moving every frame (20 fps in real life).
            let levels = speakers.enumerated().map { index, peer in
                SpeakerLevel(peer: peer, track: .microphone(of: peer), level: (frame * 7 + index * 13) % 100)
            }
            reduce(&state, .speakers(levels))
            let started = clock.now
            let cpuStarted = Self.threadCPUMilliseconds()
            renderer.render { view.render(&model, state: state, into: &$0) }
            cpuTimes.append(Self.threadCPUMilliseconds() - cpuStarted)
            times.append(Self.milliseconds(clock.now - started))
        }
        let flushesBefore = backend.flushCount
        let cellsBefore = renderer.cellsWritten
        var idleTotal = 0.0
        for _ in 0..<frames {
            let started = clock.now
            renderer.render { view.render(&model, state: state, into: &$0) }
            idleTotal += Self.milliseconds(clock.now - started)
        }
        let sorted = times.sorted()
        let cpuSorted = cpuTimes.sorted()
        return Result(
            frames: frames, meanMs: times.reduce(0, +) / Double(max(1, frames)),
            p50Ms: sorted[sorted.count / 2],
            p99Ms: sorted[min(sorted.count - 1, sorted.count * 99 / 100)], maxMs: sorted.last ?? 0,
            cpuMeanMs: cpuTimes.reduce(0, +) / Double(max(1, frames)), cpuP50Ms: cpuSorted[cpuSorted.count / 2],
            cpuP99Ms: cpuSorted[min(cpuSorted.count - 1, cpuSorted.count * 99 / 100)],
            idleCellsWritten: renderer.cellsWritten - cellsBefore, idleFlushes: backend.flushCount - flushesBefore,
            idleMeanMs: idleTotal / Double(max(1, frames)))
    }

    /// This thread's CPU time [ms].
    static func threadCPUMilliseconds() -> Double { Double(ThreadCPUClock.nanoseconds()) / 1e6 }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
