// The client's side of binding its media address (docs/PROTOCOL.md, Media):
//
//   binding request (USERNAME, SOFTWARE, MESSAGE-INTEGRITY, FINGERPRINT) ─▶ server
//   success with a CONSENT-TOKEN ─▶ the same request again, echoing the token ─▶ server
//   success without one (signed with our password, for a request of ours) ─▶ bound
//
// The echo proves to the server that we receive at the address we send
// from (STUNConsent.swift): only then does it send us the room's audio.

import ConfabProtocol
import ConfabWire

struct MediaBinding {
    let username: String
    let key: STUNIntegrityKey
    /// Transactions of the requests sent from the current address.
    private var outstanding: Set<STUNTransactionID> = []
    /// The token the server asked this address to echo.
    private var consentToken: STUNConsentToken?

    /// What an answer from the server means.
    enum Answer: Equatable {
        /// The server sends to this address now; what it saw of it, when it said.
        case bound(mapped: STUNAddress?)
        /// The server asks for a token to be echoed: send another request at once.
        case echoConsent
        /// Asked again for the token we already echo: leave it to the next
        /// retry, so that a path that keeps changing our address (a NAT
        /// with a new port per packet) cannot make us answer at line rate.
        case consentPending
        /// Not an answer to a request of ours, or not signed with our password.
        case ignored
    }

    init(_ media: MediaEndpoint) {
        username = media.username
        key = STUNIntegrityKey(shortTermPassword: media.password)
    }

    /// A binding request, echoing the consent token if the server asked for one.
    mutating func request() -> [UInt8]? {
        let id = STUNTransactionID.random()
        var buffer = [UInt8](repeating: 0, count: 256)
        let (username, key, consentToken) = (username, key, consentToken)
        let request: [UInt8]? = buffer.withUnsafeMutableBytes { raw in
            do {
                var builder = try STUNMessageBuilder(type: .bindingRequest, transactionID: id, into: raw)
                try builder.appendUsername(username)
                // The server never answers with more bytes than it got: a
                // 16-byte SOFTWARE makes room for an IPv6 XOR-MAPPED-ADDRESS, a
                // CONSENT-TOKEN and FINGERPRINT in the answer (92 bytes).
                try builder.appendSoftware("confab media 1.0")
                if let consentToken { try builder.appendConsentToken(consentToken) }
                try builder.appendMessageIntegrity(key: key)
                try builder.appendFingerprint()
                return Array(builder.bytes)
            } catch {
                return nil
            }
        }
        guard request != nil else { return nil }
        // Only the last few count: an answer to a much older request proves nothing new.
        if outstanding.count > 8 { outstanding.removeAll() }
        outstanding.insert(id)
        return request
    }

    /// Reads a STUN message from the server.
    mutating func take(_ bytes: [UInt8]) -> Answer {
        let key = key
        let read: (id: STUNTransactionID, mapped: STUNAddress?, token: STUNConsentToken?)? = bytes.withUnsafeBytes { raw in
            guard let message = try? STUNMessage.parse(raw), message.type == .bindingSuccess,
                message.verifyMessageIntegrity(key: key, in: raw), message.verifyFingerprint(in: raw)
            else { return nil }
            return (message.transactionID, message.xorMappedAddress(in: raw), message.consentToken(in: raw))
        }
        guard let read, outstanding.remove(read.id) != nil else { return .ignored }
        if let token = read.token {
            guard token != consentToken else { return .consentPending }
            consentToken = token
            return .echoConsent
        }
        return .bound(mapped: read.mapped)
    }

    /// After moving to a new local port: answers to requests from the old
    /// address, and its token, prove nothing about the new one.
    mutating func forgetAddress() {
        outstanding = []
        consentToken = nil
    }
}
