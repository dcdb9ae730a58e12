// Long-double arithmetic text, as Redis's HINCRBYFLOAT / INCRBYFLOAT use it: strtold in, "%.17Lf" trimmed out.
import Glibc

/// Redis keeps float increments in `long double` (x87 80-bit here), so 0.1 + 0.2 replies "0.3" rather than
/// "0.30000000000000004". These two functions are Redis's string2ld and ld2string(LD_STR_HUMAN).
enum LongDoubleText {
    /// Redis's MAX_LONG_DOUBLE_CHARS.
    static let maxLength = 5 * 1024

    /// Parses like string2ld: no leading space, no trailing bytes, no NaN, no overflow to ±HUGE_VAL or underflow to 0.
    static func parse(_ raw: UnsafeRawBufferPointer) -> Float80? {
        guard raw.count > 0, raw.count < maxLength else { return nil }
        var text = [CChar](repeating: 0, count: raw.count + 1)
        for i in 0..<raw.count { text[i] = CChar(bitPattern: raw[i]) }
        if isspace(Int32(raw[0])) != 0 { return nil }
        return text.withUnsafeBufferPointer { p -> Float80? in
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            let value = strtold(p.baseAddress!, &end)
            guard let end, end.pointee == 0, errno != EINVAL, !value.isNaN else { return nil }
            if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
            return value
        }
    }

    /// Formats like ld2string(LD_STR_HUMAN): 17 decimals, trailing zeros and a bare dot removed, "-0" as "0".
    static func format(_ value: Float80) -> String {
        var buffer = [CChar](repeating: 0, count: maxLength)
        let n = withVaList([value]) { vsnprintf(&buffer, maxLength, "%.17Lf", $0) }
        guard n > 0, n < maxLength else { return "0" }
        var bytes = buffer[0..<Int(n)].map { UInt8(bitPattern: $0) }
        if bytes.contains(UInt8(ascii: ".")) {
            while bytes.last == UInt8(ascii: "0") { bytes.removeLast() }
            if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        }
        if bytes == [UInt8(ascii: "-"), UInt8(ascii: "0")] { bytes = [UInt8(ascii: "0")] }
        return String(decoding: bytes, as: UTF8.self)
    }
}
