// `/device` in `confab connect --screen-reader`: the call room's sound
// devices listed, or one switched, as plain lines (the call screen's
// `/device`, MeetingModel.runDevice, says the same in its notice line).
import ConfabClient
import Synchronization
extension CallLineFront {
    /// Answers `/device …` in a task of its own (switching opens a card): the lines follow when it is done.
    func runDevice(_ line: String, inRoom: Bool) {
        let voice = inRoom ? room.current.flatMap(roomVoice) : nil
        let write = self.write
        Task {
            let lines = await CallLineFront.device(line, voice: voice)
            for text in lines { write(text) }
        }
    }

    /// What `/device …` answers: the devices, a switch's outcome, or why not.
    static func device(_ line: String, voice: (any AudioControls)?) async -> [String] {
        guard let voice else { return ["no sound devices: /device works in a call that has audio"] }
        let words = line.split(separator: " ")
        guard words.count > 1 else { return ["Sound devices:"] + (await voice.devices()).map { "  " + $0 } }
        let direction = words[1].lowercased()
        let name = MeetingModel.rest(of: line, after: 1)
        guard direction == "input" || direction == "output", !name.isEmpty else {
            return ["usage: /device [input|output NAME]"]
        }
        let (switched, text) = await voice.switchDevice(input: direction == "input", to: name)
        return [switched ? "switched the \(text)" : "not switched: \(text)"]
    }
}

/// The session of the call's room last joined, from the call client's listener to the line reader.
final class JoinedSession: Sendable {
    private let session = Mutex<ConfabSession?>(nil)

    func set(_ joined: ConfabSession) { session.withLock { $0 = joined } }

    var current: ConfabSession? { session.withLock { $0 } }
}
