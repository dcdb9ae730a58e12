// The ADDSCORES shortcut keeps exactly the hits the aggregate's sorter would keep (its total order), in match order.
import Testing
@testable import Server
import Keyspace
@testable import Search

@Suite("ADDSCORES best-scored selection")
struct BestScoredTests {
    @Test("selection equals a full sort's first rows, with many ties", arguments: [1, 3, 10, 64])
    func matchesFullSort(size: Int) {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<50 {
            let count = Int.random(in: 0...300, using: &generator)
            let ids = (0..<UInt32(count)).shuffled(using: &generator)  // doc ids are unique, as in an index
            let hits = (0..<count).map { i in
                SearchHit(key: Bytes("k\(i)"), docId: ids[i],
                          score: Double(Int.random(in: 0...(round % 2 == 0 ? 5 : 1000), using: &generator)) / 4,
                          yielded: [], distance: nil)
            }
            for ascending in [false, true] {
                let selected = Server.bestScored(hits, size: size, ascending: ascending)
                guard count > size else { #expect(selected == nil); continue }
                let order = hits.indices.sorted { a, b in
                    let x = hits[a], y = hits[b]
                    if x.score != y.score { return ascending ? x.score < y.score : x.score > y.score }
                    return ascending ? x.docId < y.docId : x.docId > y.docId
                }
                let expected = order.prefix(size).sorted().map { hits[$0].key }
                #expect(selected?.map(\.key) == expected)
            }
        }
    }

    @Test("a NaN score turns the shortcut off")
    func nanScores() {
        let hits = (0..<20).map { SearchHit(key: Bytes("k\($0)"), docId: UInt32($0), score: $0 == 7 ? .nan : 1, yielded: [], distance: nil) }
        #expect(Server.bestScored(hits, size: 3, ascending: false) == nil)
    }
}
