import ConfabProtocol
import Foundation
import Testing

@Suite("The error catalog")
struct ErrorCodeTests {
    @Test("every code lies in its area's thousand", arguments: ErrorCode.allCases)
    func area(code: ErrorCode) {
        #expect(code.rawValue / 1000 == code.area.rawValue)
        #expect(code.area.generalCode.rawValue == code.area.rawValue * 1000)
    }

    @Test("each area has its general x000 code")
    func generalCodes() {
        #expect(ErrorCode.Area.allCases.map(\.generalCode.rawValue) == [1000, 2000, 3000, 4000, 5000, 6000, 9000])
    }

    @Test("the numbers the issue names are where the docs say")
    func pinnedNumbers() {
        #expect(ErrorCode.messageTooLarge.rawValue == 1001)
        #expect(ErrorCode.unknownType.rawValue == 1003)
        #expect(ErrorCode.tokenMissing.rawValue == 2001)
        #expect(ErrorCode.tokenSignatureInvalid.rawValue == 2003)
        #expect(ErrorCode.tokenExpired.rawValue == 2004)
        #expect(ErrorCode.tokenWrongRoom.rawValue == 2006)
        #expect(ErrorCode.tokenWrongRole.rawValue == 2007)
        #expect(ErrorCode.cannotMuteOthers.rawValue == 3002)
        #expect(ErrorCode.roomLocked.rawValue == 4002)
        #expect(ErrorCode.chatTooLong.rawValue == 5001)
        #expect(ErrorCode.chatRateLimited.rawValue == 5003)
        #expect(ErrorCode.noRecipients.rawValue == 5004)
        #expect(ErrorCode.callForbidden.rawValue == 6001)
        #expect(ErrorCode.callRateLimited.rawValue == 6002)
    }

    static let unknownCodes: [(Int, ErrorCode)] = [
        (1999, .malformedMessage), (2999, .unauthorized), (3500, .permissionDenied), (4321, .roomUnavailable),
        (5050, .chatRejected), (6999, .callRejected), (9999, .internalError), (7001, .internalError), (0, .internalError),
        (-3, .internalError),
        (42, .internalError), (12_000, .internalError),
    ]

    @Test("a code from a newer server reads as its area's general code", arguments: unknownCodes)
    func unknownCode(wire: Int, expected: ErrorCode) throws {
        #expect(ErrorCode(wireValue: wire) == expected)
        let decoded = try decodeServer(#"{"v":1,"type":"error","code":\#(wire),"message":"new"}"#)
        #expect(decoded.body == .error(CodedError(expected, "new")))
    }

    @Test("failed joins and auth errors close the connection; ordinary refusals do not")
    func closing() {
        #expect(ErrorCode.tokenExpired.closesConnection)
        #expect(ErrorCode.roomLocked.closesConnection)
        #expect(ErrorCode.sessionReplaced.closesConnection)
        #expect(!ErrorCode.cannotMuteOthers.closesConnection)
        #expect(!ErrorCode.chatRateLimited.closesConnection)
        #expect(!ErrorCode.unknownType.closesConnection)
        #expect(ErrorCode.tokenExpired.webSocketCloseCode == .policyViolation)
        #expect(ErrorCode.shuttingDown.webSocketCloseCode == .goingAway)
        #expect(ErrorCode.unsupportedVersion.webSocketCloseCode == .protocolError)
        #expect(WebSocketCloseCode.policyViolation.rawValue == 1008)
    }
}
