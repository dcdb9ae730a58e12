// Incremental RESP request parser: multibulk and inline requests become argument spans over the caller's read buffer.
#if canImport(Glibc)
import Glibc
#endif

/// Limits that protect the node from hostile or broken clients; defaults are Redis's.
public struct RequestLimits: Sendable {
    /// `proto-max-bulk-len`: the largest single argument.
    public var maxBulkLength: Int = 512 * 1024 * 1024
    /// The largest argument count of one multibulk request (Redis 7.4 refuses counts above INT_MAX).
    public var maxMultibulkCount: Int = Int(Int32.max)
    /// The longest inline request line, and the longest `*N` / `$N` header (Redis: PROTO_INLINE_MAX_SIZE).
    public var maxInlineLength: Int = 64 * 1024
    public init() {}
}

/// A protocol violation. Redis replies `-ERR Protocol error: <reason>` and then closes the connection.
public struct ProtocolError: Error, Equatable, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var message: String { "ERR Protocol error: \(reason)" }
}

/// Where one argument lives: `offset`/`count` into the buffer handed to `RequestParser.parse`.
public struct ArgumentSpan: Sendable, Equatable {
    public var offset: Int
    public var count: Int
    public init(offset: Int, count: Int) { self.offset = offset; self.count = count }
}

public enum ParsedRequest: Sendable, Equatable {
    /// Spans index into the buffer handed to `parse`.
    case multibulk(consumed: Int)
    /// Spans index into the buffer handed to `parse`; quoted words were decoded in place over their own bytes.
    case inline(consumed: Int)
    /// An empty line or `*0`/`*-1`: consume and ignore, as Redis does.
    case empty(consumed: Int)
}

/// Parses one request at a time, allocating nothing per request: every argument is a span of the caller's buffer.
/// Keeps a hint of how many bytes the pending request needs, so a large bulk arriving in many reads is not
/// re-scanned on every read.
public struct RequestParser: Sendable {
    public var limits: RequestLimits
    /// The arguments of the request `parse` returned last.
    public var spans: ArraySlice<ArgumentSpan> { spanList.spans }
    @usableFromInline var spanList = SpanList()

    /// The arguments of the request `parse` returned last, as a buffer valid only inside `body`.
    @inlinable
    public func withSpans<R>(_ body: (UnsafeBufferPointer<ArgumentSpan>) throws -> R) rethrows -> R {
        try spanList.withSpans(body)
    }
    /// Bytes the incomplete request at the buffer's head needs before a new attempt can succeed.
    private var bytesNeeded = 0

    public init(limits: RequestLimits = RequestLimits()) {
        self.limits = limits
    }

    /// Parses the request at the start of `buffer`. Returns nil when more bytes are needed (then `buffer` is
    /// untouched). A complete inline request with quoted words is rewritten in place (see `splitInline(_:into:)`):
    /// its bytes are consumed anyway, and decoding there keeps its arguments views instead of copies.
    public mutating func parse(_ buffer: UnsafeMutableRawBufferPointer) throws(ProtocolError) -> ParsedRequest? {
        if buffer.count < bytesNeeded { return nil }
        bytesNeeded = 0
        guard let first = buffer.first else { return nil }
        if first == UInt8(ascii: "*") { return try parseMultibulk(UnsafeRawBufferPointer(buffer)) }
        return try parseInline(buffer)
    }

    /// Finds "\r\n" at or after `from`; returns the index of '\r'.
    @inline(__always)
    private static func findCRLF(_ b: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard b.count >= 2, from < b.count - 1 else { return nil }
        var i = from
        let end = b.count - 1
        while i < end {
            if b[i] == 13 && b[i + 1] == 10 { return i }
            i &+= 1
        }
        return nil
    }

