// Sound cards that are plugged in or pulled out during a call.
//
//   /proc/asound/cards (every 2 s, off the audio threads) ─▶ SoundCardWatch ─▶ appeared / disappeared
//        └─ the card in use disappeared ─▶ FallbackSource/Sink.cardRemoved() ─▶ silence, retried (DeviceFallback.swift)
//
// alsa-lib has no hot-plug callback for PCMs (its control interface reports
// only changes to one card's controls, and a card that does not exist yet has
// none to open), and Confab does not link udev: polling the kernel's card
// list is what is left. Reading it is a few hundred bytes from procfs, so every
// two seconds costs nothing, and the audio threads never see it.
import ConfabMacros
import Foundation

/// A sound card as the kernel lists it.
@PublicMemberwiseInit
public struct SoundCardEntry: Hashable, Sendable {
    /// The card's number (`hw:1`).
    public var index: Int
    /// Its short id (`hw:CARD=Headset`).
    public var id: String
    /// What people call it ("Logitech USB Headset").
    public var name: String

    /// Whether the ALSA device `pcm` (`hw:1`, `plughw:CARD=Headset,DEV=0`,
    /// `sysdefault:Headset`; no `alsa:` prefix) is on this card. Names without
    /// a card argument (`default`, `pulse`) belong to no card in particular.
    private static let quotes = CharacterSet(charactersIn: "\"' ")

    public func holds(pcm: String) -> Bool {
        guard let colon = pcm.firstIndex(of: ":") else { return false }
        let arguments = pcm[pcm.index(after: colon)...].split(separator: ",").map { String($0) }
        let named = arguments.first { $0.hasPrefix("CARD=") }.map { String($0.dropFirst(5)) }
        guard let card = (named ?? arguments.first { !$0.contains("=") })?.trimmingCharacters(in: Self.quotes) else {
            return false
        }
        return card == id || Int(card) == index
    }
}


/// The kernel's list of sound cards.
public enum SoundCardList {
    /// Where the kernel lists them.
    public static let procPath = "/proc/asound/cards"

    /// The cards in `/proc/asound/cards` now; none when there is no sound
    /// driver at all (no `/proc/asound`, as on servers and CI machines).
    public static func current(path: String = procPath) -> [SoundCardEntry] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return parse(text)
    }

    /// Reads the kernel's format: for each card a line
    /// ` 1 [Headset        ]: USB-Audio - Logitech USB Headset` and an indented
    /// line about where it sits; `--- no soundcards ---` when there are none.
    public static func parse(_ text: String) -> [SoundCardEntry] {
        text.split(separator: "\n").compactMap { line -> SoundCardEntry? in
            guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]"), open < close,
                let index = Int(line[..<open].trimmingCharacters(in: .whitespaces))
            else { return nil }
            let id = line[line.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
            // After "]: driver - ": the card's long name.
            let rest = line[line.index(after: close)...]
            let name = rest.range(of: " - ").map { String(rest[$0.upperBound...]) } ?? id
            return SoundCardEntry(index: index, id: id, name: name.trimmingCharacters(in: .whitespaces))
        }
    }
}

/// Turns successive card lists into the cards that appeared and disappeared.
public struct SoundCardWatch: Sendable {
    private var known: Set<SoundCardEntry>?

    public init() {}

    /// The changes since the last list; the first list is where it starts (nothing reported).
    public mutating func update(_ cards: [SoundCardEntry]) -> (appeared: [SoundCardEntry], disappeared: [SoundCardEntry]) {
        let now = Set(cards)
        let before = known
        known = now
        guard let before else { return ([], []) }
        let byIndex = { (cards: Set<SoundCardEntry>) in cards.sorted { $0.index < $1.index } }
        return (byIndex(now.subtracting(before)), byIndex(before.subtracting(now)))
    }
}
