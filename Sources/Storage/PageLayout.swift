// The on-disk format of a page file: header slots, data pages, node records and the page trailer (no I/O here).
#if canImport(Glibc)
import Glibc
#endif

/// Element type codes, the same numbers as VectorIndex's `VectorElementType` (Storage does not depend on it).
public enum PageElementType: UInt8, Sendable, CaseIterable {
    case float32 = 0, float64 = 1, float16 = 2, bfloat16 = 3

    public var byteSize: Int {
        switch self {
        case .float32: 4
        case .float64: 8
        case .float16, .bfloat16: 2
        }
    }
}

/// Where everything sits in a page file. All integers are little-endian.
///
/// ### File
///     | header slot A (4 KiB) | header slot B (4 KiB) | data page 0 | data page 1 | ... | data page pageCount-1 |
///     0                       4096                    8192          8192 + pageSize
///
/// Data page `p` starts at `8192 + p × pageSize`; `pageSize` is 4 KiB, or the smallest multiple of 4 KiB that holds
/// one record (big vectors). The two header slots alternate (`generation` even → A, odd → B, LMDB-style): a commit
/// writes the slot *not* holding the current header, so a torn header write leaves the previous one readable.
///
/// ### Data page
///     | record 0 | record 1 | ... | record R-1 | zero padding | trailer (16 B) |
///     0          recordSize                                   pageSize-16      pageSize
///
/// ### Record (`recordSize` bytes, a multiple of 4)
///     | full vector (dim × element size) | pad to 4 | n: UInt32 | neighbor ids (M0 × UInt32, first n valid) |
///
/// ### Trailer
///     | page number: UInt64 | records used: UInt32 | CRC32C of bytes [0, pageSize-4): UInt32 |
///
/// The page number catches misdirected reads and writes; "records used" < R marks the last page of a commit (a commit
/// seals its open page, so committed pages are never rewritten and a crash cannot tear data the header refers to).
///
/// ### Metadata pages
/// A commit may add an opaque blob (the engine's side state) in pages right after its data pages, each with the same
/// trailer and "records used" 0; the header names the current blob's first page, page count and byte length.
/// Payload per page: `pageSize - 16` bytes.
///
/// Vectors are stored as the client's little-endian blobs and ids are little-endian; `PageView` reads neighbor ids in
/// place, so it assumes a little-endian host (x86-64, arm64).
public struct PageLayout: Sendable, Equatable {
    /// The O_DIRECT alignment and the header slot size.
    public static let blockSize = 4096
    public static let trailerSize = 16
    /// Bytes before data page 0: two header slots.
    public static let dataOffset = 2 * blockSize
    /// A record may not need more than this (1 MiB pages): a safety bound against nonsense headers.
    public static let maxPageSize = 1 << 20

    public let elementType: PageElementType
    public let dimension: Int
    /// Level-0 neighbor capacity per record (HNSW's M0 = 2·M).
    public let maxNeighbors0: Int
    public let vectorBytes: Int
    /// Offset of the neighbor count inside a record (vector bytes rounded up to 4).
    public let neighborCountOffset: Int
    public let recordSize: Int
    public let pageSize: Int
    public let recordsPerPage: Int

    public init(elementType: PageElementType, dimension: Int, maxNeighbors0: Int) throws {
        guard dimension > 0, dimension <= 1 << 16 else { throw StorageError.invalidLayout("dimension \(dimension)") }
        guard maxNeighbors0 >= 0, maxNeighbors0 <= 1 << 12 else {
            throw StorageError.invalidLayout("maxNeighbors0 \(maxNeighbors0)")
        }
        self.elementType = elementType
        self.dimension = dimension
        self.maxNeighbors0 = maxNeighbors0
        vectorBytes = dimension * elementType.byteSize
        neighborCountOffset = (vectorBytes + 3) & ~3
        recordSize = neighborCountOffset + 4 + 4 * maxNeighbors0
        let needed = recordSize + PageLayout.trailerSize
        pageSize = (needed + PageLayout.blockSize - 1) / PageLayout.blockSize * PageLayout.blockSize
        guard pageSize <= PageLayout.maxPageSize else { throw StorageError.invalidLayout("record of \(recordSize) bytes") }
        recordsPerPage = (pageSize - PageLayout.trailerSize) / recordSize
    }

    /// Byte offset of data page `page` in the file.
    @inline(__always) public func fileOffset(ofPage page: UInt64) -> Int64 {
        Int64(PageLayout.dataOffset) + Int64(page) * Int64(pageSize)
    }

    /// The page and slot of a record address (`page × recordsPerPage + slot`).
    @inline(__always) public func location(of address: RecordAddress) -> (page: UInt64, slot: Int) {
        (address.rawValue / UInt64(recordsPerPage), Int(address.rawValue % UInt64(recordsPerPage)))
    }

    @inline(__always) public func address(page: UInt64, slot: Int) -> RecordAddress {
        RecordAddress(rawValue: page * UInt64(recordsPerPage) + UInt64(slot))
    }
}

