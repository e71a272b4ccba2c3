// The processing per sound device in config.toml: read, looked up for the
// devices in use (the speaker's first), and written back for a device.
import ConfabClient
import Foundation
import Testing
@testable import ConfabTUI

@Suite("processing per sound device")
struct DeviceProcessingTests {
    static let config = """
        [audio]
        echoCancellation = true

        [audio.device."alsa:hw:1"]
        echoCancellation = false
        noiseSuppression = false

        [audio.device."alsa:speakers"]
        echoCancellation = true
        """

    @Test("[audio.device.\"NAME\"] is read per device")
    func reads() throws {
        let audio = try ClientConfig.parse(Self.config, path: "c.toml").audio
        #expect(audio.echoCancellation == true)
        #expect(audio.devices == [
            "alsa:hw:1": VoiceOverrides(echoCancellation: false, noiseSuppression: false),
            "alsa:speakers": VoiceOverrides(echoCancellation: true),
        ])
    }

    @Test("a headset's settings apply; the speaker's come before the microphone's")
    func lookUp() throws {
        let audio = try ClientConfig.parse(Self.config, path: "c.toml").audio
        #expect(audio.overrides(input: "alsa:hw:1", output: "alsa:hw:1") == VoiceOverrides(echoCancellation: false, noiseSuppression: false))
        #expect(audio.overrides(input: "alsa:hw:1", output: "alsa:speakers") == VoiceOverrides(echoCancellation: true, noiseSuppression: false))
        #expect(audio.overrides(input: "alsa:default", output: "alsa:default") == VoiceOverrides())
    }

    @Test("a setting that is not processing, or not a boolean, names its line")
    func refuses() {
        for bad in ["[audio.device.\"alsa:hw:1\"]\njoinMuted = true\n", "[audio.device.\"alsa:hw:1\"]\nechoCancellation = \"no\"\n"] {
            #expect {
                _ = try ClientConfig.parse(bad, path: "c.toml")
            } throws: { error in
                (error as? ThemeError)?.line == 2
            }
        }
    }

    @Test("a device's setting is written into its own table and read back")
    func writes() throws {
        let section = AudioPreferences.deviceSection("alsa:hw:1")
        #expect(section == "audio.device.\"alsa:hw:1\"")
        var text = "[audio]\njoinMuted = false\n"
        text = ConfigFileEditor.setting("echoCancellation", toml: "false", in: section, text: text)
        text = ConfigFileEditor.setting("echoCancellation", toml: "true", in: section, text: text)
        #expect(text == "[audio]\njoinMuted = false\n\n[audio.device.\"alsa:hw:1\"]\nechoCancellation = true\n")
        let audio = try ClientConfig.parse(text, path: "c.toml").audio
        #expect(audio.joinMuted == false)
        #expect(audio.devices["alsa:hw:1"] == VoiceOverrides(echoCancellation: true))
    }

    @Test("a key that switches one part writes only that part for the device")
    func writesOnlyWhatSwitched() {
        let before = VoiceChain.all
        var after = before
        after.on.remove(.echo)
        let switched = VoiceOverrides.switched(from: before, to: after)
        #expect(switched == VoiceOverrides(echoCancellation: false))
        #expect(switched.entries.map(\.key) == ["echoCancellation"])
        #expect(switched.entries.map(\.value) == [false])
        #expect(VoiceOverrides.switched(from: after, to: after).entries.isEmpty, "nothing switched, nothing written")
    }

    @Test("a flag on the command line wins over the table of a device switched to")
    func flagsWin() throws {
        let audio = try ClientConfig.parse(Self.config, path: "c.toml").audio
        let flags = VoiceOverrides(echoCancellation: true)  // --echo-cancellation
        let device = audio.overrides(input: nil, output: "alsa:hw:1").unflagged(by: flags)
        #expect(device == VoiceOverrides(noiseSuppression: false), "the table's echoCancellation = false gives way to the flag")
    }
}
