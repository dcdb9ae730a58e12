// KeyTable: one hash slot's keys and values in one allocation (entries back to back, plus an open-addressing index of
// entry numbers once the slot has more than a few keys), instead of a Swift Dictionary per slot.

/// The keys of one hash slot and their values.
///
/// ### Layout
///     object:  | Swift object header (16 B) | header word (8 B) | entries: (Bytes, Value) × capacity |
///     header word, no index:  | capacity: 32 bits | count: 31 bits | 1 |
///     header word, indexed:   | log2(buckets): 8 bits | index block address: 56 bits (bit 0 is 0) |
///     index block (its own allocation, only above `linearLimit` keys):
///              | count: UInt32 | capacity: UInt32 | unused: 8 B | buckets: UInt32 × 2^log2 |
///     bucket:  | hash tag: 8 bits | entry number + 1: 24 bits |   (0 = free bucket)
///
/// The one-word header makes the object 24 bytes plus entries, so a slot's malloc chunk is 32 + 32 × capacity
/// bytes (a 40-byte header made it 48 + 32 × capacity): 16 bytes less per slot, ~5 bytes a key at 50k keys. Count
/// and capacity move into the index block while there is one; a lookup in an indexed table reads only the word
/// (address and bucket count), never the block's first line.
///
/// A Swift Dictionary per slot cost a 64-byte storage header and power-of-two buckets at most 3/4 full, each a whole
/// 32-byte entry: ~77 bytes a key at 50k keys (~3 per slot), ~68 at 1M (~61 per slot: 128 buckets). Here entries are
/// dense (grown by a quarter) and only the 4-byte index words are sparse. Up to `linearLimit` keys a lookup compares
/// keys in order without hashing (inline keys compare as two words); above it the index is probed linearly, the tag
/// skipping most key comparisons. Removal moves the last entry into the hole, so entries stay dense.
///
/// Not copy-on-write: the `Database` holds the only `SlotKeys` of each slot and mutates it in place.
struct SlotKeys {
    private var table: KeyTable?

    init() {}

    var count: Int { table.map { Int($0.header.count) } ?? 0 }
    var isEmpty: Bool { table == nil }

    /// The entry number of `key`, or nil.
    @inline(__always) func find(_ key: Bytes) -> Int? { probe(key).index }

    /// A lookup's outcome: the entry number, or what `insertNew(_:_:after:)` needs to add the key without hashing it again.
    struct Probe {
        let index: Int?
        /// The key's hash when the table is indexed (only then was it computed).
        let hash: UInt32?
    }

    @inline(__always) func probe(_ key: Bytes) -> Probe {
        guard let t = table else { return Probe(index: nil, hash: nil) }
        let hash = t.header.index == nil ? nil : KeyTable.hash(key)
        return Probe(index: t.find(key, hash: hash), hash: hash)
    }

    subscript(key: Bytes) -> Value? {
        get {
            guard let t = table, let i = t.find(key) else { return nil }
            return t.value(at: i)
        }
        set {
            if let newValue { updateValue(newValue, forKey: key) } else { removeValue(forKey: key) }
        }
    }

    func key(at i: Int) -> Bytes { table!.key(at: i) }
    func value(at i: Int) -> Value { table!.value(at: i) }
    func setValue(_ value: Value, at i: Int) { table!.setValue(value, at: i) }

    /// Adds a key known to be absent.
    mutating func insertNew(_ key: Bytes, _ value: Value) {
        insertNew(key, value, after: Probe(index: nil, hash: nil))
    }

    /// Adds a key that `probe` (with no change in between) did not find.
    mutating func insertNew(_ key: Bytes, _ value: Value, after probe: Probe) {
        let t = table ?? KeyTable.make(capacity: 1)
        table = t.appending(key, value, hash: probe.hash)
    }

    /// Sets `key`'s value; returns the previous one (nil when the key is new).
    @discardableResult
    mutating func updateValue(_ value: Value, forKey key: Bytes) -> Value? {
        let p = probe(key)
        if let i = p.index { return table!.exchangeValue(value, at: i) }
        insertNew(key, value, after: p)
        return nil
    }

