// The sound check before joining: the screen in memory (keys in, screens
// out), the screen reader's plain lines against a probe that plays and
// hears what the test says, and `/device` in `connect --screen-reader`.
import ConfabClient
import Foundation
import Synchronization
import Testing
@testable import ConfabTUI

/// Devices that play every tone but the broken speaker's, and hear `dBov` on every frame.
struct ScriptedProbe: DeviceProbe {
    let tones = Recorded<String>()
    var dBov: Double

    func playTone(on output: String) async -> String? {
        tones.append(output)
        return output == "alsa:broken" ? "No such device" : nil
    }

    func listen(to input: String, level: @escaping @Sendable (Double) -> Void,
                stopped: @escaping @Sendable () -> Bool) async -> String? {
        var frames = 0
        while !stopped() && frames < 10_000 {
            level(dBov)
            frames += 1
        }
        return nil
    }
}

@Suite("the sound check before joining")
struct DeviceCheckScreenTests {
    static let cards = [
        DeviceOption(spec: "alsa:default", description: "Default ALSA Output"),
        DeviceOption(spec: "alsa:hw:1", description: "USB Headset"),
    ]

    func makeFront() -> (MemoryFront<DeviceCheckScreen>, Recorded<DeviceCheckModel.Command>) {
        let commands = Recorded<DeviceCheckModel.Command>()
        let model = DeviceCheckModel(inputs: Self.cards, outputs: Self.cards, input: "alsa:default", output: "alsa:default")
        let screen = DeviceCheckScreen(model: model) { commands.append($0) }
        screen.start()
        return (MemoryFront(screen, size: Size(columns: 80, rows: 16)), commands)
    }

    @Test("it plays the tone and listens at once; the level shows; Enter joins on the devices chosen")
    func checksAndJoins() throws {
        let (front, commands) = makeFront()
        #expect(commands.take() == [.playTone("alsa:default"), .listen("alsa:default", generation: 0)])
        #expect(front.terminal.text.contains("Speaker      ◀ alsa:default · Default ALSA Output ▶"))
        #expect(front.terminal.text.contains("speak: nothing heard yet"))

        front.step(.message(.toneEnded(nil, output: "alsa:default")))
        front.step(.message(.level(-18, generation: 0)))
        #expect(front.terminal.text.contains("did you hear the tone?"))
        #expect(front.terminal.text.contains("-18 dBov"))
        #expect(front.terminal.text.contains("it hears you"))

        // The speaker row: → is the headset, whose tone plays; ↓ then → the headset's microphone, listened to afresh.
        front.press(.right)
        front.press(.down, .right)
        #expect(commands.take() == [.playTone("alsa:hw:1"), .listen("alsa:hw:1", generation: 1)])
        front.step(.message(.level(-10, generation: 0)))
        #expect(front.terminal.text.contains("speak: nothing heard yet"), "a level of the microphone left behind is dropped")
        front.press(.enter)
        #expect(front.outcome == .join(input: "alsa:hw:1", output: "alsa:hw:1", stopAsking: false))
    }

    @Test("s skips, n joins and stops asking, q and Ctrl-C do not join", arguments: [
        (Key.character("s"), DeviceCheckOutcome.skip),
        (Key.character("n"), DeviceCheckOutcome.join(input: "alsa:default", output: "alsa:default", stopAsking: true)),
        (Key.character("q"), DeviceCheckOutcome.quit), (Key.control("c"), DeviceCheckOutcome.quit),
    ])
    func otherWaysOut(key: Key, outcome: DeviceCheckOutcome) {
        let (front, _) = makeFront()
        front.press(key)
        #expect(front.outcome == outcome)
    }

    @Test("a speaker that does not play and a microphone that does not open say so")
    func problems() {
        let (front, _) = makeFront()
        front.step(.message(.toneEnded("No such device", output: "alsa:default")))
        front.step(.message(.listeningFailed("audio device unavailable: busy", generation: 0)))
        #expect(front.terminal.text.contains("does not play: No such device"))
        #expect(front.terminal.text.contains("does not open: audio device unavailable: busy"))
    }

    @Test("without a microphone only the speaker is checked, and the devices in use are offered first")
    func listenOnly() {
        let model = DeviceCheckModel(inputs: Self.cards, outputs: Self.cards, input: nil, output: "alsa:plughw:2")
        #expect(model.start() == [.playTone("alsa:plughw:2")])
        #expect(model.outputs.first?.spec == "alsa:plughw:2")
        #expect(model.chosenInput == nil)
    }

