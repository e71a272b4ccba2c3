import ConfabProtocol
import ConfabTestSupport
import Foundation
import Testing

@Suite("JSON round trip of every message")
struct RoundTripTests {
    @Test("client samples cover every client message type")
    func clientCoverage() {
        #expect(Set(Samples.client.map(\.type)) == Set(ClientMessageType.allCases))
    }

    @Test("server samples cover every server message type")
    func serverCoverage() {
        #expect(Set(Samples.server.map(\.type)) == Set(ServerMessageType.allCases))
    }

    @Test("a client message decodes to what was encoded", arguments: Samples.client)
    func clientRoundTrip(message: ClientMessage) throws {
        let data = codec.encode(message)
        let decoded: ClientMessage = try codec.decode(data)
        #expect(decoded == message)
    }

    @Test("a server message decodes to what was encoded", arguments: Samples.server)
    func serverRoundTrip(message: ServerMessage) throws {
        let data = codec.encode(message)
        let decoded: ServerMessage = try codec.decode(data)
        #expect(decoded == message)
    }

    @Test("every client message carries v, type and id", arguments: Samples.client)
    func clientEnvelope(message: ClientMessage) throws {
        try expectEnvelope(encodedJSON(message), type: message.type.rawValue, id: message.id.rawValue)
    }

    @Test("server events carry no id; replies carry the request's", arguments: Samples.server)
    func serverEnvelope(message: ServerMessage) throws {
        try expectEnvelope(encodedJSON(message), type: message.type.rawValue, id: message.id?.rawValue)
    }

    /// The top level is an object with `v` 1, this `type`, and this `id` (none when nil).
    private func expectEnvelope(
        _ json: JSONValue, type: String, id: String?, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard case .object(let members) = json else {
            Issue.record("not an object: \(json)", sourceLocation: sourceLocation)
            return
        }
        #expect(members["v"] == .number(1), sourceLocation: sourceLocation)
        #expect(members["type"] == .string(type), sourceLocation: sourceLocation)
        #expect(members["id"] == id.map { .string($0) }, sourceLocation: sourceLocation)
    }

    @Test("encoding is deterministic: the envelope, then the payload sorted by key, no escaped slashes")
    func deterministicOutput() {
        let message = ServerMessage(.serverGoingAway(ServerGoingAway(reason: "a/b", retryAfterMs: 5)))
        let text = String(decoding: codec.encode(message), as: UTF8.self)
        #expect(text == #"{"v":1,"type":"server.goingAway","reason":"a/b","retryAfterMs":5}"#)
    }

    @Test("a rate limit's wait is written when there is one, and one that is not a whole number is dropped, not the error")
    func retryAfter() throws {
        let refusal = ServerMessage(id: "c12", .error(CodedError(.chatRateLimited, "slow", retryAfterMs: 180)))
        let text = String(decoding: codec.encode(refusal), as: UTF8.self)
        #expect(text == #"{"v":1,"type":"error","id":"c12","code":5003,"message":"slow","retryAfterMs":180}"#)
        let plain = String(decoding: codec.encode(ServerMessage(.error(CodedError(.chatEmpty, "x")))), as: UTF8.self)
        #expect(!plain.contains("retryAfterMs"))
        for odd in ["1.5", #""soon""#, "1e30", "null"] {
            let json = #"{"v":1,"type":"error","id":"c12","code":5003,"message":"slow","retryAfterMs":"# + odd + "}"
            let decoded = try codec.decode(Data(json.utf8), as: ServerMessage.self)
            guard case .error(let error) = decoded.body else {
                Issue.record("\(odd): \(decoded)")
                continue
            }
            #expect(error.code == .chatRateLimited && error.message == "slow" && error.retryAfterMs == nil, "\(odd)")
        }
    }

    @Test("type strings are unique within each direction")
    func uniqueTypeStrings() {
        #expect(Set(ClientMessageType.allCases.map(\.rawValue)).count == ClientMessageType.allCases.count)
        #expect(Set(ServerMessageType.allCases.map(\.rawValue)).count == ServerMessageType.allCases.count)
    }

    @Test("only join, resume, connect and ping may come before joining")
    func sessionRequirement() {
        let open = ClientMessageType.allCases.filter { !$0.requiresSession }
        #expect(Set(open) == [.join, .resume, .connect, .ping])
    }
}
