// A sound card that went away or came back during a call, or the route that
// a switch changed, as the SDK tells it.
//
//   FallbackSource / FallbackSink (ConfabMedia: the card's error ─▶ silence, retried every second)
//   ─▶ DeviceHealth counters ─▶ MediaController (every 50 ms) ─▶ SessionEvent.audioDevice ─▶ front, bots
//   MediaController.switchDevice ─▶ SessionEvent.audioDevice (switched) ─▶ front, bots

import ConfabMacros
import ConfabMedia

public struct AudioDeviceChange: Hashable, Sendable {
    public enum Direction: String, Hashable, Sendable {
        case input, output
    }

    /// What happened to the device.
    public enum Kind: String, Hashable, Sendable {
        /// It failed (unplugged): silence is sent, or what plays goes nowhere.
        case lost
        /// It works again.
        case back
        /// The call now uses it, after a switch (the current route).
        case switched
        /// It took over from the card in use, which failed (`replaced`);
        /// that card is taken back when it returns (DeviceFailover.swift).
        case fellBack
    }

    public var direction: Direction
    /// The device's name ("alsa:hw:1").
    public var device: String
    public var kind: Kind
    /// For `fellBack`: the card it took over from.
    public var replaced: String?
    /// False when it went away; true when it is back or was switched to.
    public var available: Bool { kind != .lost }

    public init(direction: Direction, device: String, available: Bool) {
        self.init(direction: direction, device: device, kind: available ? .back : .lost)
    }

    public init(direction: Direction, device: String, kind: Kind, replaced: String? = nil) {
        self.direction = direction
        self.device = device
        self.kind = kind
        self.replaced = replaced
    }

    /// One line for people.
    public var text: String {
        let what = direction == .input ? "microphone" : "speaker"
        if kind == .switched { return "The \(what) is now \(device)." }
        if kind == .fellBack {
            let lost = replaced ?? "in use"
            return "The \(what) \(lost) stopped working: using \(device) until it is back."
        }
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
    /// A device was offered to a lost wrapper (a switch, or the fallback): the
    /// wrapper's losses then. Its end of "lost" is that switch, not the card
    /// coming back; a loss counted after it is the offered device failing.
    private var offeredAtLosses: Int?

    mutating func change(_ health: DeviceHealth, direction: AudioDeviceChange.Direction, device: String) -> AudioDeviceChange? {
        let lost = health.isLost.load(ordering: .acquiring)
        if let offered = offeredAtLosses, lost, health.losses.load(ordering: .relaxed) > offered {
            // Taken and failed too before this look: a loss of its own, though "lost" never cleared here.
            offeredAtLosses = nil
            seenLost = true
            return AudioDeviceChange(direction: direction, device: device, available: false)
        }
        guard lost != seenLost else { return nil }
        seenLost = lost
        if !lost && offeredAtLosses != nil {
            offeredAtLosses = nil
            return nil
        }
        return AudioDeviceChange(direction: direction, device: device, available: !lost)
    }

    /// Another device was offered: while the one in use is lost, its recovery
    /// by that switch is not reported as "back".
    mutating func expectSwitch(_ health: DeviceHealth) {
        offeredAtLosses = seenLost ? health.losses.load(ordering: .relaxed) : nil
    }
}

/// A sound card's trouble so far, in `SessionEvent.mediaStats` (docs/BOTS.md, `media.stats`).
public struct AudioDeviceStats: Hashable, Sendable {
    public var direction: AudioDeviceChange.Direction
    /// The device in use now ("alsa:hw:1").
    public var device: String
    /// Over-runs (input) or under-runs (output) that ALSA recovered: each a click, not a failure.
    public var xruns: Int
    /// Times it failed and the call went on without it (see `AudioDeviceChange`).
    public var failures: Int

    public init(direction: AudioDeviceChange.Direction, device: String, xruns: Int, failures: Int) {
        self.direction = direction
        self.device = device
        self.xruns = xruns
        self.failures = failures
    }
}

/// A sound card plugged in or pulled out during the call (the kernel's card
/// list, looked at every 2 s: SoundCardWatch.swift). A card in use that goes
/// also fails as an unplugged one does (`AudioDeviceChange`, kind `lost`).
@PublicMemberwiseInit
public struct SoundCardChange: Hashable, Sendable {
    public var card: SoundCardEntry
    /// True when it appeared, false when it went.
    public var present: Bool

    /// One line for people.
    public var text: String {
        present
            ? "Sound card \(card.index) (\(card.name)) was plugged in: /device lists its devices (alsa:plughw:CARD=\(card.id))."
            : "Sound card \(card.index) (\(card.name)) was unplugged."
    }
}
