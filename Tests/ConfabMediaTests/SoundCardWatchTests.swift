// Sound cards plugged in and pulled out: the kernel's card list read and
// compared, a device name matched to its card, and a card in use that goes
// taking the failure path (a real alsa-lib device behind the wrapper).
import ConfabMedia
import ConfabTestSupport
import Foundation
import Testing

@Suite("sound cards plugged in and pulled out")
struct SoundCardWatchTests {
    /// /proc/asound/cards as the kernel writes it (two lines a card).
    static let twoCards = """
         0 [PCH            ]: HDA-Intel - HDA Intel PCH
                              HDA Intel PCH at 0xf7f10000 irq 32
         1 [Headset        ]: USB-Audio - Logitech USB Headset
                              Logitech Logitech USB Headset at usb-0000:00:14.0-2, full speed

        """
    static let pch = SoundCardEntry(index: 0, id: "PCH", name: "HDA Intel PCH")
    static let headset = SoundCardEntry(index: 1, id: "Headset", name: "Logitech USB Headset")

    @Test("the kernel's card list is read: number, id and name of each card; none when it says so")
    func parsesTheKernelsList() {
        #expect(SoundCardList.parse(Self.twoCards) == [Self.pch, Self.headset])
        #expect(SoundCardList.parse("--- no soundcards ---\n").isEmpty)
        #expect(SoundCardList.parse("").isEmpty)
    }

    @Test("the real listing: as many cards as /proc/asound has card directories (none without a sound driver)")
    func readsTheRealListing() throws {
        let cards = SoundCardList.current()
        let directories = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/asound")) ?? []
        let cardDirectories = directories.filter { $0.hasPrefix("card") && Int($0.dropFirst(4)) != nil }
        #expect(cards.map(\.index).sorted() == cardDirectories.compactMap { Int($0.dropFirst(4)) }.sorted())
        #expect(SoundCardList.current(path: "/nonexistent/asound/cards").isEmpty, "no list is no card, not an error")
    }

    @Test("the first list is the start; later ones report cards that appeared and disappeared, once")
    func reportsChanges() {
        var watch = SoundCardWatch()
        // [appeared, disappeared]
        let step = { (cards: [SoundCardEntry]) -> [[SoundCardEntry]] in
            let change = watch.update(cards)
            return [change.appeared, change.disappeared]
        }
        #expect(step([Self.pch]) == [[], []])
        #expect(step([Self.pch, Self.headset]) == [[Self.headset], []])
        #expect(step([Self.pch, Self.headset]) == [[], []], "the same list again: nothing")
        #expect(step([Self.pch]) == [[], [Self.headset]])
        #expect(step([]) == [[], [Self.pch]])
    }

    @Test("a device name is matched to its card by number or id; names without a card belong to none",
          arguments: [("hw:1", true), ("plughw:1,0", true), ("hw:CARD=Headset,DEV=0", true), ("sysdefault:Headset", true),
                      ("front:CARD=\"Headset\",DEV=0", true), ("hw:0", false), ("plughw:CARD=PCH,DEV=0", false),
                      ("default", false), ("pulse", false), ("dmix:DEV=0", false)])
    func matchesDevicesToCards(pcm: String, onHeadset: Bool) {
        #expect(Self.headset.holds(pcm: pcm) == onHeadset)
    }

    @Test("the card in use pulled out: the wrapper drops it at the next frame, as on a failure, and retries")
    func cardInUseTakesTheFailurePath() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let config = try writeALSAConfig(in: dir)
        let open = { () throws(AudioDeviceError) -> AudioSink in try ALSAPlaybackSink(pcmName: "play", configFile: config) }
        let sink = FallbackSink(try open(), frameMs: 10, retryMs: 50, reopen: open)
        let frame = [Int16](repeating: 100, count: 480)
        let play = { () throws in try frame.withUnsafeBufferPointer { try sink.write($0) } }
        try play()
        #expect("\(state(sink.health))" == "(losses: 0, recoveries: 0, lost: false)")
        sink.cardRemoved()
        try play()
        #expect("\(state(sink.health))" == "(losses: 1, recoveries: 0, lost: true)", "dropped at the next frame, and counted as a failure")
        var frames = 0
        while state(sink.health).lost && frames < 100 {
            try play()
            frames += 1
        }
        #expect("\(state(sink.health))" == "(losses: 1, recoveries: 1, lost: false)", "opened again by the retry")
        sink.close()
    }
}