    @Test("screen reader: the steps as lines; typed answers change the speaker and join without asking again")
    func plainLines() async {
        let probe = ScriptedProbe(dBov: -80)
        let written = Recorded<String>()
        let (lines, typing) = AsyncStream<String>.makeStream()
        let check = DeviceCheckLines(probe: probe, listenSeconds: 1) { written.append($0) }
        typing.yield("output broken")
        typing.yield("output hw:1")
        typing.yield("never")
        let model = DeviceCheckModel(inputs: Self.cards, outputs: Self.cards, input: "alsa:default", output: "alsa:default")
        let outcome = await check.run(model, lines: lines)
        #expect(outcome == .join(input: "alsa:default", output: "alsa:hw:1", stopAsking: true))
        #expect(probe.tones.all == ["alsa:default", "alsa:broken", "alsa:hw:1"])
        let text = written.all
        #expect(text.contains("The microphone heard nothing (loudest -80 dBov): is it muted or unplugged?"))
        #expect(text.contains("The speaker alsa:broken does not play: No such device"))
        #expect(!text.contains { $0.contains("\u{1B}") }, "plain lines, no escape sequences")
    }

    @Test("when the check ends, the meeting waits until the tone and the microphone are closed (a card opened twice is busy)")
    func devicesClosedBeforeJoining() async {
        let closed = Recorded<String>()
        struct SlowProbe: DeviceProbe {
            let closed: Recorded<String>
            func playTone(on output: String) async -> String? {
                try? await Task.sleep(for: .milliseconds(300))
                closed.append(output)
                return nil
            }
            func listen(to input: String, level: @escaping @Sendable (Double) -> Void,
                        stopped: @escaping @Sendable () -> Bool) async -> String? {
                while !stopped() { try? await Task.sleep(for: .milliseconds(20)) }
                closed.append(input)
                return nil
            }
        }
        let slot = ListeningSlot()
        let probe = SlowProbe(closed: closed)
        slot.hold { _ = await probe.playTone(on: "alsa:play") }
        slot.listen(to: "alsa:cap", generation: 1, probe: probe) { _ in }
        await slot.stopAndWait()
        #expect(Set(closed.all) == ["alsa:play", "alsa:cap"])
    }

    @Test("[audio] deviceCheck is read, and written as a boolean")
    func remembered() throws {
        #expect(try ClientConfig.parse("[audio]\ndeviceCheck = false\n", path: "c.toml").audio.deviceCheck == false)
        let text = ConfigFileEditor.setting("deviceCheck", toml: "false", in: "audio", text: "[audio]\ninput = \"alsa:hw:1\"\n")
        #expect(text == "[audio]\ninput = \"alsa:hw:1\"\ndeviceCheck = false\n")
        #expect(try ClientConfig.parse(text, path: "c.toml").audio.deviceCheck == false)
    }
}

/// Sound devices that switch to anything but `alsa:gone`.
struct SwitchingVoice: AudioControls {
    func chain() async -> VoiceChain? { nil }
    func setChain(_ chain: VoiceChain) {}
    func counters() async -> VoiceCounters { VoiceCounters(cleaned: 0, echoReference: 0, clicksGated: 0) }
    func devices() async -> [String] { ["alsa:default · Default", "alsa:hw:1 · USB Headset"] }
    func switchDevice(input: Bool, to name: String) async -> (switched: Bool, text: String) {
        name == "gone" ? (false, "cannot open alsa:gone") : (true, "\(input ? "microphone" : "speaker"): alsa:\(name)")
    }
}

@Suite("/device in connect --screen-reader")
struct CallLineDeviceTests {
    @Test("lists, switches, refuses with the reason, and says when the call has no audio")
    func device() async {
        let voice = SwitchingVoice()
        #expect(await CallLineFront.device("/device", voice: voice)
                == ["Sound devices:", "  alsa:default · Default", "  alsa:hw:1 · USB Headset"])
        #expect(await CallLineFront.device("/device output hw:1", voice: voice) == ["switched the speaker: alsa:hw:1"])
        #expect(await CallLineFront.device("/device input gone", voice: voice) == ["not switched: cannot open alsa:gone"])
        #expect(await CallLineFront.device("/device sideways x", voice: voice) == ["usage: /device [input|output NAME]"])
        #expect(await CallLineFront.device("/device", voice: nil) == ["no sound devices: /device works in a call that has audio"])
        #expect(CallLineFront.commands.contains { $0.usage.hasPrefix("/device") }, "/help lists it")
    }
}
