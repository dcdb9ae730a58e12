// Values stored under keys: strings and hashes. Hashes have Redis's two encodings: a compact packed buffer for small
// hashes (Redis's listpack) and an open-addressing field table with a resize-safe scan cursor (Redis's dict); the
// compact buffer can also hold one value kept elsewhere (an indexed vector), so indexed documents stay small.

public enum ValueType: String, Sendable {
    case string, hash, none
    /// FT.SUGADD's dictionaries: RediSearch's module type name, which TYPE and SCAN TYPE use.
    case suggestions = "trietype0"
}

/// What a key holds.
public enum Value: Sendable {
    case string(Bytes)
    case hash(HashValue)
    case suggestions(SuggestionTrie)

    public var type: ValueType {
        switch self {
        case .string: return .string
        case .hash: return .hash
        case .suggestions: return .suggestions
        }
    }

    /// The name OBJECT ENCODING reports, following Redis's rules for the same content.
    public var encodingName: String {
        switch self {
        case .string(let s):
            if s.count <= 20, s.integerValue != nil { return "int" }
            return s.count <= 44 ? "embstr" : "raw"
        case .hash(let h):
            return h.isCompact ? "listpack" : "hashtable"
        case .suggestions:
            return "raw"  // what Redis reports for any module value
        }
    }

    /// Approximate bytes held by the value, for MEMORY USAGE.
    public var memoryUsage: Int {
        switch self {
        case .string(let s): return 16 + s.count
        case .hash(let h): return h.memoryUsage
        case .suggestions(let t): return t.memoryUsage
        }
    }
}

/// Limits under which a hash stays in the compact encoding (`hash-max-listpack-entries` / `-value`).
public struct HashEncodingLimits: Sendable {
    public var maxCompactEntries = 128
    public var maxCompactValueLength = 64
    public init() {}
}

/// A hash. Small hashes are one packed buffer searched linearly (cheap in memory, like Redis's listpack); they become
/// a `FieldTable` once they grow past `HashEncodingLimits`. The one way back is `setExternal`: a hash whose long value
/// (a vector) now lives in an index is packed again when the rest fits, but keeps reporting `hashtable`, because Redis
/// converts one way only and clients can see the encoding.
public struct HashValue: @unchecked Sendable {
    enum Storage {
        /// No fields and nothing allocated (also a placeholder while a buffer is mutated in place).
        case empty
        case compact(CompactPairs)
        case table(FieldTable)
    }
    var storage: Storage

    public init() { storage = .empty }

    /// True when Redis would report the listpack encoding (an empty hash counts as compact, as a new Redis hash is a
    /// listpack). A packed buffer that stands in for a converted hash reports false.
    public var isCompact: Bool {
        switch storage {
        case .empty: return true
        case .compact(let c): return !c.reportsTable
        case .table: return false
        }
    }

    /// True when the fields live in one packed buffer (what the limits and the scan behaviour depend on).
    var isPacked: Bool { if case .table = storage { return false }; return true }

    public var count: Int {
        switch storage {
        case .empty: return 0
        case .compact(let c): return c.pairCount
        case .table(let t): return t.count
        }
    }

    public var isEmpty: Bool {
        switch storage {
        case .empty: return true
        case .compact(let c): return c.usedBytes == 0
        case .table(let t): return t.count == 0
        }
    }

    public subscript(field: Bytes) -> Bytes? {
        field.withUnsafeBytes { f in
            switch storage {
            case .empty: return nil
            case .compact(let c):
                if let stored = c.externalValue(for: f) { return Self.resolved(stored) }
                return c.value(for: f)
            case .table(let t): return t[field].map(Self.resolved)
            }
        }
    }

    /// The reference a field's value holds when it lives in a store (an indexed vector), without reading it.
    public func externalReference(for field: Bytes) -> ExternalReference? {
        field.withUnsafeBytes { f in
            switch storage {
            case .empty: return nil
            case .compact(let c): return c.externalValue(for: f)?.externalReference
            case .table(let t): return t[field]?.externalReference
            }
        }
    }

    /// Values leave the hash as bytes of their own: a reference handed out could outlive the label it names.
    @inline(__always) static func resolved(_ stored: Bytes) -> Bytes {
        if case .external(let r) = stored.representation { return Bytes(r.resolve()) }
        return stored
    }

    /// True when the field exists, without copying its value.
    public func contains(_ field: Bytes) -> Bool {
        field.withUnsafeBytes { f in
            switch storage {
            case .empty: return false
            case .compact(let c): return c.find(f) != nil || c.externalValue(for: f) != nil
            case .table(let t): return t.find(field) != nil
            }
        }
    }

    /// Redis's hashTypeTryConversion, run before a multi-field write: converts a compact hash when the write brings more
    /// fields than the compact limit (even if some repeat) or any argument longer than the value limit.
    public mutating func prepareForWrite(pairs: Int, longestArgument: Int, limits: HashEncodingLimits) {
        guard isPacked else { return }
        if pairs > limits.maxCompactEntries {
            convertToTable(reserving: pairs)
        } else if longestArgument > limits.maxCompactValueLength {
            convertToTable(reserving: count)
        }
    }

