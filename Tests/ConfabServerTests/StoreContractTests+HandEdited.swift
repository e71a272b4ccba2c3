// A chat log file someone edited by hand: a row whose column no longer holds
// what it should (text where a number belongs) is left out of what the server
// reads back; the server goes on, and the rows around it are all there.

import ConfabProtocol
import ConfabTestSupport
import Foundation
import GRDB
import Testing

@testable import ConfabServer

extension StoreContractTests {
    @Test("a SQLite file edited by hand: text where a number belongs loses that row only, in chat history, call history and meeting codes")
    func handEditedFile() throws {
        let directory = try TempDirectory()
        let path = directory.file("confab.sqlite")
        defer { directory.remove() }
        do {
            let store = try ChatStore(path: path)
            defer { store.close() }
            for text in ["one", "two", "three"] {
                _ = try store.appendChat(draft(from: "alice", text), room: room, recipients: [], idempotencyKey: nil)
            }
            for n in 1...2 {
                try store.recordCall(
                    CallRecord(
                        call: CallID(uncheckedRawValue: "call-\(n)"), direction: .outgoing, peers: [bob], outcome: .answered,
                        startedAt: Timestamp(millisecondsSince1970: 1_700_000_000_000 + Int64(n)), durationMs: 1_000),
                    user: alice)
            }
            try store.prepareMeetingCodes()
            for code in ["CODE-GOOD", "CODE-BAD"] {
                _ = try store.insertCode(MeetingCodeStoreTests.code(code, uses: 5))
            }
        }
        let editor = try DatabaseQueue(path: path)
        try editor.write { db in
            try db.execute(sql: "UPDATE chat_message SET sent_at = 'yesterday' WHERE text = 'two'")
            try db.execute(sql: "UPDATE call_record SET duration_ms = 'long' WHERE call = 'call-1'")
            try db.execute(sql: "UPDATE meeting_code SET used = 'none' WHERE code = 'CODE-BAD'")
        }
        try editor.close()

        let store = try ChatStore(path: path)
        defer { store.close() }
        let page = try store.history(room: room, reader: alice, after: nil, before: nil, limit: 50)
        #expect(page.messages.map(\.text) == ["one", "three"])
        #expect(try store.callHistory(user: alice, limit: 10).map(\.call.rawValue) == ["call-2"])
        #expect(try store.codes(room: room).map(\.code) == ["CODE-GOOD"])
        #expect(try store.code("CODE-BAD") == nil)
    }
}
