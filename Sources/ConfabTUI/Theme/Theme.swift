// A theme gives each semantic slot a colour (Textual's Theme). Files are TOML
// (themes/README.md); the backend degrades each colour to what the terminal
// has: true colour, 256 colours, 8/16 colours, or none (NO_COLOR, mono), in
// which case attributes alone tell things apart.
//
//   themes/NAME.toml ─▶ ThemeFile.parse ─▶ Theme ─▶ ColorDepth.resolve ─▶ curses colour numbers

import Foundation

extension Double {
    fileprivate func power(_ exponent: Double) -> Double { Foundation.pow(self, exponent) }
}

/// A colour as a theme names it.
public enum Color: Hashable, Sendable, CustomStringConvertible {
    /// The terminal's own foreground or background colour.
    case terminalDefault
    /// One of the 16 ANSI colours (0-7 normal, 8-15 bright).
    case ansi(UInt8)
    /// One of the 256 xterm palette entries.
    case indexed(UInt8)
    /// A 24-bit colour.
    case rgb(UInt8, UInt8, UInt8)

    public var description: String {
        switch self {
        case .terminalDefault: "default"
        case .ansi(let n): Color.ansiNames[Int(n)]
        case .indexed(let n): "\(n)"
        case .rgb(let r, let g, let b):
            "#" + [r, g, b].map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        }
    }

    static let ansiNames = [
        "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
        "bright-black", "bright-red", "bright-green", "bright-yellow", "bright-blue", "bright-magenta", "bright-cyan",
        "bright-white",
    ]

    /// Reads "#rrggbb", "default", an ANSI name ("red", "bright-blue") or a palette number "0"…"255".
    public init?(parsing text: String) {
        let value = text.lowercased()
        if value == "default" || value == "none" {
            self = .terminalDefault
        } else if let index = Color.ansiNames.firstIndex(of: value) {
            self = .ansi(UInt8(index))
        } else if value.hasPrefix("#"), value.count == 7, let rgb = UInt32(value.dropFirst(), radix: 16) {
            self = .rgb(UInt8(rgb >> 16 & 0xFF), UInt8(rgb >> 8 & 0xFF), UInt8(rgb & 0xFF))
        } else if let number = UInt8(value) {
            self = .indexed(number)
        } else {
            return nil
        }
    }

    /// The colour's RGB value, for degrading (xterm's default palette).
    var rgbValue: (Int, Int, Int)? {
        switch self {
        case .terminalDefault: return nil
        case .rgb(let r, let g, let b): return (Int(r), Int(g), Int(b))
        case .ansi(let n): return Color.paletteRGB(Int(n))
        case .indexed(let n): return Color.paletteRGB(Int(n))
        }
    }

    /// xterm's 256-colour palette: 16 system colours, a 6×6×6 cube, 24 greys.
    static func paletteRGB(_ index: Int) -> (Int, Int, Int) {
        let system: [(Int, Int, Int)] = [
            (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
            (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255),
            (255, 255, 255),
        ]
        if index < 16 { return system[index] }
        if index < 232 {
            let cube = index - 16
            let level = { (n: Int) in n == 0 ? 0 : 55 + n * 40 }
            return (level(cube / 36), level(cube / 6 % 6), level(cube % 6))
        }
        let grey = 8 + (index - 232) * 10
        return (grey, grey, grey)
    }
}

/// What the terminal can show.
public enum ColorDepth: Int, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// No colour: NO_COLOR, a monochrome terminal, or the mono theme.
    case none = 0
    /// The 8 (or 16) ANSI colours.
    case ansi = 8
    /// The xterm 256-colour palette.
    case palette256 = 256
    /// 24-bit colour (a direct-colour terminfo entry such as xterm-direct).
    case trueColor = 16_777_216

