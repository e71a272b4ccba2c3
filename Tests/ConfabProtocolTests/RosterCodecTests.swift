import ConfabProtocol
import Foundation
import Testing

@Suite("roster.list and room.counts on the wire")
struct RosterCodecTests {
    @Test("a roster page limit outside 1 … 100 is refused, naming the field", arguments: [0, 101, -5])
    func limitOutOfRange(limit: Int) {
        let error = CodecErrorTests.clientError(#"{"v":1,"type":"roster.list","id":"r1","limit":\#(limit)}"#)
        #expect(error?.code == .invalidMessage)
        #expect(error?.requestID == "r1")
        #expect(error?.codedError.message.contains("limit") == true)
    }

    @Test("a roster request without members asks for the first page of 50")
    func defaults() throws {
        let message = try ProtocolCodec().decode(
            Data(#"{"v":1,"type":"roster.list","id":"r1"}"#.utf8), as: ClientMessage.self)
        #expect(message.body == .listRoster(RosterRequest(limit: 50)))
    }

    @Test("a negative count is refused")
    func negativeCount() {
        let error = CodecErrorTests.serverError(
            #"{"v":1,"type":"room.counts","total":3,"roles":[{"role":"host","count":-1}]}"#)
        #expect(error?.code == .invalidMessage)
    }
}
