// Arguments: a read-only view of one request's arguments, valid only while its command runs.
import RESP
import Keyspace

/// A command's argv as views into the connection's read buffer (or a queued copy). Copy with `bytes(_:)` to keep.
public struct Arguments {
    @usableFromInline let base: UnsafeRawPointer
    @usableFromInline let spans: UnsafeBufferPointer<ArgumentSpan>

    public init(base: UnsafeRawPointer, spans: UnsafeBufferPointer<ArgumentSpan>) {
        self.base = base
        self.spans = spans
    }

    @inlinable public var count: Int { spans.count }

    @inlinable
    public subscript(i: Int) -> UnsafeRawBufferPointer {
        let s = spans[i]
        return UnsafeRawBufferPointer(start: base + s.offset, count: s.count)
    }

    /// An owned copy of argument `i`.
    @inlinable public func bytes(_ i: Int) -> Bytes { Bytes(self[i]) }

    /// Owned copies of arguments `range`.
    public func bytes(_ range: Range<Int>) -> [Bytes] { range.map { bytes($0) } }

    /// Argument `i` decoded as UTF-8 (lossy), for names and messages.
    public func string(_ i: Int) -> String { String(decoding: self[i], as: UTF8.self) }

    public func lowercased(_ i: Int) -> String { string(i).lowercased() }

    /// Case-insensitive ASCII comparison with an option keyword, without allocating.
    @inlinable
    public func `is`(_ i: Int, _ keyword: StaticString) -> Bool {
        let a = self[i]
        guard a.count == keyword.utf8CodeUnitCount else { return false }
        let k = keyword.utf8Start
        for j in 0..<a.count where Arguments.foldCase(a[j]) != Arguments.foldCase(k[j]) { return false }
        return true
    }

    @inlinable @inline(__always)
    static func foldCase(_ c: UInt8) -> UInt8 { (c >= 65 && c <= 90) ? c | 0x20 : c }

    /// Argument `i` as a Redis integer, or `ERR value is not an integer or out of range`.
    public func integer(_ i: Int) throws(CommandError) -> Int {
        guard let v = Bytes.parseInteger(self[i]) else { throw .notInteger }
        return v
    }

    /// Argument `i` as a double (strtod rules, inf allowed, NaN refused), or `ERR value is not a valid float`.
    public func double(_ i: Int) throws(CommandError) -> Double {
        guard let v = Arguments.parseDouble(self[i]) else { throw .notFloat }
        return v
    }

    public static func parseDouble(_ raw: UnsafeRawBufferPointer) -> Double? {
        let s = String(decoding: raw, as: UTF8.self)
        if s.isEmpty || s.count != raw.count || s.first!.isWhitespace || s.last!.isWhitespace { return nil }
        let lower = s.lowercased()
        switch lower {
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default: break
        }
        guard let v = Double(s), !v.isNaN else { return nil }
        return v
    }

    /// Runs `body` with an `Arguments` view of owned argument copies (MULTI queues, internal calls).
    public static func withOwned<R>(_ args: [Bytes], _ body: (Arguments) throws -> R) rethrows -> R {
        var flat: [UInt8] = []
        var spans: [ArgumentSpan] = []
        spans.reserveCapacity(args.count)
        for a in args { spans.append(ArgumentSpan(offset: flat.count, count: a.count)); a.withUnsafeBytes { flat.append(contentsOf: $0) } }
        flat.append(0)  // never empty, so baseAddress exists
        return try flat.withUnsafeBytes { raw in
            try spans.withUnsafeBufferPointer { sp in
                try body(Arguments(base: raw.baseAddress!, spans: sp))
            }
        }
    }
}
