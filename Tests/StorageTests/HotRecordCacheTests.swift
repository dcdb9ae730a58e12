// Hot-record cache: exact bytes back, frequency-based admission keeps repeated records against one-off scans, removal.
import Testing
import Dispatch
@testable import Storage

@Suite("Hot record cache") struct HotRecordCacheTests {
    static let recordBytes = 64

    /// A record whose bytes all derive from its id, so a wrong slot shows.
    static func record(_ id: UInt32) -> [UInt8] { (0..<recordBytes).map { UInt8(truncatingIfNeeded: Int(id) &* 31 &+ $0) } }

    func offer(_ cache: HotRecordCache, _ id: UInt32) {
        Self.record(id).withUnsafeBytes { _ = cache.offer(id, bytes: $0.baseAddress!) }
    }

    /// Looks `id` up as a search does (counting the access) and returns its bytes if cached.
    func lookup(_ cache: HotRecordCache, _ id: UInt32) -> [UInt8]? {
        cache.withRecord(id) { Array(UnsafeRawBufferPointer(start: $0, count: Self.recordBytes)) }
    }

    @Test("Records come back byte for byte; the budget sets the capacity") func roundTrip() throws {
        let slot = HotRecordCache.bytesPerSlot(Self.recordBytes)
        let cache = try #require(HotRecordCache(budgetBytes: 100 * slot, recordBytes: Self.recordBytes, shards: 4))
        #expect(cache.capacity == 100 && cache.memoryUsage == 100 * slot)
        #expect(HotRecordCache(budgetBytes: 3 * slot, recordBytes: Self.recordBytes, shards: 4) == nil)
        for id: UInt32 in 0..<60 { offer(cache, id) }
        #expect(cache.count == 60)
        for id: UInt32 in 0..<60 { #expect(lookup(cache, id) == Self.record(id)) }
        #expect(lookup(cache, 999) == nil)
        let s = cache.statistics
        #expect(s.hits == 60 && s.misses == 1 && s.admissions == 60 && s.evictions == 0)
    }

    @Test("A recurring working set survives one-off records between its uses (CLOCK alone would cycle it out)")
    func frequencyBeatsScan() throws {
        let slot = HotRecordCache.bytesPerSlot(Self.recordBytes)
        let cache = try #require(HotRecordCache(budgetBytes: 64 * slot, recordBytes: Self.recordBytes, shards: 1))
        let hot = (0..<UInt32(48)).map { $0 * 7 }
        // Each round needs the hot set once and 100 records never needed again, as queries need popular and rare
        // records; a miss is followed by an offer, as after a page read.
        var oneOff: UInt32 = 10_000
        for _ in 0..<20 {
            for id in hot where lookup(cache, id) == nil { offer(cache, id) }
            for _ in 0..<100 {
                if lookup(cache, oneOff) == nil { offer(cache, oneOff) }
                oneOff += 1
            }
        }
        let kept = hot.filter { cache.contains($0) }.count
        #expect(kept == hot.count, "hot records kept: \(kept) of \(hot.count)")
        for id in hot { #expect(lookup(cache, id) == Self.record(id)) }
        let s = cache.statistics
        #expect(s.rejections > 1_800, "one-off records turned away: \(s.rejections)")
        #expect(s.hits >= 17 * hot.count, "hot lookups answered: \(s.hits)")
        // Frequencies age: once the old set stops being used and a new one recurs, the new one gets in.
        let next = (0..<UInt32(48)).map { 50_000 + $0 }
        for _ in 0..<40 {
            for id in next where lookup(cache, id) == nil { offer(cache, id) }
        }
        #expect(next.filter { cache.contains($0) }.count >= 40)
    }

    @Test("Removal keeps the remaining records intact") func removal() throws {
        let slot = HotRecordCache.bytesPerSlot(Self.recordBytes)
        let cache = try #require(HotRecordCache(budgetBytes: 32 * slot, recordBytes: Self.recordBytes, shards: 2))
        for id: UInt32 in 0..<32 { offer(cache, id) }
        for id: UInt32 in stride(from: 0, to: 32, by: 3) { cache.remove(id) }
        for id: UInt32 in 0..<32 {
            if id % 3 == 0 { #expect(!cache.contains(id)) } else { #expect(lookup(cache, id) == Self.record(id)) }
        }
        // Freed slots take new records without evicting.
        let before = cache.statistics.evictions
        for id: UInt32 in 100..<111 { offer(cache, id) }
        #expect(cache.statistics.evictions == before)
        for id: UInt32 in 100..<111 { #expect(lookup(cache, id) == Self.record(id)) }
    }

    @Test("Concurrent lookups and offers never see a torn record") func concurrent() throws {
        let slot = HotRecordCache.bytesPerSlot(Self.recordBytes)
        let cache = try #require(HotRecordCache(budgetBytes: 256 * slot, recordBytes: Self.recordBytes, shards: 4))
        let torn = Counter()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            var state = UInt64(worker + 1)
            for _ in 0..<20_000 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let id = UInt32(state >> 33) % 2_000 / UInt32(1 + (state >> 60))  // skewed towards small ids
                if let bytes = lookup(cache, id) {
                    if bytes != Self.record(id) { torn.add("record \(id) torn") }
                } else {
                    offer(cache, id)
                }
            }
        }
        #expect(torn.value == 0, "\(torn.first ?? "")")
        #expect(cache.count <= cache.capacity)
    }
}
