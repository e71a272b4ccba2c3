import ConfabProtocol
import Foundation
import Testing

/// docs/PROTOCOL.md is the contract other-language clients are written from,
/// so its examples are checked like code: every one decodes, every message
/// type has one, and the error table lists every code.
@Suite("docs/PROTOCOL.md agrees with the code")
struct DocumentationTests {
    struct Block {
        let info: String
        let text: String
        let line: Int
    }

    static func document() throws -> String {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/PROTOCOL.md")
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The fenced code blocks whose info string starts with "json".
    static func jsonBlocks() throws -> [Block] {
        var blocks: [Block] = []
        var current: (info: String, lines: [String], line: Int)?
        for (index, line) in try document().components(separatedBy: "\n").enumerated() {
            if let open = current {
                if line.hasPrefix("```") {
                    blocks.append(Block(info: open.info, text: open.lines.joined(separator: "\n"), line: open.line))
                    current = nil
                } else {
                    current?.lines.append(line)
                }
            } else if line.hasPrefix("```json") {
                current = (String(line.dropFirst(3)), [], index + 1)
            }
        }
        return blocks
    }

    /// Decodes every example block marked `info` as a `Message` (a failure is
    /// an issue naming its line) and returns the message types they show.
    func documentedTypes<Message: ProtocolMessage, Kind: Hashable>(
        _ info: String, as: Message.Type, type: (Message) -> Kind
    ) throws -> Set<Kind> {
        var types = Set<Kind>()
        for block in try Self.jsonBlocks() where block.info == info {
            do {
                types.insert(type(try codec.decode(Data(block.text.utf8), as: Message.self)))
            } catch {
                Issue.record("PROTOCOL.md line \(block.line): \(error)")
            }
        }
        return types
    }

    @Test("every client example decodes, and every client message type has one")
    func clientExamples() throws {
        let types = try documentedTypes("json client", as: ClientMessage.self) { $0.type }
        #expect(
            types == Set(ClientMessageType.allCases), "missing: \(Set(ClientMessageType.allCases).subtracting(types))")
    }

    @Test("every server example decodes, and every server message type has one")
    func serverExamples() throws {
        let types = try documentedTypes("json server", as: ServerMessage.self) { $0.type }
        #expect(
            types == Set(ServerMessageType.allCases), "missing: \(Set(ServerMessageType.allCases).subtracting(types))")
    }

    @Test("every other JSON example is a valid peer, role, chat target or chat message")
    func typeExamples() throws {
        let decoder = JSONDecoder()
        let blocks = try Self.jsonBlocks().filter { $0.info == "json" }
        #expect(blocks.count >= 6)
        for block in blocks {
            let data = Data(block.text.utf8)
            let decodes =
                (try? decoder.decode(PeerInfo.self, from: data)) != nil
                || (try? decoder.decode(Role.self, from: data)) != nil
                || (try? decoder.decode(ChatTarget.self, from: data)) != nil
                || (try? decoder.decode(ChatMessage.self, from: data)) != nil
            #expect(decodes, "PROTOCOL.md line \(block.line) decodes as none of the documented types")
        }
    }

    @Test(
        "the error table lists every code with its name, and whether it closes the connection",
        arguments: ErrorCode.allCases)
    func errorTable(code: ErrorCode) throws {
        let row = try Self.document().components(separatedBy: "\n").first { $0.hasPrefix("| \(code.rawValue) |") }
        let cells = row?.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
        #expect(cells.count == 4 || cells.count == 3, "no row for \(code.rawValue)")
        guard cells.count >= 3 else { return }
        #expect(cells[1] == "\(code)")
        #expect((cells.count == 4 && cells[3] == "yes") == code.closesConnection, "closes column of \(code.rawValue)")
    }

    @Test("the limits quoted in the document are the ones in the code")
    func limits() throws {
        let text = try Self.document()
        #expect(text.contains("65,536 bytes") && ProtocolLimits.maximumClientMessageBytes == 65_536)
        #expect(
            text.contains("16 keys per room; key 1 … 32 characters; value 500 grapheme clusters")
                && ProtocolLimits.maximumStateKeys == 16 && ProtocolLimits.maximumStateKeyBytes == 32
                && ProtocolLimits.maximumStateValueCharacters == 500)
        #expect(text.contains("4,000 grapheme clusters") && ProtocolLimits.maximumChatCharacters == 4_000)
        #expect(
            text.contains("non-empty base64, at most 1,024 characters")
                && ProtocolLimits.maximumSealedKeyCharacters == 1_024)
        #expect(text.contains("per recipient (at most 1,000,") && ProtocolLimits.maximumSealedKeys == 1_000)
        #expect(text.contains("5 messages/s, bursts of 10") && RateLimits.chat == RateLimit(perSecond: 5, burst: 10))
        #expect(text.contains("| 5 a second, bursts of 10 |") && RateLimits.changes == RateLimit(perSecond: 5, burst: 10))
        #expect(
            text.contains("50 messages/s, bursts of 100")
                && RateLimits.allMessages == RateLimit(perSecond: 50, burst: 100))
        #expect(text.contains("dead after 15,000 ms") && LifecycleDefaults.deadAfterMs == 15_000)
        #expect(text.contains("ping every 5,000 ms") && LifecycleDefaults.pingIntervalMs == 5_000)
        #expect(text.contains("| resume grace | 20,000 ms |") && LifecycleDefaults.resumeGraceMs == 20_000)
    }
}
