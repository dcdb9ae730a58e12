// Coordinator merge rules: KNN global top-k, SORTBY + LIMIT across shards, score order, totals, the shard wire
// format, FT.INFO sums and FT.TAGVALS unions.
import Testing
import RESP
@testable import Cluster

private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

private func knnHit(_ key: String, _ d: Double) -> ShardHit {
    ShardHit(key: b(key), sortValue: .number(d), score: 0, distance: d, fields: [(b("__v_score"), b(String(d)))])
}

private func numHit(_ key: String, _ v: Double?) -> ShardHit {
    ShardHit(key: b(key), sortValue: v.map { .number($0) } ?? .missing, score: 1, fields: nil)
}

private func keys(_ hits: [ShardHit]) -> [String] { hits.map { String(decoding: $0.key, as: UTF8.self) } }

@Suite("Coordinator merge")
struct CoordinatorTests {
    @Test("KNN: the global k nearest by distance, total capped at k")
    func knnTopK() {
        let a = ShardSearchResult(total: 3, hits: [knnHit("a1", 0.1), knnHit("a2", 0.5), knnHit("a3", 0.9)])
        let b2 = ShardSearchResult(total: 3, hits: [knnHit("b1", 0.2), knnHit("b2", 0.3), knnHit("b3", 0.4)])
        let c = ShardSearchResult(total: 1, hits: [knnHit("c1", 0.05)])
        let plan = SearchMergePlan(order: .value(ascending: true), offset: 0, limit: 10, knnK: 3)
        let merged = Coordinator.mergeSearch([a, b2, c], plan: plan)
        #expect(merged.total == 3)
        #expect(keys(merged.hits) == ["c1", "a1", "b1"])
    }

    @Test("KNN with LIMIT pages inside the global top k")
    func knnPaging() {
        let a = ShardSearchResult(total: 2, hits: [knnHit("a1", 0.1), knnHit("a2", 0.4)])
        let b2 = ShardSearchResult(total: 2, hits: [knnHit("b1", 0.2), knnHit("b2", 0.3)])
        let plan = SearchMergePlan(order: .value(ascending: true), offset: 1, limit: 2, knnK: 3)
        #expect(keys(Coordinator.mergeSearch([a, b2], plan: plan).hits) == ["b1", "b2"])
        let beyond = SearchMergePlan(order: .value(ascending: true), offset: 3, limit: 2, knnK: 3)
        #expect(Coordinator.mergeSearch([a, b2], plan: beyond).hits.isEmpty)
    }

    @Test("KNN + SORTBY another field: k nearest first, then ordered by the field")
    func knnThenSort() {
        func h(_ k: String, _ d: Double, _ n: Double) -> ShardHit { ShardHit(key: b(k), sortValue: .number(n), score: 0, distance: d, fields: nil) }
        let a = ShardSearchResult(total: 2, hits: [h("a1", 0.1, 50), h("a2", 0.9, 1)])
        let b2 = ShardSearchResult(total: 2, hits: [h("b1", 0.2, 10), h("b2", 0.3, 20)])
        let plan = SearchMergePlan(order: .value(ascending: true), offset: 0, limit: 10, knnK: 3)
        #expect(keys(Coordinator.mergeSearch([a, b2], plan: plan).hits) == ["b1", "b2", "a1"])
    }

    @Test("SORTBY DESC with LIMIT offset: each shard sends offset+num, the coordinator slices; missing values last")
    func sortByPaging() {
        let a = ShardSearchResult(total: 10, hits: [numHit("a9", 9), numHit("a5", 5), numHit("a2", 2), numHit("ax", nil)])
        let b2 = ShardSearchResult(total: 7, hits: [numHit("b8", 8), numHit("b7", 7), numHit("b1", 1)])
        let plan = SearchMergePlan(order: .value(ascending: false), offset: 1, limit: 3)
        let merged = Coordinator.mergeSearch([a, b2], plan: plan)
        #expect(merged.total == 17)
        #expect(keys(merged.hits) == ["b8", "b7", "a5"])
        let tail = Coordinator.mergeSearch([a, b2], plan: SearchMergePlan(order: .value(ascending: false), offset: 5, limit: 10))
        #expect(keys(tail.hits) == ["b1", "ax"])
    }

    @Test("ties keep each shard's order and interleave shards deterministically")
    func ties() {
        let a = ShardSearchResult(total: 2, hits: [numHit("a1", 1), numHit("a2", 1)])
        let b2 = ShardSearchResult(total: 2, hits: [numHit("b1", 1), numHit("b2", 1)])
        let merged = Coordinator.mergeSearch([a, b2], plan: SearchMergePlan(order: .value(ascending: true), offset: 0, limit: 10))
        #expect(keys(merged.hits) == ["a1", "b1", "a2", "b2"])
        let plain = Coordinator.mergeSearch([a, b2], plan: SearchMergePlan(order: .shardOrder, offset: 1, limit: 2))
        #expect(keys(plain.hits) == ["b1", "a2"])
    }

