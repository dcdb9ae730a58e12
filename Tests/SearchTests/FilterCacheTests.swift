// FilterCache: repeated tag / numeric filters reuse their bitmap until the index's next write, and never serve stale
// documents.
import Testing
@testable import Search
import Keyspace

@Suite("FilterCache")
struct FilterCacheTests {
    private static func makeIndex() throws -> SearchIndex {
        let def = try CreateParser.parse(["idx", "ON", "HASH", "PREFIX", "1", "d:", "SCHEMA", "t", "TEXT", "tag", "TAG",
                                          "n", "NUMERIC", "v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", "2",
                                          "DISTANCE_METRIC", "L2"])
        return try SearchIndex(definition: def)
    }

    private static func doc(_ index: SearchIndex, _ key: String, tag: String, n: Double) {
        var h = HashValue()
        h.set(Bytes("tag"), Bytes(tag))
        h.set(Bytes("n"), Bytes(String(n)))
        h.set(Bytes("t"), Bytes("hello"))
        h.set(Bytes("v"), Bytes([Float(n), 0].withUnsafeBytes { Array($0) }))
        index.index(key: Bytes(key), hash: h)
    }

    private static func keys(_ index: SearchIndex, _ filter: QueryNode, knn: Bool = false) throws -> Set<String> {
        var query = ParsedQuery(filter: filter)
        if knn { query.knn = KNNClause(k: 100, field: "v", blob: [Float(0), 0].withUnsafeBytes { Array($0) }) }
        var request = SearchRequest(query: query)
        request.limit = 1000
        return Set(try index.execute(request).hits.map(\.key.string))
    }

    @Test("which filters are kept: plain tag / numeric trees, not `*`, text or vector ranges")
    func classification() {
        let tag = QueryNode.tag(field: "tag", values: ["a"])
        let range = QueryNode.numericRange(field: "n", min: 1, minExclusive: false, max: .infinity, maxExclusive: false)
        #expect(FilterCache.caches(tag) && FilterCache.caches(range))
        #expect(FilterCache.caches(.intersection([tag, .not(range)])) && FilterCache.caches(.union([tag, range])))
        #expect(!FilterCache.caches(.all))
        #expect(!FilterCache.caches(.term(fields: nil, text: "hello")))
        #expect(!FilterCache.caches(.intersection([tag, .term(fields: nil, text: "hello")])))
    }

    @Test("a cached filter sees every write after it: adds, changes, deletes, flush")
    func writesInvalidate() throws {
        let index = try Self.makeIndex()
        for i in 0..<20 { Self.doc(index, "d:\(i)", tag: i % 2 == 0 ? "even" : "odd", n: Double(i)) }
        let even = QueryNode.tag(field: "tag", values: ["even"])
        let atLeast15 = QueryNode.numericRange(field: "n", min: 15, minExclusive: false, max: .infinity, maxExclusive: false)
        let both = QueryNode.intersection([even, atLeast15])
        for knn in [false, true] {
            #expect(try Self.keys(index, both, knn: knn) == ["d:16", "d:18"])
        }
        #expect(index.filterCache.withLock { $0.count } == 1, "the second search reused the first one's bitmap")
        Self.doc(index, "d:20", tag: "even", n: 20)
        #expect(try Self.keys(index, both, knn: true) == ["d:16", "d:18", "d:20"])
        Self.doc(index, "d:16", tag: "odd", n: 16)
        #expect(try Self.keys(index, both) == ["d:18", "d:20"])
        index.remove(key: "d:18")
        #expect(try Self.keys(index, both, knn: true) == ["d:20"])
        #expect(try Self.keys(index, .not(atLeast15)).count == 15)
        index.removeAll()
        #expect(try Self.keys(index, both).isEmpty)
    }

    @Test("at most `capacity` filters are kept; a stale entry is dropped when met")
    func bounded() {
        var cache = FilterCache(capacity: 2)
        let filters = (0..<3).map { QueryNode.tag(field: "tag", values: [.exact("\($0)")]) }
        for f in filters { cache.store(f, generation: 1, set: DocSet(capacity: 8)) }
        #expect(cache.count == 2)
        #expect(cache.lookup(filters[0], generation: 1) == nil && cache.lookup(filters[2], generation: 1) != nil)
        #expect(cache.lookup(filters[2], generation: 2) == nil && cache.count == 1)
    }
}
