// The microphone's processing switched from the meeting screen: keys,
// `/audio`, the status bar and the help (the engine side: TerminalTests).
import ConfabClient
import ConfabProtocol
import Foundation
import Testing
@testable import ConfabTUI

@Suite("processing keys and /audio")
struct VoiceKeysTests {
    func processedModel(_ chain: VoiceChain = .all) -> MeetingModel {
        var model = MeetingModel()
        model.offerVoice(chain)
        return model
    }

    @Test("e, n, g and k switch their part, say so, and the status bar names what is off")
    func keysSwitchParts() {
        let state = Fixtures.room(others: 2)
        var model = processedModel()
        #expect(ScreenTestsSupport.statusLine(state, model: model).contains("voice: all on"))
        #expect(model.handle(.character("e"), state: state) == [.setVoice(VoiceChain(on: [.noise, .gain, .keys]))])
        #expect(model.notice?.text == "echo cancellation off (e switches)")
        #expect(ScreenTestsSupport.statusLine(state, model: model).contains("voice: echo off"))
        #expect(model.handle(.character("g"), state: state) == [.setVoice(VoiceChain(on: [.noise, .keys]))])
        #expect(ScreenTestsSupport.statusLine(state, model: model).contains("voice: echo, gain off"))
        _ = model.handle(.character("n"), state: state)
        #expect(model.handle(.character("k"), state: state) == [.setVoice(VoiceChain(on: []))])
        #expect(ScreenTestsSupport.statusLine(state, model: model).contains("voice: off"))
        #expect(model.handle(.character("e"), state: state) == [.setVoice(VoiceChain(on: [.echo]))])
        #expect(model.notice?.text == "echo cancellation on (e switches)")
    }

    @Test("/audio reports, switches one part or all, and refuses what it does not know")
    func audioCommand() {
        let state = Fixtures.room(others: 1)
        var model = processedModel()
        #expect(model.typing("/audio", state: state) == [.reportVoice])
        #expect(model.typing("/audio noise off", state: state) == [.setVoice(VoiceChain(on: [.echo, .gain, .keys]))])
        #expect(model.typing("/audio NOISE off", state: state) == [.setVoice(VoiceChain(on: [.echo, .gain, .keys]))])
        #expect(model.typing("/audio noise", state: state) == [.setVoice(.all)])
        #expect(model.typing("/audio all off", state: state) == [.setVoice(VoiceChain(on: []))])
        #expect(model.typing("/audio all on", state: state) == [.setVoice(.all)])
        for bad in ["/audio loud", "/audio echo maybe", "/audio all", "/audio echo on now"] {
            #expect(model.typing(bad, state: state).isEmpty, "\(bad)")
            #expect(model.notice?.text == "usage: /audio [echo|noise|gain|keys|all] [on|off]")
            #expect(model.notice?.isError == true)
        }
        #expect(model.voice == .all)
    }

    @Test("without processing to switch, the keys and /audio say so and the help leaves them out")
    func withoutProcessing() {
        let state = Fixtures.room(others: 1)
        var model = MeetingModel()
        #expect(model.handle(.character("e"), state: state).isEmpty)
        #expect(model.notice?.text == "no microphone processing to switch")
        #expect(model.typing("/audio", state: state).isEmpty)
        #expect(!ScreenTestsSupport.statusLine(state, model: model).contains("voice:"))
        let plain = OverlayView.helpRows(model, state: state).map(\.1)
        #expect(!plain.contains("echo cancellation on / off"))
        #expect(!plain.contains("the mic's processing (PART: echo noise gain keys all)"))
        let processed = OverlayView.helpRows(processedModel(), state: state)
        #expect(processed.contains { $0 == ("e", "echo cancellation on / off") })
        #expect(processed.contains { $0 == ("k", "keyboard-click suppression on / off") })
        #expect(processed.contains { $0.0 == "/audio [PART on|off]" })
    }

    @Test("the report names every part and the engine's counts")
    func report() {
        let text = MeetingModel.voiceReport(
            VoiceChain(on: [.echo, .keys]), VoiceCounters(cleaned: 812, echoReference: 790, clicksGated: 3))
        #expect(text == "echo on · noise off · gain off · keys on — 812 frames cleaned, 790 echo reference, 3 clicks gated")
    }

    @Test("/device lists, switches input or output by name (spaces kept), and refuses without devices")
    func deviceCommand() {
        let state = Fixtures.room(others: 1)
        var model = MeetingModel()
        #expect(model.typing("/device", state: state).isEmpty)
        #expect(model.notice?.text == "no sound devices in this meeting")
        model.offerDevices()
        #expect(model.typing("/device", state: state) == [.listDevices])
        #expect(model.typing("/device input hw:1", state: state) == [.switchDevice(input: true, "hw:1")])
        #expect(model.notice?.text == "switching the microphone to hw:1…")
        #expect(model.typing("/device OUTPUT alsa:USB Headset", state: state) == [.switchDevice(input: false, "alsa:USB Headset")])
        for bad in ["/device speakers", "/device input", "/device sideways hw:1"] {
            #expect(model.typing(bad, state: state).isEmpty, "\(bad)")
            #expect(model.notice?.text == "usage: /device [input|output NAME]")
        }
        #expect(OverlayView.helpRows(model, state: state).contains { $0.0 == "/device [DIR NAME]" })
    }

    @Test("a sound card that stops and comes back is a chat line each")
    func deviceChangeLines() {
        let state = Fixtures.room(others: 1)
        var model = MeetingModel()
        let lost = AudioDeviceChange(direction: .input, device: "alsa:hw:1", available: false)
        _ = model.apply(RoomUpdate(event: .audioDevice(lost), state: state), previous: state)
        #expect(model.systemLines.last?.text
            == "The microphone alsa:hw:1 stopped working: others hear silence; trying it again every second.")
        #expect(model.systemLines.last?.isError == true)
        let back = AudioDeviceChange(direction: .output, device: "alsa:hw:1", available: true)
        _ = model.apply(RoomUpdate(event: .audioDevice(back), state: state), previous: state)
        #expect(model.systemLines.last?.text == "The speaker alsa:hw:1 is back.")
        // The default taking over is said as the trouble it is, though the sound goes on.
        let fellBack = AudioDeviceChange(direction: .output, device: "alsa:default", kind: .fellBack, replaced: "alsa:hw:1")
        _ = model.apply(RoomUpdate(event: .audioDevice(fellBack), state: state), previous: state)
        #expect(model.systemLines.last?.text == "The speaker alsa:hw:1 stopped working: using alsa:default until it is back.")
        #expect(model.systemLines.last?.isError == true)
    }

    @Test("[keys] rebinds a processing key")
    func rebinding() throws {
        let config = try ClientConfig.parse("[keys]\nechoCancellation = \"x\"\n", path: "c.toml")
        var model = MeetingModel(keyMap: config.keyMap)
        model.offerVoice(.all)
        let state = Fixtures.room(others: 1)
        #expect(model.handle(.character("e"), state: state).isEmpty)
        #expect(model.handle(.character("x"), state: state) == [.setVoice(VoiceChain(on: [.noise, .gain, .keys]))])
        #expect(model.notice?.text == "echo cancellation off (x switches)")
    }
}

enum ScreenTestsSupport {
    /// The status bar at 160 columns, where every part fits.
    static func statusLine(_ state: RoomState, model: MeetingModel) -> String {
        let (backend, _) = screen(state, size: Size(columns: 160, rows: 34), model: model)
        return backend.screen.lines.last ?? ""
    }
}
