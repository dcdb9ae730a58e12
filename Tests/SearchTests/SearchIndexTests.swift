// SearchIndex behaviour: indexing from hashes, failures, filters, KNN in RediSearch's order, tiered visibility.
import Testing
@testable import Search
import Keyspace
import VectorIndex
import Tiering
import Synchronization
import Dispatch

private func vectorBytes(_ values: [Float]) -> Bytes {
    Bytes(values.withUnsafeBytes { Array($0) })
}

private func hash(_ pairs: [(String, Bytes)]) -> HashValue {
    var h = HashValue()
    for (f, v) in pairs { h.set(Bytes(f), v) }
    return h
}

private func makeIndex(algorithm: String = "HNSW") throws -> SearchIndex {
    let def = try CreateParser.parse(["idx", "ON", "HASH", "PREFIX", "1", "d:", "SCHEMA", "t", "TEXT", "tag", "TAG",
                                      "n", "NUMERIC", "SORTABLE", "v", "VECTOR", algorithm, "6", "TYPE", "FLOAT32",
                                      "DIM", "2", "DISTANCE_METRIC", "L2"])
    return try SearchIndex(definition: def)
}

@Suite("SearchIndex")
struct SearchIndexTests {
    @Test("FT.CREATE parsing keeps fields, prefixes and vector parameters")
    func createParsing() throws {
        let def = try CreateParser.parse(["i", "PREFIX", "2", "a:", "b:", "SCHEMA", "title", "AS", "t", "TEXT", "WEIGHT", "2",
                                          "v", "VECTOR", "HNSW", "10", "TYPE", "FLOAT16", "DIM", "8", "DISTANCE_METRIC",
                                          "COSINE", "M", "8", "EF_RUNTIME", "20"])
        #expect(def.prefixes == [Bytes("a:"), Bytes("b:")])
        #expect(def.fields[0].identifier == "title" && def.fields[0].attribute == "t")
        guard case .vector(let p) = def.fields[1].kind else { Issue.record("not a vector"); return }
        #expect(p.dimension == 8 && p.m == 8 && p.efRuntime == 20 && p.elementType == .float16 && p.metric == .cosine)
    }

