// TAG value postings: a list while small, a bitmap once smaller; same answers either way.
import Testing
@testable import Search

@Suite("TagPosting")
struct TagPostingTests {
    @Test func listAndBitmapAgreeWithASet() {
        var rng = SystemRandomNumberGenerator()
        for universe in [50, 5_000, 200_000] {
            var posting = TagPosting()
            var truth = Set<UInt32>()
            for step in 0..<3_000 {
                let id = UInt32.random(in: 1...UInt32(universe), using: &rng)
                if step % 4 == 3 { posting.remove(id); truth.remove(id) } else { posting.insert(id); truth.insert(id) }
                #expect(posting.count == truth.count)
            }
            #expect(posting.ids == truth.sorted())
            for id in 1...UInt32(min(universe, 2_000)) { #expect(posting.contains(id) == truth.contains(id)) }
            var set = DocSet(capacity: 0)
            posting.union(into: &set)
            #expect(set.ids == truth.sorted())
            var walked: [UInt32] = []
            posting.forEach { walked.append($0) }
            #expect(walked == truth.sorted())
        }
    }

    @Test func aRareValueStaysAListAmongManyDocuments() {
        var index = [Int: TagPosting]()
        // 20,000 documents, each with its own value: a bitmap per value would hold up to 20,000 bits each.
        for id in 1...20_000 { index[id, default: TagPosting()].insert(UInt32(id)) }
        #expect(index.values.allSatisfy { $0.count == 1 })
        var dense = TagPosting()
        for id in stride(from: 1, through: 20_000, by: 2) { dense.insert(UInt32(id)) }
        #expect(dense.count == 10_000)
        dense.insert(3)  // already there
        #expect(dense.count == 10_000)
        dense.remove(4)  // never there
        #expect(dense.count == 10_000)
    }
}
