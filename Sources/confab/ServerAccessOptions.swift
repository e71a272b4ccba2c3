// The options shared by the commands that talk to a server as a client
// (`join`, `connect`, `calls`): who you are (the token) and whom you trust
// (the certificate pin, known_servers); and the audio devices of the two that
// talk (`join`, `connect`).
import ArgumentParser
import ConfabClient
import ConfabMedia
import ConfabProtocol
import Foundation

struct ServerAccessOptions: ParsableArguments {
    @Option(help: "Your token, from `confab token` on the server (or set CONFAB_TOKEN).")
    var token: String?

    @Option(help: "Pin the server certificate: SHA256: and 64 hex digits, as `confab serve` prints it.")
    var fingerprint: String?

    @Option(name: .customLong("known-servers"), help: "The known_servers file (default ~/.config/confab/known_servers).")
    var knownServers: String?

    func validate() throws {
        if let fingerprint, CertificateFingerprint(fingerprint) == nil {
            throw ValidationError("--fingerprint must be SHA256: followed by 64 hex digits")
        }
        if resolvedToken == nil {
            throw ValidationError("--token is required (or set CONFAB_TOKEN)")
        }
    }

    /// `--token`, else CONFAB_TOKEN (which keeps the token out of `ps`).
    var resolvedToken: String? { token ?? ProcessInfo.processInfo.environment["CONFAB_TOKEN"] }

    var knownServersPath: String { knownServers ?? KnownServers.defaultPath() }
}

enum AudioDeviceOptions {
    /// `--input` takes any source but null; `--output` a sink (a file, null or a card).
    static func validate(input: String?, output: String?) throws {
        if let input {
            guard let spec = try? AudioDeviceSpec.parse(input), spec != .null else {
                throw ValidationError("--input must be FILE.wav, tone:HZ, silence, speech[:SEED] or alsa:NAME")
            }
        }
        if let output {
            switch try? AudioDeviceSpec.parse(output) {
            case .wav?, .null?, .alsa?: break
            default: throw ValidationError("--output must be FILE.wav, null, or alsa:NAME")
            }
        }
    }
}
