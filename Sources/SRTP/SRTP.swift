// A typed Swift face on libsrtp2 (RFC 3711).
//
//   OutboundSession: RTP ─▶ protect (encrypt + tag)    ─▶ SRTP
//   InboundSession:  SRTP ─▶ unprotect (verify + decrypt) ─▶ RTP, one stream per remote SSRC
//
// Shape after swift-system: C objects created in `init` and freed in `deinit`,
// every C status checked, typed errors. A session is not thread-safe (libsrtp's
// contexts are not); the media engine owns each one on a single thread.
import CSRTP

/// SRTP protection profiles we speak.
public enum SRTPProfile: Sendable, Equatable, CaseIterable {
    /// AES_CM_128_HMAC_SHA1_80 (RFC 3711 §4.1.1, §4.2.1): 16-byte key, 14-byte salt, 10-byte tag.
    case aes128CmHmacSha1_80
    /// AEAD_AES_128_GCM (RFC 7714): 16-byte key, 12-byte salt, 16-byte tag.
    case aeadAes128Gcm

    /// Master key length in bytes.
    public var keyLength: Int { 16 }
    /// Master salt length in bytes.
    public var saltLength: Int {
        switch self {
        case .aes128CmHmacSha1_80: return 14
        case .aeadAes128Gcm: return 12
        }
    }
    /// Key and salt together, as they are written in `--key` (60 hex digits for AES-CM).
    public var keyMaterialLength: Int { keyLength + saltLength }
    /// Bytes an SRTP packet grows by when protected.
    public var rtpOverhead: Int {
        switch self {
        case .aes128CmHmacSha1_80: return 10
        case .aeadAes128Gcm: return 16
        }
    }

    fileprivate func apply(to policy: inout srtp_crypto_policy_t) {
        switch self {
        case .aes128CmHmacSha1_80: confab_srtp_policy_aes_cm_128_hmac_sha1_80(&policy)
        case .aeadAes128Gcm: confab_srtp_policy_aes_gcm_128_16_auth(&policy)
        }
    }
}

/// The wrapper's namespace for names it shares with its siblings (`Opus.Error`, `ALSA.Error`).
public enum SRTP {}

extension SRTP {
    /// libsrtp's status codes, named (the corresponding C type is `srtp_err_status_t`).
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        /// The packet's authentication tag did not verify: a wrong key or a tampered packet (status 7).
        case authenticationFailed
        /// The packet index was already seen (status 9).
        case replay
        /// The packet index is older than the replay window (status 10).
        case replayOld
        /// The packet is too short or its header is malformed.
        case malformedPacket
        /// No stream exists for the packet's SSRC.
        case unknownSSRC(UInt32)
        /// Key material had the wrong length or was not hex.
        case invalidKey(String)
        /// The installed libsrtp2 lacks this profile (GCM needs a crypto backend).
        case unsupportedProfile(SRTPProfile)
        /// The output buffer cannot hold the protected packet.
        case bufferTooSmall
        /// Any other libsrtp status.
        case library(status: Int32, operation: String)

        init(status: srtp_err_status_t, operation: String) {
            switch status {
            case srtp_err_status_auth_fail: self = .authenticationFailed
            case srtp_err_status_replay_fail: self = .replay
            case srtp_err_status_replay_old: self = .replayOld
            case srtp_err_status_bad_param where operation == "srtp_unprotect": self = .malformedPacket
            default: self = .library(status: Int32(status.rawValue), operation: operation)
            }
        }

        public var description: String {
            switch self {
            case .authenticationFailed: return "SRTP authentication failed (wrong key or tampered packet)"
            case .replay: return "SRTP replayed packet"
            case .replayOld: return "SRTP packet older than the replay window"
            case .malformedPacket: return "malformed SRTP packet"
            case .unknownSSRC(let ssrc): return "no SRTP stream for SSRC \(ssrc)"
            case .invalidKey(let why): return "invalid SRTP key: \(why)"
            case .unsupportedProfile(let p): return "SRTP profile \(p) is not supported by the installed libsrtp2"
            case .bufferTooSmall: return "buffer too small for the SRTP packet"
            case .library(let status, let op): return "\(op) failed with libsrtp status \(status)"
            }
        }
    }
}

