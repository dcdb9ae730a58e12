// When the cron gives freed heap back: once per quiet period after writes, never while they or tiering keep going.
import Testing
@testable import Server

@Suite("Heap release")
struct HeapReleaseTests {
    @Test("trims once after writes stop for the quiet period, again only after more writes")
    func oncePerQuietPeriod() {
        var r = HeapRelease()
        let quiet = HeapRelease.quietMilliseconds
        var answers: [Bool] = []
        func tick(_ activity: Int, _ now: Int64) { answers.append(r.shouldRelease(activity: activity, now: now) { false }) }
        tick(0, 0); tick(0, 10 * quiet)  // nothing written
        #expect(answers == [false, false])
        answers = []
        var activity = 0
        for now in stride(from: Int64(1000), to: 1000 + 3 * quiet, by: 100) {  // a load: writes every tick
            activity += 50
            tick(activity, now)
        }
        #expect(!answers.contains(true))
        answers = []
        let lastWrite = 1000 + 3 * quiet - 100
        tick(activity, lastWrite + quiet - 1)
        tick(activity, lastWrite + quiet)
        tick(activity, lastWrite + 5 * quiet)  // already trimmed
        tick(activity + 1, lastWrite + 6 * quiet)
        tick(activity + 1, lastWrite + 7 * quiet)
        #expect(answers == [false, true, false, false, true])
    }

    @Test("background work still running postpones the trim until it has been idle for the quiet period too")
    func waitsForTiering() {
        var r = HeapRelease()
        let quiet = HeapRelease.quietMilliseconds
        var busyUntil: Int64 = 3000
        var asked = 0
        var trimmedAt: [Int64] = []
        func tick(_ now: Int64) {
            if r.shouldRelease(activity: 1, now: now, isBusy: { asked += 1; return now < busyUntil }) { trimmedAt.append(now) }
        }
        tick(0)  // a write
        #expect(asked == 0)
        for now in stride(from: Int64(100), through: 3000 + 2 * quiet, by: 100) { tick(now) }
        // Busy last seen at 2900: the trim comes a quiet period after that, once.
        #expect(trimmedAt == [2900 + quiet])
        let firstAsk = quiet, trim = 2900 + quiet  // asked on every tick from the writes' quiet period to the trim
        #expect(asked == Int(trim - firstAsk) / 100 + 1)
        busyUntil = .max
        tick(10 * quiet)
        #expect(trimmedAt.count == 1)  // nothing new to trim for
    }
}
