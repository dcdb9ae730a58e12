// formatFloatG12 against snprintf's %.12g (formatG): the reply bytes of every KNN distance depend on it.
import Testing
@testable import Search

@Suite("Distance formatting")
struct DistanceFormatTests {
    @Test("fast %.12g matches snprintf on edge cases", arguments: [
        Float(0), -0.0, 1, -1, 0.5, 0.1, 2, 100, 1e-4, 9.99999e-5, 1e-5, 123456.79, 1e11, 1e12, 1e13, 999999995904,
        0.123456789, 1.0000001, 0.99999994, 4.7683716e-7, 3.4028235e38, -3.4028235e38, 8192.001, 16384.002,
        Float.leastNormalMagnitude, Float.leastNonzeroMagnitude, 1.1754942e-38, 5e-7, 2.3841858e-7,
    ])
    func edges(_ value: Float) {
        if let fast = formatFloatG12(value) { #expect(fast == formatG(Double(value), precision: 12)) }
        #expect(formatDistance(value) == formatG(Double(value), precision: 12))
    }

    @Test("fast %.12g matches snprintf on random bit patterns and on distance-like values")
    func randomValues() {
        var generator = SystemRandomNumberGenerator()
        var covered = 0
        for i in 0..<200_000 {
            let value = i % 2 == 0 ? Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &generator))
                                   : Float.random(in: 0..<2, using: &generator)
            guard let fast = formatFloatG12(value) else { continue }
            covered += 1
            let expected = formatG(Double(value), precision: 12)
            if fast != expected { Issue.record("\(value.bitPattern): \(fast) != \(expected)"); return }
        }
        #expect(covered > 100_000)
    }

    @Test("values whose expansion does not fit 128 bits are left to snprintf")
    func fallback() {
        #expect(formatFloatG12(.nan) == nil)
        #expect(formatFloatG12(.infinity) == nil)
        #expect(formatFloatG12(Float.leastNonzeroMagnitude) == nil)
        #expect(formatFloatG12(0.5) == "0.5")
    }
}

@Suite("Attribute lookup")
struct AttributeLookupTests {
    @Test("case-insensitive match equals comparing lowercased strings", arguments: [
        ("vec", "VEC", true), ("Year", "yEAR", true), ("a", "ab", false), ("__vec_score", "vec", false),
        ("a[b", "A{b", false), ("É", "é", true), ("Straße", "STRASSE", false), ("x", "x", true), ("", "", true),
    ])
    func equalIgnoringCase(_ a: String, _ b: String, _ expected: Bool) {
        #expect(IndexDefinition.equalIgnoringCase(a, b) == expected)
        #expect(IndexDefinition.equalIgnoringCase(a, b) == (a.lowercased() == b.lowercased()))
    }
}
