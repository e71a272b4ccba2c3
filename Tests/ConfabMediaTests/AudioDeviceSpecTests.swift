import ConfabMedia
import Testing

@Suite("Audio device specs")
struct AudioDeviceSpecTests {
    @Test("accepted forms parse to their device",
          arguments: [
            ("tone:440", AudioDeviceSpec.tone(frequencyHz: 440)),
            ("tone:997.5", .tone(frequencyHz: 997.5)),
            ("tone", .tone(frequencyHz: 440)),
            ("silence", .silence),
            ("speech", .speech(seed: 1)),
            ("speech:42", .speech(seed: 42)),
            ("null", .null),
            ("alsa:hw:0,0", .alsa("hw:0,0")),
            ("alsa:plughw:CARD=USB,DEV=0", .alsa("plughw:CARD=USB,DEV=0")),
            ("alsa:cap", .alsa("cap")),
            ("out.wav", .wav("out.wav")),
            ("/tmp/my recordings/Take 1.WAV", .wav("/tmp/my recordings/Take 1.WAV")),
            ("  speech:7 \n", .speech(seed: 7)),
            ("Tone:300", .tone(frequencyHz: 300)),
          ] as [(String, AudioDeviceSpec)])
    func parses(text: String, expected: AudioDeviceSpec) throws {
        #expect(try AudioDeviceSpec.parse(text) == expected)
    }

    @Test("the description parses back to the same device",
          arguments: [AudioDeviceSpec.tone(frequencyHz: 440), .tone(frequencyHz: 12.25), .silence, .speech(seed: .max), .null, .alsa("hw:1"), .wav("a/b.wav")])
    func roundTrip(spec: AudioDeviceSpec) throws {
        #expect(try AudioDeviceSpec.parse(spec.description) == spec)
    }

    @Test("bad strings give a specific error",
          arguments: [
            ("", AudioDeviceSpecError.empty),
            ("   ", .empty),
            ("microphone", .unknown("microphone")),
            ("/dev/dsp", .unknown("/dev/dsp")),
            ("out.mp3", .unknown("out.mp3")),
            ("silence:3", .unknown("silence:3")),
            ("null:x", .unknown("null:x")),
            ("tone:", .invalidToneFrequency("")),
            ("tone:abc", .invalidToneFrequency("abc")),
            ("tone:-5", .invalidToneFrequency("-5")),
            ("tone:0", .invalidToneFrequency("0")),
            ("tone:24000", .invalidToneFrequency("24000")),
            ("tone:nan", .invalidToneFrequency("nan")),
            ("tone:inf", .invalidToneFrequency("inf")),
            ("speech:-1", .invalidSeed("-1")),
            ("speech:18446744073709551616", .invalidSeed("18446744073709551616")),
            ("speech:seven", .invalidSeed("seven")),
            ("alsa", .missingALSAName),
            ("alsa:", .missingALSAName),
          ] as [(String, AudioDeviceSpecError)])
    func rejects(text: String, expected: AudioDeviceSpecError) {
        #expect(throws: expected) { try AudioDeviceSpec.parse(text) }
    }

    @Test("an unknown device's message is a sentence that lists every accepted form")
    func unknownMessage() {
        let message = AudioDeviceSpecError.unknown("mic").description
        #expect(message == "\"mic\" is not an audio device; use tone:HZ (e.g. tone:440), silence, speech or speech:SEED, null, alsa:NAME (e.g. alsa:hw:0), or a path ending in .wav.")
        let all: [AudioDeviceSpecError] = [.empty, .unknown("x"), .invalidToneFrequency("x"), .invalidSeed("x"), .missingALSAName]
        for error in all {
            #expect(error.description.first?.isUppercase == true || error.description.first == "\"")
            #expect(error.description.hasSuffix("."))
        }
        #expect(AudioDeviceSpecError.invalidToneFrequency("abc").description.contains("tone:440"))
        #expect(AudioDeviceSpecError.invalidSeed("x").description.contains("speech:7"))
    }
}
