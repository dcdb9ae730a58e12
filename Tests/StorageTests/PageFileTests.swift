// Page file format: layout arithmetic, CRC32C, write/read round trip, checksum failures, crash-safe commits.
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Storage

@Suite("Page file") struct PageFileTests {
    @Test("hardware and table CRC32C agree on every length and seed") func crcHardwareMatchesSoftware() {
        var state: UInt64 = 99
        let bytes = (0..<300).map { _ -> UInt8 in state = state &* 6364136223846793005 &+ 1; return UInt8(state >> 56) }
        bytes.withUnsafeBytes { raw in
            for length in 0...raw.count {
                for seed: UInt32 in [0, 0xDEAD_BEEF] {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[0..<length])
                    #expect(CRC32C.checksum(slice, seed: seed) == CRC32C.software(slice, seed: seed))
                }
            }
        }
    }

    @Test("CRC32C matches the standard check value") func crcCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        // 32 zero bytes (RFC 3720 B.4 test vector).
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }

    @Test("Layout arithmetic", arguments: [
        // (type, dim, M0) → (recordSize, pageSize, recordsPerPage)
        (PageElementType.float32, 384, 32, 1668, 4096, 2),
        (.float32, 128, 32, 644, 4096, 6),
        (.float16, 3, 4, 28, 4096, 145),
        (.float32, 1536, 64, 6404, 8192, 1),
    ])
    func layout(type: PageElementType, dim: Int, m0: Int, recordSize: Int, pageSize: Int, perPage: Int) throws {
        let l = try PageLayout(elementType: type, dimension: dim, maxNeighbors0: m0)
        #expect(l.recordSize == recordSize)
        #expect(l.pageSize == pageSize)
        #expect(l.recordsPerPage == perPage)
        #expect(l.recordsPerPage * l.recordSize + PageLayout.trailerSize <= l.pageSize)
    }

    @Test("Header encodes and decodes") func headerRoundTrip() throws {
        var h = PageFileHeader(layout: try PageLayout(elementType: .bfloat16, dimension: 77, maxNeighbors0: 24))
        h.pageCount = 123_456_789_012
        h.recordCount = 987
        h.generation = 42
        let slot = AlignedBuffer(byteCount: PageLayout.blockSize)
        h.encode(into: slot.pointer)
        #expect(try PageFileHeader.decode(slot.pointer, path: "x") == h)
        slot.pointer.storeBytes(of: 0xFF, toByteOffset: 100, as: UInt8.self)
        #expect(throws: StorageError.corruptHeader(path: "x", reason: "header checksum mismatch")) {
            try PageFileHeader.decode(slot.pointer, path: "x")
        }
    }

    @Test("Records round-trip through O_DIRECT pages") func roundTrip() throws {
        let records = TestRecords(layout: try PageLayout(elementType: .float32, dimension: 64, maxNeighbors0: 32), seed: 7)
        try withTemporaryPath { path in
            let addresses = try records.writeFile(path, count: 205)
            let file = try PageFile(path: path)
            #expect(file.isDirect)
            #expect(file.header.recordCount == 205)
            #expect(file.pageCount == UInt64((205 + records.layout.recordsPerPage - 1) / records.layout.recordsPerPage))
            let reader = PReadPageReader(file: file)
            let buffer = AlignedBuffer(byteCount: file.layout.pageSize)
            for (i, address) in addresses.enumerated() {
                let (page, slot) = file.layout.location(of: address)
                try reader.read(page: page, into: buffer.pointer)
                #expect(records.matches(i, PageView(bytes: buffer.pointer, layout: file.layout), slot: slot))
            }
            // The last page is partly filled and says so.
            try reader.read(page: file.pageCount - 1, into: buffer.pointer)
            #expect(PageView(bytes: buffer.pointer, layout: file.layout).recordsUsed == 205 % records.layout.recordsPerPage)
        }
    }

    @Test("A flipped byte in a data page is a checksum error") func corruptDataPage() throws {
        let records = TestRecords(layout: try PageLayout(elementType: .float32, dimension: 64, maxNeighbors0: 32), seed: 9)
        try withTemporaryPath { path in
            _ = try records.writeFile(path, count: 100)
            flipByte(path, at: records.layout.fileOffset(ofPage: 3) + 1000)
            let file = try PageFile(path: path)
            let buffer = AlignedBuffer(byteCount: file.layout.pageSize)
            let ring = try IOURingPageReader(file: file, queueDepth: 4)
            for reader in [PReadPageReader(file: file), ring] as [any PageReader] {
                try reader.read(page: 2, into: buffer.pointer)
                let error = #expect(throws: StorageError.self) { try reader.read(page: 3, into: buffer.pointer) }
                guard case let .checksumMismatch(_, page, stored, computed)? = error else {
                    Issue.record("expected checksumMismatch, got \(String(describing: error))")
                    continue
                }
                #expect(page == 3 && stored != computed)
                #expect(error!.description.contains("checksum mismatch on page 3"))
            }
        }
    }

    @Test("A page read from the wrong place is caught by its trailer") func misplacedPage() throws {
        let records = TestRecords(layout: try PageLayout(elementType: .float32, dimension: 64, maxNeighbors0: 32), seed: 3)
        try withTemporaryPath { path in
            _ = try records.writeFile(path, count: 60)
            // Copy page 1 over page 4: both checksums are valid, the page number is not.
            let fd = open(path, O_RDWR)
            var page = [UInt8](repeating: 0, count: 4096)
            #expect(pread(fd, &page, 4096, off_t(records.layout.fileOffset(ofPage: 1))) == 4096)
            #expect(pwrite(fd, page, 4096, off_t(records.layout.fileOffset(ofPage: 4))) == 4096)
            fsync(fd)
            close(fd)
            let file = try PageFile(path: path)
            let buffer = AlignedBuffer(byteCount: 4096)
            #expect(throws: StorageError.misplacedPage(path: path, page: 4, found: 1)) {
                try PReadPageReader(file: file).read(page: 4, into: buffer.pointer)
            }
        }
    }

    @Test("An uncommitted append leaves the previous commit loadable") func crashBeforeCommit() throws {
        let records = TestRecords(layout: try PageLayout(elementType: .float32, dimension: 32, maxNeighbors0: 16), seed: 5)
        try withTemporaryPath { path in
            do {
                // batchPages 2: most of the 300 extra records reach the disk before the (never made) commit.
                let w = try PageFileWriter.create(path: path, layout: records.layout, batchPages: 2)
                _ = try records.append(0..<50, to: w)
                try w.commit()
                _ = try records.append(50..<350, to: w)
            }
            let file = try PageFile(path: path)
            #expect(file.header.recordCount == 50)
            #expect(file.header.generation == 2)
            // Appending again continues after the last commit, overwriting the orphaned pages.
            let w = try PageFileWriter.openForAppend(path: path)
            let more = try records.append(50..<80, to: w)
            try w.commit()
            let reopened = try PageFile(path: path)
            #expect(reopened.header.recordCount == 80)
            let buffer = AlignedBuffer(byteCount: reopened.layout.pageSize)
            let reader = try IOURingPageReader(file: reopened, queueDepth: 2)
            for (j, address) in more.enumerated() {
                let (page, slot) = reopened.layout.location(of: address)
                try reader.read(page: page, into: buffer.pointer)
                #expect(records.matches(50 + j, PageView(bytes: buffer.pointer, layout: reopened.layout), slot: slot))
            }
            // The first commit's open page was sealed: the new records start on a fresh page.
            #expect(reopened.layout.location(of: more[0]).slot == 0)
        }
    }

    @Test("A torn header write falls back to the other slot") func tornHeader() throws {
        let records = TestRecords(layout: try PageLayout(elementType: .float32, dimension: 32, maxNeighbors0: 16), seed: 6)
        try withTemporaryPath { path in
            let w = try PageFileWriter.create(path: path, layout: records.layout)
            _ = try records.append(0..<40, to: w)
            try w.commit()  // generation 2, slot A
            _ = try records.append(40..<90, to: w)
            try w.commit()  // generation 3, slot B
            #expect(try PageFile(path: path).header.recordCount == 90)
            flipByte(path, at: Int64(PageLayout.blockSize) + 20)  // slot B (generation 3)
            let file = try PageFile(path: path)
            #expect(file.header.generation == 2 && file.header.recordCount == 40)
            flipByte(path, at: 20)  // slot A as well: nothing valid left
            #expect(throws: StorageError.self) { try PageFile(path: path) }
        }
    }

    /// tmpfs refuses O_DIRECT before Linux 6.6 (EINVAL → buffered I/O with a note on stderr); newer kernels accept
    /// it. Either way the file must work.
    @Test("A page file on tmpfs works, with or without O_DIRECT", .enabled(if: access("/dev/shm", W_OK) == 0))
    func tmpfsFallback() throws {
        let records = TestRecords(layout: try PageLayout(elementType: .float32, dimension: 50, maxNeighbors0: 8), seed: 8)
        try withTemporaryPath(under: "/dev/shm") { path in
            let addresses = try records.writeFile(path, count: 120)
            let file = try PageFile(path: path)
            // 120 records on 8 pages through 4 frames: withRecords splits the batch.
            let pool = try BufferPool(file: file, budgetBytes: 4 * 4096, shards: 1)
            var seen = 0
            try pool.withRecords(addresses) { i, record in
                #expect(Array(record.neighbors) == records.neighbors(i))
                seen += 1
            }
            #expect(seen == 120)
            #expect(pool.statistics.readBatches >= 4)
        }
    }

    @Test("Wrong argument sizes and out-of-range pages are refused") func refusals() throws {
        let layout = try PageLayout(elementType: .float32, dimension: 8, maxNeighbors0: 2)
        try withTemporaryPath { path in
            let w = try PageFileWriter.create(path: path, layout: layout)
            #expect(throws: StorageError.self) { try w.append(vector: [UInt8](repeating: 0, count: 31), neighbors: []) }
            #expect(throws: StorageError.self) { try w.append(vector: [UInt8](repeating: 0, count: 32), neighbors: [1, 2, 3]) }
            try w.append(vector: [UInt8](repeating: 0, count: 32), neighbors: [1, 2])
            try w.commit()
            let file = try PageFile(path: path)
            let buffer = AlignedBuffer(byteCount: 4096)
            #expect(throws: StorageError.pageOutOfRange(path: path, page: 1, pageCount: 1)) {
                try IOURingPageReader(file: file).read(page: 1, into: buffer.pointer)
            }
        }
        #expect(throws: StorageError.self) { try PageLayout(elementType: .float32, dimension: 0, maxNeighbors0: 2) }
    }
}

