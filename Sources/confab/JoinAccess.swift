// How `confab join` gets in: a token (`--token`, CONFAB_TOKEN), or a meeting
// code exchanged for one (`--code CODE --name NAME`, or the link form
// `confab://HOST:PORT/ROOM?code=…&fp=SHA256:…`, whose fp pins the server).
import ArgumentParser
import ConfabClient
import ConfabProtocol
import Foundation

struct JoinAccessOptions: ParsableArguments {
    @Option(help: "Your token, from `confab token` on the server (or set CONFAB_TOKEN).")
    var token: String?

    @Option(help: "A meeting code (from `confab admin code`) instead of a token; needs --name.")
    var code: String?

    @OptionGroup var trust: ServerTrustOptions

    var resolvedToken: String? { token ?? ProcessInfo.processInfo.environment["CONFAB_TOKEN"] }
    var fingerprint: String? { trust.fingerprint }
    var knownServersPath: String { trust.knownServersPath }
}

extension Join {
    /// The checks of `validate()` for how the command gets in.
    func validateAccess() throws {
        let isLink = MeetingLink.isLink(url)
        if isLink || server.code != nil {
            guard server.token == nil else { throw ValidationError("give --token or a meeting code, not both") }
            guard participant.name != nil else { throw ValidationError("--name is required with a meeting code") }
        }
        if isLink {
            guard server.code == nil else { throw ValidationError("the link carries the code: leave out --code") }
            do {
                _ = try MeetingLink(parsing: url)
            } catch {
                throw ValidationError(error.message)
            }
        } else if let code = server.code {
            guard MeetingCodeFormat.normalize(code) != nil else {
                throw ValidationError("--code: a meeting code is 12 letters and digits, such as k7dq-m3xa-9pwe")
            }
        } else if server.resolvedToken == nil {
            throw ValidationError("--token is required (or set CONFAB_TOKEN), or a meeting code (--code, or a confab:// link)")
        }
    }

    /// The room URL, token and pin to join with: as given, or from a code
    /// exchanged over TLS checked by the link's fp, --fingerprint or known_servers.
    func resolveAccess() async throws -> (url: String, token: String, fingerprint: String?) {
        let link: MeetingLink
        do {
            if MeetingLink.isLink(url) {
                link = try MeetingLink(parsing: url)
            } else if let code = server.code.flatMap(MeetingCodeFormat.normalize) {
                link = MeetingLink(endpoint: try ServerEndpoint(url: url), code: code, fingerprint: nil)
            } else {
                return (url, server.resolvedToken ?? "", server.fingerprint)
            }
        } catch {
            throw CommandFailure(error.message)
        }
        if let pinned = link.fingerprint, let given = server.fingerprint.flatMap(CertificateFingerprint.init(parsing:)),
            pinned != given
        {
            throw CommandFailure("the link's fp and --fingerprint name different certificates")
        }
        let fingerprint = link.fingerprint?.description ?? server.fingerprint
        do {
            let trust = try ServerTrust(fingerprint: fingerprint, knownServersPath: server.knownServersPath)
            let reply = try await MeetingCodeExchange.redeem(
                code: link.code, name: participant.name ?? "", endpoint: link.endpoint, trust: trust)
            return (link.endpoint.url, reply.token, fingerprint)
        } catch {
            if let code = error.code { throw CommandFailure("\(code.rawValue) \(code): \(error.message)") }
            throw CommandFailure(error.message)
        }
    }
}
