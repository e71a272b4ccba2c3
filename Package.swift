// swift-tools-version: 6.1
import CompilerPluginSupport
import PackageDescription

// The map of targets and who may import whom is in ../shared/DESIGN.md:
// only a wrapper target imports its C module; the wire formats and the DSP
// do no I/O; only the executable wires parts together.
/// The NIO parts of a WebSocket endpoint over TLS: the server, the SDK and the
/// server tests' raw clients.
let webSocketOverTLS: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOWebSocket", package: "swift-nio"),
    .product(name: "NIOSSL", package: "swift-nio-ssl"),
]
let cryptoAndLogging: [Target.Dependency] = [
    .product(name: "Crypto", package: "swift-crypto"),
    .product(name: "Logging", package: "swift-log"),
]

/// The heap-allocation counter of `confab bench media|sfu` is a Swift shared
/// library: `make install`, which links the Swift runtime into the binary
/// (--static-swift-stdlib), sets CONFAB_STATIC_INSTALL to build without it.
let countsAllocations = Context.environment["CONFAB_STATIC_INSTALL"] == nil
let allocationCounter: [Target.Dependency] =
    countsAllocations ? [.product(name: "MallocInterposerSwift", package: "malloc-interposer")] : []

/// `make fuzz` builds with CONFAB_FUZZ set: the code the fuzz targets reach is
/// instrumented for libFuzzer and AddressSanitizer, and `confab-fuzz` links
/// libFuzzer's driver. (Flags on the command line would reach the macro
/// plugin too, which must stay an ordinary program.)
let fuzzing = Context.environment["CONFAB_FUZZ"] != nil
let fuzzInstrumented: [SwiftSetting] = fuzzing ? [.unsafeFlags(["-sanitize=fuzzer,address"])] : []

