// Bytes(integer:) formats like String(integer) for every magnitude, sign and the Int extremes.
import Testing
@testable import Keyspace

@Suite("Bytes(integer:)")
struct BytesIntegerTests {
    @Test("equals String(integer) at the edges and over random values")
    func matchesStringFormatting() {
        var values: [Int] = [0, 1, -1, 9, 10, -10, 99_999_999_999_999, 100_000_000_000_000, -9_999_999_999_999,
                             -10_000_000_000_000, Int.max, Int.min, Int.max - 1, Int.min + 1]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 { values.append(Int.random(in: Int.min...Int.max, using: &rng) >> Int.random(in: 0..<63, using: &rng)) }
        for v in values {
            let b = Bytes(integer: v)
            #expect(b == Bytes(String(v)), "\(v)")
            #expect(b.integerValue == v, "\(v)")
        }
    }
}
