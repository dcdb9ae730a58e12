// C's `%.12g` of a Float distance computed with integer arithmetic: a KNN reply prints one per hit, and snprintf's
// general path cost ~2,400 instructions each (as much as the rest of the executor's own work).

/// `%.12g` of `value` widened to Double, byte for byte as glibc prints it (the exact binary value rounded to 12
/// significant digits, ties to even), or nil when the exact decimal expansion does not fit 128 bits (magnitudes below
/// ~5e-7 with a full mantissa, and NaN / infinity): the caller then asks snprintf.
///
/// A Float is `m × 2^e` with `m < 2^24`; for `e < 0` that is `m × 5^-e × 10^e`, an integer `m × 5^-e` and a decimal
/// exponent, so the digits come from one 128-bit multiply and one division by a power of ten.
func formatFloatG12(_ value: Float) -> String? {
    guard value.isFinite else { return nil }
    if value == 0 { return value.sign == .minus ? "-0" : "0" }
    var m = UInt64(value.significandBitPattern)
    var e2: Int
    if value.exponentBitPattern == 0 {
        e2 = -149
    } else {
        m |= 1 << 23
        e2 = Int(value.exponentBitPattern) - 150
    }
    let zeros = m.trailingZeroBitCount
    m >>= UInt64(zeros)
    e2 += zeros
    // |value| = n × 10^-k exactly.
    let n: UInt128
    var k = 0
    if e2 >= 0 {
        n = UInt128(m) << e2  // m < 2^24 and e2 ≤ 104: below 2^128
    } else {
        k = -e2
        guard k < DecimalPowers.five.count else { return nil }
        let (product, overflow) = UInt128(m).multipliedReportingOverflow(by: DecimalPowers.five[k])
        guard !overflow else { return nil }
        n = product
    }
    var digitCount = 1
    while digitCount < DecimalPowers.ten.count && n >= DecimalPowers.ten[digitCount] { digitCount += 1 }
    // The 12 significant digits (fewer when the value has fewer) and the decimal exponent of the first one.
    var significand: UInt64
    var exponent = digitCount - 1 - k
    if digitCount > 12 {
        let divisor = DecimalPowers.ten[digitCount - 12]
        let (q, r) = divide(n, by: divisor)
        significand = q
        let half = divisor / 2  // a power of ten ≥ 10: even
        if r > half || (r == half && significand & 1 == 1) {
            significand += 1
            if significand == 1_000_000_000_000 { significand = 100_000_000_000; exponent += 1 }
        }
    } else {
        significand = UInt64(n)
    }
    while significand % 10 == 0 { significand /= 10 }  // %g drops trailing zeros
    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { out in
        var digits: (UInt64, UInt64) = (0, 0)  // up to 12 ASCII digits, most significant first
        let count = withUnsafeMutableBytes(of: &digits) { d -> Int in
            var v = significand
            var i = 16
            repeat {
                i -= 1
                d[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
                v /= 10
            } while v > 0
            let c = 16 - i
            for j in 0..<c { d[j] = d[i + j] }
            return c
        }
        return withUnsafeBytes(of: &digits) { d -> String in
            var len = 0
            func put(_ c: UInt8) { out[len] = c; len += 1 }
            if value.sign == .minus { put(45) }
            if exponent < -4 || exponent >= 12 {
                put(d[0])
                if count > 1 {
                    put(46)
                    for j in 1..<count { put(d[j]) }
                }
                put(101)
                put(exponent < 0 ? 45 : 43)
                let e = abs(exponent)
                if e >= 100 { put(UInt8(48 + e / 100)) }
                put(UInt8(48 + e / 10 % 10))
                put(UInt8(48 + e % 10))
            } else if exponent >= 0 {
                for j in 0...exponent { put(j < count ? d[j] : 48) }
                if count > exponent + 1 {
                    put(46)
                    for j in (exponent + 1)..<count { put(d[j]) }
                }
            } else {
                put(48)
                put(46)
                for _ in 0..<(-exponent - 1) { put(48) }
                for j in 0..<count { put(d[j]) }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: out[0..<len]), as: UTF8.self)
        }
    }
}

/// `n / divisor` (which must fit 64 bits after `formatFloatG12`'s rounding) and the remainder; two 64-bit divisions
/// when the divisor fits 64 bits.
private func divide(_ n: UInt128, by divisor: UInt128) -> (UInt64, UInt128) {
    if divisor <= UInt128(UInt64.max) {
        let d = UInt64(divisor)
        let high = UInt64(truncatingIfNeeded: n >> 64), low = UInt64(truncatingIfNeeded: n)
        let (q1, r1) = high.quotientAndRemainder(dividingBy: d)
        let (q0, r0) = d.dividingFullWidth((r1, low))
        precondition(q1 == 0, "a 12-digit quotient fits 64 bits")
        return (q0, UInt128(r0))
    }
    let (q, r) = n.quotientAndRemainder(dividingBy: divisor)
    return (UInt64(q), r)
}

private enum DecimalPowers {
    /// 10^0 ... 10^38 (all that fit 128 bits).
    static let ten: [UInt128] = (0...38).map { p in (0..<p).reduce(UInt128(1)) { v, _ in v * 10 } }
    /// 5^0 ... 5^55 (all that fit 128 bits).
    static let five: [UInt128] = (0...55).map { p in (0..<p).reduce(UInt128(1)) { v, _ in v * 5 } }
}
