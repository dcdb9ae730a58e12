// Incremental RESP2 + RESP3 reply decoder (what a node reads back from another node): bytes → `RESPValue`.
// It does not know sockets; the caller appends reads to one buffer and calls `parse` until it returns nil.

/// One decoded reply. RESP2's null bulk (`$-1`) and null array (`*-1`) and RESP3's `_` are all `.null`.
public indirect enum RESPValue: Sendable, Equatable, CustomStringConvertible {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8])
    case null
    case array([RESPValue])
    case map([RESPPair])
    case set([RESPValue])
    case push([RESPValue])
    case double(Double)
    case boolean(Bool)
    case bigNumber(String)
    case verbatim(format: String, text: [UInt8])

    /// The value as text (simple, bulk, verbatim, big number, or a number's decimal form), else nil.
    public var text: String? {
        switch self {
        case .simple(let s), .bigNumber(let s): return s
        case .bulk(let b), .verbatim(_, let b): return String(decoding: b, as: UTF8.self)
        case .integer(let i): return String(i)
        case .double(let d): return ReplyWriter.formatDouble(d)
        default: return nil
        }
    }

    /// The value's bytes when it is a string of any kind.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let b), .verbatim(_, let b): return b
        case .simple(let s), .bigNumber(let s): return Array(s.utf8)
        default: return nil
        }
    }

    /// Integer replies, and strings holding a decimal integer.
    public var int: Int? {
        switch self {
        case .integer(let i): return i
        case .double(let d): return Int(exactly: d)
        default: return text.flatMap { Int($0) }
        }
    }

    /// Doubles, integers, and strings holding a number.
    public var number: Double? {
        switch self {
        case .double(let d): return d
        case .integer(let i): return Double(i)
        default: return text.flatMap { Double($0) }
        }
    }

    /// Elements of an array, set or push (nil otherwise).
    public var elements: [RESPValue]? {
        switch self {
        case .array(let a), .set(let a), .push(let a): return a
        default: return nil
        }
    }

    public var isError: Bool { if case .error = self { return true } else { return false } }

    public var description: String {
        switch self {
        case .simple(let s): return "+\(s)"
        case .error(let s): return "-\(s)"
        case .integer(let i): return ":\(i)"
        case .bulk(let b): return String(decoding: b, as: UTF8.self).debugDescription
        case .null: return "(nil)"
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .set(let a): return "~[" + a.map(\.description).joined(separator: ", ") + "]"
        case .push(let a): return ">[" + a.map(\.description).joined(separator: ", ") + "]"
        case .map(let m): return "{" + m.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case .double(let d): return ",\(d)"
        case .boolean(let b): return b ? "#t" : "#f"
        case .bigNumber(let s): return "(\(s)"
        case .verbatim(let f, let t): return "=\(f):\(String(decoding: t, as: UTF8.self))"
        }
    }
}

/// One key/value entry of a RESP3 map (kept in wire order; keys may repeat).
public struct RESPPair: Sendable, Equatable {
    public var key: RESPValue
    public var value: RESPValue
    public init(_ key: RESPValue, _ value: RESPValue) { self.key = key; self.value = value }
}

/// Caps that keep a broken or hostile peer from exhausting memory or the stack.
public struct ReplyLimits: Sendable {
    public var maxBulkLength = 512 * 1024 * 1024
    public var maxAggregateCount = 1 << 24
    public var maxDepth = 64
    /// Longest header / simple-string line.
    public var maxLineLength = 64 * 1024 * 1024
    public init() {}
}

/// Decodes one reply at a time from the front of a buffer. `nil` means "incomplete: call again with more bytes";
/// a thrown `ProtocolError` means the stream is unusable (close the connection).
public struct ReplyParser: Sendable {
    public var limits: ReplyLimits
    /// The buffer length at the last incomplete attempt: a retry with no new bytes returns nil at once.
    private var incompleteAt = -1

    public init(limits: ReplyLimits = ReplyLimits()) { self.limits = limits }

    /// Parses the reply at the start of `buffer`: the value and how many bytes it used, or nil if incomplete.
    public mutating func parse(_ buffer: UnsafeRawBufferPointer) throws(ProtocolError) -> (value: RESPValue, consumed: Int)? {
        if buffer.count == incompleteAt { return nil }
        var cursor = Cursor(buffer: buffer, limits: limits)
        guard let value = try cursor.value(depth: 0) else {
            incompleteAt = buffer.count
            return nil
        }
        incompleteAt = -1
        return (value, cursor.position)
    }

