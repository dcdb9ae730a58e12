// io_uring against pread: the same random pages, byte for byte, at several queue depths.
import Testing
@testable import Storage

@Suite("Page readers") struct PageReaderTests {
    @Test("io_uring reads the same bytes as pread", arguments: [1, 8, 32])
    func ioURingMatchesPRead(queueDepth: Int) throws {
        let records = TestRecords(layout: try PageLayout(elementType: .float32, dimension: 96, maxNeighbors0: 32), seed: 11)
        try withTemporaryPath { path in
            _ = try records.writeFile(path, count: 600)
            let file = try PageFile(path: path)
            var rng = SplitMix64(state: UInt64(queueDepth))
            let pages = (0..<200).map { _ in UInt64.random(in: 0..<file.pageCount, using: &rng) }
            let size = file.layout.pageSize
            let expected = AlignedBuffer(byteCount: pages.count * size)
            let viaPlain = AlignedBuffer(byteCount: pages.count * size)
            let viaFixed = AlignedBuffer(byteCount: pages.count * size)
            func requests(_ b: AlignedBuffer) -> [PageReadRequest] {
                pages.enumerated().map { PageReadRequest(page: $1, destination: b.pointer + $0 * size) }
            }
            try PReadPageReader(file: file).read(requests(expected))
            try IOURingPageReader(file: file, queueDepth: queueDepth).read(requests(viaPlain))
            let fixed = try IOURingPageReader(file: file, queueDepth: queueDepth, registeredRegion: viaFixed.bytes)
            try fixed.read(requests(viaFixed))
            #expect(Array(expected.bytes) == Array(viaPlain.bytes))
            #expect(Array(expected.bytes) == Array(viaFixed.bytes))
            // Pages are what they claim to be.
            for (i, page) in pages.enumerated() {
                #expect(PageView(bytes: expected.pointer + i * size, layout: file.layout).pageNumber == page)
            }
        }
    }

    @Test("Ring setup options read the same bytes", arguments: [
        IOURingPageReader.SetupOptions.cooperativeTaskRun, .singleIssuerDeferTaskRun,
    ])
    func setupOptions(options: IOURingPageReader.SetupOptions) throws {
        let records = TestRecords(layout: try PageLayout(elementType: .float32, dimension: 96, maxNeighbors0: 32), seed: 13)
        try withTemporaryPath { path in
            _ = try records.writeFile(path, count: 100)
            let file = try PageFile(path: path)
            let size = file.layout.pageSize
            let a = AlignedBuffer(byteCount: Int(file.pageCount) * size), b = AlignedBuffer(byteCount: Int(file.pageCount) * size)
            let pages = (0..<file.pageCount).reversed().map { $0 }
            try PReadPageReader(file: file).read(pages.enumerated().map { PageReadRequest(page: $1, destination: a.pointer + $0 * size) })
            let ring = try IOURingPageReader(file: file, queueDepth: 4, setup: options)
            try ring.read(pages.enumerated().map { PageReadRequest(page: $1, destination: b.pointer + $0 * size) })
            #expect(Array(a.bytes) == Array(b.bytes))
        }
    }

    @Test("A bad page in a batch fails the batch after every read completed") func badPageInBatch() throws {
        let records = TestRecords(layout: try PageLayout(elementType: .float32, dimension: 96, maxNeighbors0: 32), seed: 12)
        try withTemporaryPath { path in
            _ = try records.writeFile(path, count: 300)
            flipByte(path, at: records.layout.fileOffset(ofPage: 10) + 7)
            let file = try PageFile(path: path)
            let size = file.layout.pageSize
            let buffer = AlignedBuffer(byteCount: 40 * size)
            let reqs = (0..<40).map { PageReadRequest(page: UInt64($0), destination: buffer.pointer + $0 * size) }
            let reader = try IOURingPageReader(file: file, queueDepth: 8)
            #expect(throws: StorageError.self) { try reader.read(reqs) }
            // Every other page arrived intact, and the ring is reusable.
            for i in 0..<40 where i != 10 {
                #expect(PageView(bytes: buffer.pointer + i * size, layout: file.layout).pageNumber == UInt64(i))
            }
            try reader.read(Array(reqs[11...]))
        }
    }
}
