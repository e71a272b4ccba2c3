import ConfabClient
import Foundation
import Synchronization
import Testing

/// A reading thread, as `confab join --headless` runs one on stdin: puts
/// `lines`, counting each one handed over, and records what each put said.
private final class Writer: Sendable {
    let handed = Atomic<Int>(0)
    let results = Mutex<[Bool]>([])

    init(_ queue: InputLineQueue, lines: [String], finish: Bool = true) {
        Thread { [self] in
            for line in lines {
                let taken = queue.put(line)
                results.withLock { $0.append(taken) }
                handed.add(1, ordering: .relaxed)
            }
            if finish { queue.finish() }
        }.start()
    }

    var count: Int { handed.load(ordering: .relaxed) }
}

@Suite("stdin lines handed to the commands, at most a few waiting")
struct InputLineQueueTests {
    @Test("lines come out in order, and the stream ends once the input ended")
    func inOrder() async {
        let queue = InputLineQueue(capacity: 4)
        let lines = (1...50).map { #"{"cmd":"state","id":"\#($0)"}"# }
        _ = Writer(queue, lines: lines)
        var got: [String] = []
        for await line in queue.lines { got.append(line) }
        #expect(got == lines)
    }

    @Test("a writer faster than the commands waits once `capacity` lines wait, and goes on as each is taken")
    func writerWaits() async {
        let queue = InputLineQueue(capacity: 3)
        let writer = Writer(queue, lines: (1...10).map(String.init))
        #expect(await eventually { writer.count == 3 })
        // Unbounded, the other seven would be in within microseconds.
        try? await Task.sleep(for: .milliseconds(100))
        #expect(writer.count == 3, "the fourth put returned while three lines waited")
        #expect(await queue.next() == "1")
        #expect(await eventually { writer.count == 4 })
        var rest: [String] = []
        while let line = await queue.next() { rest.append(line) }
        #expect(rest == (2...10).map(String.init))
        #expect(writer.results.withLock { $0 } == Array(repeating: true, count: 10))
    }

    @Test("a cancelled reader gets nil at once; a put waiting for room then returns false, and so does every later one")
    func cancelledReader() async {
        let queue = InputLineQueue(capacity: 1)
        let writer = Writer(queue, lines: ["a", "b", "c"], finish: false)
        #expect(await eventually { writer.count == 1 })
        // The room ended while the writer waited to hand over "b".
        let reader = Task {
            var got: [String] = []
            while let line = await queue.next() {
                got.append(line)
                try? await Task.sleep(for: .seconds(60))  // a command that runs until cancelled
            }
            return got
        }
        #expect(await eventually { writer.count == 2 })
        reader.cancel()
        #expect(await reader.value == ["a"])
        #expect(await eventually { writer.count == 3 })
        #expect(writer.results.withLock { $0 } == [true, true, false])
        #expect(queue.put("d") == false)
    }

    @Test("a queue can go while lines still wait in it (the room ended before the bot's last commands ran)")
    func goesWithLinesWaiting() {
        for waiting in 0...3 {
            let queue = InputLineQueue(capacity: 3)
            for index in 0..<waiting { #expect(queue.put("line \(index)")) }
            queue.finish()
        }
        // Reaching here is the test: libdispatch traps when a semaphore is freed
        // with fewer places than it began with, which took the client down as it ended.
    }

    @Test("a reader waiting on an empty queue is woken by cancellation")
    func cancelledWhileWaiting() async {
        let queue = InputLineQueue()
        let reader = Task { await queue.next() }
        try? await Task.sleep(for: .milliseconds(20))
        reader.cancel()
        #expect(await reader.value == nil)
        #expect(queue.put("late") == false)
    }
}
