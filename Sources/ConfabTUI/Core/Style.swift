// Styles name semantic slots, never colours (Textual's Theme): a widget asks
// for "speaking on surface, bold", and the theme decides what that looks like
// on this terminal (true colour, 256, 8, or none at all).
//
//   widget ─▶ Style(slot, on: slot, attributes) ─▶ Cell ─▶ backend ─▶ Theme[slot] ─▶ colour pair
//
// Keeping slots in the cells makes snapshots independent of the theme and
// lets the backend degrade colours without any widget knowing.

import Curses

/// A semantic colour slot of a theme.
public enum Slot: UInt8, CaseIterable, Hashable, Sendable {
    case background
    case surface
    case text
    case dim
    case accent
    case speaking
    case warning
    case error
    case ok
    case roleHost
    case roleSpeaker
    case roleListener
    case roleOther

    /// The key of the slot in a theme file.
    public var key: String {
        switch self {
        case .background: "background"
        case .surface: "surface"
        case .text: "text"
        case .dim: "dim"
        case .accent: "accent"
        case .speaking: "speaking"
        case .warning: "warning"
        case .error: "error"
        case .ok: "ok"
        case .roleHost: "host"
        case .roleSpeaker: "speaker"
        case .roleListener: "listener"
        case .roleOther: "other"
        }
    }

    /// Whether the slot lives in a theme's `[roles]` table.
    public var isRole: Bool {
        switch self {
        case .roleHost, .roleSpeaker, .roleListener, .roleOther: true
        default: false
        }
    }

    /// The slot of a role by name: the three built-in roles have their own
    /// colour, every other role shares one.
    public static func role(named name: String) -> Slot {
        switch name {
        case "host": .roleHost
        case "speaker": .roleSpeaker
        case "listener": .roleListener
        default: .roleOther
        }
    }
}

/// Text attributes, independent of colour (they survive `NO_COLOR`): the
/// terminal's own set, so the backend hands them over as they are.
public typealias TextAttributes = Curses.Attributes

/// How a cell looks: a foreground slot on a background slot, plus attributes.
public struct Style: Hashable, Sendable {
    public var foreground: Slot
    public var background: Slot
    public var attributes: TextAttributes

    public init(_ foreground: Slot = .text, on background: Slot = .background, _ attributes: TextAttributes = []) {
        self.foreground = foreground
        self.background = background
        self.attributes = attributes
    }

    public static let plain = Style()

    public func bold() -> Style { adding(.bold) }
    public func reversed() -> Style { adding(.reverse) }

    public func adding(_ more: TextAttributes) -> Style {
        var copy = self
        copy.attributes.formUnion(more)
        return copy
    }

    public func on(_ background: Slot) -> Style {
        var copy = self
        copy.background = background
        return copy
    }
}
