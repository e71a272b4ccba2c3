import ArgumentParser
import ConfabProtocol
import ConfabServer
import Foundation

/// `confab serve`: the room server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a room server: WebSocket signalling over TLS, /healthz and /metrics on one port.",
        discussion: """
            On first start it makes a self-signed certificate and a token secret in the data directory \
            and prints the certificate's fingerprint, which clients pin (--fingerprint). Mint join tokens \
            with `confab token`. Stop with Ctrl-C or SIGTERM: peers are told the server is going away. \
            With --database, the chat log, history, token secret and certificate live in PostgreSQL \
            instead, shared by every node given the same database (docs/CLUSTER.md).
            """)

    @Option(help: "The address to listen on, TCP and UDP (0.0.0.0 for every IPv4 interface, :: for every interface, IPv6 and IPv4).")
    var host = "127.0.0.1"

    @Option(help: "The TCP port (0 picks a free one).")
    var port = ServerConfiguration.defaultPort

    @Option(name: .customLong("media-port"), help: "The UDP media port (default: the same number as --port; 0 picks a free one).")
    var mediaPort: Int?

    @Option(name: .customLong("media-host"), help: "The address clients send media to: the public address when behind NAT (default: the address each client reached the server on).")
    var mediaHost: String?

    @OptionGroup var data: DataOption

    @OptionGroup var database: DatabaseOption

    @Option(
        name: .customLong("node-id"),
        help: "With --database: this node's name in the cluster, \(NodeSettings.validForm) (default: HOSTNAME:PORT).")
    var nodeID: String?

    @Option(help: "With --database: how clients and other nodes reach this node, wss://HOST:PORT (default: the URL it listens on).")
    var advertise: String?

    @Option(help: "A TOML file with room templates and keepalive timing (see docs/PROTOCOL.md).")
    var config: String?

    @Option(name: .customLong("tls-cert"), help: "A PEM certificate chain to use instead of the self-signed one.")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "The PEM private key of --tls-cert.")
    var tlsKey: String?

    @Flag(help: "Log every connection and request (to stderr).")
    var verbose = false

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        if let mediaPort, !(0...65_535).contains(mediaPort) { throw ValidationError("--media-port must be 0...65535") }
        guard (tlsCertificate == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        _ = try database.url()
        if let nodeID, !NodeSettings.isValidID(nodeID) {
            throw ValidationError("--node-id must be \(NodeSettings.validForm)")
        }
        if let advertise, let problem = NodeSettings.checkAdvertisedURL(advertise) {
            throw ValidationError("--advertise: \(problem)")
        }
    }

    func run() async throws {
        var configuration = ServerConfiguration(
            host: host, port: port, dataDirectory: data.directory, certificatePath: tlsCertificate,
            privateKeyPath: tlsKey)
        configuration.mediaPort = mediaPort
        configuration.mediaAdvertisedHost = mediaHost
        configuration.database = try database.url()
        configuration.nodeID = nodeID
        configuration.advertisedURL = advertise
        if let config {
            do {
                try ConfigFile.load(path: config).apply(to: &configuration)
            } catch {
                throw CommandFailure(error.description)
            }
        }
        ConfabServer.bootstrapLogging(verbose: verbose)
        let server: ConfabServer
        do {
            server = try await ConfabServer(
                configuration: configuration,
                onListening: { [host] port in
                    let shown = host.contains(":") ? "[\(host)]" : host
                    FileHandleOutput.standardOutput(
                        "confab serve: listening on wss://\(shown):\(port)/ROOM (health: https://\(shown):\(port)/healthz)")
                })
        } catch {
            throw CommandFailure(error.description)
        }
        // Straight to fd 1, unbuffered: a script or test reads these lines while the server runs.
        FileHandleOutput.standardOutput("certificate fingerprint: \(server.identity.fingerprint)")
        if let url = configuration.database {
            FileHandleOutput.standardOutput("database: \(url.redacted)")
            if let node = server.nodeID { FileHandleOutput.standardOutput("node: \(node)") }
        } else {
            FileHandleOutput.standardOutput("data directory: \(configuration.dataDirectory)")
        }
        FileHandleOutput.standardOutput("media: udp port \(server.media.port), advertised as \(server.media.advertisedHostSummary)")
        do {
            try await server.runUntilSignalled()
        } catch {
            throw CommandFailure("server stopped: \(error)")
        }
    }
}

/// `--data DIR`, shared by serve, token and fingerprint.
struct DataOption: ParsableArguments {
    @Option(
        name: .customLong("data"),
        help: "The server's data directory (default: $XDG_DATA_HOME/confab or ~/.local/share/confab).")
    var path: String?

    var directory: String { path ?? ServerConfiguration.defaultDataDirectory() }
}
