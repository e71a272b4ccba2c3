// The `confab` command: wiring only. Each subcommand is a small type in its own file.
import ArgumentParser
import Glibc

@main
struct Confab: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confab",
        abstract: "Terminal conferencing: end-to-end encrypted voice and chat.",
        version: "0.1.0-dev",
        subcommands: [Serve.self, Token.self, Fingerprint.self, Cluster.self, Join.self, Connect.self, Calls.self, Admin.self, Demo.self, Themes.self, Devices.self, RTP.self, Bench.self]
    )

    /// Wrong arguments get one clear line on stderr and a non-zero exit code
    /// (ArgumentParser's default adds the whole usage block).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandleOutput.standardError("confab: \(message)")
            Glibc.exit(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }
}

/// A failure that has already been explained to the user.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum FileHandleOutput {
    /// One line on stderr (diagnostics never go to stdout, which may be JSON).
    static func standardError(_ line: String) {
        var text = line
        if !text.hasSuffix("\n") { text += "\n" }
        // Straight to fd 2: Swift 6 refuses C's `stderr` global.
        _ = text.withCString { write(2, $0, strlen($0)) }
    }

    /// One line on stdout, unbuffered (print's buffer is flushed only at exit
    /// when stdout is a file or pipe).
    static func standardOutput(_ line: String) {
        var text = line
        if !text.hasSuffix("\n") { text += "\n" }
        _ = text.withCString { write(1, $0, strlen($0)) }
    }
}
