import ConfabTUI
import Testing

@Suite("[audio] in config.toml")
struct AudioPreferencesTests {
    @Test("each processing setting is read; absent ones stay unset")
    func readsSettings() throws {
        let config = try ClientConfig.parse("[audio]\nechoCancellation = false\nkeyboardSuppression = true\n", path: "c.toml")
        #expect(config.audio == AudioPreferences(echoCancellation: false, keyboardSuppression: true))
        #expect(try ClientConfig.parse("theme = \"light\"\n", path: "c.toml").audio == AudioPreferences())
    }

    @Test("an unknown setting or a value that is not a boolean names its line")
    func refusesBadSettings() {
        #expect(throws: ThemeError.self) { _ = try ClientConfig.parse("[audio]\nechoCancelation = true\n", path: "c.toml") }
        do {
            _ = try ClientConfig.parse("theme = \"light\"\n[audio]\nnoiseSuppression = \"yes\"\n", path: "c.toml")
            Issue.record("a string was taken for a boolean")
        } catch {
            #expect(error.line == 3)
            #expect(error.message.contains("true or false"))
        }
    }
}
