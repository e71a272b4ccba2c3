// Real synthetic speech for tests: espeak-ng speaks, sox converts to the
// engine's format.
//
//   text ─▶ espeak-ng -v VOICE -w raw.wav ─▶ sox raw.wav -r 48000 -c 1 -b 16 out.wav

import Foundation

/// Why a helper process could not produce its output.
public struct ToolError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Helpers that make speech recordings with command-line tools.
public enum Speech {
    /// Speaks `text` with espeak-ng and writes it to `wavPath` as a 48 kHz mono
    /// 16-bit WAV file. Throws `ToolError` when espeak-ng or sox is missing
    /// (install them with `apt-get install espeak-ng sox`) or fails.
    public static func espeak(text: String, voice: String = "en", to wavPath: String) throws {
        let espeak = try Tools.find("espeak-ng", package: "espeak-ng")
        let sox = try Tools.find("sox", package: "sox")
        let raw = wavPath + ".espeak-raw.wav"
        defer { try? FileManager.default.removeItem(atPath: raw) }
        try Tools.run(espeak, ["-v", voice, "-w", raw, text])
        try Tools.run(sox, [raw, "-r", "48000", "-c", "1", "-b", "16", wavPath])
    }
}

/// Finding and running command-line tools.
public enum Tools {
    /// The absolute path of `name` on PATH (or in /usr/bin, /usr/local/bin, /bin).
    public static func find(_ name: String, package: String) throws -> String {
        let pathVariable = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = pathVariable.split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin", "/bin"]
        for directory in directories where !directory.isEmpty {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ToolError("\(name) was not found on PATH; install it with: apt-get install -y \(package)")
    }

    /// Runs `executable` with `arguments` and waits; throws with its stderr when
    /// it exits non-zero or dies from a signal.
    public static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let errorPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw ToolError("cannot start \(executable): \(error)")
        }
        // Read before waiting so a chatty tool cannot fill the pipe and stall.
        let errorData = errorPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let stderr = String(decoding: errorData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let name = (executable as NSString).lastPathComponent
            throw ToolError("\(name) \(arguments.joined(separator: " ")) failed with status \(process.terminationStatus): \(stderr)")
        }
    }
}
