// Bytes: the binary-safe string type of keys, fields and values, hashed in one pass over its storage.

/// An immutable-by-convention byte string. Keys, hash fields and values are all `Bytes`.
public struct Bytes: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var storage: [UInt8]

    @inlinable public init() { self.storage = [] }
    @inlinable public init(_ storage: [UInt8]) { self.storage = storage }
    @inlinable public init(_ raw: UnsafeRawBufferPointer) { self.storage = Array(raw) }
    @inlinable public init<S: Sequence>(_ seq: S) where S.Element == UInt8 { self.storage = Array(seq) }
    public init(_ string: String) { self.storage = Array(string.utf8) }
    public init(stringLiteral value: String) { self.storage = Array(value.utf8) }
    public init(integer: Int) { self.storage = Array(String(integer).utf8) }

    @inlinable public var count: Int { storage.count }
    @inlinable public var isEmpty: Bool { storage.isEmpty }

    /// Calls `body` with a view of the bytes, valid only inside the call.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        storage.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    @inlinable
    public static func == (a: Bytes, b: Bytes) -> Bool {
        a.storage.count == b.storage.count && a.storage.withUnsafeBytes { pa in
            b.storage.withUnsafeBytes { pb in
                pa.count == 0 || memcmpBytes(pa.baseAddress!, pb.baseAddress!, pa.count)
            }
        }
    }

    /// Lexicographic byte order, as Redis's memcmp-based comparisons.
    public static func < (a: Bytes, b: Bytes) -> Bool {
        a.storage.lexicographicallyPrecedes(b.storage)
    }

    /// Lossy UTF-8 view for messages and logs.
    public var string: String { String(decoding: storage, as: UTF8.self) }
    public var description: String { string }

    /// Parses as a Redis integer (string2ll rules: no spaces, no '+', no leading zeros, fits Int64).
    public var integerValue: Int? { Bytes.parseInteger(storage) }

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