    /// Removes entry `i`; the last entry takes its number.
    mutating func remove(at i: Int) {
        guard let t = table else { return }
        if t.header.count == 1 { table = nil; return }
        table = t.removing(at: i)
    }

    @discardableResult
    mutating func removeValue(forKey key: Bytes) -> Value? {
        guard let t = table, let i = t.find(key) else { return nil }
        let old = t.value(at: i)
        remove(at: i)
        return old
    }

    mutating func removeAll() { table = nil }

    /// Visits every entry; `body` must not change this slot.
    func forEach(_ body: (Bytes, Value) throws -> Void) rethrows {
        guard let t = table else { return }
        for i in 0..<Int(t.header.count) { try body(t.key(at: i), t.value(at: i)) }
    }

    var keys: [Bytes] {
        var result: [Bytes] = []
        result.reserveCapacity(count)
        forEach { k, _ in result.append(k) }
        return result
    }

    func randomKey() -> Bytes? {
        guard let t = table else { return nil }
        return t.key(at: Int.random(in: 0..<Int(t.header.count)))
    }
}

final class KeyTable: ManagedBuffer<KeyTable.Header, KeyTable.Entry> {
    /// The header word (see the layout): count and capacity inline, or the index block that holds them.
    struct Header {
        private var word: UInt64

        init(count: UInt32, capacity: UInt32) { word = Self.packed(count: count, capacity: capacity) }

        @inline(__always) private static func packed(count: UInt32, capacity: UInt32) -> UInt64 {
            UInt64(capacity) << 32 | UInt64(count & 0x7fff_ffff) << 1 | 1
        }
        @inline(__always) private var isPacked: Bool { word & 1 == 1 }
        private static let addressMask: UInt64 = (1 << 56) - 1
        private static let blockHeaderWords = 4
        @inline(__always) private var block: UnsafeMutablePointer<UInt32> {
            UnsafeMutablePointer(bitPattern: UInt(word & Self.addressMask))!
        }

        var count: UInt32 {
            @inline(__always) get { isPacked ? UInt32(truncatingIfNeeded: word >> 1) & 0x7fff_ffff : block[0] }
            set { if isPacked { word = Self.packed(count: newValue, capacity: capacity) } else { block[0] = newValue } }
        }
        var capacity: UInt32 {
            @inline(__always) get { isPacked ? UInt32(truncatingIfNeeded: word >> 32) : block[1] }
            set { if isPacked { word = Self.packed(count: count, capacity: newValue) } else { block[1] = newValue } }
        }
        /// The index's buckets, nil without one.
        @inline(__always) var index: UnsafeMutablePointer<UInt32>? { isPacked ? nil : block + Self.blockHeaderWords }
        /// Buckets - 1 of the index, 0 without one.
        @inline(__always) var indexMask: UInt32 { isPacked ? 0 : UInt32(truncatingIfNeeded: (1 as UInt64) << (word >> 56)) &- 1 }

        /// Replaces the index (if any) by `buckets` uninitialized buckets (a power of two); returns them.
        mutating func allocateIndex(buckets: Int) -> UnsafeMutablePointer<UInt32> {
            let (n, cap) = (count, capacity)
            freeIndex()
            let b = UnsafeMutablePointer<UInt32>.allocate(capacity: Self.blockHeaderWords + buckets)
            let address = UInt64(UInt(bitPattern: b))
            precondition(address & ~Self.addressMask == 0 && address & 1 == 0, "index block address does not fit the header word")
            b[0] = n
            b[1] = cap
            word = address | UInt64(buckets.trailingZeroBitCount) << 56
            return b + Self.blockHeaderWords
        }

        /// Drops the index; count and capacity move back into the word.
        mutating func freeIndex() {
            guard !isPacked else { return }
            let (n, cap) = (count, capacity)
            block.deallocate()
            word = Self.packed(count: n, capacity: cap)
        }

