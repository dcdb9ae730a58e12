// FT.CREATE's `STORAGE RAM|TIERED` (our extension): parsing, which index a field gets, and its files going away.
import Testing
@testable import Search
import Keyspace
import Tiering
import VectorIndex
#if canImport(Glibc)
import Glibc
#endif

private func create(_ vector: [String]) throws(QueryError) -> IndexDefinition {
    try CreateParser.parse(["idx", "PREFIX", "1", "d:", "SCHEMA", "t", "TAG", "v", "VECTOR"] + vector)
}

private func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// A controller of the test's own, so tests never touch the node's limit or directory.
private func controller(limit: Int) -> (TieringController, String) {
    let c = TieringController()
    let base = temporaryDirectory("search-tiering")
    c.baseDirectory = base
    c.limit = limit
    return (c, base)
}

private func vectorField(_ index: SearchIndex) -> (any VectorIndex)? {
    index.lock.withReadLock {
        for store in index.stores { if case .vector(let v) = store { return v } }
        return nil
    }
}

private func blob(_ i: Int) -> Bytes {
    let values = (0..<8).map { Float(($0 * 7 + i * 13) % 31) / 31 }
    return Bytes(values.withUnsafeBytes { Array($0) })
}

@Suite("VECTOR ... STORAGE")
struct VectorStorageTests {
    @Test("STORAGE is one more named pair inside the parameter count", arguments: [
        (["HNSW", "8", "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "L2", "STORAGE", "TIERED"], VectorStorage.tiered),
        (["HNSW", "8", "STORAGE", "ram", "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "L2"], .ram),
        (["HNSW", "8", "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "L2", "STORAGE", "Tiered"], .tiered),
        (["FLAT", "8", "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "L2", "STORAGE", "RAM"], .ram),
    ])
    func parses(vector: [String], storage: VectorStorage) throws {
        let def = try create(vector)
        #expect(def.fields[1].storage == storage)
        guard case .vector(let p) = def.fields[1].kind else { Issue.record("not a vector"); return }
        #expect(p.dimension == 4 && p.metric == .l2)
    }

    @Test("without STORAGE the field records no choice (the node decides at FT.CREATE)")
    func absent() throws {
        let def = try create(["HNSW", "6", "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "L2"])
        #expect(def.fields[1].storage == nil)
        #expect(def.fields[0].storage == nil)
    }

    @Test("bad STORAGE values and FLAT + TIERED are refused", arguments: [
        (["FLAT", "8", "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "L2", "STORAGE", "TIERED"],
         "ERR STORAGE TIERED needs an HNSW vector field (FLAT is kept in RAM)"),
        (["HNSW", "8", "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "L2", "STORAGE", "SSD"],
         "ERR STORAGE must be RAM or TIERED, got 'SSD'"),
        // STORAGE outside the count is a field option RediSearch does not know: the field list ends there.
        (["HNSW", "6", "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "L2", "STORAGE", "TIERED"],
         "Invalid field type for field `STORAGE`"),
        (["HNSW", "7", "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "L2", "STORAGE"],
         "Bad number of arguments for vector similarity index: got 7 but expected even number (as algorithm parameters should be submitted as named arguments)"),
    ])
    func refused(vector: [String], message: String) {
        #expect(throws: QueryError(message)) { try create(vector) }
    }

    @Test("a tiered field is an SSD-backed graph behind the write buffer; RAM and FLAT fields are not")
    func choice() throws {
        let (limited, base1) = controller(limit: 64 << 20)
        let (unlimited, base2) = controller(limit: 0)
        defer { removeTree(base1); removeTree(base2) }
        func graph(_ vector: [String], _ c: TieringController) throws -> TieredHNSWIndex? {
            let index = try SearchIndex(definition: try create(vector), tiering: c)
            defer { index.dropStorage() }
            return index.lock.withReadLock { index.stores.compactMap(SearchIndex.tieredGraph).first }
        }
        let hnsw = ["HNSW", "6", "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "L2"]
        #expect(try graph(hnsw, limited) != nil)  // no STORAGE: the limit decides
        #expect(try graph(hnsw, unlimited) == nil)
        #expect(try graph(["HNSW", "8"] + hnsw.dropFirst(2) + ["STORAGE", "RAM"], limited) == nil)
        #expect(try graph(["HNSW", "8"] + hnsw.dropFirst(2) + ["STORAGE", "TIERED"], unlimited) != nil)
        #expect(try graph(["FLAT", "6"] + hnsw.dropFirst(2), limited) == nil)
    }

    @Test("a tiered field answers from its segment, and dropping the index deletes its directory")
    func segmentAndDrop() throws {
        let (c, base) = controller(limit: 0)
        defer { removeTree(base) }
        var index: SearchIndex? = try SearchIndex(definition: try create(["HNSW", "8", "TYPE", "FLOAT32", "DIM", "8",
                                                                          "DISTANCE_METRIC", "L2", "STORAGE", "TIERED"]),
                                                  tiering: c)
        for i in 0..<300 {
            var h = HashValue()
            h.set(Bytes("v"), blob(i))
            index!.index(key: Bytes("d:\(i)"), hash: h)
        }
        // In a scope of its own: the references taken here must be gone before the index can go.
        let directory = try { () throws -> String in
            let buffered = try #require(vectorField(index!) as? TieredVectorIndex)
            buffered.waitUntilDrained()
            let graph = try #require(buffered.graph as? TieredHNSWIndex)
            try graph.flush()  // seals the RAM graph into a segment file
            #expect(graph.report.segments == 1 && graph.report.ssdVectors == 300)
            let directory = graph.directory
            #expect(directory.hasPrefix(base + "/idx-v-"))
            #expect(exists(directory + "/MANIFEST"))
            let id = try #require(index!.docId(of: Bytes("d:7")))
            #expect(buffered.vectorBytes(label: UInt64(id)) == blob(7).storage)
            let found = try blob(7).withUnsafeBytes { try buffered.search(query: $0, k: 1, efRuntime: 50, filter: nil) }
            #expect(found.first?.label == UInt64(id))
            #expect(try index!.warmUp(pages: 8) >= 0)
            #expect(index!.tieringReports.map(\.attribute) == ["v"])
            return directory
        }()

        index!.dropStorage()
        index = nil
        // The files go when the last holder lets go (background drainers and maintenance may hold it briefly).
        var waited = 0
        while exists(directory) && waited < 5000 { usleep(10_000); waited += 10 }
        #expect(!exists(directory))
    }
}
