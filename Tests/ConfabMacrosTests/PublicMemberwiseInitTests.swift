import ConfabMacrosPlugin
import SwiftSyntaxMacroExpansion
import SwiftSyntaxMacrosGenericTestSupport
import Testing

/// Expands `@PublicMemberwiseInit` on a `public struct` with `members` and
/// expects it to add `addedInit` (nil: nothing) after them, reporting a
/// mismatch as a Swift Testing issue at the caller's line.
private func expectExpansion(
    ofStructWith members: String,
    adding addedInit: String?,
    kind: String = "struct",
    diagnostics: [DiagnosticSpec] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let body = members.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }
    let declaration = "public \(kind) Sample {\n\(body.joined(separator: "\n"))\n"
    let added = addedInit.map { text in
        "\n" + text.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") + "\n"
    }
    assertMacroExpansion(
        "@PublicMemberwiseInit\n\(declaration)}",
        expandedSource: declaration + (added ?? "") + "}",
        diagnostics: diagnostics,
        macroSpecs: ["PublicMemberwiseInit": MacroSpec(type: PublicMemberwiseInitMacro.self)],
        failureHandler: { failure in
            Issue.record(Comment(rawValue: failure.message), sourceLocation: sourceLocation)
        })
}

/// The same, for an init whose parameter list is `parameters` and whose body
/// assigns `assigned` in that order, laid out as the first test shows.
private func expectExpansion(
    ofStructWith members: String, addingInitWith parameters: String, assigning assigned: [String],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let body = assigned.map { "    self.\($0) = \($0)" }.joined(separator: "\n")
    expectExpansion(
        ofStructWith: members, adding: "public init(\(parameters)) {\n\(body)\n}", sourceLocation: sourceLocation)
}

@Suite("@PublicMemberwiseInit")
struct PublicMemberwiseInitTests {
    @Test("a parameter per stored property, in the order declared, lets included")
    func storedPropertiesInOrder() {
        expectExpansion(
            ofStructWith: """
                public var message: MessageID
                public let seq: Int
                public var sentAt: Timestamp
                """,
            adding: """
                public init(message: MessageID, seq: Int, sentAt: Timestamp) {
                    self.message = message
                    self.seq = seq
                    self.sentAt = sentAt
                }
                """)
    }

    @Test("an optional var defaults to nil and a var with a value to that value, as in Swift's own")
    func defaults() {
        expectExpansion(
            ofStructWith: """
                public var by: PeerID?
                public var last: Optional<Int>
                public var speakersIntervalMs: Int = LifecycleDefaults.speakersIntervalMs
                public let reason: String?
                """,
            addingInitWith:
                "by: PeerID? = nil, last: Optional<Int> = nil, "
                + "speakersIntervalMs: Int = LifecycleDefaults.speakersIntervalMs, reason: String?",
            assigning: ["by", "last", "speakersIntervalMs", "reason"])
    }

    @Test("static, computed and already-set let properties are not parameters; observed ones and closures are")
    func skipsWhatIsNotStored() {
        expectExpansion(
            ofStructWith: """
                public static let maximum = 200
                public let version = 1
                public var limit: Int { didSet { clamp() } }
                public var isEmpty: Bool { limit == 0 }
                public var twice: Int {
                    get { limit * 2 }
                    set { limit = newValue / 2 }
                }
                public var onChange: (Int) -> Void
                """,
            addingInitWith: "limit: Int, onChange: @escaping (Int) -> Void", assigning: ["limit", "onChange"])
    }

    @Test("a struct with no stored property gets an empty public init")
    func empty() {
        expectExpansion(ofStructWith: "public static let shared = 1", adding: "public init() {\n}")
    }

    @Test("an untyped stored property is a compile error that says what to write")
    func untypedProperty() {
        expectExpansion(
            ofStructWith: "public var count = 0", adding: nil,
            diagnostics: [
                DiagnosticSpec(
                    message: "@PublicMemberwiseInit needs a written type on every stored property",
                    line: 3, column: 16)
            ])
    }

    @Test("on a class it is a compile error")
    func notAStruct() {
        expectExpansion(
            ofStructWith: "public var count: Int", adding: nil, kind: "class",
            diagnostics: [
                DiagnosticSpec(message: "@PublicMemberwiseInit applies to a struct only", line: 1, column: 1)
            ])
    }
}
