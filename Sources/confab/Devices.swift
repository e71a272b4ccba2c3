import ALSA
import ArgumentParser
import Foundation

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the ALSA PCMs (sound devices) this machine has.")

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let devices = ALSA.listPCMs()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(devices), as: UTF8.self))
            return
        }
        let cards = devices.filter { $0.name != "null" }
        if cards.isEmpty {
            print("No sound cards found: only the 'null' PCM exists. Confab will use null audio (silence in, nothing out).")
            print("Files and generators still work: --input speech.wav|tone:440|speech, --output out.wav|null.")
            return
        }
        let width = min(40, devices.map(\.name.count).max() ?? 10)
        for device in devices {
            let direction = device.direction.map { " [\($0)]" } ?? ""
            print(device.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + device.description + direction)
        }
    }
}
