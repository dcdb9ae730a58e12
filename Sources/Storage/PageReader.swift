// Reading data pages into aligned buffers: the `PageReader` protocol and its pread(2) implementation.
#if canImport(Glibc)
import Glibc
#endif

/// One page to read and where to put it. The destination's alignment (4 KiB, for O_DIRECT) is checked once, here.
public struct PageReadRequest: @unchecked Sendable {
    public let page: UInt64
    public let destination: UnsafeMutableRawPointer

    public init(page: UInt64, destination: UnsafeMutableRawPointer) {
        precondition(Int(bitPattern: destination) % PageLayout.blockSize == 0, "page buffer not 4 KiB aligned")
        self.page = page
        self.destination = destination
    }
}

/// Reads batches of data pages of one `PageFile` and verifies each page's trailer (checksum and page number).
///
/// A call returns only when every request has completed, so the caller may reuse all destinations afterwards, even
/// when it throws (the first error is thrown after the whole batch has drained). Instances are not shared between
/// threads unless an implementation says so: keep one per worker thread (io_uring rings are per thread).
public protocol PageReader: AnyObject {
    var file: PageFile { get }
    /// Reads all `requests`, at most the implementation's queue depth in flight at once.
    func read(_ requests: UnsafeBufferPointer<PageReadRequest>) throws
}

extension PageReader {
    public func read(_ requests: [PageReadRequest]) throws {
        try requests.withUnsafeBufferPointer { try read($0) }
    }

    public func read(page: UInt64, into destination: UnsafeMutableRawPointer) throws {
        var request = PageReadRequest(page: page, destination: destination)
        try withUnsafePointer(to: &request) { try read(UnsafeBufferPointer(start: $0, count: 1)) }
    }
}

/// One pread(2) per page, in order (queue depth 1). Thread-safe: pread does not move the file offset.
public final class PReadPageReader: PageReader, @unchecked Sendable {
    public let file: PageFile
    public let verifyChecksums: Bool

    public init(file: PageFile, verifyChecksums: Bool = true) {
        self.file = file
        self.verifyChecksums = verifyChecksums
    }

    public func read(_ requests: UnsafeBufferPointer<PageReadRequest>) throws {
        let size = file.layout.pageSize
        var firstError: Error?
        for r in requests {
            do {
                try file.checkRange(r.page)
                let n = try preadFully(file.fileDescriptor, r.destination, size, file.layout.fileOffset(ofPage: r.page),
                                       path: file.path)
                guard n == size else { throw StorageError.shortRead(path: file.path, page: r.page, bytes: n) }
                if verifyChecksums { try file.verify(r.destination, page: r.page) }
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
    }
}