    /// Sets a field; returns true when the field is new. Converts to a table when the field or value is longer than the
    /// compact limit, or the field count passes it (Redis's hashTypeSet).
    @discardableResult
    public mutating func set(_ field: Bytes, _ value: Bytes, limits: HashEncodingLimits = HashEncodingLimits()) -> Bool {
        if isPacked && !fitsPacked(field.count, value.count, limits) {
            convertToTable(reserving: count + 1)
        }
        switch storage {
        case .empty, .compact:
            return field.withUnsafeBytes { f in value.withUnsafeBytes { v in setPacked(f, v, limits: limits) } }
        case .table(var t):
            storage = .empty
            if !isKnownUniquelyReferenced(&t) { t = t.copy() }
            let isNew = t.set(field, value)
            storage = .table(t)
            return isNew
        }
    }

    /// `set` from views of the request's arguments: a packed hash copies them straight into its buffer, so an HSET of
    /// a field longer than `Bytes.inlineCapacity` allocates nothing when the field exists or fits in place.
    @discardableResult
    public mutating func set(field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, limits: HashEncodingLimits) -> Bool {
        guard isPacked && fitsPacked(field.count, value.count, limits) else { return set(Bytes(field), Bytes(value), limits: limits) }
        return setPacked(field, value, limits: limits)
    }

    /// The pair may go into the packed buffer without converting (Redis's hashTypeSet length checks).
    private func fitsPacked(_ fieldCount: Int, _ valueCount: Int, _ limits: HashEncodingLimits) -> Bool {
        fieldCount <= limits.maxCompactValueLength && valueCount <= limits.maxCompactValueLength
            && compactBytes + fieldCount + valueCount + 20 <= CompactPairs.maxBytes
    }

    /// Writes a pair into an empty or packed hash, converting afterwards when the entry count passes the limit.
    private mutating func setPacked(_ f: UnsafeRawBufferPointer, _ v: UnsafeRawBufferPointer, limits: HashEncodingLimits) -> Bool {
        switch storage {
        case .empty:
            storage = .compact(CompactPairs.make(f, v))
            if 1 > limits.maxCompactEntries { convertToTable(reserving: 1) }
            return true
        case .compact(var c):
            storage = .empty  // drop our reference so the buffer can be mutated in place
            if !isKnownUniquelyReferenced(&c) { c = c.copy(extra: 0) }
            // A plain value over the external one replaces it: the field moves to the inline entries.
            let replacedExternal = c.removeExternal(ifField: f)
            let isNew = c.set(f, v, into: &c) && !replacedExternal
            storage = .compact(c)
            if isNew, case let n = c.pairCount, n > limits.maxCompactEntries { convertToTable(reserving: n) }
            return isNew
        case .table:
            preconditionFailure("setPacked on a table")
        }
    }

    /// Removes a field; returns true when it existed.
    @discardableResult
    public mutating func remove(_ field: Bytes) -> Bool {
        switch storage {
        case .empty:
            return false
        case .compact(var c):
            storage = .empty
            if !isKnownUniquelyReferenced(&c) { c = c.copy(extra: 0) }
            let existed = field.withUnsafeBytes { c.removeExternal(ifField: $0) || c.remove($0) }
            storage = c.usedBytes == 0 ? .empty : .compact(c)
            return existed
        case .table(var t):
            storage = .empty
            if !isKnownUniquelyReferenced(&t) { t = t.copy() }
            let existed = t.remove(field)
            storage = .table(t)  // a table stays a table even when emptied (conversions are one-way)
            return existed
        }
    }

    private var compactBytes: Int { if case .compact(let c) = storage { return c.usedBytes }; return 0 }

    /// Points an existing field at content held elsewhere (`ExternalStore`, longer than the compact value limit) without
    /// a visible change. When every other field fits the compact limits the hash is packed with the reference in its
    /// buffer, which saves the table's four allocations per indexed document; otherwise (other long values, a second
    /// external field, many fields) the table keeps it.
    public mutating func setExternal(_ field: Bytes, _ reference: ExternalReference, limits: HashEncodingLimits = HashEncodingLimits()) {
        if field.count <= limits.maxCompactValueLength, let packed = packed(withExternal: field, reference, limits: limits) {
            storage = .compact(packed)
            ExternalStore.register(packed, for: reference)
            return
        }
        if isPacked { convertToTable(reserving: count + 1) }
        set(field, Bytes(external: reference), limits: limits)
    }

