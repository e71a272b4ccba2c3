import ConfabMedia
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

@Suite("which processing a microphone gets")
struct ProcessingChoiceTests {
    static let allOn = VoiceProcessingSettings()
    static let allOff = VoiceProcessingSettings(
        echoCancellation: false, noiseSuppression: false, automaticGain: false, keyboardSuppression: false)

    @Test("by default a sound card is processed; a file or a generator is sent as it is",
          arguments: [("alsa:default", true), ("alsa:hw:1", true), ("talk.wav", false), ("tone:440", false),
                      ("speech:3", false), ("silence", false)])
    func byDevice(_ input: String, _ processed: Bool) {
        #expect(AudioPreferences().processing(input: input, output: "alsa:default") == (processed ? Self.allOn : Self.allOff))
    }

    @Test("a flag wins over the device's table, which wins over [audio], which wins over the device kind")
    func precedence() throws {
        let config = try ClientConfig.parse(
            """
            [audio]
            echoCancellation = true
            noiseSuppression = false
            [audio.device."alsa:headset"]
            echoCancellation = false
            """, path: "c.toml")
        let audio = config.audio
        let headset = audio.processing(input: "alsa:default", output: "alsa:headset")
        #expect(!headset.echoCancellation, "the headset's table over [audio]")
        #expect(!headset.noiseSuppression, "[audio] over the sound card's default")
        #expect(headset.automaticGain && headset.keyboardSuppression, "nothing set: on for a sound card")
        let flagged = audio.processing(
            input: "alsa:default", output: "alsa:headset", flags: VoiceOverrides(echoCancellation: true, automaticGain: false))
        #expect(flagged.echoCancellation && !flagged.automaticGain, "the flags over everything")
        #expect(audio.processing(input: "tone:440", output: "null").echoCancellation, "[audio] also for a generator")
        #expect(!audio.processing(input: "tone:440", output: "null").automaticGain)
    }
}

@Suite("joining muted")
struct JoinMutedTests {
    @Test("[audio] joinMuted is read")
    func readsJoinMuted() throws {
        #expect(try ClientConfig.parse("[audio]\njoinMuted = false\n", path: "c.toml").audio == AudioPreferences(joinMuted: false))
        #expect(throws: ThemeError.self) { _ = try ClientConfig.parse("[audio]\njoinMuted = 1\n", path: "c.toml") }
    }

    @Test("[audio] input and output name the front's devices; an empty or non-string one names its line")
    func readsDevices() throws {
        let config = try ClientConfig.parse("[audio]\ninput = \"alsa:hw:1\"\noutput = \"alsa:plughw:2\"\n", path: "c.toml")
        #expect(config.audio == AudioPreferences(input: "alsa:hw:1", output: "alsa:plughw:2"))
        for bad in ["[audio]\ninput = \"\"\n", "[audio]\noutput = 3\n"] {
            do {
                _ = try ClientConfig.parse(bad, path: "c.toml")
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.line == 2)
                #expect(error.message.contains("confab devices lists them"))
            }
        }
    }

    @Test("nothing to say: muted; else --[no-]muted, then joinMuted, then muted unless --input named the source",
          arguments: [
              // (flag, joinMuted, hasInput, inputNamed, expected)
              (Bool?.none, Bool?.none, false, false, true),
              (false, false, false, false, true),
              (nil, nil, true, false, true),  // the front's sound card waits for a key
              (nil, nil, true, true, false),  // a bot's --input talks at once
              (nil, false, true, false, false),
              (nil, true, true, true, true),
              (true, false, true, true, true),
              (false, true, true, false, false),
          ])
    func decides(flag: Bool?, joinMuted: Bool?, hasInput: Bool, inputNamed: Bool, expected: Bool) {
        let preferences = AudioPreferences(joinMuted: joinMuted)
        #expect(preferences.joinsMuted(flag: flag, hasInput: hasInput, inputNamed: inputNamed) == expected)
    }
}
