// Hot records kept one by one in RAM (not as 4 KiB pages): TinyLFU admission over a count-min sketch, CLOCK eviction.
#if canImport(Glibc)
import Glibc
#endif

/// Counters of a hot-record cache, summed over its shards.
public struct HotRecordStatistics: Sendable, Equatable {
    /// Lookups answered from the cache.
    public var hits = 0
    /// Lookups that counted an access but found nothing.
    public var misses = 0
    /// Records taken in (into a free slot or in place of a less frequent one).
    public var admissions = 0
    /// Offers turned down because the record was no more frequent than the slot it would replace.
    public var rejections = 0
    /// Records dropped for a more frequent one.
    public var evictions = 0
}

/// A fixed number of equal-sized record slots keyed by a 32-bit record id, for data read from pages where only a few
/// records of each page are hot: a 4 KiB frame holding one hot 1.5 KiB vector wastes most of itself, and a page
/// read per miss would otherwise push a frequently used record out for a one-off one.
///
/// Admission follows TinyLFU (Einziger, Friedman and Manes): every counted access bumps a 4-bit count-min sketch
/// whose counters are halved after `10 × capacity` bumps, so frequencies age; an offered record replaces CLOCK's
/// victim only when the sketch estimates it more frequent. A workload that repeats more records than fit keeps the
/// most frequent ones instead of cycling them all out (what CLOCK alone does).
///
/// Sharded by id; each shard has its own lock, slots, sketch and hand. Lookups run the caller's body on the record's
/// bytes under the shard lock, so no pin is needed and a record is never overwritten while read.
public final class HotRecordCache: @unchecked Sendable {
    public let recordBytes: Int
    public let capacity: Int
    private let shards: [HotShard]

    /// Slots for as many records as `budgetBytes` pays for (bytes, id, reference bit, table entry and sketch share).
    /// Nil when that is fewer than one record per shard.
    public init?(budgetBytes: Int, recordBytes: Int, shards: Int = 4) {
        precondition(recordBytes > 0 && shards > 0)
        let slots = budgetBytes / HotRecordCache.bytesPerSlot(recordBytes)
        guard slots >= shards else { return nil }
        self.recordBytes = recordBytes
        capacity = slots
        self.shards = (0..<shards).map { s in
            HotShard(slots: slots * (s + 1) / shards - slots * s / shards, recordBytes: recordBytes)
        }
    }

    /// RAM per slot: the record, its id and reference bit, ~16 B of table entry, up to 16 B of sketch.
    public static func bytesPerSlot(_ recordBytes: Int) -> Int { recordBytes + 4 + 1 + 16 + 16 }

    public var memoryUsage: Int { capacity * HotRecordCache.bytesPerSlot(recordBytes) }

    @inline(__always) private func shard(_ id: UInt32) -> HotShard {
        shards[Int((UInt64(id) &* 0x9E37_79B9_7F4A_7C15) >> 40) % shards.count]
    }

    /// Runs `body` on the record's bytes if it is cached. `countAccess` bumps its frequency either way: pass it for
    /// records the caller needed (a miss then makes a later `offer` of it likelier to be admitted).
    @inline(__always)
    public func withRecord<R>(_ id: UInt32, countAccess: Bool = true, _ body: (UnsafeRawPointer) throws -> R) rethrows -> R? {
        let s = shard(id)
        s.lock.lock()
        defer { s.lock.unlock() }
        if countAccess { s.sketch.increment(id) }
        guard let slot = s.table[id] else {
            if countAccess { s.stats.misses += 1 }
            return nil
        }
        s.referenced[Int(slot)] = true
        s.stats.hits += 1
        return try body(UnsafeRawPointer(s.arena + Int(slot) * recordBytes))
    }

    public func contains(_ id: UInt32) -> Bool {
        let s = shard(id)
        return s.lock.withLock { s.table[id] != nil }
    }

    /// Offers a record just read: taken into a free slot, or in place of CLOCK's victim when the sketch counts it more
    /// often; otherwise dropped. Returns whether it is cached now.
    @discardableResult
    public func offer(_ id: UInt32, bytes: UnsafeRawPointer) -> Bool {
        let s = shard(id)
        s.lock.lock()
        defer { s.lock.unlock() }
        if s.table[id] != nil { return true }
        let slot: Int
        if s.used < s.ids.count {
            slot = s.used
            s.used += 1
        } else {
            let victim = s.clockVictim()
            guard s.sketch.estimate(id) > s.sketch.estimate(s.ids[victim]) else {
                s.stats.rejections += 1
                return false
            }
            s.table[s.ids[victim]] = nil
            s.stats.evictions += 1
            slot = victim
        }
        memcpy(s.arena + slot * recordBytes, bytes, recordBytes)
        s.ids[slot] = id
        s.referenced[slot] = false
        s.table[id] = Int32(slot)
        s.stats.admissions += 1
        return true
    }

