// A bot's side of `confab join --headless --events` and `confab connect
// --headless` (docs/BOTS.md): the command lines it writes, and the JSON lines
// it reads back. A bot parses every line it reads; one that is not one line
// of JSON, or that names another request, leaves it stuck or wrong.
//
//   bytes ─▶ a command line ─▶ HeadlessCommand.parse, HeadlessCallCommand.parse
//              refused:  the error line is one JSON line that names the line's id
//              accepted: the command keeps the line's id; its result line repeats it
//         ─▶ JSONValue: what it reads, it renders on one line and reads back the same
//         ─▶ as chat text from a peer (or a hostile server): the chat line carries it exactly
import ConfabClient
import ConfabProtocol
import Foundation

enum HeadlessFuzzing {
    static func run(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        let line = String(decoding: input, as: UTF8.self)
        let sentID = plainID(of: line)
        switch HeadlessCommand.parse(line) {
        case .success(let command):
            guard HeadlessCommand.names.contains(command.action.name) else {
                throw FuzzViolation("accepted a command named \(command.action.name), which docs/BOTS.md does not list")
            }
            try checkID(command.id, sent: sentID, in: line)
            let result = try object(HeadlessEvents.resultLine(id: command.id, command: command.action.name), "result")
            guard result["id"] as? String == command.id, result["cmd"] as? String == command.action.name else {
                throw FuzzViolation("the result line \(result) does not repeat id \(command.id ?? "none")")
            }
        case .failure(let error):
            try checkError(error, sent: sentID, in: line)
        }
        switch HeadlessCallCommand.parse(line) {
        case .success(let command):
            try checkID(command.id, sent: sentID, in: line)
        case .failure(let error):
            try checkError(error, sent: sentID, in: line)
        }
        try renderedJSON(line)
        try chatLine(line)
    }

    /// The line's `id` as a bot means it, read by Foundation's parser: a
    /// string, or an integer (which the result line repeats as a string).
    /// Nil when a parser and the client may fairly read different ids: a
    /// repeated or escaped key, or a line too long to be read at all.
    private static func plainID(of line: String) -> String?? {
        guard line.utf8.count <= HeadlessCommand.maximumLineBytes,
            line.components(separatedBy: #""id""#).count == 2, !line.lowercased().contains(#"\u00"#),
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { return nil }
        switch object["id"] {
        case nil, is NSNull: return .some(nil)
        case let text as String: return .some(text)
        default: return nil
        }
    }

    private static func checkID(_ id: String?, sent: String??, in line: String) throws(FuzzViolation) {
        guard let sent, id != sent else { return }
        throw FuzzViolation("the command's id is \(id.debugDescription), the line's \(sent.debugDescription): \(line.debugDescription)")
    }

    static func checkError(_ error: HeadlessCommandError, sent: String??, in line: String) throws(FuzzViolation) {
        guard !error.message.isEmpty else { throw FuzzViolation("an error without a message for \(line.debugDescription)") }
        if let sent, let sentID = sent, error.id != sentID {
            throw FuzzViolation("the error names id \(error.id.debugDescription), the line's is \(sentID.debugDescription)")
        }
        let shown = try object(HeadlessEvents.errorLine(error), "error")
        guard shown["kind"] as? String == "badCommand", shown["message"] as? String == error.message,
            shown["id"] as? String == error.id, shown["cmd"] as? String == error.command
        else {
            throw FuzzViolation("the error line \(shown) does not say what \(error) says")
        }
    }

    /// Whatever JSONValue reads, it renders as one line of JSON that reads back the same.
    private static func renderedJSON(_ line: String) throws(FuzzViolation) {
        guard let value = try? JSONValue.parse(line) else { return }
        let rendered = value.rendered
        try oneLine(rendered)
        guard let again = try? JSONValue.parse(rendered), again.rendered == rendered else {
            throw FuzzViolation("\(rendered) does not read back as itself")
        }
        guard (try? JSONSerialization.jsonObject(with: Data(rendered.utf8), options: [.fragmentsAllowed])) != nil else {
            throw FuzzViolation("Foundation does not read the rendered JSON \(rendered)")
        }
    }

    /// Chat text arrives sanitised by a Confab server, but the client does
    /// not rely on it: any text keeps its line one line, and reads back exact.
    private static func chatLine(_ text: String) throws(FuzzViolation) {
        let message = ChatMessage(
            id: MessageID(rawValue: "m1")!, seq: 1, sentAt: Timestamp(millisecondsSince1970: 0), from: "alice",
            fromName: text, fromRole: "host", target: .broadcast, text: text)
        let line = try object(HeadlessEvents.line(for: .chatMessage(message)), "chat.message")
        guard let shown = line["message"] as? [String: Any], shown["text"] as? String == text,
            shown["fromName"] as? String == text
        else {
            throw FuzzViolation("the chat line \(line) does not carry the text \(text.debugDescription)")
        }
    }

    /// A printed line as a bot reads it: one line, a JSON object with the event named.
    private static func object(_ line: String, _ event: String) throws(FuzzViolation) -> [String: Any] {
        try oneLine(line)
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            object["event"] as? String == event
        else {
            throw FuzzViolation("\(line.debugDescription) is not a JSON object with event \(event)")
        }
        return object
    }

    /// No raw line break of any kind and no other control character: each
    /// would split or garble the line in a bot's reader or a terminal.
    static func oneLine(_ line: String) throws(FuzzViolation) {
        for scalar in line.unicodeScalars {
            switch scalar.value {
            case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029:
                throw FuzzViolation("U+\(String(scalar.value, radix: 16)) raw in the printed line \(line.debugDescription)")
            default: continue
            }
        }
    }
}
