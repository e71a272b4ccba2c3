import ArgumentParser
import ConfabServer

/// `confab fingerprint`: what clients pin, without starting the server.
struct Fingerprint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the SHA-256 fingerprint of the server's certificate (SHA256:<64 hex digits>).",
        discussion: "With --database: the cluster's certificate, which every node presents.")

    @OptionGroup var data: DataOption

    @OptionGroup var database: DatabaseOption

    @Option(name: .customLong("tls-cert"), help: "A PEM certificate to fingerprint instead of the data directory's.")
    var tlsCertificate: String?

    func validate() throws {
        _ = try database.url()
    }

    func run() async throws {
        do {
            if tlsCertificate == nil, let url = try database.url() {
                // The cluster's certificate, which every node presents.
                let cluster = try await database.clusterIdentity(url)
                let identity = try ServerIdentity(
                    certificatePEM: cluster.certificatePEM, privateKeyPEM: cluster.privateKeyPEM, source: url.redacted)
                print(identity.fingerprint)
            } else {
                let directory = DataDirectory(path: data.directory)
                print(try ServerIdentity.fingerprint(ofPEMFile: tlsCertificate ?? directory.certificatePath))
            }
        } catch let error as SetupError {
            throw CommandFailure(error.description)
        }
    }
}