@Suite("Page placement") struct PagePlacementTests {
    /// A ring of 100 nodes where each node's list is its 4 nearest ring neighbors (nearest first).
    static func ring(_ id: UInt32) -> [UInt32] {
        let n: UInt32 = 100
        return [(id + 1) % n, (id + n - 1) % n, (id + 2) % n, (id + n - 2) % n]
    }

    @Test("Every strategy yields a permutation", arguments: PagePlacementStrategy.allCases)
    func permutation(strategy: PagePlacementStrategy) {
        // Two components: the ring 0..<100 and isolated nodes 100..<110.
        let order = PagePlacement.order(count: 110, recordsPerPage: 6, entry: 5, strategy: strategy) {
            $0 < 100 ? Self.ring($0) : []
        }
        #expect(order.sorted() == Array(0..<110))
        if strategy != .identity { #expect(order.first == 5) }
        let position = PagePlacement.positions(of: order)
        for (i, id) in order.enumerated() { #expect(position[Int(id)] == UInt32(i)) }
    }

    @Test("Neighbor packing puts a node's nearest neighbors on its page") func packing() {
        let order = PagePlacement.order(count: 100, recordsPerPage: 5, entry: 0, strategy: .neighborPacking, neighbors: Self.ring)
        #expect(Set(order.prefix(5)) == [0, 1, 99, 2, 98])
        // A walk along the ring touches about one page per 5 steps, not one per step.
        let walk = (0..<50).map { UInt32($0) }
        let packed = PagePlacement.pagesTouched(walk, position: PagePlacement.positions(of: order), recordsPerPage: 5)
        #expect(packed <= 20)
    }
}

@Suite("Page file metadata") struct PageFileMetadataTests {
    @Test("Metadata survives commits, is replaced explicitly and kept otherwise") func metadata() throws {
        let records = TestRecords(layout: try PageLayout(elementType: .float32, dimension: 64, maxNeighbors0: 32), seed: 31)
        try withTemporaryPath { path in
            let blob = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }  // 3 pages of 4080 bytes
            let w = try PageFileWriter.create(path: path, layout: records.layout, batchPages: 2)
            #expect(try PageFile(path: path).readMetadata().isEmpty)
            let first = try records.append(0..<25, to: w)
            try w.commit(metadata: blob)
            var file = try PageFile(path: path)
            #expect(try file.readMetadata() == blob)
            #expect(file.header.metadataPageCount == 3)
            // Records appended after the metadata pages keep working, and nil keeps the blob.
            let second = try records.append(25..<60, to: w)
            try w.commit()
            file = try PageFile(path: path)
            #expect(try file.readMetadata() == blob)
            let pool = try BufferPool(file: file, budgetBytes: 16 * 4096, shards: 1, reader: .pread)
            try pool.withRecords(first + second) { i, record in #expect(Array(record.neighbors) == records.neighbors(i)) }
            try w.commit(metadata: [1, 2, 3])
            #expect(try PageFile(path: path).readMetadata() == [1, 2, 3])
            // A corrupt metadata page is reported, not returned.
            flipByte(path, at: records.layout.fileOffset(ofPage: try PageFile(path: path).header.metadataFirstPage) + 1)
            #expect(throws: StorageError.self) { try PageFile(path: path).readMetadata() }
        }
    }
}