    /// A packed buffer holding `field` → `reference` and every other field inline, or nil when the others do not all fit.
    private func packed(withExternal field: Bytes, _ reference: ExternalReference, limits: HashEncodingLimits) -> CompactPairs? {
        var others = 0
        var inlineBytes = 0
        var fits = true
        forEachStored { f, v in
            guard fits, f != field else { return }
            others += 1
            if v.externalReference != nil || f.count > limits.maxCompactValueLength || v.count > limits.maxCompactValueLength
                || others + 1 > limits.maxCompactEntries {
                fits = false
                return
            }
            inlineBytes += f.withUnsafeBytes { CompactPairs.entrySize($0, v.count) }
        }
        guard fits else { return nil }
        let packed = field.withUnsafeBytes { CompactPairs.make(external: $0, reference, inlineCapacity: inlineBytes) }
        // Every other value is inline (checked above): none is resolved, which for a tiered index is a page read.
        forEachStored { f, v in
            if f == field { return }
            f.withUnsafeBytes { fb in v.withUnsafeBytes { vb in packed.appendWithinCapacity(fb, vb) } }
        }
        return packed
    }

    private mutating func convertToTable(reserving: Int) {
        let table = FieldTable(minimumCapacity: max(reserving, count))
        if case .compact(var c) = storage {
            storage = .empty
            // A buffer only this hash holds hands its reference over; a shared one keeps it, and the table a copy.
            let external = isKnownUniquelyReferenced(&c) ? c.handOverExternal() : c.withExternalEntry { f, v in (Bytes(f), Self.resolved(v)) }
            if let external { table.set(external.0, external.1) }
            c.forEach { f, v in table.set(Bytes(f), Bytes(v)) }
        }
        storage = .table(table)
    }

    /// Fields and values in insertion order (compact) or table order.
    public var pairs: [(field: Bytes, value: Bytes)] {
        var result: [(field: Bytes, value: Bytes)] = []
        result.reserveCapacity(count)
        forEach { result.append(($0, $1)) }
        return result
    }

    public func forEach(_ body: (Bytes, Bytes) throws -> Void) rethrows {
        try forEachStored { f, v in try body(f, Self.resolved(v)) }
    }

    /// `forEach` with values as stored: a value held in a store comes as its reference.
    func forEachStored(_ body: (Bytes, Bytes) throws -> Void) rethrows {
        switch storage {
        case .empty: return
        case .compact(let c):
            try c.withExternalEntry { f, v in try body(Bytes(f), v) }
            try c.forEach { f, v in try body(Bytes(f), Bytes(v)) }
        case .table(let t): try t.forEach(body)
        }
    }

    /// Visits fields and values as raw views without copying them (replies, pattern matching).
    public func forEachRaw(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) rethrows {
        switch storage {
        case .empty: return
        case .compact(let c):
            try c.withExternalEntry { f, v in try v.withUnsafeBytes { try body(f, $0) } }
            try c.forEach(body)
        case .table(let t):
            try t.forEach { f, v in try f.withUnsafeBytes { fb in try v.withUnsafeBytes { vb in try body(fb, vb) } } }
        }
    }

    /// One uniformly chosen field and its value, or nil when empty (HRANDFIELD).
    public func randomPair<G: RandomNumberGenerator>(using generator: inout G) -> (field: Bytes, value: Bytes)? {
        switch storage {
        case .empty: return nil
        case .compact(let c):
            let index = Int.random(in: 0..<c.pairCount, using: &generator)
            if c.hasExternal {
                if index == 0 { return c.withExternalEntry { f, v in (Bytes(f), Self.resolved(v)) } }
                return c.pair(at: index - 1)
            }
            return c.pair(at: index)
        case .table(let t):
            return t.randomPair(using: &generator).map { ($0.field, Self.resolved($0.value)) }
        }
    }

    /// One HSCAN step. A compact hash returns everything and cursor 0, as Redis does for listpacks. A table visits the
    /// home buckets of `cursor` until `count` fields were seen (at most `10 × count` steps) and returns the next cursor;
    /// fields present for the whole scan are returned at least once even if the table is resized in between.
    public func scan(cursor: UInt64, count wanted: Int, _ visit: (Bytes, Bytes) -> Void) -> UInt64 {
        switch storage {
        case .empty: return 0
        case .compact: forEach(visit); return 0
        case .table(let t):
            var cursor = cursor
            var seen = 0
            var steps = wanted &* 10
            repeat {
                cursor = t.scanStep(cursor) { f, v in visit(f, Self.resolved(v)); seen += 1 }
                steps -= 1
            } while cursor != 0 && steps > 0 && seen < wanted
            return cursor
        }
    }

    public var memoryUsage: Int {
        switch storage {
        case .empty: return 16
        case .compact(let c):
            guard c.reportsTable else { return 16 + 24 + c.usedBytes }
            // Report what the table Redis would have costs, as before the hash was packed again.
            var capacity = 4
            while capacity * 3 / 4 < c.pairCount { capacity *= 2 }
            var fieldBytes = 0
            forEachStored { f, v in fieldBytes += (f.count > 14 ? f.count + 32 : 0) + (v.count > 14 ? v.count + 32 : 0) }
            return 16 + 64 + capacity * 36 + fieldBytes
        case .table(let t): return 16 + t.memoryUsage
        }
    }
}

// MARK: - Compact encoding

