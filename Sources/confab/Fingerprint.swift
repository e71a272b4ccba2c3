import ArgumentParser
import ConfabServer

/// `confab fingerprint`: what clients pin, without starting the server.
struct Fingerprint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the SHA-256 fingerprint of the server's certificate (SHA256:<64 hex digits>).")

    @OptionGroup var data: DataOption

    @Option(name: .customLong("tls-cert"), help: "A PEM certificate to fingerprint instead of the data directory's.")
    var tlsCertificate: String?

    func run() throws {
        let directory = DataDirectory(path: data.directory)
        do {
            print(try ServerIdentity.fingerprint(ofPEMFile: tlsCertificate ?? directory.certificatePath))
        } catch {
            throw CommandFailure(error.description)
        }
    }
}
