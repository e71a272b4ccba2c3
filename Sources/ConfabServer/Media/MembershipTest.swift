/// "Is this index one of these?" asked of every subscriber of every publisher
/// when listeners leave: a room of 10,000 asks it 10,000 times per publisher.
/// Usually one or a few leave at once, and comparing with a handful of
/// integers is several times cheaper than hashing each one for a `Set`.
struct MembershipTest: Sendable {
    private let few: [Int]
    private let many: Set<Int>?

    /// Beyond this many members a `Set` is the cheaper test.
    static let linearLimit = 16

    init(_ members: some Collection<Int>) {
        if members.count <= Self.linearLimit {
            few = Array(members)
            many = nil
        } else {
            few = []
            many = Set(members)
        }
    }

    @inline(__always)
    func contains(_ value: Int) -> Bool {
        if let many { return many.contains(value) }
        return few.contains(value)
    }
}