/// libsrtp wants `srtp_init()` once per process before anything else.
public enum SRTPLibrary {
    private static let initialised: Bool = {
        srtp_init() == srtp_err_status_ok
    }()

    /// Initialises libsrtp once; later calls are free. Returns false if the library failed to start.
    @discardableResult
    public static func initialise() -> Bool { initialised }

    /// The version string of the linked libsrtp (for `confab --version` and reports).
    public static var version: String { String(cString: srtp_get_version_string()) }

    /// Whether the linked libsrtp2 can do `profile` (AEAD_AES_128_GCM needs a
    /// crypto library behind libsrtp; the built-in crypto has AES-ICM and HMAC-SHA1 only).
    public static func supports(_ profile: SRTPProfile) -> Bool {
        (try? OutboundSession(ssrc: 1, key: SRTPKeyMaterial.random(profile: profile))) != nil
    }

    /// Spare bytes a caller must leave after an RTP packet for `protect` (SRTP_MAX_TRAILER_LEN).
    public static var maxTrailerLength: Int { Int(confab_srtp_max_trailer_len) }
}

/// SRTP master key and salt, held in memory that is zeroed when released.
public final class SRTPKeyMaterial: @unchecked Sendable {
    public let profile: SRTPProfile
    // Immutable after init; @unchecked Sendable is sound because nothing mutates it until deinit.
    fileprivate let bytes: UnsafeMutableRawBufferPointer

    /// Key material from raw bytes (master key followed by master salt).
    public init(profile: SRTPProfile = .aes128CmHmacSha1_80, bytes source: some Collection<UInt8>) throws(SRTP.Error) {
        guard source.count == profile.keyMaterialLength else {
            throw .invalidKey("expected \(profile.keyMaterialLength) bytes (key + salt), got \(source.count)")
        }
        self.profile = profile
        // libsrtp reads up to 46 bytes of key material for some profiles; give it headroom.
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        for (i, b) in source.enumerated() { bytes[i] = b }
    }

    /// Key material from hex (60 digits for AES_CM_128_HMAC_SHA1_80, 56 for AES-128-GCM).
    public convenience init(profile: SRTPProfile = .aes128CmHmacSha1_80, hex: String) throws(SRTP.Error) {
        let digits = Array(hex.utf8)
        guard digits.count == profile.keyMaterialLength * 2 else {
            throw .invalidKey("expected \(profile.keyMaterialLength * 2) hex digits (\(profile.keyLength)-byte key + \(profile.saltLength)-byte salt), got \(digits.count)")
        }
        var raw = [UInt8](repeating: 0, count: profile.keyMaterialLength)
        defer { raw.withUnsafeMutableBytes { confab_secure_zero($0.baseAddress, $0.count) } }
        for i in 0..<raw.count {
            guard let hi = Self.nibble(digits[2 * i]), let lo = Self.nibble(digits[2 * i + 1]) else {
                throw .invalidKey("not a hex digit at position \(2 * i + 1)")
            }
            raw[i] = hi << 4 | lo
        }
        try self.init(profile: profile, bytes: raw)
    }

    /// Fresh random key material from the system's CSPRNG.
    public static func random(profile: SRTPProfile = .aes128CmHmacSha1_80) -> SRTPKeyMaterial {
        SRTPKeyMaterial(randomFor: profile)
    }

