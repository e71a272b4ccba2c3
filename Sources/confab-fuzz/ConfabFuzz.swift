// `confab-fuzz`: the fuzz targets of ConfabFuzzing (FuzzTarget.swift).
//
// Built with libFuzzer (`make fuzz`, which passes -sanitize=fuzzer and
// defines CONFAB_LIBFUZZER) it is a fuzzer: CONFAB_FUZZ_TARGET names the
// target and libFuzzer's own options follow. Built as usual it replays
// inputs: `confab-fuzz TARGET FILE...` runs each file through the target and
// says which broke a property.
import ConfabFuzzing
import Foundation

#if CONFAB_LIBFUZZER
import CFuzzerDriver

/// The target CONFAB_FUZZ_TARGET names; the program stops at once without one.
private let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["CONFAB_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("confab-fuzz: set CONFAB_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    return target
}()

/// libFuzzer's callback: one input, a crash for a broken property.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    do {
        try selectedTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    } catch {
        fatalError("\(selectedTarget.rawValue): \(error)")
    }
    return 0
}

@main
enum Fuzzer {
    static func main() {
        _ = selectedTarget
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in testOneInput(data, size) })
    }
}
#else
@main
enum ReplayInputs {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
            FileHandle.standardError.write(Data("usage: confab-fuzz \(names) FILE...\n".utf8))
            exit(2)
        }
        var broken = 0
        for path in arguments.dropFirst() {
            guard let contents = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("confab-fuzz: cannot read \(path)\n".utf8))
                exit(2)
            }
            do {
                try target.run([UInt8](contents))
            } catch {
                broken += 1
                print("\(path): \(error)")
            }
        }
        exit(broken == 0 ? 0 : 1)
    }
}
#endif
