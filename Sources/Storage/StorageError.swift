// Errors of the page-file storage layer, each naming the file and page it concerns.

/// What can go wrong opening, writing or reading a page file.
public enum StorageError: Error, Equatable, CustomStringConvertible {
    /// A system call failed (`errno` kept so callers can tell ENOSPC from EIO).
    case system(call: String, path: String, errno: Int32)
    /// Neither header slot holds a valid header (bad magic or checksum in both).
    case corruptHeader(path: String, reason: String)
    /// The file's layout major version is not one this code reads.
    case unsupportedLayout(path: String, major: UInt16, minor: UInt16)
    /// A page's stored CRC32C differs from the one computed over its bytes.
    case checksumMismatch(path: String, page: UInt64, stored: UInt32, computed: UInt32)
    /// A page's trailer names a different page: a misdirected write or read.
    case misplacedPage(path: String, page: UInt64, found: UInt64)
    /// A read returned fewer bytes than a page (the file is shorter than its header claims).
    case shortRead(path: String, page: UInt64, bytes: Int)
    /// A page number at or past the committed page count.
    case pageOutOfRange(path: String, page: UInt64, pageCount: UInt64)
    /// Parameters that cannot form a layout (zero dimension, record larger than the biggest page, ...).
    case invalidLayout(String)
    /// Arguments that break an API contract (wrong vector size, too many neighbors, ...).
    case invalidArgument(String)
    /// io_uring could not be set up (kernel, seccomp or rlimit); callers may fall back to `PReadPageReader`.
    case ioURingUnavailable(errno: Int32)
    /// Every frame of a buffer-pool shard is pinned or loading, so no page can be brought in.
    case bufferPoolExhausted(frames: Int)

    public var description: String {
        switch self {
        case let .system(call, path, errno): "\(call)(\(path)) failed: \(errnoText(errno)) (errno \(errno))"
        case let .corruptHeader(path, reason): "page file \(path): no valid header (\(reason))"
        case let .unsupportedLayout(path, major, minor):
            "page file \(path): layout \(major).\(minor) is not supported (this build reads \(PageFileHeader.layoutMajor).x)"
        case let .checksumMismatch(path, page, stored, computed):
            "page file \(path): checksum mismatch on page \(page) (stored 0x\(hex(stored)), computed 0x\(hex(computed)))"
        case let .misplacedPage(path, page, found): "page file \(path): page \(page) holds page \(found)'s trailer"
        case let .shortRead(path, page, bytes): "page file \(path): short read of page \(page) (\(bytes) bytes)"
        case let .pageOutOfRange(path, page, count): "page file \(path): page \(page) out of range (\(count) pages)"
        case let .invalidLayout(what): "invalid page layout: \(what)"
        case let .invalidArgument(what): "invalid argument: \(what)"
        case let .ioURingUnavailable(errno): "io_uring unavailable: \(errnoText(errno)) (errno \(errno))"
        case let .bufferPoolExhausted(frames): "buffer pool exhausted: all \(frames) frames of a shard are pinned"
        }
    }
}

private func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 8 - s.count) + s
}