        /// Takes `other`'s index (keeping this header's count and capacity); `other` keeps its own, without an index.
        mutating func takeIndex(from other: inout Header) {
            let (n, cap) = (count, capacity)
            let (otherCount, otherCapacity) = (other.count, other.capacity)
            freeIndex()
            word = other.word
            block[0] = n
            block[1] = cap
            other.word = Self.packed(count: otherCount, capacity: otherCapacity)
        }
    }
    struct Entry {
        var key: Bytes
        var value: Value
    }

    /// Up to this many keys a lookup compares keys in order and there is no index.
    static let linearLimit = 8
    private static let numberBits: UInt32 = 24
    private static let numberMask: UInt32 = (1 << 24) - 1
    /// Entry numbers are 24 bits: 16M keys in one slot (2^38 in the node).
    static let maxCount = Int(numberMask) - 1

    deinit {
        withUnsafeMutablePointers { h, e in
            e.deinitialize(count: Int(h.pointee.count))
            h.pointee.freeIndex()
        }
    }

    static func make(capacity: Int) -> KeyTable {
        let b = unsafeDowncast(KeyTable.create(minimumCapacity: capacity) { _ in Header(count: 0, capacity: 0) },
                               to: KeyTable.self)
        // What malloc rounded the object up to is free room for more entries.
        b.header.capacity = UInt32(Swift.min(b.capacity, maxCount))
        return b
    }

    @inline(__always) func key(at i: Int) -> Bytes { withUnsafeMutablePointerToElements { $0[i].key } }
    @inline(__always) func value(at i: Int) -> Value { withUnsafeMutablePointerToElements { $0[i].value } }
    @inline(__always) func setValue(_ v: Value, at i: Int) { withUnsafeMutablePointerToElements { $0[i].value = v } }
    @inline(__always) func exchangeValue(_ v: Value, at i: Int) -> Value {
        withUnsafeMutablePointerToElements { e in
            let old = (e + i).move()
            (e + i).initialize(to: Entry(key: old.key, value: v))
            return old.value
        }
    }

    @inline(__always) static func hash(_ key: Bytes) -> UInt32 { UInt32(truncatingIfNeeded: key.hashValue) }
    /// The index word's tag: hash bits the bucket number does not use (for ≤ 2^24 buckets, the top 8).
    @inline(__always) private static func tag(_ h: UInt32) -> UInt32 { h & ~numberMask }

    /// The entry number of `key`; `hash` is its hash when the table is indexed (computed here when nil).
    func find(_ key: Bytes, hash: UInt32? = nil) -> Int? {
        withUnsafeMutablePointers { h, e in
            guard let index = h.pointee.index else {
                for i in 0..<Int(h.pointee.count) where e[i].key == key { return i }
                return nil
            }
            let hv = hash ?? Self.hash(key)
            let mask = Int(h.pointee.indexMask)
            let t = Self.tag(hv)
            var b = Int(hv) & mask
            while true {
                let w = index[b]
                if w == 0 { return nil }
                if w & ~Self.numberMask == t {
                    let i = Int(w & Self.numberMask) - 1
                    if e[i].key == key { return i }
                }
                b = (b + 1) & mask
            }
        }
    }

    /// This table with `key` → `value` added (the key is absent): itself, or a larger copy when full.
    func appending(_ key: Bytes, _ value: Value, hash: UInt32? = nil) -> KeyTable {
        let n = Int(header.count)
        precondition(n < Self.maxCount, "too many keys in one hash slot")
        let target = n < Int(header.capacity) ? self : resized(to: n + Swift.max(1, n / 4))
        target.withUnsafeMutablePointers { h, e in
            (e + n).initialize(to: Entry(key: key, value: value))
            h.pointee.count += 1
            if h.pointee.index != nil {
                Self.place(h.pointee.index!, mask: Int(h.pointee.indexMask), hash: hash ?? Self.hash(key), number: n)
            } else if n + 1 > Self.linearLimit {
                target.rebuildIndex()
            }
        }
        return target
    }

