// SLOP / INORDER: RediSearch's offset checks (in order and unordered, quirks included) and what queries then match.
import Testing
@testable import Search
import Keyspace

private func textIndex(_ texts: [(String, String)], noOffsets: Bool = false) throws -> SearchIndex {
    let def = try CreateParser.parse(["p", "PREFIX", "1", "p:"] + (noOffsets ? ["NOOFFSETS"] : []) + ["SCHEMA", "t", "TEXT", "u", "TEXT"])
    let index = try SearchIndex(definition: def)
    for (i, (t, u)) in texts.enumerated() {
        var h = HashValue()
        h.set(Bytes("t"), Bytes(t))
        h.set(Bytes("u"), Bytes(u))
        index.index(key: Bytes("p:\(i)"), hash: h)
    }
    return index
}

private func matches(_ index: SearchIndex, _ query: String, slop: Int = -1, inOrder: Bool = false) throws -> [String] {
    var parsed = try QueryParser.parse(Array(query.utf8), params: [:], stopwords: nil)
    var scope = QueryScope()
    scope.slop = slop
    scope.inOrder = inOrder
    try parsed.apply(scope)
    var request = SearchRequest(query: parsed)
    request.limit = 100
    return try index.execute(request).hits.map(\.key.string).sorted()
}

@Suite("Proximity")
struct ProximityTests {
    @Test("the in-order walk sums the gaps between consecutive words")
    func inOrder() {
        #expect(Evaluator.withinRange([[1], [2]], slop: 0, inOrder: true))
        #expect(!Evaluator.withinRange([[2], [1]], slop: 0, inOrder: true))
        #expect(!Evaluator.withinRange([[1], [3]], slop: 0, inOrder: true) && Evaluator.withinRange([[1], [3]], slop: 1, inOrder: true))
        #expect(Evaluator.withinRange([[1, 7], [3, 8]], slop: 0, inOrder: true))  // the second pair is adjacent
        #expect(Evaluator.withinRange([[5], [1, 9]], slop: .max, inOrder: true))  // INORDER alone: order only
        #expect(!Evaluator.withinRange([[5], []], slop: .max, inOrder: true))  // a child without offsets never fits
    }

    @Test("the unordered walk looks for a window of the words; equal positions do not count")
    func unordered() {
        #expect(Evaluator.withinRange([[2], [1]], slop: 0, inOrder: false))
        #expect(!Evaluator.withinRange([[1], [4]], slop: 1, inOrder: false) && Evaluator.withinRange([[1], [4]], slop: 2, inOrder: false))
        #expect(!Evaluator.withinRange([[3], [3]], slop: 5, inOrder: false))  // min == max is skipped, then the lists end
        #expect(Evaluator.withinRange([[3], []], slop: 0, inOrder: false))  // RediSearch reads the end marker as -1
        #expect(Evaluator.withinRange([], slop: 0, inOrder: false))
        #expect(Evaluator.withinRange([[1, 10], [20, 11], [12]].map { $0.sorted() }, slop: 0, inOrder: false))
    }

    @Test("SLOP and INORDER select documents; positions run across fields and skip stopwords")
    func queries() throws {
        let index = try textIndex([("hello world", "x"), ("world hello", "x"), ("hello big world", "x"), ("hello", "world"),
                                   ("hello a world", "x"), ("world", "hello")])
        #expect(try matches(index, "hello world").count == 6)
        #expect(try matches(index, "hello world", slop: 0) == ["p:0", "p:1", "p:3", "p:4", "p:5"])
        #expect(try matches(index, "hello world", slop: 1) == ["p:0", "p:1", "p:2", "p:3", "p:4", "p:5"])
        #expect(try matches(index, "hello world", slop: 0, inOrder: true) == ["p:0", "p:3", "p:4"])
        #expect(try matches(index, "hello world", inOrder: true) == ["p:0", "p:2", "p:3", "p:4"])
        #expect(try matches(index, "(hello world)=>{$slop: 0; $inorder: true}") == ["p:0", "p:3", "p:4"])
        #expect(try matches(index, "hello", slop: 0).count == 6)  // one word: nothing to measure
        let plain = try textIndex([("hello big world", "x")], noOffsets: true)
        #expect(try matches(plain, "hello world", slop: 0) == ["p:0"])  // no offsets: no check
    }
}
