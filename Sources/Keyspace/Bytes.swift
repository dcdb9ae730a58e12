// Bytes: the binary-safe string type of keys, fields and values. Short strings live inline (no allocation), longer
// ones in a shared array; hashing and comparison work on the bytes, so both forms behave identically.

/// An immutable-by-convention byte string. Keys, hash fields and values are all `Bytes`.
///
/// ### Layout (16 bytes)
///     small: | bytes 0..<14 (unused bytes zero) | count: UInt8 | enum tag |
///     large: | [UInt8] reference |                                | enum tag |
///     external: | ExternalReference (store, label) |                | enum tag |
/// Strings of up to `Bytes.inlineCapacity` bytes are always small, so the form is canonical. Keys like `user:123456`
/// and most hash fields then cost no heap allocation at all (Redis pays an sds allocation for each).
public struct Bytes: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    @usableFromInline
    enum Representation: Sendable {
        case small(UInt64, UInt32, UInt16, UInt8)
        case large([UInt8])
        /// Held elsewhere (a vector index): the one copy of a vector lives in the index. Hashes hand out resolved
        /// copies, so this form only carries a reference into a hash (`Database.replaceHashFieldSilently`).
        case external(ExternalReference)
    }

    @usableFromInline var representation: Representation

    /// The longest string kept inline.
    public static let inlineCapacity = 14

    @inlinable public init() { representation = .small(0, 0, 0, 0) }

    @inlinable
    public init(_ raw: UnsafeRawBufferPointer) {
        if raw.count <= Bytes.inlineCapacity {
            var words: (UInt64, UInt32, UInt16, UInt8) = (0, 0, 0, 0)
            if raw.count > 0 {
                Swift.withUnsafeMutableBytes(of: &words) { $0.baseAddress!.copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
            }
            representation = .small(words.0, words.1, words.2, UInt8(raw.count))
        } else {
            representation = .large(Array(raw))
        }
    }

    @inlinable
    public init(_ storage: [UInt8]) {
        if storage.count <= Bytes.inlineCapacity {
            self = storage.withUnsafeBytes { Bytes($0) }
        } else {
            representation = .large(storage)
        }
    }

    /// A copy of `raw` in `buffer`'s storage, reused while nothing else holds it: a request's key longer than
    /// `inlineCapacity` otherwise costs an allocation per command. Copy-on-write keeps it safe when the result is
    /// kept; it is meant for keys that are looked up, since a kept copy also keeps `buffer`'s spare capacity.
    public init(_ raw: UnsafeRawBufferPointer, reusing buffer: inout [UInt8]) {
        if raw.count <= Bytes.inlineCapacity {
            self.init(raw)
            return
        }
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: raw)
        self.init(buffer)
    }

    /// The same bytes in storage of their own size (see `init(_:reusing:)`).
    public var compacted: Bytes {
        if case .large(let a) = representation, a.capacity > a.count { return withUnsafeBytes { Bytes($0) } }
        return self
    }

    @inlinable public init<S: Sequence>(_ seq: S) where S.Element == UInt8 { self.init(Array(seq)) }
    public init(_ string: String) { self.init(Array(string.utf8)) }
    public init(stringLiteral value: String) { self.init(Array(value.utf8)) }
    /// Decimal text of `integer`, formatted on the stack: INCR and friends store one per call.
    public init(integer: Int) {
        self = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var magnitude = integer.magnitude
            var start = 20
            repeat {
                start -= 1
                digits[start] = UInt8(truncatingIfNeeded: 48 &+ magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if integer < 0 {
                start -= 1
                digits[start] = 45
            }
            return Bytes(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: digits[start..<20])))
        }
    }

    /// Bytes whose content another component holds (see `ExternalStore`).
    public init(external: ExternalReference) { representation = .external(external) }

    /// The reference, when the content lives outside the keyspace.
    public var externalReference: ExternalReference? {
        if case .external(let e) = representation { return e }
        return nil
    }

    /// The bytes as an array. Reading it allocates for inline strings; prefer `withUnsafeBytes` on hot paths.
    public var storage: [UInt8] {
        get {
            switch representation {
            case .large(let a): return a
            case .small: return withUnsafeBytes { Array($0) }
            case .external(let e): return e.resolve()
            }
        }
        set { self = Bytes(newValue) }
    }

    @inlinable public var count: Int {
        switch representation {
        case .small(_, _, _, let n): return Int(n)
        case .large(let a): return a.count
        case .external(let e): return e.count
        }
    }

    @inlinable public var isEmpty: Bool { count == 0 }

    /// Calls `body` with a view of the bytes, valid only inside the call.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch representation {
        case .small(let a, let b, let c, let n):
            var words = (a, b, c)
            return try Swift.withUnsafeBytes(of: &words) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<Int(n)])) }
        case .large(let array):
            return try array.withUnsafeBytes(body)
        case .external(let e):
            return try e.resolve().withUnsafeBytes(body)
        }
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    @inlinable
    public static func == (a: Bytes, b: Bytes) -> Bool {
        switch (a.representation, b.representation) {
        case let (.small(a0, a1, a2, an), .small(b0, b1, b2, bn)):
            return a0 == b0 && a1 == b1 && a2 == b2 && an == bn
        case (.small, .large), (.large, .small):
            return false  // small and large are canonical: equal lengths imply equal forms
        case let (.large(x), .large(y)):
            return x.count == y.count && x.withUnsafeBytes { pa in
                y.withUnsafeBytes { pb in pa.count == 0 || memcmpBytes(pa.baseAddress!, pb.baseAddress!, pa.count) }
            }
        default:
            // An external value compares by content, whatever the other side's form.
            return a.count == b.count && a.withUnsafeBytes { pa in
                b.withUnsafeBytes { pb in pa.count == 0 || memcmpBytes(pa.baseAddress!, pb.baseAddress!, pa.count) }
            }
        }
    }

    /// Lexicographic byte order, as Redis's memcmp-based comparisons.
    public static func < (a: Bytes, b: Bytes) -> Bool {
        a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in pa.lexicographicallyPrecedes(pb) } }
    }

    /// Lossy UTF-8 view for messages and logs.
    public var string: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
    public var description: String { string }

    /// Parses as a Redis integer (string2ll rules: no spaces, no '+', no leading zeros, fits Int64).
    public var integerValue: Int? { withUnsafeBytes { Bytes.parseInteger($0) } }

    public static func parseInteger<C: Collection>(_ s: C) -> Int? where C.Element == UInt8 {
        let n = s.count
        if n == 0 || n > 20 { return nil }
        var it = s.makeIterator()
        var first = it.next()!
        if n == 1 && first == 48 { return 0 }
        var negative = false
        if first == 45 {
            negative = true
            guard let next = it.next() else { return nil }
            first = next
        }
        guard first >= 49 && first <= 57 else { return nil }
        var value: UInt64 = UInt64(first - 48)
        while let c = it.next() {
            guard c >= 48 && c <= 57 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - 48))
            if o1 || o2 { return nil }
            value = a
        }
        if negative {
            if value > UInt64(Int64.max) + 1 { return nil }
            return value == UInt64(Int64.max) + 1 ? Int.min : -Int(value)
        }
        if value > UInt64(Int64.max) { return nil }
        return Int(value)
    }
}

@usableFromInline
func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}
