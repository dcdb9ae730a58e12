// Buffer pool: hits, misses, CLOCK evictions, pins that block eviction, batched prefetch, concurrent readers.
import Testing
import Dispatch
@testable import Storage

@Suite("Buffer pool") struct BufferPoolTests {
    static let layout = try! PageLayout(elementType: .float32, dimension: 64, maxNeighbors0: 32)  // 10 records/page

    /// A 40-page file; `body` gets the opened file and the record generator.
    func withFile(_ body: (PageFile, TestRecords) throws -> Void) throws {
        let records = TestRecords(layout: Self.layout, seed: 21)
        try withTemporaryPath { path in
            _ = try records.writeFile(path, count: 400)
            try body(try PageFile(path: path), records)
        }
    }

    @Test("Hits, misses and CLOCK evictions are counted", arguments: [PageReaderKind.pread, .ioURing(queueDepth: 8)])
    func counters(kind: PageReaderKind) throws {
        try withFile { file, records in
            let pool = try BufferPool(file: file, budgetBytes: 8 * 4096, shards: 1, reader: kind)
            #expect(pool.frameCount == 8)
            for page in 0..<8 { try pool.withPage(UInt64(page)) { #expect(records.matches(page * 10, $0, slot: 0)) } }
            var s = pool.statistics
            #expect(s.misses == 8 && s.hits == 0 && s.evictions == 0)
            for page in 0..<8 { try pool.withPage(UInt64(page)) { _ in } }
            s = pool.statistics
            #expect(s.hits == 8 && s.misses == 8)
            // Four new pages evict four old ones.
            for page in 8..<12 { try pool.withPage(UInt64(page)) { #expect(records.matches(page * 10 + 3, $0, slot: 3)) } }
            s = pool.statistics
            #expect(s.misses == 12 && s.evictions == 4 && s.pageReads == 12)
            #expect((8..<12).allSatisfy { pool.contains(UInt64($0)) })
            #expect((0..<8).filter { pool.contains(UInt64($0)) }.count == 4)
        }
    }

    @Test("Pinned pages are never evicted; a full pin set exhausts the pool") func pinsBlockEviction() throws {
        try withFile { file, records in
            let pool = try BufferPool(file: file, budgetBytes: 4 * 4096, shards: 1, reader: .pread)
            let pinned = try pool.pin(pages: [0, 1, 2])
            for page in 3..<20 { try pool.withPage(UInt64(page)) { _ in } }
            #expect([0, 1, 2].allSatisfy { pool.contains(UInt64($0)) })
            for (i, p) in pinned.enumerated() {
                #expect(records.matches(i * 10 + 9, PageView(bytes: p.bytes, layout: file.layout), slot: 9))
            }
            let fourth = try pool.pin(3)
            #expect(throws: StorageError.bufferPoolExhausted(frames: 4)) { try pool.pin(4) }
            // A failed batch leaves nothing pinned behind.
            pool.unpin(fourth)
            #expect(throws: StorageError.bufferPoolExhausted(frames: 4)) { try pool.pin(pages: [5, 6]) }
            _ = try pool.pin(7)
            pool.unpin(pinned)
            try pool.withPage(8) { #expect($0.pageNumber == 8) }
        }
    }

    @Test("prefetch reads all misses in one batch and later pins hit") func prefetchBatches() throws {
        try withFile { file, records in
            let pool = try BufferPool(file: file, budgetBytes: 32 * 4096, shards: 4, reader: .ioURing(queueDepth: 16))
            try pool.withPage(5) { _ in }
            let before = pool.statistics
            let read = try pool.prefetch(pages: [1, 2, 3, 5, 7, 11, 13, 17, 19, 23, 3])
            let after = pool.statistics
            #expect(read == 9)
            #expect(after.readBatches == before.readBatches + 1)
            #expect(after.prefetchedPages == 9)
            let pins = try pool.pin(pages: [1, 2, 3, 5, 7, 11, 13, 17, 19, 23])
            #expect(pool.statistics.hits == 10)
            for p in pins { #expect(records.matches(Int(p.page) * 10, PageView(bytes: p.bytes, layout: file.layout), slot: 0)) }
            pool.unpin(pins)
        }
    }

    @Test("withRecords reads a frontier's records with one batch") func recordsOfAFrontier() throws {
        try withFile { file, records in
            let pool = try BufferPool(file: file, budgetBytes: 16 * 4096, shards: 2, reader: .ioURing(queueDepth: 8))
            let ids = [3, 17, 18, 250, 399, 17, 0]
            let addresses = ids.map { file.layout.address(page: UInt64($0 / 10), slot: $0 % 10) }
            var seen: [Int] = []
            try pool.withRecords(addresses) { i, record in
                seen.append(i)
                #expect(record.vector.count == file.layout.vectorBytes)
                let expected = records.vector(ids[i]).withUnsafeBytes { Array($0) }
                #expect(Array(record.vector) == expected)
                #expect(Array(record.neighbors) == records.neighbors(ids[i]))
                #expect(Array(UnsafeBufferPointer(start: record.list + 1, count: Int(record.list[0]))) == records.neighbors(ids[i]))
            }
            #expect(seen == Array(0..<7))
            let s = pool.statistics
            #expect(s.readBatches == 1 && s.pageReads == 4 && s.misses == 4)  // pages 0, 1, 25, 39
        }
    }

    @Test("Checksum errors surface through the pool and leave no frame behind") func corruptThroughPool() throws {
        let records = TestRecords(layout: Self.layout, seed: 22)
        try withTemporaryPath { path in
            _ = try records.writeFile(path, count: 100)
            flipByte(path, at: Self.layout.fileOffset(ofPage: 4) + 50)
            let pool = try BufferPool(file: try PageFile(path: path), budgetBytes: 8 * 4096, shards: 2)
            #expect(throws: StorageError.self) { try pool.pin(pages: [1, 4, 6]) }
            #expect(!pool.contains(4) && !pool.contains(1))
            try pool.withPage(6) { #expect($0.pageNumber == 6) }
        }
    }

    /// 4 threads × 4 pins never exceed a shard's 16 frames, so exhaustion cannot happen; 80 pages over 64 frames
    /// keep CLOCK evicting while other threads pin.
    @Test("Concurrent pins from several threads see the right bytes", arguments: [1, 4])
    func concurrent(shards: Int) throws {
        let records = TestRecords(layout: Self.layout, seed: 23)
        try withTemporaryPath { path in
            _ = try records.writeFile(path, count: 800)
            let file = try PageFile(path: path)
            let pool = try BufferPool(file: file, budgetBytes: 64 * 4096, shards: shards, reader: .ioURing(queueDepth: 8))
            let failures = Counter()
            DispatchQueue.concurrentPerform(iterations: 4) { t in
                var rng = SplitMix64(state: UInt64(t + 100))
                for _ in 0..<150 {
                    let pages = (0..<4).map { _ in UInt64.random(in: 0..<80, using: &rng) }
                    do {
                        let pins = try pool.pin(pages: pages)
                        for p in pins where !records.matches(Int(p.page) * 10 + 1, PageView(bytes: p.bytes, layout: file.layout), slot: 1) {
                            failures.add("wrong bytes for page \(p.page)")
                        }
                        pool.unpin(pins)
                    } catch { failures.add("\(error)") }
                }
            }
            #expect(failures.value == 0, "\(failures.first ?? "")")
            let s = pool.statistics
            #expect(s.hits + s.misses == 4 * 150 * 4)
            #expect(s.evictions > 0)
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = ConditionLock()
    private var n = 0
    private var firstMessage: String?
    func add(_ message: String) { lock.withLock { n += 1; firstMessage = firstMessage ?? message } }
    var value: Int { lock.withLock { n } }
    var first: String? { lock.withLock { firstMessage } }
}
