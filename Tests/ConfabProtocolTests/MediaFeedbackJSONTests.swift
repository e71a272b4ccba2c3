import ConfabProtocol
import ConfabTestSupport
import Foundation
import Testing

/// `media.loss` and `media.feedback` pinned to hand-written JSON, as in ExpectedJSONTests.
@Suite("Loss feedback messages keep their documented JSON")
struct MediaFeedbackJSONTests {
    static let report = ClientMessage(
        id: "c19",
        .reportLoss(
            LossReport(tracks: [
                TrackLoss(track: "alice:mic", expected: 50, lost: 6), TrackLoss(track: "bob:mic", expected: 49, lost: 0),
            ])))
    static let reportJSON = """
        {"v": 1, "type": "media.loss", "id": "c19",
         "tracks": [{"track": "alice:mic", "expected": 50, "lost": 6}, {"track": "bob:mic", "expected": 49, "lost": 0}]}
        """
    static let feedback = ServerMessage(
        .mediaFeedback(MediaFeedback(track: "alice:mic", lossPermille: 120, uplinkLossPermille: 31, listeners: 2)))
    static let feedbackJSON = """
        {"v": 1, "type": "media.feedback", "track": "alice:mic", "lossPermille": 120, "uplinkLossPermille": 31, "listeners": 2}
        """

    @Test("media.loss encodes to the documented keys and decodes back")
    func lossReport() throws {
        #expect(try encodedJSON(Self.report) == JSONValue(parsing: Self.reportJSON))
        #expect(try decodeClient(Self.reportJSON) == Self.report)
    }

    @Test("media.feedback encodes to the documented keys and decodes back")
    func feedbackMessage() throws {
        #expect(try encodedJSON(Self.feedback) == JSONValue(parsing: Self.feedbackJSON))
        #expect(try decodeServer(Self.feedbackJSON) == Self.feedback)
    }

    @Test("media.feedback without an uplink figure leaves the member out")
    func feedbackWithoutUplink() throws {
        let message = ServerMessage(
            .mediaFeedback(MediaFeedback(track: "bob:mic", lossPermille: 0, uplinkLossPermille: nil, listeners: 1)))
        let json = #"{"v": 1, "type": "media.feedback", "track": "bob:mic", "lossPermille": 0, "listeners": 1}"#
        #expect(try encodedJSON(message) == JSONValue(parsing: json))
        #expect(try decodeServer(json) == message)
    }

    @Test(
        "impossible figures are refused as invalid messages",
        arguments: [
            #"{"v":1,"type":"media.loss","id":"c1","tracks":[{"track":"a:mic","expected":10,"lost":11}]}"#,
            #"{"v":1,"type":"media.loss","id":"c1","tracks":[{"track":"a:mic","expected":-1,"lost":0}]}"#,
            #"{"v":1,"type":"media.loss","id":"c1","tracks":[{"track":"a:mic","expected":10001,"lost":0}]}"#,
            #"{"v":1,"type":"media.loss","id":"c1","tracks":[{"track":"a:mic","expected":5}]}"#,
            #"{"v":1,"type":"media.loss","id":"c1","tracks":[{"track":"a:mic","expected":5.5,"lost":1}]}"#,
            #"{"v":1,"type":"media.loss","id":"c1"}"#,
        ])
    func refused(text: String) {
        do {
            _ = try decodeClient(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.code == .invalidMessage)
            #expect(error.requestID == "c1")
        }
    }

    @Test("a server figure above 1000 ‰ is refused")
    func refusedFeedback() {
        #expect(throws: ProtocolError.self) {
            try decodeServer(#"{"v":1,"type":"media.feedback","track":"a:mic","lossPermille":1001,"listeners":1}"#)
        }
    }

    @Test(
        "a server figure out of range, missing, null or mistyped names the field and what is wrong",
        arguments: [
            (#"{"v":1,"type":"media.feedback","track":"a:mic","lossPermille":120,"uplinkLossPermille":1001,"listeners":1}"#,
             "uplinkLossPermille", "must be in 0...1000"),
            (#"{"v":1,"type":"media.feedback","track":"a:mic","lossPermille":-1,"listeners":1}"#,
             "lossPermille", "must be in 0...1000"),
            (#"{"v":1,"type":"media.feedback","track":"a:mic","lossPermille":1,"listeners":-1}"#,
             "listeners", "must be in 0...9007199254740992"),
            (#"{"v":1,"type":"media.feedback","track":"a:mic","listeners":1}"#, "lossPermille", "missing"),
            (#"{"v":1,"type":"media.feedback","track":"a:mic","lossPermille":null,"listeners":1}"#,
             "lossPermille", "must not be null"),
            (#"{"v":1,"type":"media.feedback","track":"a:mic","lossPermille":1,"uplinkLossPermille":"x","listeners":1}"#,
             "uplinkLossPermille", "expected an integer"),
            (#"{"v":1,"type":"speakers","speakers":[{"peer":"a","track":"a:mic","level":101}]}"#,
             "speakers[0].level", "must be in 0...100"),
            (#"{"v":1,"type":"room.counts","total":2,"roles":[{"role":"host","count":-1}]}"#,
             "roles[0].count", "must be in 0...9007199254740992"),
        ])
    func refusedFigureNamed(text: String, field: String, detail: String) {
        do {
            _ = try decodeServer(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.reason == .invalidMessage(field: field, detail: detail))
        }
    }

    @Test("a field checked by hand reports a null the same way")
    func nullCheckedByHand() {
        #expect(
            CodecErrorTests.clientError(
                #"{"v":1,"type":"media.loss","id":"c1","tracks":[{"track":"a:mic","expected":null,"lost":0}]}"#)?.reason
                == .invalidMessage(field: "tracks[0].expected", detail: "must not be null"))
    }

    @Test("a null uplink figure reads as absent")
    func nullUplink() throws {
        let message = try decodeServer(
            #"{"v":1,"type":"media.feedback","track":"a:mic","lossPermille":5,"uplinkLossPermille":null,"listeners":1}"#)
        #expect(message == ServerMessage(.mediaFeedback(MediaFeedback(track: "a:mic", lossPermille: 5, listeners: 1))))
    }
}