    /// Drops a record (its source changed or was deleted).
    public func remove(_ id: UInt32) {
        let s = shard(id)
        s.lock.withLock {
            guard let slot = s.table.removeValue(forKey: id) else { return }
            // Keep slots dense: the last used slot moves into the hole.
            let last = s.used - 1
            if Int(slot) != last {
                memcpy(s.arena + Int(slot) * recordBytes, s.arena + last * recordBytes, recordBytes)
                s.ids[Int(slot)] = s.ids[last]
                s.referenced[Int(slot)] = s.referenced[last]
                s.table[s.ids[Int(slot)]] = slot
            }
            s.used = last
            if s.hand >= s.used { s.hand = 0 }
        }
    }

    public var count: Int { shards.reduce(0) { n, s in n + s.lock.withLock { s.used } } }

    public var statistics: HotRecordStatistics {
        var total = HotRecordStatistics()
        for s in shards {
            s.lock.withLock {
                total.hits += s.stats.hits
                total.misses += s.stats.misses
                total.admissions += s.stats.admissions
                total.rejections += s.stats.rejections
                total.evictions += s.stats.evictions
            }
        }
        return total
    }
}

/// One shard's slots (`used` of them filled, densely), table, reference bits and sketch; guarded by `lock`.
private final class HotShard: @unchecked Sendable {
    let lock = ConditionLock()
    let arena: UnsafeMutableRawPointer
    var ids: [UInt32]
    var referenced: [Bool]
    var table: [UInt32: Int32] = [:]
    var used = 0
    var hand = 0
    var sketch: FrequencySketch
    var stats = HotRecordStatistics()

    init(slots: Int, recordBytes: Int) {
        arena = .allocate(byteCount: max(slots * recordBytes, 1), alignment: 64)
        ids = [UInt32](repeating: .max, count: slots)
        referenced = [Bool](repeating: false, count: slots)
        table.reserveCapacity(slots)
        sketch = FrequencySketch(capacity: slots)
    }
    deinit { arena.deallocate() }

    /// The first slot from the hand whose reference bit is clear, clearing bits on the way (all slots are filled).
    func clockVictim() -> Int {
        while true {
            let slot = hand
            hand = hand + 1 == used ? 0 : hand + 1
            if !referenced[slot] { return slot }
            referenced[slot] = false
        }
    }
}

/// A count-min sketch of 4 rows of saturating 4-bit counters (one per byte, for simplicity), with conservative
/// update, halved after `10 × capacity` increments so that old frequencies fade.
struct FrequencySketch {
    private var counters: [UInt8]
    private let mask: Int
    private let rowWidth: Int
    private var additions = 0
    private let sampleSize: Int
    private static let seeds: [UInt64] = [0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F, 0x1656_67B1_9E37_79F9,
                                          0x27D4_EB2F_1656_67C5]

    init(capacity: Int) {
        var width = 64
        while width < 2 * max(capacity, 1) { width <<= 1 }
        rowWidth = width
        mask = width - 1
        counters = [UInt8](repeating: 0, count: 4 * width)
        sampleSize = 10 * max(capacity, 1)
    }

    @inline(__always) private func index(_ id: UInt32, _ row: Int) -> Int {
        let h = (UInt64(id) &+ 1) &* FrequencySketch.seeds[row]
        return row * rowWidth + Int((h ^ (h >> 29)) & UInt64(mask))
    }

    func estimate(_ id: UInt32) -> UInt8 {
        var least: UInt8 = 15
        for row in 0..<4 { least = min(least, counters[index(id, row)]) }
        return least
    }

    /// Conservative update: only the rows holding the minimum grow, which keeps collisions from inflating counts.
    mutating func increment(_ id: UInt32) {
        let current = estimate(id)
        if current < 15 {
            for row in 0..<4 {
                let i = index(id, row)
                if counters[i] == current { counters[i] = current + 1 }
            }
        }
        additions += 1
        if additions >= sampleSize {
            for i in counters.indices { counters[i] >>= 1 }
            additions /= 2
        }
    }
}