/// The compact (listpack-like) hash: one heap object holding every field and value back to back.
///
/// ### Layout
///     header: | bits: UInt32 = used (30 bits) | reportsTable (bit 30) | hasExternal (bit 31) |
///     bytes:  [ external entry ] | field | vlen (LEB128) | value | … one entry per pair |
///     field:  | flen << 1 (LEB128) | field bytes |   the name itself
///             | id << 1 | 1 (one byte) |           a name with an id in `FieldNameTable.shared` (an index's field)
///     external entry (only with hasExternal): | value word (8) | field |
///     value word: | 1 | store id (31 bits) | label (32 bits) |   an `ExternalReference`: the value lives in a store
///                 | OwnedBytes pointer, +1 retained        |   the store let go of it and this buffer took a copy
///                 | 0 |                                          handed over to a successor (this buffer is going)
/// `used` counts every byte including the external entry.
///
/// A field is written as its shared id when it has one as the entry is added (`year` costs 1 byte instead of 5), so
/// an indexed document's buffer fits the 48-byte malloc chunk; entries added before the name got its id keep the
/// bytes, and every read compares names as bytes, so the two forms of one name match each other. The flag bit costs
/// a second length byte for names of 64 to 127 bytes.
///
/// The external entry is a field whose value lives in an index (`ExternalStore`). Its word sits in the bytes, not in
/// the header, so hashes without one keep the 4-byte header. A buffer holding a reference is that label's registered
/// holder (see `ExternalStore`): it unregisters when freed, hands the registration to the larger buffer that replaces
/// it, and a copy made for a write takes the bytes instead (`OwnedBytes`, shared by retain between copies).
///
/// Lookups are linear scans (hashes this small fit in a few cache lines); a write that changes a size moves the tail
/// with memmove, or moves everything to a larger object when capacity runs out, like `lpInsert`'s realloc. The pair
/// count is not stored: with a 4-byte header a one-pair hash such as `f`→`v` is a 24-byte object (one 32-byte malloc
/// chunk), and counting ≤ 128 entries is a short walk.
final class CompactPairs: ManagedBuffer<CompactPairs.Header, UInt8> {
    struct Header {
        var bits: UInt32
        private static let usedMask: UInt32 = (1 << 30) - 1
        private static let reportsTableBit: UInt32 = 1 << 30
        private static let hasExternalBit: UInt32 = 1 << 31

        var used: UInt32 {
            get { bits & Self.usedMask }
            set { bits = (bits & ~Self.usedMask) | newValue }
        }
        /// The hash stands in for one Redis already converted to a table (OBJECT ENCODING says `hashtable`).
        var reportsTable: Bool {
            get { bits & Self.reportsTableBit != 0 }
            set { bits = newValue ? bits | Self.reportsTableBit : bits & ~Self.reportsTableBit }
        }
        var hasExternal: Bool {
            get { bits & Self.hasExternalBit != 0 }
            set { bits = newValue ? bits | Self.hasExternalBit : bits & ~Self.hasExternalBit }
        }
    }

    private static let externalPointerSize = MemoryLayout<UInt>.size

    /// Redis's listpack refuses to grow past 1 GB (lpSafeToAdd); a write that would is stored in a table instead.
    static let maxBytes = 1 << 30

    var pairCount: Int {
        var n = hasExternal ? 1 : 0
        walk { _, _, _ in n += 1; return true }
        return n
    }
    var usedBytes: Int { Int(header.used) }
    var hasExternal: Bool { header.hasExternal }
    var reportsTable: Bool { header.reportsTable }

    deinit {
        guard header.hasExternal else { return }
        let word = externalWord
        if let r = ExternalReference(packed: word) { ExternalStore.unregister(self, for: r) }
        // Read again: the store may have handed this buffer a copy while it was unregistering.
        Self.releaseOwned(externalWord)
    }

    /// The external entry's value word (see the layout); read only when `hasExternal`.
    private var externalWord: UInt64 {
        get { withUnsafeMutablePointerToElements { UnsafeRawPointer($0).loadUnaligned(as: UInt64.self) } }
        set { withUnsafeMutablePointerToElements { UnsafeMutableRawPointer($0).storeBytes(of: newValue, as: UInt64.self) } }
    }

