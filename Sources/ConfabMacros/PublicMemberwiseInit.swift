/// Adds the `public init` Swift would synthesise for a struct if its
/// memberwise initialiser could be public (Swift makes it `internal` at most).
///
/// One parameter per stored property, in the order declared, labelled with
/// the property's name. As in Swift's own memberwise initialiser, a `var`
/// with an initial value defaults to that value, an optional `var` without
/// one defaults to `nil`, and a `let` with a value is not a parameter.
/// Every stored property needs a written type.
///
/// ```swift
/// @PublicMemberwiseInit
/// public struct PeerLeft: Codable {
///     public var peer: PeerID
///     public var by: PeerID?
/// }
/// // adds: public init(peer: PeerID, by: PeerID? = nil)
/// ```
@attached(member, names: named(init))
public macro PublicMemberwiseInit() = #externalMacro(module: "ConfabMacrosPlugin", type: "PublicMemberwiseInitMacro")
