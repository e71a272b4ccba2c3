// Fuzz targets: the code that reads what a stranger sends, with the
// properties it must keep for every input.
//
//   bytes ─▶ FuzzTarget.run ─▶ wire:            RTP, RTP header extensions, RED, Opus TOC, RTCP, STUN
//                            ─▶ screen:         a text message's bytes through the server's screen, decoder and refusal
//                            ─▶ connection:     a connection's frames in any order and time: gate, decoder, routing
//                            ─▶ client-message: a client's JSON message: decode, encode, decode again
//                            ─▶ text:           names and chat through the sanitiser
//                            ─▶ room:           a script of joins, drops and client messages run on a room
//                            ─▶ forwarder:      the server's forwarder: datagrams, bindings, table changes, time
//                            ─▶ token:          room, user and admin tokens through their verifiers
//                            ─▶ headless:       a bot's command line, and the JSON lines it reads back
//                            ─▶ server-message: what a hostile server can make a client show
//
// The same functions serve two callers: `confab-fuzz` built with libFuzzer
// (`make fuzz`), which looks for inputs that break a property or crash, and
// the test suite, which replays every input kept under Tests/FuzzCorpus so a
// finding stays fixed. A broken property throws `FuzzViolation`; a crash in
// the code under test crashes both callers, as it would crash the server.

/// A property of a fuzz target that an input broke.
public struct FuzzViolation: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}

/// What a fuzz input is fed to.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case wire
    case screen
    case connection
    case clientMessage = "client-message"
    case text
    case room
    case forwarder
    case token
    case headless
    case serverMessage = "server-message"

    /// Runs one input; throws the first property it breaks.
    public func run(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        switch self {
        case .wire: try WireFuzzing.run(input)
        case .screen: try ScreenFuzzing.run(input)
        case .connection: try ConnectionFuzzing.run(input)
        case .clientMessage: try ClientMessageFuzzing.run(input)
        case .text: try TextFuzzing.run(input)
        case .room: try RoomFuzzing.run(input)
        case .forwarder: try ForwarderFuzzing.run(input)
        case .token: try TokenFuzzing.run(input)
        case .headless: try HeadlessFuzzing.run(input)
        case .serverMessage: try ServerMessageFuzzing.run(input)
        }
    }

    /// Runs one input held in an array (the replay path).
    public func run(_ input: [UInt8]) throws(FuzzViolation) {
        let outcome: Result<Void, FuzzViolation> = input.withUnsafeBytes { bytes in
            do throws(FuzzViolation) {
                try run(bytes)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try outcome.get()
    }
}
