// Opening, creating and appending to page files: O_DIRECT with a buffered fallback, crash-safe header commits.
// Reading data pages is the job of a `PageReader`; this file only reads the header.
#if canImport(Glibc)
import Glibc
#endif
import CStorageShims

/// How a page file is opened.
public enum PageIOMode: Sendable, Equatable {
    /// O_DIRECT, falling back to buffered I/O (with a note on stderr) where the filesystem refuses it (tmpfs).
    case direct
    /// Buffered I/O through the page cache.
    case buffered
}

/// Opens `path` with `flags`, adding O_DIRECT for `.direct`; returns the descriptor and whether O_DIRECT is on.
func openPageFile(_ path: String, flags: Int32, mode: PageIOMode) throws -> (fd: Int32, direct: Bool) {
    let base = flags | O_CLOEXEC
    if mode == .direct {
        let fd = retryingEINTR { open(path, base | vs_O_DIRECT, 0o644) }
        if fd >= 0 { return (fd, true) }
        let e = errno
        guard e == EINVAL else { throw StorageError.system(call: "open", path: path, errno: e) }
        storageNote("O_DIRECT refused for \(path) (\(errnoText(e))); using buffered I/O")
    }
    let fd = retryingEINTR { open(path, base, 0o644) }
    guard fd >= 0 else { throw StorageError.system(call: "open", path: path, errno: errno) }
    return (fd, false)
}

/// Reads exactly `count` bytes at `offset` (loops over short reads); returns the bytes read (< count only at EOF).
func preadFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64, path: String) throws -> Int {
    var done = 0
    while done < count {
        let n = retryingEINTR { pread(fd, buffer + done, count - done, off_t(offset) + off_t(done)) }
        if n < 0 { throw StorageError.system(call: "pread", path: path, errno: errno) }
        if n == 0 { break }
        done += n
    }
    return done
}

func pwriteFully(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: Int64, path: String) throws {
    var done = 0
    while done < count {
        let n = retryingEINTR { pwrite(fd, buffer + done, count - done, off_t(offset) + off_t(done)) }
        if n < 0 { throw StorageError.system(call: "pwrite", path: path, errno: errno) }
        done += n
    }
}

func syncData(_ fd: Int32, path: String) throws {
    guard retryingEINTR({ fdatasync(fd) }) == 0 else { throw StorageError.system(call: "fdatasync", path: path, errno: errno) }
}

/// Reads both header slots and returns the valid one with the highest generation.
func readHeader(fd: Int32, path: String) throws -> (header: PageFileHeader, slot: Int) {
    let buffer = AlignedBuffer(byteCount: PageLayout.dataOffset)
    let n = try preadFully(fd, buffer.pointer, PageLayout.dataOffset, 0, path: path)
    var best: (PageFileHeader, Int)?
    var firstError: StorageError?
    for slot in 0..<2 where (slot + 1) * PageLayout.blockSize <= n {
        do {
            let h = try PageFileHeader.decode(buffer.pointer + slot * PageLayout.blockSize, path: path)
            if best == nil || h.generation > best!.0.generation { best = (h, slot) }
        } catch let e as StorageError {
            if case .unsupportedLayout = e { throw e }
            firstError = firstError ?? e
        }
    }
    guard let best else {
        throw firstError ?? StorageError.corruptHeader(path: path, reason: "file shorter than the header (\(n) bytes)")
    }
    return best
}

/// A committed page file opened for reading: the header and the descriptor readers use.
public final class PageFile: @unchecked Sendable {
    public let path: String
    public let header: PageFileHeader
    public let fileDescriptor: Int32
    /// Whether O_DIRECT is on (false after a fallback on tmpfs, or for `.buffered`).
    public let isDirect: Bool

    public var layout: PageLayout { header.layout }
    public var pageCount: UInt64 { header.pageCount }

