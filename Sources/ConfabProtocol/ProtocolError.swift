/// Why a message could not be decoded. Thrown by `ProtocolCodec.decode`;
/// never a crash, whatever the bytes.
///
/// `requestID` is the message's `id` when it could be read, so the server can
/// answer the request that failed; `codedError` is that answer.
public struct ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// More bytes than the limit; the message was not parsed.
        case tooLarge(byteCount: Int, limit: Int)
        /// Not JSON, or JSON but not an object.
        case malformed
        /// `v` is present but not a version this build speaks.
        case unsupportedVersion(Int)
        /// `type` is present but names no message this build knows. A client
        /// should skip such server messages: a newer server may send them.
        case unknownType(String)
        /// A client message without a readable `id`.
        case missingRequestID
        /// `v` or `type` missing, or a field missing, mistyped or out of range.
        /// `field` is the JSON path of the offending field, when known.
        case invalidMessage(field: String, detail: String)
    }

    public var reason: Reason
    /// The message's `id`, if it had a valid one.
    public var requestID: RequestID?

    public init(_ reason: Reason, requestID: RequestID? = nil) {
        self.reason = reason
        self.requestID = requestID
    }

    /// The catalog code for this failure.
    public var code: ErrorCode {
        switch reason {
        case .tooLarge: .messageTooLarge
        case .malformed: .malformedMessage
        case .unsupportedVersion: .unsupportedVersion
        case .unknownType: .unknownType
        case .missingRequestID: .missingRequestID
        case .invalidMessage: .invalidMessage
        }
    }

    /// The error to send back.
    public var codedError: CodedError {
        CodedError(code, description)
    }

    public var description: String {
        switch reason {
        case .tooLarge(let byteCount, let limit):
            "message of \(byteCount) bytes exceeds the limit of \(limit) bytes"
        case .malformed:
            "not a JSON object"
        case .unsupportedVersion(let version):
            "protocol version \(version) is not supported; this server speaks version \(ProtocolVersion.current)"
        case .unknownType(let type):
            "unknown message type \"\(Self.printable(type))\""
        case .missingRequestID:
            "client messages need an \"id\": \(RequestID.validForm)"
        case .invalidMessage(let field, let detail):
            // The decoder's detail may quote the sender's value, and a path its keys.
            field.isEmpty
                ? Self.printable(detail, limit: 300)
                : "\(Self.printable(field, limit: 100)): \(Self.printable(detail, limit: 300))"
        }
    }

    /// Untrusted text fit to quote in an error message or a log line:
    /// printable ASCII only, at most `limit` characters.
    static func printable(_ text: String, limit: Int = 64) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars.prefix(limit) where (0x20..<0x7F).contains(scalar.value) {
            scalars.append(scalar)
        }
        return String(scalars)
    }
}
