import SwiftCompilerPlugin
import SwiftSyntaxMacros

/// The compiler plugin that carries Confab's macros (declared in `ConfabMacros`).
@main
struct ConfabMacrosPlugin: CompilerPlugin {
    let providingMacros: [any Macro.Type] = [PublicMemberwiseInitMacro.self]
}