    /// Parses the reply starting at `bytes[start]` (same contract as `parse(_:)`).
    public mutating func parse(_ bytes: [UInt8], from start: Int) throws(ProtocolError) -> (value: RESPValue, consumed: Int)? {
        var result: Result<(value: RESPValue, consumed: Int)?, ProtocolError> = .success(nil)
        bytes.withUnsafeBytes { raw in
            do throws(ProtocolError) { result = .success(try parse(UnsafeRawBufferPointer(rebasing: raw[start...]))) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// Convenience: every complete reply in `bytes`, and the count of bytes they used.
    public mutating func parseAll(_ bytes: [UInt8]) throws(ProtocolError) -> (values: [RESPValue], consumed: Int) {
        var values: [RESPValue] = []
        var start = 0
        while start < bytes.count {
            guard let (v, used) = try parse(bytes, from: start) else { break }
            values.append(v)
            start += used
        }
        return (values, start)
    }
}

private struct Cursor {
    let buffer: UnsafeRawBufferPointer
    let limits: ReplyLimits
    var position = 0

    init(buffer: UnsafeRawBufferPointer, limits: ReplyLimits) { self.buffer = buffer; self.limits = limits }

    /// The line from `position` to CRLF (exclusive), advancing past the CRLF; nil if the CRLF has not arrived.
    mutating func line() throws(ProtocolError) -> UnsafeRawBufferPointer? {
        var i = position
        let end = buffer.count
        while i + 1 < end {
            if buffer[i] == 13 {
                guard buffer[i + 1] == 10 else { throw ProtocolError("expected LF after CR in reply") }
                let l = UnsafeRawBufferPointer(rebasing: buffer[position..<i])
                position = i + 2
                return l
            }
            i += 1
        }
        if end - position > limits.maxLineLength { throw ProtocolError("reply line too long") }
        return nil
    }

    mutating func integerLine() throws(ProtocolError) -> Int? {
        guard let l = try line() else { return nil }
        guard let v = Self.parseInt(l) else { throw ProtocolError("invalid integer in reply: '\(String(decoding: l.prefix(32), as: UTF8.self))'") }
        return v
    }

    static func parseInt(_ raw: UnsafeRawBufferPointer) -> Int? {
        guard !raw.isEmpty, raw.count <= 20 else { return nil }
        var i = 0
        var negative = false
        if raw[0] == UInt8(ascii: "-") { negative = true; i = 1 } else if raw[0] == UInt8(ascii: "+") { i = 1 }
        guard i < raw.count else { return nil }
        // Accumulated negatively, so Int.min (a reply Redis can send: INCRBY k -9223372036854775808) fits.
        var v = 0
        while i < raw.count {
            let c = raw[i]
            guard c >= 48 && c <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.subtractingReportingOverflow(Int(c - 48))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        if negative { return v }
        return v == .min ? nil : -v
    }

    /// `count` bytes of payload then CRLF.
    mutating func payload(_ count: Int) throws(ProtocolError) -> [UInt8]? {
        guard buffer.count - position >= count + 2 else { return nil }
        let bytes = Array(buffer[position..<(position + count)])
        guard buffer[position + count] == 13, buffer[position + count + 1] == 10 else {
            throw ProtocolError("bulk payload not followed by CRLF")
        }
        position += count + 2
        return bytes
    }

    mutating func elements(_ count: Int, depth: Int) throws(ProtocolError) -> [RESPValue]? {
        guard count <= limits.maxAggregateCount else { throw ProtocolError("aggregate of \(count) elements exceeds the limit") }
        var out: [RESPValue] = []
        out.reserveCapacity(min(count, 1024))
        for _ in 0..<count {
            guard let v = try value(depth: depth + 1) else { return nil }
            out.append(v)
        }
        return out
    }

    mutating func value(depth: Int) throws(ProtocolError) -> RESPValue? {
        guard depth <= limits.maxDepth else { throw ProtocolError("reply nesting deeper than \(limits.maxDepth)") }
        guard position < buffer.count else { return nil }
        let type = buffer[position]
        position += 1
        switch type {
        case UInt8(ascii: "+"):
            guard let l = try line() else { return nil }
            return .simple(String(decoding: l, as: UTF8.self))
        case UInt8(ascii: "-"):
            guard let l = try line() else { return nil }
            return .error(String(decoding: l, as: UTF8.self))
        case UInt8(ascii: ":"):
            guard let v = try integerLine() else { return nil }
            return .integer(v)
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            guard let n = try integerLine() else { return nil }
            if n == -1 && type == UInt8(ascii: "$") { return .null }
            guard n >= 0 else { throw ProtocolError("invalid bulk length \(n)") }
            guard n <= limits.maxBulkLength else { throw ProtocolError("bulk length \(n) exceeds the limit") }
            guard let bytes = try payload(n) else { return nil }
            if type == UInt8(ascii: "!") { return .error(String(decoding: bytes, as: UTF8.self)) }
            if type == UInt8(ascii: "=") {
                guard bytes.count >= 4, bytes[3] == UInt8(ascii: ":") else { throw ProtocolError("verbatim string without a format") }
                return .verbatim(format: String(decoding: bytes[0..<3], as: UTF8.self), text: Array(bytes[4...]))
            }
            return .bulk(bytes)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            guard let n = try integerLine() else { return nil }
            if n == -1 && type == UInt8(ascii: "*") { return .null }
            guard n >= 0 else { throw ProtocolError("invalid aggregate length \(n)") }
            guard let items = try elements(n, depth: depth) else { return nil }
            switch type {
            case UInt8(ascii: "~"): return .set(items)
            case UInt8(ascii: ">"): return .push(items)
            default: return .array(items)
            }
        case UInt8(ascii: "%"):
            guard let n = try integerLine() else { return nil }
            guard n >= 0, n <= limits.maxAggregateCount / 2 else { throw ProtocolError("invalid map length \(n)") }
            guard let items = try elements(n * 2, depth: depth) else { return nil }
            var pairs: [RESPPair] = []
            pairs.reserveCapacity(n)
            for i in 0..<n { pairs.append(RESPPair(items[2 * i], items[2 * i + 1])) }
            return .map(pairs)
        case UInt8(ascii: "|"):
            // RESP3 attributes describe the reply that follows; we keep only the reply.
            guard let n = try integerLine() else { return nil }
            guard n >= 0, n <= limits.maxAggregateCount / 2 else { throw ProtocolError("invalid attribute length \(n)") }
            guard try elements(n * 2, depth: depth) != nil else { return nil }
            return try value(depth: depth)
        case UInt8(ascii: "_"):
            guard let l = try line() else { return nil }
            guard l.isEmpty else { throw ProtocolError("null with a payload") }
            return .null
        case UInt8(ascii: "#"):
            guard let l = try line() else { return nil }
            guard l.count == 1, l[0] == UInt8(ascii: "t") || l[0] == UInt8(ascii: "f") else { throw ProtocolError("invalid boolean") }
            return .boolean(l[0] == UInt8(ascii: "t"))
        case UInt8(ascii: ","):
            guard let l = try line() else { return nil }
            let s = String(decoding: l, as: UTF8.self)
            switch s.lowercased() {
            case "inf", "+inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan", "-nan": return .double(.nan)
            default:
                guard let d = Double(s) else { throw ProtocolError("invalid double '\(s)'") }
                return .double(d)
            }
        case UInt8(ascii: "("):
            guard let l = try line() else { return nil }
            return .bigNumber(String(decoding: l, as: UTF8.self))
        default:
            throw ProtocolError("unexpected reply type byte \(type)")
        }
    }
}

extension ReplyWriter {
    /// Writes a decoded value back in this writer's protocol (RESP3 types degrade as Redis degrades them for RESP2).
    public mutating func value(_ v: RESPValue) {
        switch v {
        case .simple(let s): simpleString(s)
        case .error(let s): error(s)
        case .integer(let i): integer(i)
        case .bulk(let b): bulk(b)
        case .null: null()
        case .array(let a): array(a.count); for e in a { value(e) }
        case .set(let a): set(a.count); for e in a { value(e) }
        case .push(let a): push(a.count); for e in a { value(e) }
        case .map(let m): map(m.count); for p in m { value(p.key); value(p.value) }
        case .double(let d): double(d)
        case .boolean(let b): boolean(b)
        case .bigNumber(let s): bigNumber(s)
        case .verbatim(_, let t): verbatim(String(decoding: t, as: UTF8.self))
        }
    }
}