let package = Package(
    name: "Confab",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "confab", targets: ["confab"]),
        .library(name: "ConfabMedia", targets: ["ConfabMedia"]),
        .library(name: "ConfabWire", targets: ["ConfabWire"]),
        .library(name: "ConfabProtocol", targets: ["ConfabProtocol"]),
        .library(name: "ConfabRooms", targets: ["ConfabRooms"]),
        .library(name: "ConfabServer", targets: ["ConfabServer"]),
        .library(name: "ConfabClient", targets: ["ConfabClient"]),
        .library(name: "ConfabTUI", targets: ["ConfabTUI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The room server and the SDK's transport.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", "4.1.0"..<"6.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        // Imported by the server directly, though hummingbird and swift-certificates bring them.
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.0.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // The shared database of a cluster of servers.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // Webhook deliveries (connection pooling, TLS, timeouts).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // Our own macros (`@PublicMemberwiseInit`).
        .package(url: "https://github.com/swiftlang/swift-syntax", from: "603.0.1"),
    ]
        // Counts heap allocations for `confab bench media` (the zero-allocation target).
        + (countsAllocations ? [.package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1")] : []),
    targets: [
        // C libraries: a modulemap and a shim each, nothing else.
        .systemLibrary(name: "COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "CALSA", pkgConfig: "alsa", providers: [.apt(["libasound2-dev"])]),
        // No pkgConfig: SwiftPM drops ncursesw's -D cflags; the shim defines them.
        .systemLibrary(name: "CNcursesW", providers: [.apt(["libncursesw5-dev"])]),

        // GNU socket and thread calls that Swift's Glibc module leaves out (recvmmsg, sendmmsg).
        .target(name: "CLinuxShims"),
        // The minimal C relay `confab bench sfu` compares the SFU with.
        .target(name: "CReferenceRelay"),
        // WebRTC's audio processing (libwebrtc-audio-processing 0.3) is C++: a C shim over it.
        // Its pkg-config -D flags would be dropped (see CNcursesW), so they are set here.
        .target(name: "CVoiceProcessing",
                cxxSettings: [.define("WEBRTC_POSIX"), .define("WEBRTC_AUDIO_PROCESSING_ONLY_BUILD"),
                              .unsafeFlags(["-I/usr/include/webrtc_audio_processing"])],
                linkerSettings: [.linkedLibrary("webrtc_audio_processing")]),

        // Thin typed wrappers, one per C library.
        .target(name: "Opus", dependencies: ["COpus"]),
        .target(name: "SRTP", dependencies: ["CSRTP"]),
        .target(name: "ALSA", dependencies: ["CALSA"]),
        .target(name: "Curses", dependencies: ["CNcursesW"]),
        .target(name: "VoiceProcessing", dependencies: ["CVoiceProcessing"]),

        // Compile-time code generation: `@PublicMemberwiseInit` writes the public
        // memberwise initialisers that Swift synthesises only as internal.
        .macro(name: "ConfabMacrosPlugin", dependencies: [
            .product(name: "SwiftSyntax", package: "swift-syntax"),
            .product(name: "SwiftDiagnostics", package: "swift-syntax"),
            .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
            .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
        ]),
        .target(name: "ConfabMacros", dependencies: ["ConfabMacrosPlugin"]),

        // Packet formats only: no I/O, no C. swift-crypto for STUN's
        // MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5).
        .target(
            name: "ConfabWire",
            dependencies: ["ConfabMacros", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: fuzzInstrumented),
        // UDP sockets with batched I/O (recvmmsg/sendmmsg) and dedicated threads:
        // shared by the client's media engine and the server's forwarder, which
        // must not import ConfabMedia (it holds no codec and no SRTP).
        .target(name: "ConfabSocket", dependencies: ["CLinuxShims"], swiftSettings: fuzzInstrumented),
        // Jitter buffer, mixer, levels, devices and the media engine.
        .target(name: "ConfabMedia", dependencies: ["ConfabMacros", "ConfabWire", "ConfabSocket", "Opus", "SRTP", "ALSA", "VoiceProcessing"]),
        // Signalling messages, ids, the error catalog and the text sanitiser: no I/O.
        .target(
            name: "ConfabProtocol",
            dependencies: ["ConfabMacros", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: fuzzInstrumented),
        // Roles, permissions and the room state machine: pure, time is passed in.
        .target(name: "ConfabRooms", dependencies: ["ConfabMacros", "ConfabProtocol"], swiftSettings: fuzzInstrumented),

        // The room server: signalling over WebSocket/TLS, tokens, rooms, the chat log.
        .target(name: "ConfabServer", dependencies: [
            "ConfabMacros", "ConfabProtocol", "ConfabRooms", "ConfabWire", "ConfabSocket",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            // Its ConnectionPoolError (the pool's circuit breaker) is not a PSQLError.
            .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "TOMLKit", package: "TOMLKit"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ] + webSocketOverTLS + cryptoAndLogging, swiftSettings: fuzzInstrumented),
        // The SDK: session, listener, event stream, observer store.
        .target(name: "ConfabClient", dependencies: [
            "ConfabMacros", "ConfabProtocol", "ConfabMedia", "ConfabWire", "ConfabSocket", "SRTP",
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            // WSClient builds its own TLS handler with no verification callback, so the
            // SDK sets up the pinned TLS + WebSocket upgrade pipeline itself.
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ] + webSocketOverTLS + cryptoAndLogging, swiftSettings: fuzzInstrumented),

        // The terminal front: cell buffer, layout, widgets, themes, screens, input.
        .target(name: "ConfabTUI", dependencies: [
            "ConfabClient", "ConfabMacros", "ConfabMedia", "ConfabProtocol", "ConfabSocket", "Curses",
            .product(name: "TOMLKit", package: "TOMLKit"),
        ]),

        .executableTarget(
            name: "confab",
            dependencies: [
                "ConfabMedia", "ConfabWire", "ConfabSocket", "Opus", "SRTP", "ALSA", "CLinuxShims", "CReferenceRelay",
                "ConfabServer", "ConfabClient", "ConfabProtocol", "ConfabRooms", "ConfabTUI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ] + allocationCounter,
            swiftSettings: countsAllocations ? [.define("CONFAB_COUNTS_ALLOCATIONS")] : []
        ),

        // Fuzz targets for what strangers send (datagrams, messages, text, rooms, the
        // forwarder), and `confab-fuzz`, which runs them under libFuzzer (`make fuzz`)
        // or replays inputs.
        .target(
            name: "ConfabFuzzing",
            dependencies: [
                "ConfabWire", "ConfabProtocol", "ConfabRooms", "ConfabServer", "ConfabSocket", "ConfabClient",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: fuzzInstrumented),
        .target(name: "CFuzzerDriver"),
        .executableTarget(
            name: "confab-fuzz", dependencies: ["ConfabFuzzing", "CFuzzerDriver"],
            swiftSettings: fuzzing ? fuzzInstrumented + [.define("CONFAB_LIBFUZZER")] : [],
            linkerSettings: fuzzing ? [.unsafeFlags(["-sanitize=fuzzer,address", "-use-ld=lld"])] : []),

        // Helpers shared by the test targets (signal comparison, temp dirs, processes).
        .target(name: "ConfabTestSupport", dependencies: ["ConfabMedia"], path: "Tests/ConfabTestSupport"),
        .target(
            name: "ConfabServerTestSupport",
            dependencies: [
                "ConfabServer", "ConfabProtocol", "ConfabTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ConfabServerTestSupport"),
        .testTarget(name: "ConfabWireTests", dependencies: ["ConfabWire", "ConfabTestSupport"]),
        .testTarget(name: "CodecTests", dependencies: ["Opus", "SRTP", "ALSA", "ConfabTestSupport"]),
        .testTarget(name: "ConfabMediaTests", dependencies: [
            "ConfabMedia", "ConfabSocket", "ConfabWire", "Opus", "SRTP", "VoiceProcessing", "ConfabTestSupport",
        ]),
        .testTarget(name: "ConfabCLITests", dependencies: ["ConfabMedia", "ConfabSocket", "ConfabTestSupport"]),
        .testTarget(name: "ConfabProtocolTests", dependencies: ["ConfabProtocol", "ConfabTestSupport"]),
        .testTarget(name: "ConfabMacrosTests", dependencies: [
            "ConfabMacrosPlugin",
            .product(name: "SwiftSyntaxMacroExpansion", package: "swift-syntax"),
            .product(name: "SwiftSyntaxMacrosGenericTestSupport", package: "swift-syntax"),
        ]),
        .testTarget(
            name: "ConfabFuzzingTests", dependencies: ["ConfabFuzzing", "ConfabProtocol", "ConfabClient", "ConfabTestSupport"]),
        .testTarget(name: "ConfabRoomsTests", dependencies: ["ConfabRooms", "ConfabProtocol", "ConfabTestSupport"]),
        .testTarget(name: "ConfabServerTests", dependencies: [
            "ConfabServer", "ConfabProtocol", "ConfabRooms", "ConfabTestSupport", "ConfabServerTestSupport",
            "ConfabSocket", "ConfabWire",
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            // The webhook receiver the webhook tests run.
            .product(name: "Hummingbird", package: "hummingbird"),
            // Edits a server's SQLite file as a person with a database tool would.
            .product(name: "GRDB", package: "GRDB.swift"),
        ] + webSocketOverTLS + cryptoAndLogging),
        .testTarget(name: "ConfabClientTests", dependencies: [
            "ConfabClient", "ConfabServer", "ConfabProtocol", "ConfabRooms", "ConfabTestSupport",
            "ConfabServerTestSupport", "ConfabMedia", "ConfabSocket",
        ] + cryptoAndLogging),
        .testTarget(name: "ConfabTUITests", dependencies: [
            "ConfabTUI", "ConfabClient", "ConfabMedia", "ConfabProtocol", "ConfabTestSupport", "Curses",
        ]),
    ],
    swiftLanguageModes: [.v6]
)