/// A record's position in a page file: `page × recordsPerPage + slot`. Addresses are not dense: the slots a commit
/// leaves empty in its last page are skipped.
public struct RecordAddress: Hashable, Sendable, Comparable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (a: RecordAddress, b: RecordAddress) -> Bool { a.rawValue < b.rawValue }
}

/// The decoded header. One 4 KiB slot:
///
///     0    magic "VSHDPAGE"           8 B
///     8    layout major: UInt16       minor: UInt16
///     12   element type: UInt8        reserved: 3 B
///     16   dimension: UInt32
///     20   max neighbors0 (M0): UInt32
///     24   record size: UInt32
///     28   records per page: UInt32
///     32   page size: UInt32
///     36   reserved: UInt32
///     40   page count: UInt64         data pages committed
///     48   record count: UInt64       records committed (live or not; the engine keeps its own tombstones)
///     56   generation: UInt64         bumped by each commit; the valid slot with the highest one wins
///     64   metadata first page: UInt64   the engine's blob (labels, upper layers, codes...), in whole pages
///     72   metadata page count: UInt64
///     80   metadata bytes: UInt64        0 = no metadata
///     88   zeros
///     4092 CRC32C of bytes [0, 4092): UInt32
public struct PageFileHeader: Sendable, Equatable {
    public static let magic: [UInt8] = Array("VSHDPAGE".utf8)
    /// A reader refuses another major; a newer minor only adds fields in today's reserved bytes.
    public static let layoutMajor: UInt16 = 1
    public static let layoutMinor: UInt16 = 0

    public var layout: PageLayout
    public var layoutMinor: UInt16 = PageFileHeader.layoutMinor
    public var pageCount: UInt64 = 0
    public var recordCount: UInt64 = 0
    public var generation: UInt64 = 0
    /// Where the last committed metadata blob lives (pages after some data pages; its pages hold no records).
    public var metadataFirstPage: UInt64 = 0
    public var metadataPageCount: UInt64 = 0
    public var metadataBytes: UInt64 = 0

    public init(layout: PageLayout) { self.layout = layout }

    /// Writes the header into a zeroed 4 KiB slot, checksum included.
    func encode(into slot: UnsafeMutableRawPointer) {
        memset(slot, 0, PageLayout.blockSize)
        for (i, b) in PageFileHeader.magic.enumerated() { slot.storeBytes(of: b, toByteOffset: i, as: UInt8.self) }
        storeLE(slot, 8, PageFileHeader.layoutMajor)
        storeLE(slot, 10, layoutMinor)
        storeLE(slot, 12, layout.elementType.rawValue)
        storeLE(slot, 16, UInt32(layout.dimension))
        storeLE(slot, 20, UInt32(layout.maxNeighbors0))
        storeLE(slot, 24, UInt32(layout.recordSize))
        storeLE(slot, 28, UInt32(layout.recordsPerPage))
        storeLE(slot, 32, UInt32(layout.pageSize))
        storeLE(slot, 40, pageCount)
        storeLE(slot, 48, recordCount)
        storeLE(slot, 56, generation)
        storeLE(slot, 64, metadataFirstPage)
        storeLE(slot, 72, metadataPageCount)
        storeLE(slot, 80, metadataBytes)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: slot, count: PageLayout.blockSize - 4))
        storeLE(slot, PageLayout.blockSize - 4, crc)
    }

    /// Decodes one slot; throws `corruptHeader` / `unsupportedLayout` with the reason.
    static func decode(_ slot: UnsafeRawPointer, path: String) throws -> PageFileHeader {
        for (i, b) in magic.enumerated() where slot.load(fromByteOffset: i, as: UInt8.self) != b {
            throw StorageError.corruptHeader(path: path, reason: "bad magic")
        }
        let stored: UInt32 = loadLE(slot, PageLayout.blockSize - 4)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(start: slot, count: PageLayout.blockSize - 4))
        guard stored == computed else { throw StorageError.corruptHeader(path: path, reason: "header checksum mismatch") }
        let major: UInt16 = loadLE(slot, 8), minor: UInt16 = loadLE(slot, 10)
        guard major == layoutMajor else { throw StorageError.unsupportedLayout(path: path, major: major, minor: minor) }
        let typeCode: UInt8 = loadLE(slot, 12)
        guard let type = PageElementType(rawValue: typeCode) else {
            throw StorageError.corruptHeader(path: path, reason: "element type \(typeCode)")
        }
        let dimension: UInt32 = loadLE(slot, 16), m0: UInt32 = loadLE(slot, 20)
        let layout = try PageLayout(elementType: type, dimension: Int(dimension), maxNeighbors0: Int(m0))
        let recordSize: UInt32 = loadLE(slot, 24), perPage: UInt32 = loadLE(slot, 28), pageSize: UInt32 = loadLE(slot, 32)
        guard Int(recordSize) == layout.recordSize, Int(perPage) == layout.recordsPerPage, Int(pageSize) == layout.pageSize
        else { throw StorageError.corruptHeader(path: path, reason: "record size / page size disagree with dim and M0") }
        var header = PageFileHeader(layout: layout)
        header.layoutMinor = minor
        header.pageCount = loadLE(slot, 40)
        header.recordCount = loadLE(slot, 48)
        header.generation = loadLE(slot, 56)
        header.metadataFirstPage = loadLE(slot, 64)
        header.metadataPageCount = loadLE(slot, 72)
        header.metadataBytes = loadLE(slot, 80)
        let payload = UInt64(layout.pageSize - PageLayout.trailerSize)
        guard header.metadataFirstPage + header.metadataPageCount <= header.pageCount,
              header.metadataPageCount == (header.metadataBytes + payload - 1) / payload
        else { throw StorageError.corruptHeader(path: path, reason: "metadata range disagrees with the committed pages") }
        return header
    }
}

