// The walk's working structures: the visited bitset and the bounded candidate list, against plain-Swift references.
import Testing
@testable import Tiering

@Suite struct WalkStructuresTests {
    @Test func visitedBitsMarkEachIdOnceAndClear() {
        let count = 1_000
        let visited = VisitedBits(count: count)
        defer { visited.deallocate() }
        var reference = Set<UInt32>()
        var rng = SystemRandomNumberGenerator()
        // Word edges (63, 64), the last id and random ones, each inserted twice.
        let random = (0..<300).map { _ in UInt32.random(in: 0..<UInt32(count), using: &rng) }
        let ids: [UInt32] = [0, 63, 64, 65, 127, 128, UInt32(count - 1)] + random
        for id in ids + ids {
            #expect(visited.insert(id) == reference.insert(id).inserted)
        }
        for id in 0..<UInt32(count) { #expect(visited.contains(id) == reference.contains(id)) }
        visited.removeAll()
        for id in 0..<UInt32(count) { #expect(!visited.contains(id)) }
        #expect(visited.insert(UInt32(count - 1)))
    }

    @Test func boundedListKeepsTheBestInOrderWithTiesAfterEquals() {
        var rng = SystemRandomNumberGenerator()
        for capacity in [1, 2, 7, 40] {
            var list: [Candidate] = []
            var reference: [(Float, UInt32)] = []
            for id in 0..<UInt32(400) {
                // Few distinct distances, so ties are common.
                let d = Float(Int.random(in: 0..<25, using: &rng))
                let at = list.insertBounded(Candidate(distance: d, id: id, expanded: false), capacity: capacity)
                // Reference: stable insertion after every entry at most as far, then cut to capacity.
                let position = reference.firstIndex { $0.0 > d } ?? reference.count
                if position < capacity {
                    reference.insert((d, id), at: position)
                    if reference.count > capacity { reference.removeLast() }
                    #expect(at == position)
                } else {
                    #expect(at == nil)
                }
            }
            #expect(list.map(\.id) == reference.map(\.1))
            #expect(list.map(\.distance) == reference.map(\.0))
        }
    }
}