    /// Opens the committed state of `path`: pages past the header's page count (an interrupted append) are ignored.
    public init(path: String, mode: PageIOMode = .direct) throws {
        let (fd, direct) = try openPageFile(path, flags: O_RDONLY, mode: mode)
        do {
            header = try readHeader(fd: fd, path: path).header
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw StorageError.system(call: "fstat", path: path, errno: errno) }
            let needed = header.layout.fileOffset(ofPage: header.pageCount)
            guard Int64(st.st_size) >= needed else {
                throw StorageError.corruptHeader(path: path, reason: "file has \(st.st_size) bytes, header needs \(needed)")
            }
        } catch {
            close(fd)
            throw error
        }
        self.path = path
        fileDescriptor = fd
        isDirect = direct
    }

    deinit { close(fileDescriptor) }

    /// Verifies a page read into `bytes` (checksum and page number).
    public func verify(_ bytes: UnsafeRawPointer, page: UInt64) throws {
        try PageView(bytes: bytes, layout: layout).verify(expectedPage: page, path: path)
    }

    /// The metadata blob of the last commit (empty if none), every page verified.
    public func readMetadata() throws -> [UInt8] {
        let count = Int(header.metadataBytes)
        guard count > 0 else { return [] }
        let size = layout.pageSize, payload = size - PageLayout.trailerSize
        let buffer = AlignedBuffer(byteCount: size)
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for i in 0..<header.metadataPageCount {
            let page = header.metadataFirstPage + i
            let n = try preadFully(fileDescriptor, buffer.pointer, size, layout.fileOffset(ofPage: page), path: path)
            guard n == size else { throw StorageError.shortRead(path: path, page: page, bytes: n) }
            try verify(buffer.pointer, page: page)
            out.append(contentsOf: UnsafeRawBufferPointer(start: buffer.pointer, count: min(payload, count - out.count)))
        }
        return out
    }

    @inline(__always) func checkRange(_ page: UInt64) throws {
        guard page < header.pageCount else {
            throw StorageError.pageOutOfRange(path: path, page: page, pageCount: header.pageCount)
        }
    }
}

/// Appends node records to a page file. Records fill pages in order; full pages are written in batches with pwrite;
/// `commit()` seals the open page, makes the data durable (fdatasync) and only then writes the header into the other
/// slot and syncs again. A crash at any point leaves the previous commit loadable. Not thread-safe.
public final class PageFileWriter {
    public let path: String
    public let layout: PageLayout
    public let isDirect: Bool
    private let fd: Int32
    /// What the file's valid header says (the last commit).
    public private(set) var committed: PageFileHeader
    /// Pages written or staged since the last commit count from `committed.pageCount`.
    private var nextPage: UInt64
    private var recordCount: UInt64
    /// Full pages waiting for one pwrite, plus the open page after them.
    private let staging: AlignedBuffer
    private let stagingPages: Int
    private var stagedFull = 0
    private var openPage: PageBuilder
    private let headerSlot = AlignedBuffer(byteCount: PageLayout.blockSize)

    /// Creates (or truncates) `path` with an empty committed state.
    public static func create(path: String, layout: PageLayout, mode: PageIOMode = .direct,
                              batchPages: Int = 32) throws -> PageFileWriter {
        let (fd, direct) = try openPageFile(path, flags: O_RDWR | O_CREAT | O_TRUNC, mode: mode)
        let writer = PageFileWriter(path: path, fd: fd, direct: direct, header: PageFileHeader(layout: layout),
                                    batchPages: batchPages)
        // Both slots zeroed, then generation 1 in slot B: an empty but loadable file.
        let zeros = AlignedBuffer(byteCount: PageLayout.dataOffset)
        try pwriteFully(fd, zeros.pointer, PageLayout.dataOffset, 0, path: path)
        try writer.writeHeader(pageCount: 0, recordCount: 0, metadata: (0, 0, 0))
        try syncDirectory(of: path)
        return writer
    }

    /// Reopens `path` to append after its last commit; pages an interrupted append left past it are overwritten.
    public static func openForAppend(path: String, mode: PageIOMode = .direct, batchPages: Int = 32) throws -> PageFileWriter {
        let (fd, direct) = try openPageFile(path, flags: O_RDWR, mode: mode)
        let header: PageFileHeader
        do { header = try readHeader(fd: fd, path: path).header } catch {
            close(fd)
            throw error
        }
        return PageFileWriter(path: path, fd: fd, direct: direct, header: header, batchPages: batchPages)
    }

    private init(path: String, fd: Int32, direct: Bool, header: PageFileHeader, batchPages: Int) {
        self.path = path
        self.fd = fd
        isDirect = direct
        layout = header.layout
        committed = header
        nextPage = header.pageCount
        recordCount = header.recordCount
        stagingPages = max(batchPages, 1)
        staging = AlignedBuffer(byteCount: stagingPages * header.layout.pageSize)
        openPage = PageBuilder(bytes: staging.pointer, layout: header.layout)
    }

    deinit { close(fd) }

    /// Records appended, committed or not.
    public var appendedRecordCount: UInt64 { recordCount }

