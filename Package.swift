// swift-tools-version: 6.1
import PackageDescription

// The map of targets and who may import whom is in ../shared/DESIGN.md:
// only a wrapper target imports its C module; the wire formats and the DSP
// do no I/O; only the executable wires parts together.
let package = Package(
    name: "Confab",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "confab", targets: ["confab"]),
        .library(name: "ConfabMedia", targets: ["ConfabMedia"]),
        .library(name: "ConfabWire", targets: ["ConfabWire"]),
        .library(name: "ConfabProtocol", targets: ["ConfabProtocol"]),
        .library(name: "ConfabRooms", targets: ["ConfabRooms"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Counts heap allocations for `confab bench media` (the zero-allocation target).
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
    ],
    targets: [
        // C libraries: a modulemap and a shim each, nothing else.
        .systemLibrary(name: "COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "CALSA", pkgConfig: "alsa", providers: [.apt(["libasound2-dev"])]),
        // No pkgConfig: SwiftPM drops ncursesw's -D cflags; the shim defines them.
        .systemLibrary(name: "CNcursesW", providers: [.apt(["libncursesw5-dev"])]),

        // GNU socket and thread calls that Swift's Glibc module leaves out (recvmmsg, sendmmsg).
        .target(name: "CLinuxShims"),

        // Thin typed wrappers, one per C library.
        .target(name: "Opus", dependencies: ["COpus"]),
        .target(name: "SRTP", dependencies: ["CSRTP"]),
        .target(name: "ALSA", dependencies: ["CALSA"]),

        // Packet formats only: no I/O, no C.
        .target(name: "ConfabWire"),
        // Jitter buffer, mixer, levels, devices and the media engine.
        .target(name: "ConfabMedia", dependencies: ["ConfabWire", "Opus", "SRTP", "ALSA", "CLinuxShims"]),
        // Signalling messages, ids, the error catalog and the text sanitiser: no I/O.
        .target(name: "ConfabProtocol"),
        // Roles, permissions and the room state machine: pure, time is passed in.
        .target(name: "ConfabRooms", dependencies: ["ConfabProtocol"]),

        .executableTarget(
            name: "confab",
            dependencies: [
                "ConfabMedia", "ConfabWire", "Opus", "SRTP", "ALSA", "CLinuxShims",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ]
        ),

        // Helpers shared by the test targets (signal comparison, temp dirs, processes).
        .target(name: "ConfabTestSupport", dependencies: ["ConfabMedia"], path: "Tests/ConfabTestSupport"),
        .testTarget(name: "ConfabWireTests", dependencies: ["ConfabWire"]),
        .testTarget(name: "CodecTests", dependencies: ["Opus", "SRTP", "ALSA", "ConfabTestSupport"]),
        .testTarget(name: "ConfabMediaTests", dependencies: ["ConfabMedia", "ConfabWire", "Opus", "SRTP", "ConfabTestSupport"]),
        .testTarget(name: "ConfabCLITests", dependencies: ["ConfabMedia", "ConfabTestSupport"]),
        .testTarget(name: "ConfabProtocolTests", dependencies: ["ConfabProtocol"]),
        .testTarget(name: "ConfabRoomsTests", dependencies: ["ConfabRooms", "ConfabProtocol"]),
    ],
    swiftLanguageModes: [.v6]
)