@inline(__always) func storeLE<T: FixedWidthInteger>(_ base: UnsafeMutableRawPointer, _ offset: Int, _ value: T) {
    base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
}

@inline(__always) func loadLE<T: FixedWidthInteger>(_ base: UnsafeRawPointer, _ offset: Int) -> T {
    T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
}

/// A read-only view of one data page's bytes (a buffer-pool frame or a read buffer) under a layout.
public struct PageView {
    public let bytes: UnsafeRawPointer
    public let layout: PageLayout

    public init(bytes: UnsafeRawPointer, layout: PageLayout) {
        self.bytes = bytes
        self.layout = layout
    }

    public var pageNumber: UInt64 { loadLE(bytes, layout.pageSize - 16) }
    public var recordsUsed: Int { Int(loadLE(bytes, layout.pageSize - 8) as UInt32) }
    public var storedChecksum: UInt32 { loadLE(bytes, layout.pageSize - 4) }

    @inline(__always) public func record(_ slot: Int) -> UnsafeRawPointer { bytes + slot &* layout.recordSize }
    @inline(__always) public func vector(_ slot: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: record(slot), count: layout.vectorBytes)
    }
    /// The valid level-0 neighbor ids of the record in `slot`.
    @inline(__always) public func neighbors(_ slot: Int) -> UnsafeBufferPointer<UInt32> {
        let r = record(slot) + layout.neighborCountOffset
        let n = min(Int(loadLE(r, 0) as UInt32), layout.maxNeighbors0)
        return UnsafeBufferPointer(start: (r + 4).assumingMemoryBound(to: UInt32.self), count: n)
    }

    @inline(__always) public func recordView(_ slot: Int) -> RecordView {
        RecordView(vector: vector(slot), neighbors: neighbors(slot),
                   list: (record(slot) + layout.neighborCountOffset).assumingMemoryBound(to: UInt32.self))
    }

    /// Checks the trailer: CRC32C over [0, pageSize-4) and the page number.
    public func verify(expectedPage: UInt64, path: String) throws {
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(start: bytes, count: layout.pageSize - 4))
        let stored = storedChecksum
        guard computed == stored else {
            throw StorageError.checksumMismatch(path: path, page: expectedPage, stored: stored, computed: computed)
        }
        guard pageNumber == expectedPage else {
            throw StorageError.misplacedPage(path: path, page: expectedPage, found: pageNumber)
        }
    }
}

/// One node record inside a pinned page: valid only while the page stays pinned.
public struct RecordView {
    /// The full vector (`layout.vectorBytes` bytes, element type of the file).
    public let vector: UnsafeRawBufferPointer
    /// The valid level-0 neighbor ids.
    public let neighbors: UnsafeBufferPointer<UInt32>
    /// `[count, ids…]`: the same shape as VectorIndex's `level0List`, so its list-walking code can run on a page.
    /// The count is as stored (not clamped to M0; `neighbors` is).
    public let list: UnsafePointer<UInt32>
}

/// Fills one page buffer record by record, then seals it with its trailer.
struct PageBuilder {
    let bytes: UnsafeMutableRawPointer
    let layout: PageLayout
    private(set) var used = 0

    init(bytes: UnsafeMutableRawPointer, layout: PageLayout) {
        self.bytes = bytes
        self.layout = layout
        memset(bytes, 0, layout.pageSize)
    }

    var isFull: Bool { used == layout.recordsPerPage }

    /// Appends a record; the caller checked sizes.
    mutating func append(vector: UnsafeRawBufferPointer, neighbors: UnsafeBufferPointer<UInt32>) -> Int {
        let r = bytes + used * layout.recordSize
        r.copyMemory(from: vector.baseAddress!, byteCount: layout.vectorBytes)
        storeLE(r, layout.neighborCountOffset, UInt32(neighbors.count))
        for (j, id) in neighbors.enumerated() { storeLE(r, layout.neighborCountOffset + 4 + 4 * j, id) }
        used += 1
        return used - 1
    }

    func seal(pageNumber: UInt64) {
        let t = layout.pageSize - PageLayout.trailerSize
        storeLE(bytes, t, pageNumber)
        storeLE(bytes, t + 8, UInt32(used))
        storeLE(bytes, t + 12, CRC32C.checksum(UnsafeRawBufferPointer(start: bytes, count: layout.pageSize - 4)))
    }
}
