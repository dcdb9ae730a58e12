// Segments: a graph written in placement order with its directory, reopened and read back through the pool.
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Storage

@Suite("Segments") struct SegmentTests {
    @Test("A segment round-trips records, directory and engine blob", arguments: PagePlacementStrategy.allCases)
    func roundTrip(placement: PagePlacementStrategy) throws {
        let layout = try PageLayout(elementType: .float32, dimension: 24, maxNeighbors0: 8)
        let records = TestRecords(layout: layout, seed: 41)
        let count = 300
        let vectors = (0..<count).map { records.vector($0).withUnsafeBytes { Array($0) } }
        // A ring graph, with every 7th id absent (free slots).
        func present(_ id: UInt32) -> Bool { id % 7 != 3 }
        func ring(_ id: UInt32) -> [UInt32] {
            [1, UInt32(count) - 1, 2, UInt32(count) - 2].map { (id + $0) % UInt32(count) }.filter(present)
        }
        try withTemporaryPath { path in
            let flat = vectors.flatMap { $0 }
            let written = try flat.withUnsafeBytes { all in
                try SegmentWriter.write(path: path, layout: layout, count: count, entry: 10, placement: placement,
                                        engineBlob: [9, 8, 7], isPresent: present,
                                        vector: { id in UnsafeRawBufferPointer(rebasing: all[Int(id) * 96..<Int(id + 1) * 96]) },
                                        neighbors: ring)
            }
            #expect(access(path + ".partial", F_OK) != 0)
            let file = try PageFile(path: path)
            let meta = try SegmentWriter.readMetadata(file)
            #expect(meta == written)
            #expect(meta.entry == 10 && meta.engineBlob == [9, 8, 7])
            let ids = (0..<UInt32(count)).filter(present)
            #expect(meta.directory.enumerated().allSatisfy { present(UInt32($0)) == ($1 != SegmentMetadata.missing) })
            #expect(Set(ids.map { meta.directory[Int($0)] }).count == ids.count)
            let pool = try BufferPool(file: file, budgetBytes: 8 * 4096, shards: 2)
            try pool.withRecords(ids.map { meta.directory[Int($0)] }) { i, record in
                let id = ids[i]
                #expect(Array(record.vector) == vectors[Int(id)])
                #expect(Array(record.neighbors) == ring(id))
            }
        }
    }

    @Test("Corrupt segment metadata is refused") func corruptMetadata() throws {
        let good = SegmentMetadata(entry: 1, directory: [RecordAddress(rawValue: 5)], engineBlob: [1]).encoded()
        #expect(try SegmentMetadata(decoding: good, path: "p").directory == [RecordAddress(rawValue: 5)])
        #expect(throws: StorageError.self) { try SegmentMetadata(decoding: Array(good.dropLast()), path: "p") }
        var bad = good
        bad[0] = 0
        #expect(throws: StorageError.self) { try SegmentMetadata(decoding: bad, path: "p") }
    }
}
