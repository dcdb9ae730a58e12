// Reply encoder: the one place where RESP2 and RESP3 differ. Handlers describe replies; this picks the bytes.

/// Appends encoded replies to a byte buffer. `protocolVersion` is 2 or 3.
public struct ReplyWriter: Sendable {
    public var buffer: [UInt8] = []
    public var protocolVersion: Int

    public init(protocolVersion: Int = 2) {
        self.protocolVersion = protocolVersion
        buffer.reserveCapacity(16 * 1024)
    }

    public var isRESP3: Bool { protocolVersion >= 3 }

    /// `type`, the decimal `n` and CRLF (`:42\r\n`, `$5\r\n`, `*3\r\n`), formatted right to left on the stack and
    /// appended in one call: one capacity check per header instead of one per byte (integer replies and bulk headers
    /// are on every command's path).
    @inline(__always)
    mutating func header(_ type: UInt8, _ n: Int) {
        var line: (UInt64, UInt64, UInt64) = (0, 0, 0)  // type, sign, up to 19 digits and CRLF fit in 24 bytes
        withUnsafeMutableBytes(of: &line) { p in
            var i = 24
            i &-= 1; p[i] = 10
            i &-= 1; p[i] = 13
            var v = n.magnitude
            repeat {
                i &-= 1
                p[i] = UInt8(truncatingIfNeeded: 48 &+ v % 10)
                v /= 10
            } while v > 0
            if n < 0 { i &-= 1; p[i] = 45 }
            i &-= 1; p[i] = type
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[i...]))
        }
    }

    @inline(__always)
    mutating func crlf() { buffer.append(13); buffer.append(10) }

    // MARK: simple types

    /// A literal status (`+PONG`, `+QUEUED`): its bytes are static, so no String is built or walked per reply.
    public mutating func simpleString(_ s: StaticString) {
        buffer.append(43)
        s.withUTF8Buffer { buffer.append(contentsOf: UnsafeRawBufferPointer($0)) }
        crlf()
    }

    // Disfavored so that a literal argument picks the StaticString overload above (Swift would otherwise make every
    // literal a String, and copying its UTF-8 view was ~1.5 % of a pipelined PING's server time).
    @_disfavoredOverload
    public mutating func simpleString(_ s: String) {
        buffer.append(43)
        buffer.append(contentsOf: s.utf8)
        crlf()
    }

    public mutating func ok() { buffer.append(contentsOf: [43, 79, 75, 13, 10]) }

    /// `message` starts with the error code (`ERR`, `WRONGTYPE`, `MOVED`...). Newlines are replaced as Redis does.
    public mutating func error(_ message: String) {
        buffer.append(45)
        for c in message.utf8 { buffer.append(c == 13 || c == 10 ? 32 : c) }
        crlf()
    }

    public mutating func integer(_ value: Int) { header(58, value) }

    public mutating func bulk(_ bytes: UnsafeRawBufferPointer) {
        header(36, bytes.count)
        buffer.append(contentsOf: bytes)
        crlf()
    }

    // Arrays and slices take these rather than the generic below: called unspecialized from other modules, that one
    // copied through witness tables (~1,100 instructions for a 10-byte FT.SEARCH key, 30 of them per reply).
    public mutating func bulk(_ bytes: [UInt8]) { bytes.withUnsafeBytes { bulk($0) } }

    public mutating func bulk(_ bytes: ArraySlice<UInt8>) { bytes.withUnsafeBytes { bulk($0) } }

    public mutating func bulk<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        header(36, bytes.count)
        buffer.append(contentsOf: bytes)
        crlf()
    }

    public mutating func bulk(_ s: String) {
        var s = s
        s.withUTF8 { bulk(UnsafeRawBufferPointer($0)) }
    }

    public mutating func bulk(integerText value: Int) { bulk(String(value)) }

    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    public mutating func null() {
        if isRESP3 { buffer.append(contentsOf: [95, 13, 10]) } else { buffer.append(contentsOf: [36, 45, 49, 13, 10]) }
    }

    /// A missing aggregate (EXEC after WATCH failure, BLPOP timeout): `*-1` in RESP2, `_` in RESP3.
    public mutating func nullArray() {
        if isRESP3 { buffer.append(contentsOf: [95, 13, 10]) } else { buffer.append(contentsOf: [42, 45, 49, 13, 10]) }
    }

    public mutating func boolean(_ value: Bool) {
        if isRESP3 { buffer.append(contentsOf: [35, value ? 116 : 102, 13, 10]) } else { integer(value ? 1 : 0) }
    }

    /// A double: `,<v>` in RESP3, a bulk string in RESP2 (Redis's addReplyDouble).
    public mutating func double(_ value: Double) {
        let text = Self.formatDouble(value)
        if isRESP3 {
            buffer.append(44); buffer.append(contentsOf: text.utf8); crlf()
        } else {
            bulk(text)
        }
    }

    /// Verbatim text (`=len\r\ntxt:...` in RESP3), a plain bulk string in RESP2. Used by INFO, CLIENT LIST.
    public mutating func verbatim(_ text: String, format: StaticString = "txt") {
        if isRESP3 {
            let body = Array(text.utf8)
            header(61, body.count + 4)
            format.withUTF8Buffer { buffer.append(contentsOf: $0) }
            buffer.append(58)
            buffer.append(contentsOf: body)
            crlf()
        } else {
            bulk(text)
        }
    }

    /// A big number: `(` in RESP3, a bulk string in RESP2.
    public mutating func bigNumber(_ digits: String) {
        if isRESP3 { buffer.append(40); buffer.append(contentsOf: digits.utf8); crlf() } else { bulk(digits) }
    }

    // MARK: aggregates

    public mutating func array(_ count: Int) { header(42, count) }

    /// A map of `count` pairs: `%count` in RESP3, an array of 2×count in RESP2.
    public mutating func map(_ count: Int) {
        if isRESP3 { header(37, count) } else { header(42, count * 2) }
    }

    /// A set: `~count` in RESP3, an array in RESP2.
    public mutating func set(_ count: Int) {
        if isRESP3 { header(126, count) } else { header(42, count) }
    }

    /// An array of `count` pairs (HRANDFIELD … WITHVALUES): RESP3 nests `count` two-element arrays, RESP2 is flat with
    /// 2×count elements, as Redis 7 replies. Call `pair()` before each pair's two elements.
    public mutating func pairArray(_ count: Int) {
        if isRESP3 { header(42, count) } else { header(42, count * 2) }
    }

    /// Opens one pair of a `pairArray`: `*2` in RESP3, nothing in RESP2.
    public mutating func pair() {
        if isRESP3 { buffer.append(contentsOf: [42, 50, 13, 10]) }
    }

    /// Out-of-band push (RESP3 only; RESP2 gets an array, as Redis does for pub/sub).
    public mutating func push(_ count: Int) {
        if isRESP3 { header(62, count) } else { header(42, count) }
    }

    /// Appends pre-encoded bytes (e.g. a reply built elsewhere for the same protocol).
    public mutating func raw<C: Collection>(_ bytes: C) where C.Element == UInt8 { buffer.append(contentsOf: bytes) }

    /// Formats a double the way Redis 7.4's d2string does: `nan`, `inf`, `-inf`, `0`, `-0`; integers up to 2^62 in
    /// plain digits; otherwise the shortest round-trip digits laid out as fpconv_dtoa (plain up to 7 zeros either side
    /// of the digits, else `d.ddde±x` with an unpadded exponent: `1.5e-7`, `1e+19`).
    public static func formatDouble(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value == 0 { return value.sign == .minus ? "-0" : "0" }
        if abs(value) <= 4_611_686_018_427_387_904.0, let i = Int64(exactly: value) { return String(i) }

        // Swift's description has the shortest round-trip digits; recover them and the decimal exponent K
        // (value = digits × 10^K), then lay them out as fpconv's emit_digits does.
        let text = "\(abs(value))"
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            mantissa = text[..<e]
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let fraction = parts.count > 1 ? parts[1] : ""
        var digits = Array((parts[0] + fraction).utf8)
        var k = exponent - fraction.count
        while digits.count > 1 && digits.first == UInt8(ascii: "0") { digits.removeFirst() }
        while digits.count > 1 && digits.last == UInt8(ascii: "0") { digits.removeLast(); k += 1 }

        var out: [UInt8] = value < 0 ? [UInt8(ascii: "-")] : []
        let n = digits.count
        let exp = abs(k + n - 1)
        if k >= 0 && exp < n + 7 {
            out += digits + Array(repeating: UInt8(ascii: "0"), count: k)
        } else if k < 0 && (k > -7 || exp < 4) {
            let offset = n + k
            if offset <= 0 {
                out += Array("0.".utf8) + Array(repeating: UInt8(ascii: "0"), count: -offset) + digits
            } else {
                out += digits[..<offset] + [UInt8(ascii: ".")] + digits[offset...]
            }
        } else {
            out.append(digits[0])
            if n > 1 { out.append(UInt8(ascii: ".")); out += digits[1...] }
            out += Array((k + n - 1 < 0 ? "e-" : "e+").utf8) + Array(String(exp).utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
