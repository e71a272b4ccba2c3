// What a missing sound card means to the person at the keyboard, in one
// plain line: the media layer's notices name ALSA devices and carry its
// error text (`snd_pcm_open default: No such file or directory`), which
// says nothing to a user and filled six lines of the first screen.
public enum DeviceNotices {
    public static let devicesHint = "`confab devices` lists what there is."

    /// The notices as the fronts show them: the capture and playback
    /// fallbacks become one line between them; anything else passes as it is.
    public static func plain(_ notices: [String]) -> [String] {
        let noMicrophone = notices.contains { $0.hasPrefix("No capture device") }
        let noSpeaker = notices.contains { $0.hasPrefix("No playback device") }
        let others = notices.filter { !$0.hasPrefix("No capture device") && !$0.hasPrefix("No playback device") }
        let summary: String? = switch (noMicrophone, noSpeaker) {
        case (true, true): "No sound card found: others hear silence from you and you hear nothing. \(devicesHint)"
        case (true, false): "No microphone found: others hear silence. \(devicesHint)"
        case (false, true): "No speaker found: you hear nothing. \(devicesHint)"
        case (false, false): nil
        }
        return (summary.map { [$0] } ?? []) + others
    }
}
