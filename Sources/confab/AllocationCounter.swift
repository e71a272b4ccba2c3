// Counting heap allocations for `confab bench media` and `bench sfu`, with
// the malloc interposer. A build without it (`make install`: the interposer is
// a Swift shared library and would bring back the Swift runtime that binary
// links statically) runs the benchmarks without counting.

import CLinuxShims
import Foundation
import Glibc

#if CONFAB_COUNTS_ALLOCATIONS
import MallocInterposerSwift

/// Heap allocation counting needs the interposer preloaded; `confab bench`
/// re-executes itself with LD_PRELOAD once when it is not.
enum AllocationCounter {
    static func ensureActive() -> Bool {
        if works() { return true }
        guard ProcessInfo.processInfo.environment["CONFAB_BENCH_REEXEC"] == nil else { return false }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let library = executable.deletingLastPathComponent().appendingPathComponent("libMallocInterposerSwift.so").path
        guard FileManager.default.fileExists(atPath: library) else { return false }
        setenv("LD_PRELOAD", library, 1)
        setenv("CONFAB_BENCH_REEXEC", "1", 1)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv(executable.path, arguments)
        return false  // execv returned: it failed; measure without counting
    }

    private static func works() -> Bool {
        // Call malloc through a pointer from dlsym: the optimiser deletes a
        // malloc/free pair it can see (and knows strdup too).
        typealias MallocFunction = @convention(c) (Int) -> UnsafeMutableRawPointer?
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc") else { return false }
        let opaqueMalloc = unsafeBitCast(symbol, to: MallocFunction.self)
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.hook()
        let p = opaqueMalloc(64)
        MallocInterposerSwift.unhook()
        free(p)
        return MallocInterposerSwift.getStatistics().mallocCount > 0
    }

    /// With CONFAB_BENCH_TRACE_ALLOCATIONS=N, the first N counted allocations
    /// print a raw backtrace to stderr (symbolise with addr2line) — how a new
    /// per-frame allocation is found.
    nonisolated(unsafe) static var tracesLeft = 0
    nonisolated(unsafe) static var tracing = false

    static func count(_ body: () -> Void) -> Int {
        if let text = ProcessInfo.processInfo.environment["CONFAB_BENCH_TRACE_ALLOCATIONS"], let n = Int(text) {
            confab_write_backtrace(-1)  // loads the unwinder before counting starts
            tracesLeft = n
            MallocInterposerSwift.setAllocationHook { _ in
                guard !AllocationCounter.tracing, AllocationCounter.tracesLeft > 0 else { return }
                AllocationCounter.tracing = true
                AllocationCounter.tracesLeft -= 1
                write(2, "allocation:\n", 12)
                confab_write_backtrace(2)
                AllocationCounter.tracing = false
            }
        }
        defer { MallocInterposerSwift.setAllocationHook(nil) }
        MallocInterposerSwift.reset()
        MallocInterposerSwift.hook()
        body()
        MallocInterposerSwift.unhook()
        return MallocInterposerSwift.getStatistics().mallocCount
    }
}

#else

enum AllocationCounter {
    static func ensureActive() -> Bool { false }
    static func count(_ body: () -> Void) -> Int {
        body()
        return 0
    }
}

#endif
