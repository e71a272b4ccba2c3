// A sound card that vanishes mid-call (a USB headset pulled out: ALSA
// answers -ENODEV or -EBADFD) must not end the call.
//
//   read/write ─▶ the card ──error──▶ closed; silence in (or samples dropped), paced by the
//                                      monotonic clock at the frame rate ─▶ every retryMs: open again
//                                      ─▶ opened: back on the card (the call never stopped)
//
// The wrapper tells the engine it keeps time (`isClocked` is true), and keeps
// it whatever is behind it: a card with a clock blocks in its read or write;
// a device without one (alsa-lib's `file` or `null` plugins), or no device
// while the card is gone, is paced here with absolute deadlines, one frame a
// call. Which of the two is decided again at every switch and reopening, so
// a switch from a card to a clockless device mid-call does not leave the
// audio thread spinning (the engine decided its pacing once, at start).
// Opening happens on the audio thread
// but only once per `retryMs` while the card is gone, never per frame.
// The counters are atomics, for the controller to turn into notices.
// `switchTo` hands over another device (`/device`): it is opened off the
// audio thread, and the audio thread takes it when a generation counter moves.
import ConfabSocket
import Synchronization

/// What happened to a device that can vanish, readable from any thread.
public final class DeviceHealth: Sendable {
    /// Times the device failed and was closed.
    public let losses = Atomic<Int>(0)
    /// Times it was opened again after a loss.
    public let recoveries = Atomic<Int>(0)
    /// True while the device is gone (silence is sent, or what plays is dropped).
    public let isLost = Atomic<Bool>(false)
    /// Over- or under-runs the card had and ALSA recovered (the call went on, with a click).
    public let xruns = Atomic<Int>(0)
    public init() {}
}

/// The bookkeeping both directions share: the device, pacing and retries.
struct FallbackState<Device> {
    var device: Device?
    var reopen: () throws(AudioDeviceError) -> Device
    let retryNs: UInt64
    /// Whether a device has a clock of its own (a sound card blocks until its period is due).
    let keepsTime: (Device) -> Bool
    /// Whether the open device paces the thread; when not (none, or one without a clock), `pacer` does.
    var deviceKeepsTime: Bool
    var pacer: FramePacer
    var nextRetryNs: UInt64 = 0
    /// The current device's xrun count when last looked at (a new device starts at 0).
    var seenXruns = 0

    init(device: Device, reopen: @escaping () throws(AudioDeviceError) -> Device, frameNs: UInt64, retryNs: UInt64,
         keepsTime: @escaping (Device) -> Bool) {
        self.device = device
        self.reopen = reopen
        self.retryNs = retryNs
        self.keepsTime = keepsTime
        deviceKeepsTime = keepsTime(device)
        pacer = FramePacer(frameNanoseconds: frameNs)
    }

    /// `opened` is the device from now on: the pace follows its clock, or its lack of one.
    private mutating func use(_ opened: Device?) {
        device = opened
        seenXruns = 0
        let keeps = opened.map(keepsTime) ?? false
        // From the card's clock to ours: our deadlines start now, not where they were left.
        if deviceKeepsTime && !keeps { pacer.restart() }
        deviceKeepsTime = keeps
    }

    /// Before each transfer on an open device: waits out the frame when the device has no clock.
    @inline(__always)
    mutating func paceUnlessClocked() {
        if !deviceKeepsTime { pacer.waitForNextFrame() }
    }

    /// The device failed: from now on silence at the frame rate, and a retry after `retryNs`.
    mutating func lose(_ health: DeviceHealth, close: (Device) -> Void) {
        if let device { close(device) }
        use(nil)
        nextRetryNs = MonotonicClock.nanoseconds() + retryNs
        health.losses.add(1, ordering: .relaxed)
        health.isLost.store(true, ordering: .releasing)
    }

    /// Takes over `next` (opened off the audio thread) and returns the device it replaces.
    mutating func adopt(_ next: Switch<Device>, _ health: DeviceHealth) -> Device? {
        let old = device
        use(next.device)
        reopen = next.reopen
        if health.isLost.load(ordering: .relaxed) {
            health.recoveries.add(1, ordering: .relaxed)
            health.isLost.store(false, ordering: .releasing)
        }
        return old
    }

    /// While lost: the device again when the retry is due and it opens; else
    /// waits out one frame (absolute deadlines, so the rate does not drift).
    mutating func retryOrPace(_ health: DeviceHealth) -> Device? {
        let now = MonotonicClock.nanoseconds()
        if now >= nextRetryNs {
            if let opened = try? reopen() {
                use(opened)
                health.recoveries.add(1, ordering: .relaxed)
                health.isLost.store(false, ordering: .releasing)
                return opened
            }
            nextRetryNs = now + retryNs
        }
        pacer.waitForNextFrame()
        return nil
    }

    /// Adds the xruns `count` (the device's own total) has grown by since the last look.
    mutating func countXruns(_ count: Int, _ health: DeviceHealth) {
        guard count != seenXruns else { return }
        if count > seenXruns { health.xruns.add(count - seenXruns, ordering: .relaxed) }
        seenXruns = count
    }
}

/// Another device to take over, handed to the audio thread: the slot is
/// locked only when the generation has moved (a switch), never per frame.
/// Unchecked: the device is handed over once, from the thread that opened
/// it to the audio thread, and used by that one alone afterwards.
struct Switch<Device>: @unchecked Sendable {
    var device: Device
    var reopen: () throws(AudioDeviceError) -> Device
}

