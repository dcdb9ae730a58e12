// Resident level-0 lists: a segment whose memory share holds its lists walks without page reads and re-ranks a
// bounded number of records, with the recall, exact distances and deletes of the page-reading walk.
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Tiering
import VectorIndex

@Suite(.serialized) struct ResidentListsTests {
    // 256-d float32 records take a kilobyte, three to a page: the file is far larger than the lists, as with real
    // embeddings, so a share between the two exists.
    let dim = 256
    let count = 3000

    func l2(_ a: [Float], _ b: [Float]) -> Float {
        var d: Float = 0
        for j in 0..<a.count { let t = a[j] - b[j]; d += t * t }
        return d
    }

    @Test func residentWalkMatchesPageWalk() throws {
        let parameters = VectorIndexParameters(algorithm: .hnsw, dimension: dim, metric: .l2, m: 8, efConstruction: 64)
        let ram = try HNSWIndex(parameters)
        let data = points(count, dim, seed: 11)
        for (i, v) in data.enumerated() { try add(ram, i, v) }
        let dir = temporaryDirectory()
        defer { unlink(dir + "/segment"); rmdir(dir) }
        let counters = TieringCounters()
        let share = 2 << 20
        let segment = try ram.withFrozenGraph { graph in
            try DiskSegment.write(graph: graph, path: dir + "/segment", deleted: [], poolBytes: share, statistics: counters)
        }
        #expect(segment.ssdBytes > share, "the share must not hold the whole file")
        let lists = try #require(segment.residentLists, "a share that holds the lists and a minimal pool makes them resident")
        #expect(lists.memoryUsage == count * (2 * 8 + 1) * 4)
        #expect(segment.memoryUsage <= share + segment.fixedMemory, "lists come out of the share, not on top of it")

        var alive = [Bool](repeating: true, count: count)
        func run(ef: Int, seed: UInt64) throws -> (recall: Double, readsPerQuery: Double) {
            let readsBefore = counters.pagesRead.load(ordering: .relaxed)
            var hits = 0, total = 0
            let queries = 40
            for qi in 0..<queries {
                let q = points(1, dim, seed: seed + UInt64(qi))[0]
                let found = try q.withUnsafeBytes {
                    try segment.search(query: $0, k: 10, ef: ef, beamWidth: 4, filter: nil, excluded: [])
                }
                for m in found {
                    #expect(alive[Int(m.label)], "deleted label \(m.label) returned")
                    #expect(abs(m.distance - l2(data[Int(m.label)], q)) <= 1e-3 * max(1, m.distance), "exact distance")
                }
                let truth = Set(exactTop(data, q, 10) { alive[$0] })
                hits += found.filter { truth.contains(Int($0.label)) }.count
                total += truth.count
            }
            let reads = counters.pagesRead.load(ordering: .relaxed) - readsBefore
            return (Double(hits) / Double(total), Double(reads) / Double(queries))
        }

        let resident = try run(ef: 100, seed: 70_000)
        #expect(resident.recall >= 0.95, "resident walk recall@10 \(resident.recall)")
        #expect(resident.readsPerQuery <= Double(DiskSegment.rerankQuota(k: 10, ef: 100)),
                "only the re-rank reads pages: \(resident.readsPerQuery) per query")

        // Deletes: tombstoned records still guide the walk but never come back.
        var rng = Rng(state: 5)
        for i in 0..<count where rng.next() % 10 == 0 { #expect(segment.tombstone(label: UInt64(i))); alive[i] = false }
        let afterDeletes = try run(ef: 100, seed: 80_000)
        #expect(afterDeletes.recall >= 0.93, "recall@10 after deleting 10 %: \(afterDeletes.recall)")

        // A share too small for the lists drops them and the page-reading walk answers alike; a larger one brings
        // them back.
        try segment.resizePool(bytes: 0)
        #expect(segment.residentLists == nil)
        let pages = try run(ef: 100, seed: 80_000)
        #expect(abs(pages.recall - afterDeletes.recall) <= 0.05, "page walk \(pages.recall) vs resident \(afterDeletes.recall)")
        try segment.resizePool(bytes: share)
        #expect(segment.residentLists != nil)
        #expect(try run(ef: 100, seed: 80_000).recall == afterDeletes.recall, "reloaded lists walk the same way")
    }
}