    /// Parses a signed decimal between `start` and `end` (exclusive) the way Redis's string2ll does.
    @inline(__always)
    private static func parseInt(_ b: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int? {
        var i = start
        guard i < end else { return nil }
        var negative = false
        if b[i] == UInt8(ascii: "-") { negative = true; i += 1; guard i < end else { return nil } }
        var value = 0
        while i < end {
            let d = Int(b[i]) &- 48
            guard d >= 0 && d <= 9 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(d)
            if o1 || o2 { return nil }
            value = s
            i += 1
        }
        return negative ? -value : value
    }

    /// The usual header after its type byte at `start - 1`: 1 to 18 digits, then CRLF. Returns the value and the
    /// index of '\r' in one pass; nil for anything else (a sign, a long or bad number, an incomplete line), which
    /// the general path (CRLF search, then `parseInt`) judges exactly as before.
    @inline(__always)
    private static func plainDecimalLine(_ b: UnsafeRawBufferPointer, _ start: Int) -> (value: Int, lineEnd: Int)? {
        var i = start
        var value = 0
        let limit = min(b.count, start &+ 18)
        while i < limit {
            let d = b[i] &- 48
            if d > 9 { break }
            value = value &* 10 &+ Int(d)
            i &+= 1
        }
        guard i > start, i &+ 1 < b.count, b[i] == 13, b[i &+ 1] == 10 else { return nil }
        return (value, i)
    }

    private mutating func parseMultibulk(_ b: UnsafeRawBufferPointer) throws(ProtocolError) -> ParsedRequest? {
        let count: Int, headerEnd: Int
        if let plain = Self.plainDecimalLine(b, 1) {
            (count, headerEnd) = plain
            if count > limits.maxMultibulkCount { throw ProtocolError("invalid multibulk length") }
        } else {
            guard let end = Self.findCRLF(b, from: 1) else {
                if b.count > limits.maxInlineLength { throw ProtocolError("too big mbulk count string") }
                return nil
            }
            guard let n = Self.parseInt(b, 1, end), n <= limits.maxMultibulkCount else {
                throw ProtocolError("invalid multibulk length")
            }
            (count, headerEnd) = (n, end)
        }
        var pos = headerEnd + 2
        if count <= 0 { return .empty(consumed: pos) }
        spanList.reset()
        for _ in 0..<count {
            guard pos < b.count else { return needMore(pos + 1) }
            let length: Int, lenEnd: Int
            if b[pos] == UInt8(ascii: "$"), let plain = Self.plainDecimalLine(b, pos + 1), plain.value <= limits.maxBulkLength {
                (length, lenEnd) = plain
            } else {
                // As Redis, the header line must be complete before its first byte is judged.
                guard let end = Self.findCRLF(b, from: pos) else {
                    if b.count - pos > limits.maxInlineLength { throw ProtocolError("too big bulk count string") }
                    return needMore(b.count + 1)
                }
                guard b[pos] == UInt8(ascii: "$") else {
                    throw ProtocolError("expected '$', got '\(Self.printable(b[pos]))'")
                }
                guard let n = Self.parseInt(b, pos + 1, end), n >= 0, n <= limits.maxBulkLength else {
                    throw ProtocolError("invalid bulk length")
                }
                (length, lenEnd) = (n, end)
            }
            let dataStart = lenEnd + 2
            let dataEnd = dataStart + length
            guard dataEnd + 2 <= b.count else { return needMore(dataEnd + 2) }
            // Redis trusts the length and skips the two bytes after the payload without checking them.
            spanList.append(ArgumentSpan(offset: dataStart, count: length))
            pos = dataEnd + 2
        }
        return .multibulk(consumed: pos)
    }

    private mutating func needMore(_ total: Int) -> ParsedRequest? {
        bytesNeeded = total
        return nil
    }

    /// The offending byte as Redis's `%c` prints it; bytes above 0x7F (not valid UTF-8 alone) as `\xNN`.
    private static func printable(_ c: UInt8) -> String {
        c < 128 ? String(UnicodeScalar(c)) : "\\x" + String(c, radix: 16)
    }

    private mutating func parseInline(_ b: UnsafeMutableRawBufferPointer) throws(ProtocolError) -> ParsedRequest? {
        // Inline requests end at "\n" (an optional "\r" before it is dropped), as in Redis. One pass finds the
        // newline and the first NUL: sdssplitargs reads a C string, so a NUL ends the line.
        let base = b.baseAddress!
        guard let newlinePointer = memchr(base, 10, b.count) else {
            if b.count > limits.maxInlineLength { throw ProtocolError("too big inline request") }
            return nil
        }
        let newline = base.distance(to: newlinePointer)
        var lineEnd = newline
        if lineEnd > 0 && b[lineEnd - 1] == 13 { lineEnd -= 1 }
        if lineEnd > 0, let nul = memchr(base, 0, lineEnd) { lineEnd = base.distance(to: nul) }
        spanList.reset()
        guard Self.splitInline(UnsafeMutableRawBufferPointer(rebasing: b[0..<lineEnd]), into: &spanList) else {
            throw ProtocolError("unbalanced quotes in request")
        }
        if spanList.count == 0 { return .empty(consumed: newline + 1) }
        return .inline(consumed: newline + 1)
    }

    /// Splits a line into arguments with the quoting rules of Redis's sdssplitargs. Nil on unbalanced quotes.
    /// (Config files use it; requests use the in-place form.)
    public static func splitInline(_ line: UnsafeRawBufferPointer) -> [[UInt8]]? {
        var copy = Array(line)
        var words = SpanList()
        let ok = copy.withUnsafeMutableBytes { splitInline($0, into: &words) }
        guard ok else { return nil }
        return words.spans.map { Array(copy[$0.offset..<($0.offset + $0.count)]) }
    }

    /// Splits `line` into arguments with sdssplitargs's quoting rules, decoding quoted words in place and appending
    /// one span per word (offsets into `line`). False on unbalanced quotes, with `line` partly rewritten.
    ///
    /// In place is safe: a word is written from its own first byte, and decoding never lengthens it (`"a b"` → 3
    /// bytes from 5, `\x41` → 1 from 4), so the write position never passes the read position. An unquoted word is
    /// already its own bytes and is not rewritten at all — that is every word of a typical inline request.
    static func splitInline(_ line: UnsafeMutableRawBufferPointer, into words: inout SpanList) -> Bool {
        let n = line.count
        var i = 0
        @inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }
        @inline(__always) func hexValue(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c &- 48
            case 97...102: return c &- 87
            case 65...70: return c &- 55
            default: return nil
            }
        }
        while true {
            while i < n && isSpace(line[i]) { i += 1 }
            if i >= n { return true }
            let start = i
            // Unquoted bytes need no rewriting until the first quote; only these end an unquoted word (sdssplitargs),
            // while \v and \f are skipped between words only.
            while i < n {
                let c = line[i]
                if c == 32 || c == 10 || c == 13 || c == 9 || c == 0 || c == 34 || c == 39 { break }
                i += 1
            }
            if i >= n || (line[i] != 34 && line[i] != 39) {
                words.append(ArgumentSpan(offset: start, count: i - start))
                if i < n { i += 1 }
                continue
            }
            // The word has quotes: decode the rest of it into line[w...].
            var w = i
            var inDouble = false, inSingle = false, done = false
            while !done {
                if inDouble {
                    if i >= n { return false }
                    let c = line[i]
                    if c == 92 && i + 3 < n && line[i + 1] == UInt8(ascii: "x"),
                       let h = hexValue(line[i + 2]), let l = hexValue(line[i + 3]) {
                        line[w] = h &* 16 &+ l; w += 1; i += 3
                    } else if c == 92 && i + 1 < n {
                        i += 1
                        switch line[i] {
                        case UInt8(ascii: "n"): line[w] = 10
                        case UInt8(ascii: "r"): line[w] = 13
                        case UInt8(ascii: "t"): line[w] = 9
                        case UInt8(ascii: "b"): line[w] = 8
                        case UInt8(ascii: "a"): line[w] = 7
                        default: line[w] = line[i]
                        }
                        w += 1
                    } else if c == 34 {
                        // A closing quote must be followed by a space or the end.
                        if i + 1 < n && !isSpace(line[i + 1]) { return false }
                        done = true
                    } else {
                        line[w] = c; w += 1
                    }
                } else if inSingle {
                    if i >= n { return false }
                    let c = line[i]
                    if c == 92 && i + 1 < n && line[i + 1] == 39 {
                        i += 1; line[w] = 39; w += 1
                    } else if c == 39 {
                        if i + 1 < n && !isSpace(line[i + 1]) { return false }
                        done = true
                    } else {
                        line[w] = c; w += 1
                    }
                } else {
                    if i >= n { done = true; break }
                    let c = line[i]
                    if c == 32 || c == 10 || c == 13 || c == 9 || c == 0 { done = true }
                    else if c == 34 { inDouble = true }
                    else if c == 39 { inSingle = true }
                    else { line[w] = c; w += 1 }
                }
                if i < n { i += 1 }
            }
            words.append(ArgumentSpan(offset: start, count: w - start))
        }
    }
}

/// The spans of one request. Reset by moving `count` back to 0, overwriting in place: emptying an Array (even keeping
/// its capacity) goes through the generic replaceSubrange, ~1 % of a pipelined PING.
@usableFromInline
struct SpanList: Sendable {
    @usableFromInline var storage: [ArgumentSpan] = []
    @usableFromInline private(set) var count = 0

    init() { storage.reserveCapacity(16) }

    var spans: ArraySlice<ArgumentSpan> { storage[..<count] }

    @inlinable
    func withSpans<R>(_ body: (UnsafeBufferPointer<ArgumentSpan>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[..<count])) }
    }

    @inline(__always) mutating func reset() { count = 0 }

    @inline(__always) mutating func append(_ span: ArgumentSpan) {
        if count < storage.count { storage[count] = span } else { storage.append(span) }
        count &+= 1
    }
}