    @Test("FT.CREATE errors use RediSearch's wording", arguments: [
        (["i", "SCHEMA", "t", "FOO"], "Invalid field type for field `t`"),
        (["i", "PREFIX", "1", "a:"], "No schema found"),
        (["i", "ON", "JSON", "SCHEMA", "t", "TEXT"], "Invalid rule type: JSON"),
        (["i", "SCHEMA", "v", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", "4"], "Expected 6 parameters but got 4"),
        (["i", "SCHEMA", "v", "VECTOR", "HNSW", "5", "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC"],
         "Bad number of arguments for vector similarity index: got 5 but expected even number (as algorithm parameters should be submitted as named arguments)"),
        (["i", "SCHEMA", "v", "VECTOR", "FLAT", "7", "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "L2", "X"],
         "Bad number of arguments for vector similarity index: got 7 but expected even number as algorithm parameters (should be submitted as named arguments)"),
        (["i", "SCHEMA", "t", "TEXT", "t", "NUMERIC"], "Duplicate field in schema - t"),
    ])
    func createErrors(args: [String], message: String) {
        #expect(throws: QueryError(message)) { try CreateParser.parse(args) }
    }

    @Test("bad numeric and wrong-size vectors are failures, not documents")
    func indexingFailures() throws {
        let index = try makeIndex()
        index.index(key: "d:1", hash: hash([("n", "abc")]))
        #expect(index.numDocs == 0 && index.failures == 1)
        #expect(index.lastFailure?.message == "Invalid numeric value: 'abc'")
        index.index(key: "d:2", hash: hash([("v", "abc")]))
        #expect(index.lastFailure?.message == "Could not add vector with blob size 3 (expected size 8)")
        index.index(key: "d:3", hash: hash([("n", "5"), ("t", "hello")]))
        #expect(index.numDocs == 1)
    }

    @Test("KNN returns the k nearest in doc-id order, visible right after the write")
    func knnOrder() throws {
        let index = try makeIndex()
        for i in 0..<20 { index.index(key: Bytes("d:\(i)"), hash: hash([("v", vectorBytes([Float(Double(i) * 0.1), 0])), ("n", Bytes(integer: i))])) }
        let query = ParsedQuery(filter: .all, knn: KNNClause(k: 5, field: "v", blob: vectorBytes([1, 0]).storage))
        let outcome = try index.execute(SearchRequest(query: query))
        #expect(outcome.total == 5)
        #expect(outcome.hits.map(\.key) == ["d:8", "d:9", "d:10", "d:11", "d:12"])
        #expect(outcome.hits.first?.yielded.first?.name == "__v_score")
        #expect(outcome.hits[2].yielded[0].value == "0")
        #expect(outcome.hits[1].yielded[0].value == "0.0100000044331")
    }

    @Test("filtered KNN only returns allowed documents")
    func filteredKNN() throws {
        let index = try makeIndex(algorithm: "FLAT")
        for i in 0..<50 { index.index(key: Bytes("d:\(i)"), hash: hash([("v", vectorBytes([Float(i), 0])), ("n", Bytes(integer: i)), ("tag", i % 2 == 0 ? "even" : "odd")])) }
        let filter = QueryNode.intersection([.tag(field: "tag", values: ["EVEN"]), .numericRange(field: "n", min: 10, minExclusive: true, max: .infinity, maxExclusive: false)])
        let query = ParsedQuery(filter: filter, knn: KNNClause(k: 3, field: "v", blob: vectorBytes([0, 0]).storage))
        let outcome = try index.execute(SearchRequest(query: query))
        #expect(outcome.hits.map(\.key) == ["d:12", "d:14", "d:16"])
    }

    @Test("deletes and updates leave no stale documents")
    func deleteAndUpdate() throws {
        let index = try makeIndex()
        index.index(key: "d:1", hash: hash([("tag", "a"), ("v", vectorBytes([0, 0]))]))
        index.index(key: "d:2", hash: hash([("tag", "a"), ("v", vectorBytes([1, 1]))]))
        index.index(key: "d:1", hash: hash([("tag", "b"), ("v", vectorBytes([5, 5]))]))
        index.remove(key: "d:2")
        let tagA = try index.execute(SearchRequest(query: ParsedQuery(filter: .tag(field: "tag", values: ["a"]))))
        #expect(tagA.total == 0)
        let knn = try index.execute(SearchRequest(query: ParsedQuery(filter: .all, knn: KNNClause(k: 2, field: "v", blob: vectorBytes([0, 0]).storage))))
        #expect(knn.hits.map(\.key) == ["d:1"])
        #expect(knn.hits[0].yielded[0].value == "50")
    }

    @Test("numeric SORTBY and LIMIT page after sorting")
    func sortAndPage() throws {
        let index = try makeIndex()
        for i in 0..<10 { index.index(key: Bytes("d:\(i)"), hash: hash([("n", Bytes(integer: (i * 7) % 10))])) }
        var request = SearchRequest(query: ParsedQuery(filter: .all))
        request.sortBy = (field: "n", order: .descending)
        request.offset = 1
        request.limit = 3
        let outcome = try index.execute(request)
        #expect(outcome.total == 10)
        #expect(outcome.hits.map(\.key) == ["d:4", "d:1", "d:8"])
    }

    @Test("a full write buffer stalls the write gate instead of linking on the writer's thread, and clears it once drained")
    func fullBufferStallsWriters() throws {
        let gate = TieringController()
        let released = Mutex(0)
        gate.setWritableHandler { released.withLock { $0 += 1 } }
        let p = VectorIndexParameters(algorithm: .hnsw, dimension: 16, metric: .l2, efConstruction: 200)
        let tiered = try TieredVectorIndex(p, bufferLimit: 8, backgroundThreads: 1, writeGate: gate)
        var rng = SystemRandomNumberGenerator()
        var sawStall = false
        for label in 0..<400 {
            let v = (0..<16).map { _ in Float.random(in: -1...1, using: &rng) }
            try v.withUnsafeBytes { try tiered.add(label: UInt64(label), vector: $0) }
            sawStall = sawStall || gate.writeStalled
        }
        // One drainer links 400 vectors at EF_CONSTRUCTION 200 far slower than this loop adds them: the buffer
        // overflows its 8 rows (writes are never linked here), and the gate says so.
        #expect(sawStall)
        #expect(tiered.buffer.count > 8 || tiered.pendingCount == 0)
        tiered.waitUntilDrained()
        #expect(!gate.writeStalled, "the stall ends when the buffer drains")
        #expect(released.withLock { $0 } >= 1, "the writable handler ran")
        #expect(tiered.count == 400)
        let q = (0..<16).map { _ in Float.random(in: -1...1, using: &rng) }
        #expect(try q.withUnsafeBytes { try tiered.search(query: $0, k: 5, efRuntime: 100, filter: nil) }.count == 5)
    }

    @Test("a drainer hands its thread back every drainSlice vectors while a backlog remains, and still links them all")
    func drainersYieldTheirThread() throws {
        let p = VectorIndexParameters(algorithm: .hnsw, dimension: 16, metric: .l2, efConstruction: 200)
        let tiered = try TieredVectorIndex(p, bufferLimit: 10_000, backgroundThreads: 1)
        var rng = SystemRandomNumberGenerator()
        let before = TieredVectorIndex.drainsYielded
        for label in 0..<400 {
            let v = (0..<16).map { _ in Float.random(in: -1...1, using: &rng) }
            try v.withUnsafeBytes { try tiered.add(label: UInt64(label), vector: $0) }
        }
        tiered.waitUntilDrained()
        // One drainer at EF_CONSTRUCTION 200 falls behind this loop (as in the test above), so the backlog outlasts
        // several slices; searches queued on the global pool meanwhile run between them.
        #expect(TieredVectorIndex.drainsYielded - before >= 2)
        #expect(tiered.count == 400 && tiered.pendingCount == 0)
    }

    @Test("rewrites of a few labels while drainers link older ones leave each label with its last vector")
    func rewritesKeepTheLastVector() throws {
        // Inserts into a graph of 3,000 take long enough for the next write of the same label to reach the second
        // drainer while the first still links the older vector.
        let p = VectorIndexParameters(algorithm: .hnsw, dimension: 32, metric: .l2, efConstruction: 400)
        var rng = SystemRandomNumberGenerator()
        let tiered = try TieredVectorIndex(p, bufferLimit: 100_000, backgroundThreads: 2)
        for label in 100..<3_100 {
            let v = (0..<32).map { _ in Float.random(in: -1...1, using: &rng) }
            try v.withUnsafeBytes { try tiered.add(label: UInt64(label), vector: $0) }
        }
        tiered.waitUntilDrained()
        var last: [UInt64: [Float]] = [:]
        for write in 0..<600 {
            let label = UInt64(write % 3)
            let v = (0..<32).map { _ in Float.random(in: -1...1, using: &rng) }
            last[label] = v
            try v.withUnsafeBytes { try tiered.add(label: label, vector: $0) }
            let until = DispatchTime.now().uptimeNanoseconds + 60_000
            while DispatchTime.now().uptimeNanoseconds < until {}
        }
        tiered.waitUntilDrained()
        #expect(tiered.count == 3_003 && tiered.pendingCount == 0)
        for (label, v) in last {
            #expect(tiered.vectorBytes(label: label) == v.withUnsafeBytes { Array($0) }, "label \(label)")
            let hit = try v.withUnsafeBytes { try tiered.search(query: $0, k: 1, efRuntime: 100, filter: nil) }.first
            #expect(hit?.label == label && hit?.distance == 0, "label \(label) found as \(String(describing: hit))")
        }
    }

    @Test("searches while the buffer drains never see a label twice (once buffered, once linked)")
    func searchesDuringDrainAreDistinct() throws {
        // A few vectors, all near the query, so that every search's top k holds labels in transit.
        let p = VectorIndexParameters(algorithm: .hnsw, dimension: 4, metric: .l2, efConstruction: 400)
        var rng = SystemRandomNumberGenerator()
        let q: [Float] = [0, 0, 0, 0]
        for round in 0..<20 {
            let tiered = try TieredVectorIndex(p, bufferLimit: 4096, backgroundThreads: 2)
            for label in 0..<300 {
                let v = (0..<4).map { _ in Float.random(in: -1...1, using: &rng) }
                try v.withUnsafeBytes { try tiered.add(label: UInt64(label), vector: $0) }
            }
            while tiered.pendingCount > 0 {
                let hits = try q.withUnsafeBytes { try tiered.search(query: $0, k: 20, efRuntime: 50, filter: nil) }
                #expect(Set(hits.map(\.label)).count == hits.count, "round \(round): a label came back twice")
                #expect(hits.count == 20)
            }
            tiered.waitUntilDrained()
        }
    }

    @Test("tiered HNSW matches FLAT exactly at high ef")
    func tieredMatchesFlat() throws {
        let p = VectorIndexParameters(algorithm: .hnsw, dimension: 8, metric: .l2)
        let tiered = try TieredVectorIndex(p, bufferLimit: 64)
        let flat = try FlatIndex(VectorIndexParameters(algorithm: .flat, dimension: 8, metric: .l2))
        var rng = SystemRandomNumberGenerator()
        for label in 0..<500 {
            let v = (0..<8).map { _ in Float.random(in: -1...1, using: &rng) }
            try v.withUnsafeBytes { try tiered.add(label: UInt64(label), vector: $0); try flat.add(label: UInt64(label), vector: $0) }
        }
        for label in stride(from: 0, to: 500, by: 3) { tiered.remove(label: UInt64(label)); flat.remove(label: UInt64(label)) }
        let q = (0..<8).map { _ in Float.random(in: -1...1, using: &rng) }
        let a = try q.withUnsafeBytes { try tiered.search(query: $0, k: 10, efRuntime: 400, filter: nil) }
        let b = try q.withUnsafeBytes { try flat.search(query: $0, k: 10, efRuntime: nil, filter: nil) }
        #expect(a.map(\.label) == b.map(\.label))
        tiered.waitUntilDrained()
        #expect(tiered.pendingCount == 0)
        #expect(tiered.buffer.count == 0)
        // The drained buffer gives its peak capacity back (the last drainer does it just after it stops counting).
        let idleBytes = TieredVectorIndex.idleBufferCapacity * (8 * 4 + 4 + 8) + 4096
        for _ in 0..<200 where tiered.buffer.memoryUsage > idleBytes { usleep(10_000) }
        #expect(tiered.buffer.memoryUsage <= idleBytes, "buffer holds \(tiered.buffer.memoryUsage) bytes when empty")
        let c = try q.withUnsafeBytes { try tiered.search(query: $0, k: 10, efRuntime: 400, filter: nil) }
        #expect(c.map(\.label) == b.map(\.label))
    }
}
