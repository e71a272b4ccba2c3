// The sound device switched to during a meeting is remembered in config.toml:
// one line replaced or added, the rest of the user's file kept as written.
import ConfabTestSupport
import Foundation
import Testing

import ConfabTUI

@Suite("Remembering a choice in config.toml")
struct ConfigFileEditorTests {
    @Test("a key in [audio] is replaced in place; comments, order and other sections stay")
    func replaces() throws {
        let text = """
            # my settings
            theme = "light"
            [audio]
            output = "alsa:hw:0"   # the speakers
            joinMuted = false
            [keys]
            mute = "x"

            """
        let after = ConfigFileEditor.setting("output", to: "alsa:USB Headset", in: "audio", text: text)
        #expect(after == """
            # my settings
            theme = "light"
            [audio]
            output = "alsa:USB Headset"
            joinMuted = false
            [keys]
            mute = "x"

            """)
        let config = try ClientConfig.parse(after, path: "c.toml")
        #expect(config.audio == AudioPreferences(joinMuted: false, output: "alsa:USB Headset"))
        #expect(config.theme == "light")
    }

    @Test("a missing key goes after the section's last entry; a missing section is appended")
    func adds() throws {
        let withSection = "[audio]\njoinMuted = true\n\n# later\n[chat]\nmentionBell = false\n"
        let added = ConfigFileEditor.setting("input", to: "alsa:hw:1", in: "audio", text: withSection)
        #expect(added == "[audio]\njoinMuted = true\ninput = \"alsa:hw:1\"\n\n# later\n[chat]\nmentionBell = false\n")
        let without = ConfigFileEditor.setting("output", to: "alsa:hw:2", in: "audio", text: "theme = \"dark\"")
        #expect(without == "theme = \"dark\"\n\n[audio]\noutput = \"alsa:hw:2\"\n")
        #expect(try ClientConfig.parse(without, path: "c.toml").audio.output == "alsa:hw:2")
        #expect(ConfigFileEditor.setting("output", to: "null", in: "audio", text: "") == "[audio]\noutput = \"null\"\n")
    }

    @Test("a name with quotes and backslashes is written as a TOML string that reads back the same")
    func escapes() throws {
        let name = #"alsa:plug "odd" \ card"#
        let text = ConfigFileEditor.setting("output", to: name, in: "audio", text: "")
        #expect(try ClientConfig.parse(text, path: "c.toml").audio.output == name)
    }

    @Test("the file and its directory are made when missing; a broken file is refused and left alone")
    func files() throws {
        let home = try TempDirectory(prefix: "confab-config-edit")
        defer { home.remove() }
        let path = home.file("confab/config.toml")
        try ConfigFileEditor.set("output", to: "alsa:hw:3", in: "audio", path: path)
        #expect(try ClientConfig.load(path: path).audio.output == "alsa:hw:3")
        let broken = home.file("broken.toml")
        try "[audio\noutput = 1\n".write(toFile: broken, atomically: true, encoding: .utf8)
        #expect(throws: ThemeError.self) { try ConfigFileEditor.set("output", to: "alsa:hw:3", in: "audio", path: broken) }
        #expect(try String(contentsOfFile: broken, encoding: .utf8) == "[audio\noutput = 1\n")
    }
}
