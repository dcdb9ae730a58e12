// LabelMap against a Dictionary: dense labels in the direct array, sparse ones hashed, growth moving labels across.
import Testing
@testable import VectorIndex

@Suite("LabelMap")
struct LabelMapTests {
    @Test("set / remove / find / forEach agree with a Dictionary for dense, sparse and growing labels")
    func agreesWithDictionary() {
        var map = LabelMap(capacity: 16)
        defer { map.deallocate() }
        var reference: [UInt64: UInt32] = [:]
        var rng = SplitMix64(state: 7)
        for step in 0..<40_000 {
            let label: UInt64
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: label = UInt64.random(in: 0...UInt64.max, using: &rng)          // sparse: hashed
            case 1: label = UInt64(20_000 + Int.random(in: 0..<50_000, using: &rng)) // hashed first, dense after growth
            default: label = UInt64(Int.random(in: 0..<(step / 2 + 64), using: &rng)) // dense
            }
            if Int.random(in: 0..<4, using: &rng) == 0 {
                #expect(map.remove(label) == reference.removeValue(forKey: label))
            } else {
                let id = UInt32(step)
                map.set(label, id)
                reference[label] = id
            }
            #expect(map.count == reference.count)
        }
        for (label, id) in reference { #expect(map.find(label) == id) }
        #expect(map.find(UInt64.max - 1) == reference[UInt64.max - 1])
        var seen: [UInt64: UInt32] = [:]
        map.forEach { seen[$0] = $1 }
        #expect(seen == reference)
    }
}
