// Merging a frozen graph into a segment: a cancelled merge (FT.DROPINDEX meanwhile) stops early and leaves no file.
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Tiering
import VectorIndex

@Suite struct SegmentMergeTests {
    @Test func cancelledMergeStopsWithoutAFile() throws {
        let dim = 16
        let parameters = VectorIndexParameters(algorithm: .hnsw, dimension: dim, metric: .l2, m: 8, efConstruction: 32)
        let old = try HNSWIndex(parameters), new = try HNSWIndex(parameters)
        for (i, v) in points(600, dim, seed: 3).enumerated() { try add(old, i, v) }
        for (i, v) in points(1500, dim, seed: 4).enumerated() { try add(new, 10_000 + i, v) }
        let dir = temporaryDirectory()
        defer { unlink(dir + "/big"); unlink(dir + "/merged"); rmdir(dir) }
        let counters = TieringCounters()
        let big = try old.withFrozenGraph { graph in
            try DiskSegment.write(graph: graph, path: dir + "/big", deleted: [], poolBytes: 0, shareBytes: .max,
                                  statistics: counters)
        }
        var polls = 0
        #expect(throws: CancellationError.self) {
            try new.withFrozenGraph { graph in
                try DiskSegment.merge(graph, into: big, deleted: [], path: dir + "/merged", poolBytes: 0, shareBytes: .max,
                                      statistics: counters) {
                    polls += 1
                    return polls > 1  // cancelled once the first 1,024 new nodes are linked
                }
            }
        }
        #expect(polls == 2, "the merge polls every 1,024 nodes and stops at the first true")
        #expect(access(dir + "/merged", F_OK) != 0, "no segment file is left behind")
        // Not cancelled, the same merge completes with every record.
        let merged = try new.withFrozenGraph { graph in
            try DiskSegment.merge(graph, into: big, deleted: [], path: dir + "/merged", poolBytes: 0, shareBytes: .max,
                                  statistics: counters)
        }
        #expect(merged.count == 2100)
    }
}
