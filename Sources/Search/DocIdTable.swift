// DocIdTable: key → doc id for an index whose `keys` array already holds every key, at 8 bytes a slot.
import Keyspace

/// Finds a document's id by key without storing the key a second time: an open-addressing table (linear probing,
/// backward-shift deletion) of `hash << 32 | id` words, checked against `keys[id]`. A `[Bytes: UInt32]` costs
/// 20 bytes a bucket and repeats every key; at 50,000 documents that was ~53 bytes per document, this is ~10.
///
/// Every call gets the index's `keys` (id → key); an entry must be inserted after `keys[id]` is set and removed
/// before it is cleared.
struct DocIdTable {
    /// 0 marks a free slot (doc ids start at 1, so an occupied slot is never 0).
    private var slots: [UInt64] = Array(repeating: 0, count: 16)
    private var mask = 15
    private(set) var count = 0

    @inline(__always) private static func hash(_ key: Bytes) -> UInt32 { UInt32(truncatingIfNeeded: key.hashValue) }

    @inline(__always) private static func id(_ slot: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: slot) }

    @inline(__always) private func home(_ slot: UInt64) -> Int { Int(UInt32(truncatingIfNeeded: slot >> 32)) & mask }

    private func position(of key: Bytes, keys: [Bytes?]) -> Int? {
        let h = Self.hash(key)
        var i = Int(h) & mask
        while slots[i] != 0 {
            if UInt32(truncatingIfNeeded: slots[i] >> 32) == h, keys[Int(Self.id(slots[i]))] == key { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    func id(of key: Bytes, keys: [Bytes?]) -> UInt32? {
        position(of: key, keys: keys).map { Self.id(slots[$0]) }
    }

    /// Adds `id`, whose key `keys[id]` is set and not yet in the table.
    mutating func insert(_ id: UInt32, keys: [Bytes?]) {
        precondition(id != 0, "doc ids start at 1")
        if (count + 1) * 4 > (mask + 1) * 3 { resize(to: (mask + 1) * 2) }
        place(UInt64(Self.hash(keys[Int(id)]!)) << 32 | UInt64(id))
        count += 1
    }

    /// Removes `key` (still set in `keys`) and returns its id.
    mutating func remove(_ key: Bytes, keys: [Bytes?]) -> UInt32? {
        guard var hole = position(of: key, keys: keys) else { return nil }
        let removed = Self.id(slots[hole])
        // Backward shift: pull later members of the run into the hole when the hole lies on their probe path.
        var j = hole
        while true {
            j = (j + 1) & mask
            if slots[j] == 0 { break }
            let h = home(slots[j])
            let reachable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j)
            if reachable { slots[hole] = slots[j]; hole = j }
        }
        slots[hole] = 0
        count -= 1
        return removed
    }

    mutating func removeAll() {
        slots = Array(repeating: 0, count: 16)
        mask = 15
        count = 0
    }

    /// Every id in the table, in no particular order.
    var ids: [UInt32] { slots.compactMap { $0 == 0 ? nil : Self.id($0) } }

    private mutating func place(_ slot: UInt64) {
        var i = home(slot)
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = slot
    }

    private mutating func resize(to capacity: Int) {
        let old = slots
        slots = Array(repeating: 0, count: capacity)
        mask = capacity - 1
        for s in old where s != 0 { place(s) }
    }
}
