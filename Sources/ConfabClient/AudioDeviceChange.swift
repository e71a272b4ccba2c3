// A sound card that went away or came back during a call, as the SDK tells it.
//
//   FallbackSource / FallbackSink (ConfabMedia: the card's error ─▶ silence, retried every second)
//   ─▶ DeviceHealth counters ─▶ MediaController (every 50 ms) ─▶ SessionEvent.audioDevice ─▶ front, bots

import ConfabMedia

public struct AudioDeviceChange: Hashable, Sendable {
    public enum Direction: String, Hashable, Sendable {
        case input, output
    }

    public var direction: Direction
    /// The device's name ("alsa:hw:1").
    public var device: String
    /// False when it went away; true when it is back.
    public var available: Bool

    public init(direction: Direction, device: String, available: Bool) {
        self.direction = direction
        self.device = device
        self.available = available
    }

    /// One line for people.
    public var text: String {
        let what = direction == .input ? "microphone" : "speaker"
        return available
            ? "The \(what) \(device) is back."
            : direction == .input
                ? "The microphone \(device) stopped working: others hear silence; trying it again every second."
                : "The speaker \(device) stopped working: you hear nothing; trying it again every second."
    }
}

/// Turns a device's health counters into changes, each once.
struct DeviceHealthWatch {
    private var seenLost = false

    mutating func change(_ health: DeviceHealth, direction: AudioDeviceChange.Direction, device: String) -> AudioDeviceChange? {
        let lost = health.isLost.load(ordering: .acquiring)
        guard lost != seenLost else { return nil }
        seenLost = lost
        return AudioDeviceChange(direction: direction, device: device, available: !lost)
    }
}