    private static func owned(_ word: UInt64) -> Unmanaged<OwnedBytes>? {
        guard word != 0, word >> 63 == 0 else { return nil }
        return Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: UInt(word))!)
    }

    private static func releaseOwned(_ word: UInt64) { owned(word)?.release() }

    private static func word(owning bytes: [UInt8]) -> UInt64 {
        UInt64(UInt(bitPattern: Unmanaged.passRetained(OwnedBytes(bytes)).toOpaque()))
    }

    /// The stored form of an external word's value: the reference, or the bytes this buffer owns.
    private static func storedValue(_ word: UInt64) -> Bytes {
        if let r = ExternalReference(packed: word) { return Bytes(external: r) }
        if let o = owned(word) { return Bytes(o.takeUnretainedValue().bytes) }
        return Bytes()
    }

    static func allocate(capacity: Int) -> CompactPairs {
        let b = CompactPairs.create(minimumCapacity: capacity) { _ in Header(bits: 0) }
        return unsafeDowncast(b, to: CompactPairs.self)
    }

    /// A buffer holding `field` → `reference` as its external entry, with room for `inlineCapacity` bytes of inline
    /// entries (`appendWithinCapacity`). It reports the table encoding: only a value longer than the compact limit is
    /// kept elsewhere, and such a value made Redis convert the hash. The caller registers it as the holder once filled.
    static func make(external field: UnsafeRawBufferPointer, _ reference: ExternalReference, inlineCapacity: Int) -> CompactPairs {
        let code = fieldCode(field)
        let c = allocate(capacity: externalPointerSize + fieldSize(code: code) + inlineCapacity)
        c.withUnsafeMutablePointers { h, base in
            UnsafeMutableRawPointer(base).storeBytes(of: reference.packed, as: UInt64.self)
            let i = externalPointerSize + writeField(code: code, field, at: base + externalPointerSize)
            h.pointee.used = UInt32(i)
            h.pointee.hasExternal = true
            h.pointee.reportsTable = true
        }
        return c
    }

    /// Appends an inline entry to a buffer created with room for it (the caller checked the field is not present).
    func appendWithinCapacity(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        withUnsafeMutablePointers { h, base in
            let used = Int(h.pointee.used)
            let code = Self.fieldCode(field)
            precondition(used + Self.entrySize(code: code, value.count) <= capacity)
            h.pointee.used = UInt32(used + Self.write(code: code, field, value, at: base + used))
        }
    }

    /// Where the inline entries start: after the external entry, if any.
    @inline(__always) private static func inlineStart(_ h: UnsafeMutablePointer<Header>, _ base: UnsafeMutablePointer<UInt8>) -> Int {
        guard h.pointee.hasExternal else { return 0 }
        var i = externalPointerSize
        _ = readField(base, &i)
        return i
    }

    /// Calls `body` with the external entry's field and stored value (`storedValue`); nil when there is none.
    func withExternalEntry<R>(_ body: (UnsafeRawBufferPointer, Bytes) throws -> R) rethrows -> R? {
        guard header.hasExternal else { return nil }
        let value = Self.storedValue(externalWord)
        return try withUnsafeMutablePointerToElements { base in
            var i = Self.externalPointerSize
            return try body(Self.readField(base, &i), value)
        }
    }

    /// True when `field` is the external entry's field.
    private func isExternalField(_ field: UnsafeRawBufferPointer) -> Bool {
        guard header.hasExternal else { return false }
        return withUnsafeMutablePointerToElements { base in
            var i = Self.externalPointerSize
            return Self.sameBytes(Self.readField(base, &i), field)
        }
    }

    /// `field`'s stored value when `field` is the external entry.
    func externalValue(for field: UnsafeRawBufferPointer) -> Bytes? {
        isExternalField(field) ? Self.storedValue(externalWord) : nil
    }

    /// The external entry of this uniquely referenced buffer, which is about to be dropped, for its successor (a table):
    /// the registration is released so the successor can take it without the store copying the bytes to this buffer.
    func handOverExternal() -> (Bytes, Bytes)? {
        guard let entry = withExternalEntry({ f, v in (Bytes(f), v) }) else { return nil }
        if let r = ExternalReference(packed: externalWord) {
            ExternalStore.unregister(self, for: r)
            externalWord = 0
        }
        return entry
    }

    /// Removes the external entry of this (uniquely referenced) buffer when it is `field`; returns true when it was.
    func removeExternal(ifField field: UnsafeRawBufferPointer) -> Bool {
        guard isExternalField(field) else { return false }
        let word = externalWord
        if let r = ExternalReference(packed: word) { ExternalStore.unregister(self, for: r) }
        Self.releaseOwned(externalWord)
        withUnsafeMutablePointers { h, base in
            let end = Self.inlineStart(h, base)
            let used = Int(h.pointee.used)
            memmove(base, base + end, used - end)
            h.pointee.used = UInt32(used - end)
            h.pointee.hasExternal = false
        }
        return true
    }

    static func make(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> CompactPairs {
        let code = fieldCode(field)
        let c = allocate(capacity: entrySize(code: code, value.count))
        c.withUnsafeMutablePointers { h, base in
            h.pointee.used = UInt32(write(code: code, field, value, at: base))
        }
        return c
    }

    /// A copy with room for `extra` more bytes, for a write to a shared buffer: this one keeps its reference (other
    /// hashes still read through it) and the copy owns the bytes, so one label never has two holders.
    func copy(extra: Int) -> CompactPairs {
        let c = bytewiseCopy(extra: extra)
        if header.hasExternal {
            let word = externalWord
            if let r = ExternalReference(packed: word) {
                c.externalWord = Self.word(owning: r.resolve())
            } else if let o = Self.owned(word) {
                _ = o.retain()  // immutable bytes: the copy shares them
            }
        }
        return c
    }

    /// A larger copy replacing this uniquely referenced buffer (which the caller drops): the external entry moves over.
    private func moved(extra: Int) -> CompactPairs {
        let c = bytewiseCopy(extra: extra)
        if header.hasExternal {
            if let r = ExternalReference(packed: externalWord) {
                ExternalStore.unregister(self, for: r)
                ExternalStore.register(c, for: r)
            }
            externalWord = 0  // owned bytes now belong to `c`
        }
        return c
    }

    private func bytewiseCopy(extra: Int) -> CompactPairs {
        let c = CompactPairs.allocate(capacity: usedBytes + extra)
        withUnsafeMutablePointers { h, base in
            c.withUnsafeMutablePointers { ch, cbase in
                cbase.update(from: base, count: Int(h.pointee.used))
                ch.pointee = h.pointee
            }
        }
        return c
    }

    @inline(__always) static func varintSize(_ n: Int) -> Int {
        var size = 1
        var v = n >> 7
        while v > 0 { size += 1; v >>= 7 }
        return size
    }

    /// The header of a new entry's field: its shared id (odd) when it has one, else its length (even; bytes follow).
    @inline(__always) static func fieldCode(_ field: UnsafeRawBufferPointer) -> Int {
        if let id = FieldNameTable.shared.id(of: field) { return id << 1 | 1 }
        return field.count << 1
    }

    @inline(__always) static func fieldSize(code: Int) -> Int { varintSize(code) + (code & 1 == 0 ? code >> 1 : 0) }

    @inline(__always) static func entrySize(code: Int, _ valueCount: Int) -> Int {
        fieldSize(code: code) + varintSize(valueCount) + valueCount
    }

    /// Bytes a new entry of `field` → `valueCount` bytes takes.
    static func entrySize(_ field: UnsafeRawBufferPointer, _ valueCount: Int) -> Int { entrySize(code: fieldCode(field), valueCount) }

    @inline(__always) static func writeVarint(_ n: Int, _ p: UnsafeMutablePointer<UInt8>) -> Int {
        var v = n
        var i = 0
        while v >= 0x80 { p[i] = UInt8(v & 0x7f) | 0x80; v >>= 7; i += 1 }
        p[i] = UInt8(v)
        return i + 1
    }

    @inline(__always) static func readVarint(_ p: UnsafeMutablePointer<UInt8>, _ offset: inout Int) -> Int {
        var value = 0
        var shift = 0
        while true {
            let b = p[offset]
            offset += 1
            value |= Int(b & 0x7f) << shift
            if b < 0x80 { return value }
            shift += 7
        }
    }

    /// Writes a field with header `code` (`fieldCode`) at `p`; returns its size.
    @inline(__always)
    static func writeField(code: Int, _ field: UnsafeRawBufferPointer, at p: UnsafeMutablePointer<UInt8>) -> Int {
        let i = writeVarint(code, p)
        guard code & 1 == 0, field.count > 0 else { return i }
        UnsafeMutableRawPointer(p + i).copyMemory(from: field.baseAddress!, byteCount: field.count)
        return i + field.count
    }

    /// Reads the field at `offset` and moves past it: bytes in the buffer, or the shared name of an id.
    @inline(__always)
    static func readField(_ base: UnsafeMutablePointer<UInt8>, _ offset: inout Int) -> UnsafeRawBufferPointer {
        let code = readVarint(base, &offset)
        if code & 1 == 1 { return FieldNameTable.shared.name(code >> 1) }
        let start = offset
        offset += code >> 1
        return UnsafeRawBufferPointer(start: base + start, count: code >> 1)
    }

    @inline(__always) static func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.count == 0 || memcmpBytes(a.baseAddress!, b.baseAddress!, a.count))
    }

    /// Writes one entry at `p` (its field header `code` from `fieldCode`); returns its size.
    static func write(code: Int, _ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, at p: UnsafeMutablePointer<UInt8>) -> Int {
        var i = writeField(code: code, field, at: p)
        i += writeVarint(value.count, p + i)
        if value.count > 0 { UnsafeMutableRawPointer(p + i).copyMemory(from: value.baseAddress!, byteCount: value.count) }
        return i + value.count
    }

    /// Where one entry lives: its start, its value's bytes, and its end.
    struct Entry { var start: Int; var valueStart: Int; var valueCount: Int; var end: Int }

    /// Calls `body` with each entry and its field's bytes until it returns false.
    @inline(__always)
    private func walk(_ body: (UnsafeMutablePointer<UInt8>, Entry, UnsafeRawBufferPointer) throws -> Bool) rethrows {
        try withUnsafeMutablePointers { h, base in
            let used = Int(h.pointee.used)
            var i = Self.inlineStart(h, base)
            while i < used {
                let start = i
                let field = Self.readField(base, &i)
                let vc = Self.readVarint(base, &i)
                let entry = Entry(start: start, valueStart: i, valueCount: vc, end: i + vc)
                i += vc
                if try !body(base, entry, field) { return }
            }
        }
    }

    func find(_ field: UnsafeRawBufferPointer) -> Entry? {
        var found: Entry?
        walk { _, e, f in
            if Self.sameBytes(f, field) { found = e; return false }
            return true
        }
        return found
    }

    func value(for field: UnsafeRawBufferPointer) -> Bytes? {
        guard let e = find(field) else { return nil }
        return withUnsafeMutablePointerToElements { Bytes(UnsafeRawBufferPointer(start: $0 + e.valueStart, count: e.valueCount)) }
    }

    func forEach(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) rethrows {
        try walk { base, e, f in
            try body(f, UnsafeRawBufferPointer(start: base + e.valueStart, count: e.valueCount))
            return true
        }
    }

    func pair(at index: Int) -> (field: Bytes, value: Bytes)? {
        var n = 0
        var result: (field: Bytes, value: Bytes)?
        walk { base, e, f in
            if n == index {
                result = (Bytes(f),
                          Bytes(UnsafeRawBufferPointer(start: base + e.valueStart, count: e.valueCount)))
                return false
            }
            n += 1
            return true
        }
        return result
    }

    /// Sets a field in this (uniquely referenced) buffer; `me` is replaced when the buffer had to grow. The caller
    /// checked that the result stays under `maxBytes`.
    func set(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, into me: inout CompactPairs) -> Bool {
        if let e = find(field) {
            let oldSize = Self.varintSize(e.valueCount) + e.valueCount
            let newSize = Self.varintSize(value.count) + value.count
            let valueHeader = e.valueStart - Self.varintSize(e.valueCount)
            let delta = newSize - oldSize
            let target = delta > 0 && usedBytes + delta > capacity ? moved(extra: delta) : self
            target.withUnsafeMutablePointers { h, base in
                let used = Int(h.pointee.used)
                if delta != 0 { memmove(base + e.end + delta, base + e.end, used - e.end) }
                var i = valueHeader + Self.writeVarint(value.count, base + valueHeader)
                if value.count > 0 { UnsafeMutableRawPointer(base + i).copyMemory(from: value.baseAddress!, byteCount: value.count) }
                i += value.count
                h.pointee.used = UInt32(used + delta)
            }
            me = target
            return false
        }
        let code = Self.fieldCode(field)
        let size = Self.entrySize(code: code, value.count)
        let target = usedBytes + size > capacity ? moved(extra: size) : self
        target.withUnsafeMutablePointers { h, base in
            let used = Int(h.pointee.used)
            h.pointee.used = UInt32(used + Self.write(code: code, field, value, at: base + used))
        }
        me = target
        return true
    }

    func remove(_ field: UnsafeRawBufferPointer) -> Bool {
        guard let e = find(field) else { return false }
        withUnsafeMutablePointers { h, base in
            let used = Int(h.pointee.used)
            memmove(base + e.start, base + e.end, used - e.end)
            h.pointee.used = UInt32(used - (e.end - e.start))
        }
        return true
    }
}

