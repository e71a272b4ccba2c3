// The HTTP status of each error the management API answers, as docs/ADMIN.md
// ("Errors") promises it: the status follows the catalog number.

import ConfabProtocol
import HTTPTypes
import Testing

@testable import ConfabServer

@Suite("Management API: the status follows the error code")
struct AdminStatusTests {
    static let documented: [(ErrorCode, HTTPResponse.Status)] = [
        (.malformedMessage, .badRequest), (.invalidMessage, .badRequest), (.roleNotFound, .badRequest),
        (.chatTooLong, .badRequest), (.chatEmpty, .badRequest),
        (.tokenMissing, .unauthorized), (.tokenExpired, .unauthorized), (.notAdminToken, .forbidden),
        (.permissionDenied, .forbidden), (.cannotMuteOthers, .forbidden),
        (.roomNotFound, .notFound), (.peerNotFound, .notFound), (.trackNotFound, .notFound),
        (.codeNotFound, .notFound), (.callNotFound, .notFound), (.unknownEndpoint, .notFound),
        (.roomExists, .conflict), (.stateFull, .conflict), (.roomEnded, .conflict), (.roomLocked, .conflict),
        (.roomFull, .conflict),
        (.codeRevoked, .gone), (.codeExpired, .gone), (.codeUsedUp, .gone),
        (.chatRateLimited, .tooManyRequests), (.codeRateLimited, .tooManyRequests),
        (.storageFailure, .internalServerError),
        (.shuttingDown, .serviceUnavailable), (.storageUnavailable, .serviceUnavailable),
        (.roomUnavailable, .serviceUnavailable),
    ]

    @Test("each code answers with the status ADMIN.md gives it", arguments: documented)
    func status(_ code: ErrorCode, _ expected: HTTPResponse.Status) {
        #expect(CodedError(code, "").httpStatus == expected)
    }
}
