// NUMERIC values per document: Floats while every value round-trips, Doubles after; reads and ranges are exact.
import Testing
@testable import Search

@Suite("NumericColumn")
struct NumericColumnTests {
    @Test("exact Float values stay narrow; the first inexact value widens without changing any value")
    func widening() {
        var c = NumericColumn(count: 1)
        let narrow: [(Int, Double)] = [(1, 2019), (2, -0.5), (5, 16_777_216), (7, .infinity), (8, -.infinity), (9, .nan)]
        for (doc, v) in narrow { c.set(v, at: doc) }
        #expect(c.isNarrow && c.count == 10 && c.valueCount == 5)
        #expect(c[1] == 2019 && c[2] == -0.5 && c[5] == 16_777_216 && c[7] == .infinity && c[3].isNaN && c[9].isNaN)
        #expect(c[10].isNaN && c[1_000_000].isNaN)  // past the end: no value
        c.set(16_777_217, at: 6)  // 2^24 + 1: not a Float
        #expect(!c.isNarrow && c[6] == 16_777_217 && c[1] == 2019 && c[2] == -0.5 && c[7] == .infinity && c.valueCount == 6)
        c.set(0.1, at: 12)
        c.set(.nan, at: 1)
        #expect(c[12] == 0.1 && c[1].isNaN && c.count == 13 && c.valueCount == 6)
        for inexact in [0.1, 1e300, 5e-324, 1.0 / 3] {
            var d = NumericColumn()
            d.set(inexact, at: 0)
            #expect(!d.isNarrow && d[0] == inexact)
        }
    }

    @Test("range matching is the same in both forms; missing values never match", arguments: [false, true])
    func ranges(wide: Bool) {
        var c = NumericColumn(count: 1)
        for doc in 1...200 where doc % 7 != 0 { c.set(Double(1900 + doc), at: doc) }
        if wide { c.set(0.1, at: 300) }
        #expect(c.isNarrow == !wide)
        let set = c.matching { $0 >= 2000 && $0 < 2050 }
        let expected = (100..<150).filter { $0 % 7 != 0 }
        #expect((0..<400).filter { set.contains(UInt32($0)) } == expected)
        let none = c.matching { $0 >= 0 }  // NaN fails every comparison
        #expect(!none.contains(7) && none.contains(1) && !none.contains(0))
    }
}