extension CompactPairs: ExternalHolder {
    func adopt(_ bytes: [UInt8], for reference: ExternalReference) {
        guard header.hasExternal, externalWord == reference.packed else { return }
        externalWord = Self.word(owning: bytes)
    }
}

// MARK: - Table encoding

/// The large-hash encoding: open addressing with linear probing over a power-of-two array, deletions by backward
/// shift (no tombstones), so every field sits in the run of occupied slots that starts at its home slot
/// `hash & mask`. That makes Redis's reverse-binary scan cursor work unchanged across resizes.
///
/// A value held in a store is kept as its reference (`Bytes.external`), and the table is then that label's registered
/// holder (see `ExternalStore`): it unregisters when the value goes or the table is freed, and a copy made for a
/// write takes the bytes instead.
final class FieldTable {
    /// 0 marks a free slot; occupied slots store the field's hash with the top bit set.
    private var hashes: [UInt32]
    private var fields: [Bytes]
    private var values: [Bytes]
    private(set) var count = 0
    private var mask: Int
    /// Set once a reference was stored: only such tables look through their values when freed.
    private var heldReferences = false

    init(minimumCapacity: Int) {
        // Start at 4 slots: a typical indexed document (a vector and a few small fields) fits without growing.
        var capacity = 4
        while capacity * 3 / 4 < minimumCapacity { capacity *= 2 }
        hashes = Array(repeating: 0, count: capacity)
        fields = Array(repeating: Bytes(), count: capacity)
        values = Array(repeating: Bytes(), count: capacity)
        mask = capacity - 1
    }