    /// This table without entry `i` (the last entry moves into its place): itself, or a smaller copy when mostly empty.
    func removing(at i: Int) -> KeyTable {
        withUnsafeMutablePointers { h, e in
            let last = Int(h.pointee.count) - 1
            if let index = h.pointee.index {
                let mask = Int(h.pointee.indexMask)
                Self.unplace(index, mask: mask, bucket: Self.bucket(of: i, key: e[i].key, index, mask), entries: e)
                if i != last {
                    let b = Self.bucket(of: last, key: e[last].key, index, mask)
                    index[b] = (index[b] & ~Self.numberMask) | UInt32(i + 1)
                }
            }
            (e + i).deinitialize(count: 1)
            if i != last { (e + i).moveInitialize(from: e + last, count: 1) }
            h.pointee.count -= 1
        }
        let n = Int(header.count)
        if n <= Self.linearLimit, header.index != nil { header.freeIndex() }
        // Give memory back after mass deletion, keeping a quarter of slack so alternating writes do not reallocate.
        if n * 2 < Int(header.capacity) && Int(header.capacity) > 4 { return resized(to: n + n / 4 + 1) }
        return self
    }

    /// A copy with room for `capacity` entries; the entries move (this table is left empty and dropped by the caller).
    /// Entry numbers do not change, so the index moves along unless the new capacity needs another bucket count.
    private func resized(to capacity: Int) -> KeyTable {
        let t = KeyTable.make(capacity: capacity)
        withUnsafeMutablePointers { h, e in
            t.withUnsafeMutablePointers { th, te in
                te.moveInitialize(from: e, count: Int(h.pointee.count))
                th.pointee.count = h.pointee.count
                if h.pointee.index != nil, Int(h.pointee.indexMask) + 1 == Self.buckets(forCapacity: Int(th.pointee.capacity)) {
                    th.pointee.takeIndex(from: &h.pointee)
                }
            }
            h.pointee.count = 0
        }
        if t.header.index == nil && Int(t.header.count) > Self.linearLimit { t.rebuildIndex() }
        return t
    }

    /// Index buckets for `capacity` entries: a power of two, at most 3/4 full when every entry is used.
    private static func buckets(forCapacity capacity: Int) -> Int {
        var buckets = 16
        while buckets * 3 < capacity * 4 { buckets *= 2 }
        return buckets
    }

    /// Builds the index for the current capacity.
    private func rebuildIndex() {
        withUnsafeMutablePointers { h, e in
            let buckets = Self.buckets(forCapacity: Int(h.pointee.capacity))
            let index = h.pointee.index != nil && Int(h.pointee.indexMask) + 1 == buckets
                ? h.pointee.index! : h.pointee.allocateIndex(buckets: buckets)
            index.initialize(repeating: 0, count: buckets)
            for i in 0..<Int(h.pointee.count) { Self.place(index, mask: buckets - 1, hash: Self.hash(e[i].key), number: i) }
        }
    }

    @inline(__always)
    private static func place(_ index: UnsafeMutablePointer<UInt32>, mask: Int, hash hv: UInt32, number: Int) {
        var b = Int(hv) & mask
        while index[b] != 0 { b = (b + 1) & mask }
        index[b] = tag(hv) | UInt32(number + 1)
    }

    /// The bucket holding entry `number` (whose key is `key`).
    private static func bucket(of number: Int, key: Bytes, _ index: UnsafeMutablePointer<UInt32>, _ mask: Int) -> Int {
        var b = Int(hash(key)) & mask
        while Int(index[b] & numberMask) != number + 1 { b = (b + 1) & mask }
        return b
    }

    /// Frees bucket `hole` by backward shift: later members of the run move into the hole when it lies on their probe
    /// path (no tombstones, so lookups stop at the first free bucket).
    private static func unplace(_ index: UnsafeMutablePointer<UInt32>, mask: Int, bucket: Int, entries e: UnsafeMutablePointer<Entry>) {
        var hole = bucket
        var j = hole
        while true {
            j = (j + 1) & mask
            let w = index[j]
            if w == 0 { break }
            let home = Int(hash(e[Int(w & numberMask) - 1].key)) & mask
            let reachable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j)
            if reachable { index[hole] = w; hole = j }
        }
        index[hole] = 0
    }
}
