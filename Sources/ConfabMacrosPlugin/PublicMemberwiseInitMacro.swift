import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxMacros

/// Expands `@PublicMemberwiseInit`: a `public init` with a parameter per
/// stored property, by the rules of Swift's own memberwise initialiser.
public struct PublicMemberwiseInitMacro: MemberMacro {
    public static func expansion(
        of node: AttributeSyntax,
        providingMembersOf declaration: some DeclGroupSyntax,
        conformingTo protocols: [TypeSyntax],
        in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        guard declaration.is(StructDeclSyntax.self) else {
            throw DiagnosticsError(diagnostics: [
                Diagnostic(node: node, message: MemberwiseInitDiagnostic.notAStruct)
            ])
        }
        let members = try declaration.memberBlock.members
            .compactMap { $0.decl.as(VariableDeclSyntax.self) }
            .flatMap(initialisedMembers(of:))
        let parameters = members.map(\.parameter).joined(separator: ", ")
        let assignments = members.map { "self.\($0.name) = \($0.name)" }
        let body = assignments.isEmpty ? "{}" : "{\n\(assignments.joined(separator: "\n"))\n}"
        return ["public init(\(raw: parameters)) \(raw: body)"]
    }

    /// A stored property the initialiser sets, as its parameter.
    private struct Member {
        var name: String
        var parameter: String
    }

    /// The properties of one `var` or `let` declaration that the
    /// initialiser takes: none for a static or computed property, or for a
    /// `let` that already has its value.
    private static func initialisedMembers(of variable: VariableDeclSyntax) throws -> [Member] {
        let isStatic = variable.modifiers.contains {
            [.keyword(.static), .keyword(.class), .keyword(.lazy)].contains($0.name.tokenKind)
        }
        guard !isStatic else { return [] }
        let isConstant = variable.bindingSpecifier.tokenKind == .keyword(.let)
        return try variable.bindings.compactMap { binding -> Member? in
            if isComputed(binding) || (isConstant && binding.initializer != nil) { return nil }
            guard let name = binding.pattern.as(IdentifierPatternSyntax.self)?.identifier.text,
                let type = binding.typeAnnotation?.type.trimmed
            else {
                throw DiagnosticsError(diagnostics: [
                    Diagnostic(node: binding, message: MemberwiseInitDiagnostic.untypedProperty)
                ])
            }
            var parameter = "\(name): \(type.is(FunctionTypeSyntax.self) ? "@escaping " : "")\(type)"
            if let initializer = binding.initializer {
                parameter += " = \(initializer.value.trimmed)"
            } else if !isConstant && isOptional(type) {
                parameter += " = nil"
            }
            return Member(name: name, parameter: parameter)
        }
    }

    /// A property with a getter (rather than only `willSet`/`didSet` observers) stores nothing.
    private static func isComputed(_ binding: PatternBindingSyntax) -> Bool {
        switch binding.accessorBlock?.accessors {
        case nil: false
        case .getter: true
        case .accessors(let accessors):
            accessors.contains {
                ![.keyword(.willSet), .keyword(.didSet)].contains($0.accessorSpecifier.tokenKind)
            }
        }
    }

    private static func isOptional(_ type: TypeSyntax) -> Bool {
        type.is(OptionalTypeSyntax.self) || type.is(ImplicitlyUnwrappedOptionalTypeSyntax.self)
            || type.as(IdentifierTypeSyntax.self)?.name.text == "Optional"
    }
}

enum MemberwiseInitDiagnostic: String, DiagnosticMessage {
    case notAStruct
    case untypedProperty

    var message: String {
        switch self {
        case .notAStruct: "@PublicMemberwiseInit applies to a struct only"
        case .untypedProperty: "@PublicMemberwiseInit needs a written type on every stored property"
        }
    }

    var diagnosticID: MessageID { MessageID(domain: "ConfabMacros", id: rawValue) }
    var severity: DiagnosticSeverity { .error }
}