    /// A copy for a write to a shared table: values held in a store are copied in (see `CompactPairs.copy`).
    func copy() -> FieldTable {
        let t = FieldTable(minimumCapacity: 1)
        t.hashes = hashes; t.fields = fields; t.values = values; t.count = count; t.mask = mask
        if heldReferences {
            for i in 0...mask where hashes[i] != 0 {
                if case .external(let r) = values[i].representation { t.values[i] = Bytes(r.resolve()) }
            }
        }
        return t
    }

    deinit {
        guard heldReferences else { return }
        for i in 0...mask where hashes[i] != 0 {
            if case .external(let r) = values[i].representation { ExternalStore.unregister(self, for: r) }
        }
    }

    /// Registers for a reference being stored and unregisters for one being replaced or removed.
    private func noteStored(_ value: Bytes, replacing old: Bytes?) {
        let newReference = value.externalReference
        if let oldReference = old?.externalReference, oldReference != newReference { ExternalStore.unregister(self, for: oldReference) }
        if let newReference {
            heldReferences = true
            ExternalStore.register(self, for: newReference)
        }
    }

    var memoryUsage: Int { 64 + (mask + 1) * 36 + fieldBytes }
    private var fieldBytes: Int {
        var n = 0
        forEach { f, v in n += (f.count > 14 ? f.count + 32 : 0) + (v.count > 14 ? v.count + 32 : 0) }
        return n
    }