    /// Appends one record and returns its address. `vector` must be `layout.vectorBytes` long; at most M0 neighbors.
    @discardableResult
    public func append(vector: UnsafeRawBufferPointer, neighbors: UnsafeBufferPointer<UInt32>) throws -> RecordAddress {
        guard vector.count == layout.vectorBytes else {
            throw StorageError.invalidArgument("vector of \(vector.count) bytes, layout needs \(layout.vectorBytes)")
        }
        guard neighbors.count <= layout.maxNeighbors0 else {
            throw StorageError.invalidArgument("\(neighbors.count) neighbors, layout allows \(layout.maxNeighbors0)")
        }
        let page = nextPage + UInt64(stagedFull)
        let slot = openPage.append(vector: vector, neighbors: neighbors)
        recordCount += 1
        if openPage.isFull { try closeOpenPage() }
        return layout.address(page: page, slot: slot)
    }

    @discardableResult
    public func append(vector: [UInt8], neighbors: [UInt32]) throws -> RecordAddress {
        try vector.withUnsafeBytes { v in try neighbors.withUnsafeBufferPointer { try append(vector: v, neighbors: $0) } }
    }

    /// Makes everything appended so far durable and visible to new readers. `metadata` (the engine's side state:
    /// labels, upper layers, codes, the id → address table...) is written in pages after the data and replaces the
    /// previous commit's blob; nil keeps the previous blob. Old metadata pages stay as garbage until a rewrite.
    public func commit(metadata: UnsafeRawBufferPointer? = nil) throws {
        if openPage.used > 0 { try closeOpenPage() }
        try flushStaged()
        var meta = (first: committed.metadataFirstPage, pages: committed.metadataPageCount, bytes: committed.metadataBytes)
        if let metadata {
            meta = (nextPage, 0, UInt64(metadata.count))
            let payload = layout.pageSize - PageLayout.trailerSize
            var offset = 0
            while offset < metadata.count {
                let page = PageBuilder(bytes: staging.pointer + stagedFull * layout.pageSize, layout: layout)
                let n = min(payload, metadata.count - offset)
                page.bytes.copyMemory(from: metadata.baseAddress! + offset, byteCount: n)
                page.seal(pageNumber: nextPage + UInt64(stagedFull))
                stagedFull += 1
                offset += n
                meta.pages += 1
                if stagedFull == stagingPages { try flushStaged() }
            }
            try flushStaged()
        }
        try syncData(fd, path: path)
        try writeHeader(pageCount: nextPage, recordCount: recordCount, metadata: meta)
    }

    public func commit(metadata: [UInt8]) throws {
        try metadata.withUnsafeBytes { try commit(metadata: $0) }
    }

    /// Seals the open page and stages it; writes the batch when the staging area is full.
    private func closeOpenPage() throws {
        openPage.seal(pageNumber: nextPage + UInt64(stagedFull))
        stagedFull += 1
        if stagedFull == stagingPages { try flushStaged() } else {
            openPage = PageBuilder(bytes: staging.pointer + stagedFull * layout.pageSize, layout: layout)
        }
    }

    /// Writes the sealed pages with one pwrite. Only called when no open page is partly filled.
    private func flushStaged() throws {
        guard stagedFull > 0 else { return }
        try pwriteFully(fd, staging.pointer, stagedFull * layout.pageSize, layout.fileOffset(ofPage: nextPage), path: path)
        nextPage += UInt64(stagedFull)
        stagedFull = 0
        openPage = PageBuilder(bytes: staging.pointer, layout: layout)
    }

    private func writeHeader(pageCount: UInt64, recordCount: UInt64,
                             metadata: (first: UInt64, pages: UInt64, bytes: UInt64)) throws {
        var h = committed
        h.pageCount = pageCount
        h.recordCount = recordCount
        (h.metadataFirstPage, h.metadataPageCount, h.metadataBytes) = metadata
        h.generation = committed.generation + 1
        h.encode(into: headerSlot.pointer)
        let slot = Int(h.generation % 2)
        try pwriteFully(fd, headerSlot.pointer, PageLayout.blockSize, Int64(slot * PageLayout.blockSize), path: path)
        try syncData(fd, path: path)
        committed = h
    }
}

/// fsyncs the directory holding `path`, so a newly created file's name is durable too.
func syncDirectory(of path: String) throws {
    let dir: String
    if let slash = path.lastIndex(of: "/") { dir = slash == path.startIndex ? "/" : String(path[..<slash]) } else { dir = "." }
    let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw StorageError.system(call: "open", path: dir, errno: errno) }
    defer { close(fd) }
    guard retryingEINTR({ fsync(fd) }) == 0 else { throw StorageError.system(call: "fsync", path: dir, errno: errno) }
}