final class SwitchSlot<Device>: @unchecked Sendable {
    private let pending = Mutex<Switch<Device>?>(nil)
    private let generation = Atomic<Int>(0)
    /// The generation the audio thread last took; audio thread only.
    private var taken = 0
    let name: Mutex<String>

    init(name: String) { self.name = Mutex(name) }

    func offer(_ next: Switch<Device>, name: String) {
        pending.withLock { $0 = next }
        self.name.withLock { $0 = name }
        generation.add(1, ordering: .releasing)
    }

    /// On the audio thread: the device offered since the last call, if any.
    @inline(__always)
    func take() -> Switch<Device>? {
        let current = generation.load(ordering: .acquiring)
        guard current != taken else { return nil }
        taken = current
        return pending.withLock { slot in
            defer { slot = nil }
            return slot
        }
    }
}

/// What both wrappers share: the device, its health, the retries and the switch.
public class FallbackDevice<Device>: @unchecked Sendable {
    /// The device's name; another after a switch.
    public var name: String { slot.name.withLock { $0 } }
    /// Always true: the wrapper keeps the frame rate itself whenever the device
    /// behind it has no clock or is gone, so the engine must not pace it twice.
    public var isClocked: Bool { true }
    public let health = DeviceHealth()
    private let slot: SwitchSlot<Device>
    /// Set when the card in use was pulled out (SoundCardWatch.swift); the audio thread closes it.
    private let removed = Atomic<Bool>(false)
    var state: FallbackState<Device>
    private let describe: (Device) -> String
    private let closeDevice: (Device) -> Void

    /// - Parameters:
    ///   - device: the open device.
    ///   - frameMs: the engine's frame, the pace while the device is gone.
    ///   - reopen: opens the same device again.
    ///   - keepsTime: whether a device has a clock of its own.
    init(_ device: Device, frameMs: Int, retryMs: Int,
         reopen: @escaping () throws(AudioDeviceError) -> Device, keepsTime: @escaping (Device) -> Bool,
         describe: @escaping (Device) -> String, close: @escaping (Device) -> Void) {
        slot = SwitchSlot(name: describe(device))
        self.describe = describe
        closeDevice = close
        state = FallbackState(device: device, reopen: reopen, frameNs: UInt64(frameMs) * 1_000_000,
                              retryNs: UInt64(retryMs) * 1_000_000, keepsTime: keepsTime)
    }

    /// Uses `device` from the next frame on (the old one is closed then, on
    /// the audio thread); `reopen` opens it again after a loss. For the
    /// speaker, this is Confab's hands-free: speakers ↔ headset.
    public func switchTo(_ device: Device, reopen: @escaping () throws(AudioDeviceError) -> Device) {
        slot.offer(Switch(device: device, reopen: reopen), name: describe(device))
    }

    /// The card in use was pulled out (the card list no longer has it): from
    /// the next frame on, as when it fails, silence or nothing played, and a
    /// retry every `retryMs`. Any thread; one atomic store.
    public func cardRemoved() {
        removed.store(true, ordering: .releasing)
    }

    /// On the audio thread, before each frame: drops a card pulled out, takes a device offered by `switchTo`.
    @inline(__always)
    func takeSwitch() {
        if removed.load(ordering: .relaxed), removed.exchange(false, ordering: .acquiring), state.device != nil { lose() }
        if let next = slot.take(), let old = state.adopt(next, health) { closeDevice(old) }
    }

    /// The device failed: closed, and silence until it opens again.
    func lose() { state.lose(health, close: closeDevice) }

    public func close() {
        if let device = state.device { closeDevice(device) }
        state.device = nil
    }
}

/// A capture device that survives vanishing: silence while it is gone.
public final class FallbackSource: FallbackDevice<AudioSource>, AudioSource, @unchecked Sendable {
    public init(_ device: AudioSource, frameMs: Int, retryMs: Int = 1_000,
                reopen: @escaping () throws(AudioDeviceError) -> AudioSource) {
        super.init(device, frameMs: frameMs, retryMs: retryMs, reopen: reopen, keepsTime: { $0.isClocked },
                   describe: { $0.name }, close: { $0.close() })
    }

    public func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(AudioDeviceError) -> Int {
        takeSwitch()
        while true {
            if let device = state.device ?? state.retryOrPace(health) {
                state.paceUnlessClocked()
                do {
                    let count = try device.read(into: buffer)
                    state.countXruns(device.xruns, health)
                    // A card does not end; 0 means it was closed under us: gone too.
                    if count > 0 { return count }
                } catch {}
                lose()
                continue
            }
            buffer.update(repeating: 0)
            return buffer.count
        }
    }
}

/// A play-out device that survives vanishing: what plays is dropped while it is gone.
public final class FallbackSink: FallbackDevice<AudioSink>, AudioSink, @unchecked Sendable {
    public init(_ device: AudioSink, frameMs: Int, retryMs: Int = 1_000,
                reopen: @escaping () throws(AudioDeviceError) -> AudioSink) {
        super.init(device, frameMs: frameMs, retryMs: retryMs, reopen: reopen, keepsTime: { $0.isClocked },
                   describe: { $0.name }, close: { $0.close() })
    }

    public func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {
        takeSwitch()
        guard let device = state.device ?? state.retryOrPace(health) else { return }
        state.paceUnlessClocked()
        do {
            try device.write(samples)
            state.countXruns(device.xruns, health)
        } catch {
            lose()
        }
    }
}
