// DocIdTable: key → doc id for an index whose `keys` array already holds every key, at 4 bytes a slot (8 once ids
// outgrow 24 bits).
import Keyspace

/// Finds a document's id by key without storing the key a second time: an open-addressing table (linear probing,
/// backward-shift deletion) of `tag | id` words, checked against `keys[id]`. A `[Bytes: UInt32]` costs 20 bytes a
/// bucket and repeats every key (~53 bytes per document at 50,000 documents); 8-byte `hash | id` words at most 3/4
/// full cost ~21; this is ~5.
///
/// ### Slot layout
///     narrow (every id < 2^24):  | hash's top 8 bits | id: 24 bits |          UInt32
///     wide (after a larger id):  | hash: 32 bits     | id: 32 bits |          UInt64
/// 0 is a free slot (doc ids start at 1). The tag skips the key comparison for all but 1 in 256 foreign slots. A
/// narrow slot does not hold its home bucket, so growing and deleting hash the key again (`keys[id]`); the index's
/// ids only grow, so the first id that needs 25 bits moves the table to wide slots for good (until `removeAll`).
///
/// Buckets are a power of two at most 4/5 full: with 4-byte slots a probe run of a dozen words is one or two cache
/// lines, and the denser table is what saves the memory (50,000 ids fit 65,536 buckets instead of 131,072).
///
/// Every call gets the index's `keys` (id → key); an entry must be inserted after `keys[id]` is set and removed
/// before it is cleared.
struct DocIdTable {
    private var narrow = OpenTable<UInt32>()
    /// Set once an id needs more than 24 bits; `narrow` is then empty.
    private var wide: OpenTable<UInt64>?
    /// The largest id kept in narrow slots (lower in tests, to reach the switch without 16M keys).
    private let narrowIdLimit: UInt32

    init(narrowIdLimit: UInt32 = OpenTable<UInt32>.maxId) {
        self.narrowIdLimit = Swift.min(narrowIdLimit, OpenTable<UInt32>.maxId)
    }

    var count: Int { wide?.count ?? narrow.count }

    func id(of key: Bytes, keys: [Bytes?]) -> UInt32? {
        if let wide { return wide.id(of: key, keys: keys) }
        return narrow.id(of: key, keys: keys)
    }

    /// Adds `id`, whose key `keys[id]` is set and not yet in the table.
    mutating func insert(_ id: UInt32, keys: [Bytes?]) {
        precondition(id != 0, "doc ids start at 1")
        if wide == nil && id > narrowIdLimit {
            var w = OpenTable<UInt64>(capacity: narrow.bucketCount)
            for old in narrow.ids { w.insert(old, keys: keys) }
            wide = w
            narrow = OpenTable()
        }
        if wide != nil { wide!.insert(id, keys: keys) } else { narrow.insert(id, keys: keys) }
    }

    /// Removes `key` (still set in `keys`) and returns its id.
    mutating func remove(_ key: Bytes, keys: [Bytes?]) -> UInt32? {
        if wide != nil { return wide!.remove(key, keys: keys) }
        return narrow.remove(key, keys: keys)
    }

    mutating func removeAll() {
        narrow = OpenTable()
        wide = nil
    }

    /// Every id in the table, in no particular order.
    var ids: [UInt32] { wide?.ids ?? narrow.ids }

    /// Buckets allocated (for tests of the load factor).
    var bucketCount: Int { wide?.bucketCount ?? narrow.bucketCount }
    var isWide: Bool { wide != nil }
}

/// The table behind `DocIdTable` with `Word`-sized slots (see its layout): the id in the low `idBits`, the top bits
/// of the key's hash above it.
struct OpenTable<Word: FixedWidthInteger & UnsignedInteger> {
    private var slots: [Word]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 16) {
        slots = Array(repeating: 0, count: capacity)
        mask = capacity - 1
    }

    @inline(__always) static var idBits: Int { Word.bitWidth == 32 ? 24 : 32 }
    @inline(__always) private static var tagBits: Int { Word.bitWidth - idBits }
    /// The largest id a slot can hold.
    static var maxId: UInt32 { UInt32(truncatingIfNeeded: (UInt64(1) << idBits) - 1) }
    /// Wide slots keep the whole hash, so their home bucket needs no key.
    @inline(__always) private static var holdsHash: Bool { tagBits == 32 }

    var bucketCount: Int { mask + 1 }

    @inline(__always) private static func hash(_ key: Bytes) -> UInt32 { UInt32(truncatingIfNeeded: key.hashValue) }

    @inline(__always) private static func tag(_ h: UInt32) -> Word { Word(truncatingIfNeeded: h >> (32 - tagBits)) << idBits }

    @inline(__always) private static func id(_ slot: Word) -> UInt32 { UInt32(truncatingIfNeeded: slot & Word(maxId)) }

    @inline(__always) private static func slot(hash h: UInt32, id: UInt32) -> Word { tag(h) | Word(id) }

    /// The bucket a slot's key hashes to.
    @inline(__always) private func home(_ slot: Word, keys: [Bytes?]) -> Int {
        if Self.holdsHash { return Int(UInt32(truncatingIfNeeded: slot >> Self.idBits)) & mask }
        return Int(Self.hash(keys[Int(Self.id(slot))]!)) & mask
    }

    private func position(of key: Bytes, keys: [Bytes?]) -> Int? {
        let h = Self.hash(key)
        let t = Self.tag(h)
        let tagMask = ~Word(Self.maxId)
        var i = Int(h) & mask
        while slots[i] != 0 {
            if slots[i] & tagMask == t, keys[Int(Self.id(slots[i]))] == key { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    func id(of key: Bytes, keys: [Bytes?]) -> UInt32? {
        position(of: key, keys: keys).map { Self.id(slots[$0]) }
    }

    mutating func insert(_ id: UInt32, keys: [Bytes?]) {
        if (count + 1) * 5 > (mask + 1) * 4 { resize(to: (mask + 1) * 2, keys: keys) }
        let h = Self.hash(keys[Int(id)]!)
        place(Self.slot(hash: h, id: id), home: Int(h) & mask, keys: keys)
        count += 1
    }

    mutating func remove(_ key: Bytes, keys: [Bytes?]) -> UInt32? {
        guard var hole = position(of: key, keys: keys) else { return nil }
        let removed = Self.id(slots[hole])
        // Backward shift: pull later members of the run into the hole when the hole lies on their probe path.
        var j = hole
        while true {
            j = (j + 1) & mask
            if slots[j] == 0 { break }
            let h = home(slots[j], keys: keys)
            let reachable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j)
            if reachable { slots[hole] = slots[j]; hole = j }
        }
        slots[hole] = 0
        count -= 1
        return removed
    }

    var ids: [UInt32] { slots.compactMap { $0 == 0 ? nil : Self.id($0) } }

    private mutating func place(_ slot: Word, home: Int?, keys: [Bytes?]) {
        var i = home ?? self.home(slot, keys: keys)
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = slot
    }

    private mutating func resize(to capacity: Int, keys: [Bytes?]) {
        let old = slots
        slots = Array(repeating: 0, count: capacity)
        mask = capacity - 1
        for s in old where s != 0 { place(s, home: nil, keys: keys) }
    }
}