    public static func < (lhs: ColorDepth, rhs: ColorDepth) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .none: "no colour"
        case .ansi: "8/16 colours"
        case .palette256: "256 colours"
        case .trueColor: "true colour"
        }
    }

    /// The depth for a terminal that reports `colors` colours (terminfo),
    /// with `noColor` when the NO_COLOR variable is set (no-color.org).
    public static func detect(colors: Int, noColor: Bool) -> ColorDepth {
        if noColor || colors < 8 { return .none }
        if colors >= 1 << 24 { return .trueColor }
        if colors >= 256 { return .palette256 }
        return .ansi
    }

    /// The curses colour number for `color` at this depth: -1 for the
    /// terminal's default; the nearest colour the terminal has otherwise.
    public func resolve(_ color: Color, ansiCount: Int = 8) -> Int32 {
        switch (self, color) {
        case (.none, _), (_, .terminalDefault): return -1
        case (.trueColor, _):
            guard let (r, g, b) = color.rgbValue else { return -1 }
            return Int32(r << 16 | g << 8 | b)
        case (.palette256, .ansi(let n)), (.palette256, .indexed(let n)): return Int32(n)
        case (.palette256, .rgb(let r, let g, let b)): return Int32(Self.nearest256(Int(r), Int(g), Int(b)))
        case (.ansi, .ansi(let n)) where Int(n) < ansiCount: return Int32(n)
        case (.ansi, _):
            guard let (r, g, b) = color.rgbValue else { return -1 }
            return Int32(Self.nearestANSI(r, g, b, count: ansiCount))
        }
    }

    /// The nearest entry of xterm's cube or grey ramp (never the 16 system
    /// colours, which terminals redefine).
    static func nearest256(_ r: Int, _ g: Int, _ b: Int) -> Int {
        let step = { (v: Int) -> Int in v < 48 ? 0 : v < 115 ? 1 : (v - 35) / 40 }
        let cube = 16 + 36 * step(r) + 6 * step(g) + step(b)
        let average = (r + g + b) / 3
        let greyIndex = average > 238 ? 23 : max(0, (average - 3) / 10)
        let grey = 232 + greyIndex
        return distance(Color.paletteRGB(cube), (r, g, b)) <= distance(Color.paletteRGB(grey), (r, g, b)) ? cube : grey
    }

    static func nearestANSI(_ r: Int, _ g: Int, _ b: Int, count: Int) -> Int {
        (0..<min(count, 16)).min { distance(Color.paletteRGB($0), (r, g, b)) < distance(Color.paletteRGB($1), (r, g, b)) } ?? 7
    }

    private static func distance(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Int {
        // Weighted for the eye's sensitivity (a cheap "redmean" approximation).
        let dr = a.0 - b.0
        let dg = a.1 - b.1
        let db = a.2 - b.2
        return 2 * dr * dr + 4 * dg * dg + 3 * db * db
    }
}

/// A theme: a colour per slot, and attributes that carry meaning where colour cannot.
public struct Theme: Hashable, Sendable {
    public var name: String
    public var description: String
    public var colors: [Slot: Color]
    /// Attributes added wherever a slot is the foreground, in every depth
    /// (a theme may make `speaking` bold); with no colour at all, the
    /// backend adds `Theme.monoAttributes` too.
    public var attributes: [Slot: TextAttributes]
    /// Hand-picked colours for 16- and 8-colour terminals (`[ansi]`,
    /// `[ansi8]`); with 8, a slot missing from `ansi8` takes its `ansi`
    /// colour without brightness; a slot in neither, the nearest ANSI colour.
    public var ansi16: [Slot: UInt8] = [:]
    public var ansi8: [Slot: UInt8] = [:]

    public init(name: String, description: String = "", colors: [Slot: Color], attributes: [Slot: TextAttributes] = [:]) {
        self.name = name
        self.description = description
        self.colors = colors
        self.attributes = attributes
    }

    public subscript(slot: Slot) -> Color {
        colors[slot] ?? .terminalDefault
    }

    /// The curses colour number `slot` is drawn with at `depth` (-1: the terminal's default).
    public func resolved(_ slot: Slot, depth: ColorDepth, ansiCount: Int) -> Int32 {
        if depth == .ansi, self[slot] != .terminalDefault {
            if ansiCount >= 16, let number = ansi16[slot] { return Int32(number) }
            if ansiCount < 16 {
                if let number = ansi8[slot] { return Int32(number) }
                if let number = ansi16[slot] { return Int32(number % 8) }
            }
        }
        return depth.resolve(self[slot], ansiCount: ansiCount)
    }

    /// The colour a terminal shows for a resolved number at `depth`, as RGB
    /// (xterm's palette for palette entries); nil for the terminal's default.
    public static func displayed(_ number: Int32, depth: ColorDepth) -> (Int, Int, Int)? {
        guard number >= 0 else { return nil }
        if depth == .trueColor { return (Int(number >> 16 & 0xFF), Int(number >> 8 & 0xFF), Int(number & 0xFF)) }
        return Color.paletteRGB(Int(number))
    }

    /// WCAG 2 contrast ratio of two colours (1…21): relative luminance per
    /// WCAG 2.x §1.4.3's definition, sRGB channels linearised.
    public static func contrast(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Double {
        func channel(_ value: Int) -> Double {
            let c = Double(value) / 255
            return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055).power(2.4)
        }
        func luminance(_ rgb: (Int, Int, Int)) -> Double {
            0.2126 * channel(rgb.0) + 0.7152 * channel(rgb.1) + 0.0722 * channel(rgb.2)
        }
        let (la, lb) = (luminance(a), luminance(b))
        return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
    }

    /// Without colour, these attributes keep slots apart: speaking bold,
    /// errors reversed, dim text dim, a selection or highlight background reversed.
    public static let monoAttributes: [Slot: TextAttributes] = [
        .speaking: [.bold], .accent: [.bold], .error: [.bold, .reverse], .warning: [.bold], .dim: [.dim],
        .roleHost: [.bold], .ok: [],
    ]

    /// The attributes to draw `style` with at `depth`.
    public func attributes(for style: Style, depth: ColorDepth) -> TextAttributes {
        var result = style.attributes.union(attributes[style.foreground] ?? [])
        if depth == .none {
            result.formUnion(Theme.monoAttributes[style.foreground] ?? [])
            // A coloured background marks a highlight (selection, speaking
            // tile); without colour, reverse video does that job.
            switch style.background {
            case .background, .surface: break
            default: result.formSymmetricDifference(.reverse)
            }
        }
        return result
    }
}
