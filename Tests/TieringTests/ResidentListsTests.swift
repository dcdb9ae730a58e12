// Resident level-0 lists: a segment whose memory share holds its lists walks without page reads and re-ranks a
// bounded number of records, with the recall, exact distances and deletes of the page-reading walk.
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Tiering
import VectorIndex

@Suite(.serialized) struct ResidentListsTests {
    // Small enough for a debug build (PQ training and the HNSW build dominate); the segment is reopened with a lower
    // pool minimum so that a share between its lists and its whole file exists.
    let dim = 48
    let count = 1500

    func l2(_ a: [Float], _ b: [Float]) -> Float {
        var d: Float = 0
        for j in 0..<a.count { let t = a[j] - b[j]; d += t * t }
        return d
    }

    @Test func varintsRoundTrip() {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 5, alignment: 1)
        defer { buffer.deallocate() }
        for (value, length) in [(UInt32(0), 1), (127, 1), (128, 2), (16_383, 2), (16_384, 3), (UInt32.max, 5)] {
            #expect(ResidentLists.writeVarint(value, to: buffer) == length, "\(value)")
        }
    }

    @Test("codes are 4 bits per dimension where they fit in the RAM per vector (always from 64-d to 256-d), else PQ")
    func codeSizeFollowsTheShare() {
        func kind(_ dimension: Int, _ ramPerVector: Int) -> (fourBit: Bool, bytes: Int) {
            let q = DiskSegment.makeQuantizer(dimension: dimension, metric: .cosine, ramPerVector: ramPerVector)
            return (q is FourBitQuantizer, q.codeBytes)
        }
        #expect(kind(384, 356) == (true, 204), "pypi-50k at a 20 % limit")
        #expect(kind(384, 178) == (false, 96), "pypi-50k at a 10 % limit")
        #expect(kind(384, .max) == (true, 204))
        #expect(kind(128, 40) == (true, 76), "never coarser than 4 bits up to 256-d")
        #expect(kind(100, 1_000) == (true, 76), "padded to whole 64-dimension blocks")
        #expect(kind(768, 600) == (false, 192))
        #expect(kind(768, 700) == (true, 396))
        #expect(kind(16, 10) == (false, 8), "below 64-d: 2-dimension PQ, not padded nibbles")
        #expect(DiskSegment.rerankQuota(k: 10, ef: 40, dimensionsPerCodeByte: 2) == 12)
        #expect(DiskSegment.rerankQuota(k: 10, ef: 40, dimensionsPerCodeByte: 4) == 20)
        #expect(DiskSegment.rerankQuota(k: 10, ef: 120, dimensionsPerCodeByte: 2) == 15)
        #expect(DiskSegment.rerankQuota(k: 10, ef: 240, dimensionsPerCodeByte: 2) == 30)
        #expect(DiskSegment.rerankQuota(k: 10, ef: 120, dimensionsPerCodeByte: 4) == 30)
        #expect(DiskSegment.rerankQuota(k: 1, ef: 1, dimensionsPerCodeByte: 2) == 2)
        #expect(DiskSegment.rerankQuota(k: 10, ef: 120, dimensionsPerCodeByte: 2, refined: true) == 12)
        #expect(DiskSegment.rerankQuota(k: 10, ef: 240, dimensionsPerCodeByte: 2, refined: true) == 15)
    }

    @Test("a 2-bit residual puts each value within an eighth of its 4-bit cell: estimates several times closer")
    func residualsRefineTheCode() throws {
        for metric in [DistanceMetric.l2, .cosine] {
            let dimension = 100, n = 200
            let data = points(n, dimension, seed: 3)
            let quantizer = FourBitQuantizer(dimension: dimension, metric: metric)
            let distance = VectorDistance(dimension: dimension, elementType: .float32, metric: metric)
            let prepared = UnsafeMutablePointer<Float>.allocate(capacity: n * dimension)
            defer { prepared.deallocate() }
            for (i, v) in data.enumerated() {
                try v.withUnsafeBytes { try distance.prepareFloat32($0, into: prepared + i * dimension) }
            }
            quantizer.train(vectors: prepared, count: n)
            let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: n * quantizer.codeBytes)
            defer { codes.deallocate() }
            for i in 0..<n { quantizer.encode(prepared + i * dimension, into: codes + i * quantizer.codeBytes) }
            let coder = ResidualCoder(quantizer: quantizer, codes: UnsafePointer(codes), codeBytes: quantizer.codeBytes,
                                      dimension: dimension, distance: distance, metric: metric)
            let rows = UnsafeMutablePointer<UInt8>.allocate(capacity: n * coder.rowBytes)
            defer { rows.deallocate() }
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * dimension)
            defer { scratch.deallocate() }
            for (i, v) in data.enumerated() {
                try v.withUnsafeBytes { try coder.encode(id: i, stored: $0, into: rows + i * coder.rowBytes, scratch: scratch) }
            }
            // The estimate's error against the exact value (squared L2, or −dot), with the code alone and with the
            // residual, over random queries.
            var coarse: Double = 0, fine: Double = 0
            let queries = points(8, dimension, seed: 4)
            let query = UnsafeMutablePointer<Float>.allocate(capacity: dimension)
            defer { query.deallocate() }
            for q in queries {
                try q.withUnsafeBytes { try distance.prepareFloat32($0, into: query) }
                for i in 0..<n {
                    let x = prepared + i * dimension
                    quantizer.decode(codes + i * quantizer.codeBytes, into: scratch)
                    var exact: Float = 0, approximate: Float = 0
                    for j in 0..<dimension {
                        if metric == .l2 {
                            exact += (query[j] - x[j]) * (query[j] - x[j])
                            approximate += (query[j] - scratch[j]) * (query[j] - scratch[j])
                        } else {
                            exact -= query[j] * x[j]
                            approximate -= query[j] * scratch[j]
                        }
                    }
                    let refined = coder.estimate(id: UInt32(i), query: query, residuals: rows)
                    // The one-pass estimate equals decoding, applying each value's quarter, then summing.
                    let step = quantizer.step(of: codes + i * quantizer.codeBytes)
                    var reference: Float = 0
                    for j in 0..<dimension {
                        let quarter = Float((rows[i * coder.rowBytes + j / 4] >> UInt8(2 * (j % 4))) & 3)
                        let r = scratch[j] + step * ((quarter + 0.5) / 4 - 0.5)
                        if metric == .l2 { reference += (query[j] - r) * (query[j] - r) } else { reference -= query[j] * r }
                    }
                    #expect(abs(refined - reference) <= 1e-3 * max(1, abs(reference)), "\(metric) row \(i)")
                    coarse += Double(abs(approximate - exact))
                    fine += Double(abs(refined - exact))
                }
            }
            #expect(fine < coarse / 3, "\(metric): estimate error \(fine) with residuals vs \(coarse) without")
        }
    }

    @Test("a list encodes to the shorter form (packed gaps or varints) and decodes to the same ids")
    func listEncodingRoundTrip() {
        let lists: [[UInt32]] = [
            [], [7], [0, UInt32.max], Array(100..<132),               // packed: every gap 1
            [10, 12, 15, 900_000] + Array(900_001..<900_020),        // one far gap: varints are shorter
            (0..<32).map { $0 * 70_000 },                             // wide but even gaps: packed
            [1, 2, 3, 1 << 31, UInt32.max - 1, UInt32.max],
        ]
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 8)
        defer { buffer.deallocate() }
        let out = UnsafeMutablePointer<UInt32>.allocate(capacity: 64)
        defer { out.deallocate() }
        var forms: Set<UInt8> = []
        for ids in lists {
            buffer.initializeMemory(as: UInt8.self, repeating: 0xEE, count: 4096)
            let written = ResidentLists.encode(ids, count: ids.count, to: buffer)
            #expect(written <= ResidentLists.maxEncodedBytes(ids.count))
            if ids.count > 1 { forms.insert(buffer.load(as: UInt8.self) & 1) }
            let n = ResidentLists.decode(buffer.assumingMemoryBound(to: UInt8.self), at: 0, maxDegree: 64, into: out)
            #expect(Array(UnsafeBufferPointer(start: out, count: n)) == ids, "\(ids)")
        }
        #expect(forms == [0, 1], "both forms were chosen")
        let packed = ResidentLists.encode(Array(100..<132), count: 32, to: buffer)
        #expect(packed <= 1 + 2 + 1 + 4, "31 gaps of 1 bit: \(packed) bytes")
    }

    /// Writes `ram`'s graph to `<dir>/segment` (no deletes, no pool): the tests reopen it with the share they need.
    @discardableResult
    func writeSegment(_ ram: HNSWIndex, dir: String, counters: TieringCounters) throws -> DiskSegment {
        try ram.withFrozenGraph { graph in
            try DiskSegment.write(graph: graph, path: dir + "/segment", deleted: [], poolBytes: 0, shareBytes: .max,
                                  statistics: counters)
        }
    }

    /// `n` random vectors (L2, M 8) built in RAM, written as a segment and reopened with a share of `share` bytes and a
    /// pool minimum of 8 frames; `body` gets the segment, the vectors and the counters. The files go afterwards.
    func withSegment(n: Int, dim: Int, seed: UInt64, efConstruction: Int, share: Int,
                     _ body: (DiskSegment, [[Float]], TieringCounters) throws -> Void) throws {
        let parameters = VectorIndexParameters(algorithm: .hnsw, dimension: dim, metric: .l2, m: 8,
                                               efConstruction: efConstruction)
        let ram = try HNSWIndex(parameters)
        let data = points(n, dim, seed: seed)
        for (i, v) in data.enumerated() { try add(ram, i, v) }
        let dir = temporaryDirectory()
        defer { unlink(dir + "/segment"); rmdir(dir) }
        let counters = TieringCounters()
        try writeSegment(ram, dir: dir, counters: counters)
        try body(try DiskSegment(path: dir + "/segment", poolBytes: share, statistics: counters, minimumPoolFrames: 8),
                 data, counters)
    }

    /// Lists of up to 2M = 64 ids may pass 255 bytes: they keep a 4-byte offset per node instead of the
    /// checkpoint + length bytes that M ≤ 25 gets; both must decode every record's neighbors.
    @Test(arguments: [8, 32]) func listsDecodeForBothOffsetLayouts(m: Int) throws {
        let n = 700
        let parameters = VectorIndexParameters(algorithm: .hnsw, dimension: dim, metric: .l2, m: m, efConstruction: 64)
        let ram = try HNSWIndex(parameters)
        for (i, v) in points(n, dim, seed: 5).enumerated() { try add(ram, i, v) }
        let dir = temporaryDirectory()
        defer { unlink(dir + "/segment"); rmdir(dir) }
        let counters = TieringCounters()
        try writeSegment(ram, dir: dir, counters: counters)
        let segment = try DiskSegment(path: dir + "/segment", poolBytes: 150_000, statistics: counters, minimumPoolFrames: 8)
        let lists = try #require(segment.residentLists)
        let records = SequentialRecords(segment)
        defer { records.deallocate() }
        let decoded = UnsafeMutablePointer<UInt32>.allocate(capacity: lists.maxDegree)
        defer { decoded.deallocate() }
        var longest = 0
        for id in 0..<n {
            let count = lists.neighbors(of: UInt32(id), into: decoded)
            let stored = Array(try records.record(id).neighbors).sorted()
            longest = max(longest, stored.count)
            #expect(Array(UnsafeBufferPointer(start: decoded, count: count)) == stored, "m \(m), list \(id)")
        }
        #expect(longest > m, "level-0 lists reach past M (up to 2M), so the test covers long lists")
    }

    @Test func residentWalkMatchesPageWalk() throws {
        let parameters = VectorIndexParameters(algorithm: .hnsw, dimension: dim, metric: .l2, m: 8, efConstruction: 48)
        let ram = try HNSWIndex(parameters)
        let data = points(count, dim, seed: 11)
        for (i, v) in data.enumerated() { try add(ram, i, v) }
        let dir = temporaryDirectory()
        defer { unlink(dir + "/segment"); rmdir(dir) }
        let counters = TieringCounters()
        let written = try writeSegment(ram, dir: dir, counters: counters)
        #expect(written.residentLists == nil, "a share smaller than the lists keeps the page walk")
        let share = 200_000
        let segment = try DiskSegment(path: dir + "/segment", poolBytes: share, statistics: counters, minimumPoolFrames: 8)
        #expect(segment.ssdBytes > share, "the share must not hold the whole file")
        let lists = try #require(segment.residentLists, "a share that holds the lists and the pool minimum makes them resident")
        // Every list decodes to the record's own neighbor ids (sorted), in fewer bytes than (2M+1) words per node.
        let records = SequentialRecords(segment)
        defer { records.deallocate() }
        let decoded = UnsafeMutablePointer<UInt32>.allocate(capacity: lists.maxDegree)
        defer { decoded.deallocate() }
        for id in 0..<count {
            let n = lists.neighbors(of: UInt32(id), into: decoded)
            let stored = Array(try records.record(id).neighbors).sorted()
            #expect(Array(UnsafeBufferPointer(start: decoded, count: n)) == stored, "list \(id)")
        }
        #expect(lists.memoryUsage < count * (2 * 8 + 1) * 4, "varint lists: \(lists.memoryUsage) bytes")
        #expect(segment.memoryUsage - segment.fixedMemory <= max(share, 128 * 4096 + lists.memoryUsage),
                "lists come out of the share, not on top of it")

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

        let ef = 64
        let resident = try run(ef: ef, seed: 70_000)
        #expect(resident.readsPerQuery <= Double(DiskSegment.rerankQuota(k: 10, ef: ef, dimensionsPerCodeByte: segment.quantizer.dimensionsPerCodeByte)),
                "only the re-rank reads pages: \(resident.readsPerQuery) per query")
        try segment.resizePool(bytes: 0)
        #expect(segment.residentLists == nil, "a share too small for the lists drops them")
        let pageWalk = try run(ef: ef, seed: 70_000)
        #expect(resident.recall >= 0.9, "resident walk recall@10 \(resident.recall)")
        #expect(resident.recall >= pageWalk.recall - 0.03, "resident \(resident.recall) vs page walk \(pageWalk.recall)")
        try segment.resizePool(bytes: share)
        #expect(segment.residentLists != nil, "a larger share brings them back")
        #expect(try run(ef: ef, seed: 70_000).recall == resident.recall, "reloaded lists walk the same way")

        // Deletes: tombstoned records still guide the walk but never come back.
        var rng = Rng(state: 5)
        for i in 0..<count where rng.next() % 10 == 0 { #expect(segment.tombstone(label: UInt64(i))); alive[i] = false }
        let afterDeletes = try run(ef: ef, seed: 80_000)
        #expect(afterDeletes.recall >= 0.88, "recall@10 after deleting 10 %: \(afterDeletes.recall)")
        print("resident lists: recall \(resident.recall) (page walk \(pageWalk.recall)), \(resident.readsPerQuery) reads/query; after deletes \(afterDeletes.recall)")
    }

    @Test("4-bit segments keep residual rows when the share has room: fewer reads, recall kept, dropped when it shrinks")
    func residualRowsOrderTheReads() throws {
        let dim = 64, share = 200_000
        try withSegment(n: count, dim: dim, seed: 21, efConstruction: 48, share: share) { segment, data, counters in
            #expect(segment.quantizer is FourBitQuantizer)
            let lists = try #require(segment.residentLists)
            let rows = try #require(segment.residualRows, "lists, rows and the pool minimum fit in the share")
            #expect(rows.memoryUsage == count * dim / 4)
            #expect(segment.memoryUsage - segment.fixedMemory <= max(share, 128 * 4096 + lists.memoryUsage + rows.memoryUsage))

            func run(ef: Int) throws -> (recall: Double, readsPerQuery: Double) {
                let readsBefore = counters.pagesRead.load(ordering: .relaxed)
                var hits = 0
                let queries = 40
                for qi in 0..<queries {
                    let q = points(1, dim, seed: 90_000 + UInt64(qi))[0]
                    let found = try q.withUnsafeBytes {
                        try segment.search(query: $0, k: 10, ef: ef, beamWidth: 4, filter: nil, excluded: [])
                    }
                    for m in found { #expect(abs(m.distance - l2(data[Int(m.label)], q)) <= 1e-3 * max(1, m.distance)) }
                    let truth = Set(exactTop(data, q, 10) { _ in true })
                    hits += found.filter { truth.contains(Int($0.label)) }.count
                }
                let reads = counters.pagesRead.load(ordering: .relaxed) - readsBefore
                return (Double(hits) / Double(queries * 10), Double(reads) / Double(queries))
            }
            let ef = 128
            let refined = try run(ef: ef)
            #expect(refined.readsPerQuery <= Double(DiskSegment.rerankQuota(k: 10, ef: ef, dimensionsPerCodeByte: 2, refined: true)))
            // A share with room for the lists and the pool minimum but not the rows: the lists stay, the rows go.
            try segment.resizePool(bytes: lists.memoryUsage + 8 * 4096 + rows.memoryUsage / 2)
            #expect(segment.residentLists != nil)
            #expect(segment.residualRows == nil)
            let coarse = try run(ef: ef)
            #expect(coarse.readsPerQuery <= Double(DiskSegment.rerankQuota(k: 10, ef: ef, dimensionsPerCodeByte: 2)))
            #expect(refined.recall >= 0.9, "recall@10 with residual rows \(refined.recall)")
            #expect(refined.recall >= coarse.recall - 0.02, "with rows \(refined.recall), without \(coarse.recall)")
            try segment.resizePool(bytes: share)
            #expect(segment.residualRows != nil, "a larger share builds them again")
            print("residual rows: recall \(refined.recall) with \(refined.readsPerQuery) reads/query; without \(coarse.recall) with \(coarse.readsPerQuery)")
        }
    }

    /// With resident lists the pool keeps only the frames reads need, and the rest of the share holds hot vectors one
    /// by one: queries that come back find their candidates there instead of on SSD, with the same exact distances.
    @Test func hotRecordsServeRepeatedQueries() throws {
        let (n, d, share) = (3000, 256, 1_400_000)  // 3 records a page: ~1,000 pages, 4 MiB on SSD
        try withSegment(n: n, dim: d, seed: 41, efConstruction: 32, share: share) { segment, data, counters in
            #expect(segment.ssdBytes > 2 * share)
            #expect(segment.residentLists != nil)
            let hot = try #require(segment.hotRecords, "the share beyond the lists and the frames holds hot records")
            #expect(segment.pool.frameCount == DiskSegment.minimumFrames)
            #expect(segment.memoryUsage - segment.fixedMemory <= share, "hot records come out of the share")

            let queries = (0..<30).map { points(1, d, seed: 5_000 + UInt64($0))[0] }
            func cycle() throws -> (reads: Int, recall: Double) {
                let before = counters.pagesRead.load(ordering: .relaxed)
                var found = 0
                for q in queries {
                    let matches = try q.withUnsafeBytes {
                        try segment.search(query: $0, k: 10, ef: 32, beamWidth: 4, filter: nil, excluded: [])
                    }
                    for m in matches {
                        #expect(abs(m.distance - l2(data[Int(m.label)], q)) <= 1e-3 * max(1, m.distance), "exact distance")
                    }
                    let truth = Set(exactTop(data, q, 10) { _ in true })
                    found += matches.filter { truth.contains(Int($0.label)) }.count
                }
                return (counters.pagesRead.load(ordering: .relaxed) - before, Double(found) / Double(10 * queries.count))
            }
            let first = try cycle()
            _ = try cycle()
            _ = try cycle()
            let fourth = try cycle()
            let stats = hot.statistics
            print("hot records: \(hot.count) of \(hot.capacity) slots; reads per cycle \(first.reads) then \(fourth.reads); recall \(first.recall) then \(fourth.recall); hits \(stats.hits), admissions \(stats.admissions), rejections \(stats.rejections)")
            #expect(first.reads > 0)
            #expect(fourth.reads * 2 <= first.reads, "repeats read \(fourth.reads) pages against \(first.reads)")
            #expect(stats.hits > 0 && stats.admissions > 0)
            #expect(fourth.recall >= first.recall - 0.02)
            // Reads of a stored vector (HGET, RETURN) come from the cache when the record is there: the same bytes.
            let cachedIds = (0..<UInt32(n)).filter { hot.contains($0) }  // local ids (file positions), not labels
            let cachedLabels = cachedIds.map { Int(segment.labels[Int($0)]) }
            #expect(!cachedLabels.isEmpty)
            let readsBefore = counters.pagesRead.load(ordering: .relaxed), hitsBefore = hot.statistics.hits
            for label in cachedLabels.prefix(50) {
                let expected = data[label].withUnsafeBytes { Array($0) }
                #expect(segment.vectorBytes(label: UInt64(label)) == expected, "vector of \(label)")
            }
            #expect(counters.pagesRead.load(ordering: .relaxed) == readsBefore, "cached vectors are read without I/O")
            #expect(hot.statistics.hits - hitsBefore == min(cachedLabels.count, 50))
            // A deleted record leaves the cache.
            #expect(segment.tombstone(label: UInt64(cachedLabels[0])))
            #expect(!hot.contains(cachedIds[0]))
            #expect(segment.vectorBytes(label: UInt64(cachedLabels[0])) == nil)
            // A smaller share (CONFIG SET vector-memory-limit) gets a smaller cache, still inside the share, and the
            // searches stay exact.
            let smaller = share - 300_000
            try segment.resizePool(bytes: smaller)
            let resized = try #require(segment.hotRecords)
            #expect(resized.capacity < hot.capacity)
            #expect(segment.memoryUsage - segment.fixedMemory <= smaller)
            _ = try cycle()
            #expect(resized.count > 0)
            try segment.resizePool(bytes: DiskSegment.minimumFrames * 4096 + (segment.residentLists?.memoryUsage ?? 0))
            #expect(segment.hotRecords == nil, "no room beyond the lists and the frames: no cache")
            _ = try cycle()
        }
    }
}