    @Test("text queries merge by score, highest first")
    func scores() {
        func s(_ k: String, _ score: Double) -> ShardHit { ShardHit(key: b(k), sortValue: .missing, score: score, fields: nil) }
        let a = ShardSearchResult(total: 2, hits: [s("a1", 3), s("a2", 1)])
        let b2 = ShardSearchResult(total: 1, hits: [s("b1", 2)])
        #expect(keys(Coordinator.mergeSearch([a, b2], plan: SearchMergePlan(order: .scoreDescending, offset: 0, limit: 10)).hits) == ["a1", "b1", "a2"])
    }

    @Test("string sort values compare bytewise; count-only totals")
    func strings() {
        func s(_ k: String, _ v: String) -> ShardHit { ShardHit(key: b(k), sortValue: .string(b(v)), score: 1, fields: nil) }
        let a = ShardSearchResult(total: 2, hits: [s("a1", "apple"), s("a2", "cherry")])
        let b2 = ShardSearchResult(total: 1, hits: [s("b1", "banana")])
        #expect(keys(Coordinator.mergeSearch([a, b2], plan: SearchMergePlan(order: .value(ascending: true), offset: 0, limit: 10)).hits) == ["a1", "b1", "a2"])
        let count = Coordinator.mergeSearch([a, b2], plan: SearchMergePlan(order: .value(ascending: true), offset: 0, limit: 0))
        #expect(count.total == 3 && count.hits.isEmpty)
    }

    @Test("the shard wire format round-trips through the reply parser")
    func wireFormat() throws {
        let r = ShardSearchResult(total: 42, hits: [
            knnHit("doc:1", 0.0500000044703),
            ShardHit(key: b("doc:2"), sortValue: .string(b("x y")), score: 1.5, fields: nil),
            ShardHit(key: b("doc:3"), sortValue: .missing, score: -0.25, fields: []),
        ])
        var w = ReplyWriter(protocolVersion: 2)
        Coordinator.encodeShardResult(r, into: &w)
        var p = ReplyParser()
        let decoded = try p.parse(w.buffer, from: 0)
        #expect(decoded?.consumed == w.buffer.count)
        #expect(decoded.flatMap { Coordinator.decodeShardResult($0.value) } == r)
        #expect(Coordinator.decodeShardResult(.error("ERR x")) == nil)
    }

    @Test("FT.INFO: document counters summed, sizes summed, the rest local; RESP2 and RESP3 shapes kept")
    func info() {
        let local = RESPValue.array([.bulk(b("index_name")), .bulk(b("idx")), .bulk(b("num_docs")), .integer(10),
                                     .bulk(b("max_doc_id")), .integer(12), .bulk(b("vector_index_sz_mb")), .bulk(b("0.5")),
                                     .bulk(b("percent_indexed")), .bulk(b("1"))])
        let other = RESPValue.array([.bulk(b("index_name")), .bulk(b("idx")), .bulk(b("num_docs")), .integer(5),
                                     .bulk(b("max_doc_id")), .integer(20), .bulk(b("vector_index_sz_mb")), .bulk(b("0.25")),
                                     .bulk(b("percent_indexed")), .bulk(b("0.5"))])
        let merged = Coordinator.mergeInfo(local: local, others: [other])
        let pairs = Coordinator.infoPairs(merged)!
        #expect(pairs.first { $0.0 == "num_docs" }?.1 == .integer(15))
        #expect(pairs.first { $0.0 == "max_doc_id" }?.1 == .integer(20))
        #expect(pairs.first { $0.0 == "vector_index_sz_mb" }?.1 == .bulk(b("0.75")))
        #expect(pairs.first { $0.0 == "percent_indexed" }?.1 == .bulk(b("0.5")))
        #expect(pairs.first { $0.0 == "index_name" }?.1 == .bulk(b("idx")))
        let local3 = RESPValue.map([RESPPair(.simple("num_docs"), .integer(1)), RESPPair(.simple("vector_index_sz_mb"), .double(0.5))])
        let merged3 = Coordinator.mergeInfo(local: local3, others: [other])
        #expect(merged3 == .map([RESPPair(.simple("num_docs"), .integer(6)), RESPPair(.simple("vector_index_sz_mb"), .double(0.75))]))
    }

    @Test("FT.TAGVALS: union, sorted")
    func tagvals() {
        #expect(Coordinator.mergeTagValues([[b("b"), b("a")], [b("c"), b("a")], []]) == [b("a"), b("b"), b("c")])
    }
}
