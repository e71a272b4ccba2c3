// The sound check the terminal front offers before joining (`join`, and
// `connect` before going online): the tone and the level on real devices,
// the choice remembered in config.toml's `[audio]`.
//
//   --[no-]device-check, else [audio] deviceCheck, else on ─▶ sound cards there? ─▶ DeviceCheckScreen / DeviceCheckLines
//     ─▶ join on the devices chosen (input/output written to config.toml when changed; n: deviceCheck = false)
import ArgumentParser
import ConfabMedia
import ConfabTUI
import Foundation

struct DeviceCheckOptions: ParsableArguments {
    @Flag(inversion: .prefixedNo,
          help: "Check the speaker and microphone before joining (--no-device-check: don't). Default: config.toml's [audio] deviceCheck, else on when there is a sound card.")
    var deviceCheck: Bool?

    /// The check is the terminal front's: headless, `--device-check` would do nothing, so it is refused.
    func validate(headless: Bool) throws {
        if headless, deviceCheck == true {
            throw ValidationError(
                "--device-check is the terminal front's sound check; headless, check the devices first with confab devices --test --input NAME --output NAME")
        }
    }

    /// Offers the check when it is due; returns the devices to use (nil: the user quit).
    /// `lines`: the screen reader's typed lines (the front reads on from them afterwards).
    func offer(
        devices: (input: String?, output: String), preferences: AudioPreferences, front: FrontOptions,
        lines: AsyncStream<String>?
    ) async throws -> (input: String?, output: String)? {
        guard deviceCheck ?? preferences.deviceCheck ?? true else { return devices }
        let cards = AudioDevices.soundCards()
        let isCard = { (spec: String?) in spec?.hasPrefix("alsa:") == true }
        // Nothing to check on a machine without sound cards, or on files and generators.
        guard !cards.isEmpty, isCard(devices.input) || isCard(devices.output) else { return devices }
        let option = { (card: AudioDevices.SoundCard) in DeviceOption(spec: card.spec, description: card.description) }
        let model = DeviceCheckModel(
            inputs: cards.filter { $0.direction != "Output" }.map(option),
            outputs: cards.filter { $0.direction != "Input" }.map(option),
            input: devices.input, output: devices.output)
        let outcome: DeviceCheckOutcome
        if let lines {
            outcome = await DeviceCheckLines(probe: ALSADeviceProbe()) { FileHandleOutput.standardOutput($0) }.run(model, lines: lines)
        } else {
            let (_, theme) = front.settings()
            let noColor = !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
            outcome = try await DeviceCheckScreen.run(model, probe: ALSADeviceProbe(), theme: theme, noColor: noColor)
        }
        switch outcome {
        case .quit: return nil
        case .skip: return devices
        case .join(let input, let output, let stopAsking):
            remember(input: input == devices.input ? nil : input, output: output == devices.output ? nil : output,
                     stopAsking: stopAsking, path: front.config ?? ClientConfig.defaultPath())
            return (input, output)
        }
    }

    /// Writes what changed into `[audio]`; a file that cannot be written is said, and the meeting goes on.
    private func remember(input: String?, output: String?, stopAsking: Bool, path: String) {
        var settings: [(String, String)] = []
        if let input { settings.append(("input", input)) }
        if let output { settings.append(("output", output)) }
        do {
            for (key, value) in settings { try ConfigFileEditor.set(key, to: value, in: "audio", path: path) }
            if stopAsking { try ConfigFileEditor.setBoolean("deviceCheck", to: false, in: "audio", path: path) }
        } catch {
            FileHandleOutput.standardError("confab: the devices chosen are not remembered: \(error.message)")
        }
    }
}

/// The check on real devices: the tone and the level through `DeviceCheck`, on threads of their own (they block).
struct ALSADeviceProbe: DeviceProbe {
    func playTone(on output: String) async -> String? {
        await Self.offThread {
            do {
                let sink = try AudioDevices.openSink(try AudioDeviceSpec.parse(output), fallBackToNull: false)
                defer { sink.close() }
                try DeviceCheck.playTone(on: sink)
                return nil
            } catch {
                return "\(error)"
            }
        }
    }

    func listen(to input: String, level: @escaping @Sendable (Double) -> Void,
                stopped: @escaping @Sendable () -> Bool) async -> String? {
        await Self.offThread {
            do {
                let source = try AudioDevices.openSource(try AudioDeviceSpec.parse(input), fallBackToNull: false)
                defer { source.close() }
                // An hour at most; `stopped` ends it long before.
                _ = try DeviceCheck.listen(to: source, seconds: 3_600, until: stopped, level: level)
                return nil
            } catch {
                return "\(error)"
            }
        }
    }

    private static func offThread(_ work: @escaping @Sendable () -> String?) async -> String? {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.name = "confab-device-check"
            thread.start()
        }
    }
}
