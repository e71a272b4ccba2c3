// A theme's slots as one line of SGR-coloured text, for `confab themes`
// (printed outside curses, so the escape sequences are written here, from
// our own constant strings only: never from anything a peer sent).

public enum ThemePreview {
    /// `plain` (output that is not a terminal): names only, no escape sequences.
    public static func line(_ theme: Theme, depth: ColorDepth, plain: Bool = false) -> String {
        let background = sgr(theme[.background], depth: depth, background: true)
        var text = ""
        for slot in Slot.allCases where slot != .background && slot != .surface {
            let foreground = sgr(theme[slot], depth: depth, background: false)
            let attributes = theme.attributes(for: Style(slot, on: .background), depth: depth)
            var codes = [background, foreground].filter { !$0.isEmpty }
            if attributes.contains(.bold) { codes.append("1") }
            if attributes.contains(.dim) { codes.append("2") }
            if attributes.contains(.underline) { codes.append("4") }
            if attributes.contains(.reverse) { codes.append("7") }
            let label = slot.isRole ? "@" + slot.key : slot.key
            if plain {
                text += label + " "
                continue
            }
            text += codes.isEmpty ? label + " " : "\u{1B}[" + codes.joined(separator: ";") + "m" + label + " \u{1B}[0m"
        }
        return text
    }

    static func sgr(_ color: Color, depth: ColorDepth, background: Bool) -> String {
        let base = background ? 48 : 38
        switch depth {
        case .none: return ""
        case .trueColor:
            guard let (r, g, b) = color.rgbValue else { return "" }
            return "\(base);2;\(r);\(g);\(b)"
        case .palette256, .ansi:
            let number = depth.resolve(color)
            return number < 0 ? "" : "\(base);5;\(number)"
        }
    }
}