    @inline(__always) static func hash(_ field: Bytes) -> UInt32 {
        UInt32(truncatingIfNeeded: field.hashValue) | 0x8000_0000
    }

    func find(_ field: Bytes) -> Int? {
        let h = Self.hash(field)
        var i = Int(h) & mask
        while hashes[i] != 0 {
            if hashes[i] == h && fields[i] == field { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    subscript(field: Bytes) -> Bytes? {
        guard let i = find(field) else { return nil }
        return values[i]
    }

    @discardableResult
    func set(_ field: Bytes, _ value: Bytes) -> Bool {
        if let i = find(field) {
            let old = values[i]
            values[i] = value
            noteStored(value, replacing: old)
            return false
        }
        if (count + 1) * 4 > (mask + 1) * 3 { resize(to: (mask + 1) * 2) }
        insertNew(Self.hash(field), field, value)
        count += 1
        noteStored(value, replacing: nil)
        return true
    }

    private func insertNew(_ h: UInt32, _ field: Bytes, _ value: Bytes) {
        var i = Int(h) & mask
        while hashes[i] != 0 { i = (i + 1) & mask }
        hashes[i] = h; fields[i] = field; values[i] = value
    }

    func remove(_ field: Bytes) -> Bool {
        guard var hole = find(field) else { return false }
        if let r = values[hole].externalReference { ExternalStore.unregister(self, for: r) }
        // Backward-shift deletion: pull later members of the run into the hole when the hole lies on their probe path.
        var j = hole
        while true {
            j = (j + 1) & mask
            if hashes[j] == 0 { break }
            let home = Int(hashes[j]) & mask
            let reachable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j)
            if reachable {
                hashes[hole] = hashes[j]; fields[hole] = fields[j]; values[hole] = values[j]
                hole = j
            }
        }
        hashes[hole] = 0; fields[hole] = Bytes(); values[hole] = Bytes()
        count -= 1
        if mask + 1 > 8 && count * 8 < mask + 1 { resize(to: (mask + 1) / 2) }
        return true
    }

    private func resize(to capacity: Int) {
        let oldHashes = hashes, oldFields = fields, oldValues = values
        hashes = Array(repeating: 0, count: capacity)
        fields = Array(repeating: Bytes(), count: capacity)
        values = Array(repeating: Bytes(), count: capacity)
        mask = capacity - 1
        for i in 0..<oldHashes.count where oldHashes[i] != 0 { insertNew(oldHashes[i], oldFields[i], oldValues[i]) }
    }

    func forEach(_ body: (Bytes, Bytes) throws -> Void) rethrows {
        for i in 0...mask where hashes[i] != 0 { try body(fields[i], values[i]) }
    }

    func randomPair<G: RandomNumberGenerator>(using generator: inout G) -> (field: Bytes, value: Bytes)? {
        guard count > 0 else { return nil }
        // The table is at least 1/8 full, so a random probe hits a field within a few tries on average.
        while true {
            let i = Int.random(in: 0...mask, using: &generator)
            if hashes[i] != 0 { return (fields[i], values[i]) }
        }
    }

    /// Visits the fields whose home slot is `cursor & mask` and returns the next cursor (0 when the scan is complete),
    /// advancing the reversed bits as Redis's dictScan does.
    func scanStep(_ cursor: UInt64, _ visit: (Bytes, Bytes) -> Void) -> UInt64 {
        let m = UInt64(mask)
        let home = Int(cursor & m)
        var i = home
        while hashes[i] != 0 {
            if Int(hashes[i]) & mask == home { visit(fields[i], values[i]) }
            i = (i + 1) & mask
        }
        var v = cursor | ~m
        v = v.bitReversed
        v &+= 1
        return v.bitReversed
    }
}

extension FieldTable: ExternalHolder {
    func adopt(_ bytes: [UInt8], for reference: ExternalReference) {
        for i in 0...mask where hashes[i] != 0 {
            if case .external(let r) = values[i].representation, r == reference { values[i] = Bytes(bytes); return }
        }
    }
}

extension UInt64 {
    @inline(__always) var bitReversed: UInt64 {
        var v = self
        v = ((v >> 1) & 0x5555_5555_5555_5555) | ((v & 0x5555_5555_5555_5555) << 1)
        v = ((v >> 2) & 0x3333_3333_3333_3333) | ((v & 0x3333_3333_3333_3333) << 2)
        v = ((v >> 4) & 0x0F0F_0F0F_0F0F_0F0F) | ((v & 0x0F0F_0F0F_0F0F_0F0F) << 4)
        return v.byteSwapped
    }
}