    private init(randomFor profile: SRTPProfile) {
        self.profile = profile
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        var rng = SystemRandomNumberGenerator()
        for i in 0..<profile.keyMaterialLength { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
    }

    /// The key material as lowercase hex (for handing to a peer tool such as GStreamer).
    public var hex: String {
        let table = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(profile.keyMaterialLength * 2)
        for i in 0..<profile.keyMaterialLength {
            out.append(table[Int(bytes[i] >> 4)])
            out.append(table[Int(bytes[i] & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    deinit {
        confab_secure_zero(bytes.baseAddress, bytes.count)
        bytes.deallocate()
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Builds an `srtp_policy_t` for one SSRC-specific stream and runs `body` with it.
private func withStreamPolicy<R>(
    ssrc: UInt32, key: SRTPKeyMaterial, replayWindow: Int,
    _ body: (UnsafePointer<srtp_policy_t>) -> R
) -> R {
    var policy = srtp_policy_t()
    key.profile.apply(to: &policy.rtp)
    key.profile.apply(to: &policy.rtcp)
    // Always SSRC-specific: streams with different keys must never share an
    // "any inbound" template (DESIGN.md; RFC 3711 §3.2.3 key per stream).
    policy.ssrc = srtp_ssrc_t(type: ssrc_specific, value: ssrc)
    policy.key = key.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
    policy.window_size = UInt(replayWindow)
    policy.allow_repeat_tx = 0
    policy.next = nil
    return body(&policy)
}

/// Protects outgoing RTP for one local SSRC with one master key.
///
/// Never reuse a key with a restarted sequence number or rollover counter
/// (RFC 3711 §9.1, a two-time pad): make a new `OutboundSession` with fresh
/// key material for every new media session.
public final class OutboundSession: @unchecked Sendable {
    public let ssrc: UInt32
    public let profile: SRTPProfile
    private var session: srtp_t?

    /// The corresponding C function is `srtp_create`.
    public init(ssrc: UInt32, key: SRTPKeyMaterial) throws(SRTP.Error) {
        guard SRTPLibrary.initialise() else { throw .library(status: -1, operation: "srtp_init") }
        self.ssrc = ssrc
        self.profile = key.profile
        var created: srtp_t?
        let status = withStreamPolicy(ssrc: ssrc, key: key, replayWindow: 1024) { srtp_create(&created, $0) }
        guard status == srtp_err_status_ok, let created else {
            if key.profile == .aeadAes128Gcm { throw .unsupportedProfile(key.profile) }
            throw SRTP.Error(status: status, operation: "srtp_create")
        }
        session = created
    }

    deinit {
        if let session { srtp_dealloc(session) }
    }

    /// Encrypts and authenticates the RTP packet of `length` bytes at the start
    /// of `buffer` in place, returning the SRTP length. `buffer` must have at
    /// least `SRTPLibrary.maxTrailerLength` spare bytes after the packet.
    /// The corresponding C function is `srtp_protect`.
    @inline(__always)
    public func protect(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTP.Error) -> Int {
        guard let base = buffer.baseAddress, length >= 12 else { throw .malformedPacket }
        guard buffer.count >= length + SRTPLibrary.maxTrailerLength else { throw .bufferTooSmall }
        var len = Int32(length)
        let status = srtp_protect(session, base, &len)
        guard status == srtp_err_status_ok else { throw SRTP.Error(status: status, operation: "srtp_protect") }
        return Int(len)
    }

    /// Encrypts and authenticates the RTCP compound packet of `length` bytes
    /// at the start of `buffer` in place (SRTCP, RFC 3711 §3.4: the E flag and
    /// SRTCP index, then the tag), returning the SRTCP length. `buffer` must
    /// have `SRTPLibrary.maxTrailerLength` + 4 spare bytes after the packet.
    /// The corresponding C function is `srtp_protect_rtcp`.
    public func protectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTP.Error) -> Int {
        guard let base = buffer.baseAddress, length >= 8 else { throw .malformedPacket }
        guard buffer.count >= length + SRTPLibrary.maxTrailerLength + 4 else { throw .bufferTooSmall }
        var len = Int32(length)
        let status = srtp_protect_rtcp(session, base, &len)
        guard status == srtp_err_status_ok else { throw SRTP.Error(status: status, operation: "srtp_protect_rtcp") }
        return Int(len)
    }
}

/// Verifies and decrypts incoming SRTP; one SSRC-specific stream per remote sender.
public final class InboundSession: @unchecked Sendable {
    private var session: srtp_t?
    /// The SSRCs that currently have a stream, and their profile.
    public private(set) var streams: [UInt32: SRTPProfile] = [:]
    public let replayWindow: Int

    /// The corresponding C function is `srtp_create` (with no streams yet).
    public init(replayWindow: Int = 1024) throws(SRTP.Error) {
        guard SRTPLibrary.initialise() else { throw .library(status: -1, operation: "srtp_init") }
        self.replayWindow = replayWindow
        var created: srtp_t?
        let status = srtp_create(&created, nil)
        guard status == srtp_err_status_ok, let created else { throw SRTP.Error(status: status, operation: "srtp_create") }
        session = created
    }

    deinit {
        if let session { srtp_dealloc(session) }
    }

    /// Adds (or replaces) the stream for a remote SSRC. The corresponding C function is `srtp_add_stream`.
    public func addStream(ssrc: UInt32, key: SRTPKeyMaterial) throws(SRTP.Error) {
        if streams[ssrc] != nil { removeStream(ssrc: ssrc) }
        let status = withStreamPolicy(ssrc: ssrc, key: key, replayWindow: replayWindow) { srtp_add_stream(session, $0) }
        guard status == srtp_err_status_ok else {
            if key.profile == .aeadAes128Gcm { throw .unsupportedProfile(key.profile) }
            throw SRTP.Error(status: status, operation: "srtp_add_stream")
        }
        streams[ssrc] = key.profile
    }

    /// Removes a remote SSRC's stream; its packets fail from now on. The corresponding C function is `srtp_remove_stream`.
    public func removeStream(ssrc: UInt32) {
        guard streams.removeValue(forKey: ssrc) != nil else { return }
        _ = srtp_remove_stream(session, ssrc.bigEndian)
    }

    /// Verifies and decrypts the SRTP packet of `length` bytes at the start of
    /// `buffer` in place, returning the RTP length.
    /// The corresponding C function is `srtp_unprotect`.
    @inline(__always)
    public func unprotect(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTP.Error) -> Int {
        guard let base = buffer.baseAddress, length >= 12, length <= buffer.count else { throw .malformedPacket }
        // Look the SSRC up ourselves: libsrtp would answer an unknown SSRC with
        // a generic status, and a typed reason is what the counters want.
        return try unprotect(base, length: length, ssrcOffset: 8, operation: "srtp_unprotect", srtp_unprotect)
    }

    /// Verifies and decrypts the SRTCP packet of `length` bytes at the start
    /// of `buffer` in place (with the stream of the sender SSRC in its first
    /// report), returning the RTCP length.
    /// The corresponding C function is `srtp_unprotect_rtcp`.
    public func unprotectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTP.Error) -> Int {
        guard let base = buffer.baseAddress, length >= 8, length <= buffer.count else { throw .malformedPacket }
        // RFC 3550 §6.4.1: the sender's SSRC follows the 4-byte RTCP header.
        return try unprotect(base, length: length, ssrcOffset: 4, operation: "srtp_unprotect_rtcp", srtp_unprotect_rtcp)
    }

    /// Checks the packet's SSRC (big-endian at `ssrcOffset`) against the known
    /// streams, then runs libsrtp's `unprotectFunction` on it in place.
    @inline(__always)
    private func unprotect(
        _ base: UnsafeMutableRawPointer, length: Int, ssrcOffset: Int, operation: String,
        _ unprotectFunction: (srtp_t?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?) -> srtp_err_status_t
    ) throws(SRTP.Error) -> Int {
        let ssrc = UInt32(base.load(fromByteOffset: ssrcOffset, as: UInt8.self)) << 24
            | UInt32(base.load(fromByteOffset: ssrcOffset + 1, as: UInt8.self)) << 16
            | UInt32(base.load(fromByteOffset: ssrcOffset + 2, as: UInt8.self)) << 8
            | UInt32(base.load(fromByteOffset: ssrcOffset + 3, as: UInt8.self))
        guard streams[ssrc] != nil else { throw .unknownSSRC(ssrc) }
        var len = Int32(length)
        let status = unprotectFunction(session, base, &len)
        guard status == srtp_err_status_ok else { throw SRTP.Error(status: status, operation: operation) }
        return Int(len)
    }
}
