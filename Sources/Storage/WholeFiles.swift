// Small files written and read whole: a temporary file synced and renamed over the target (a crash leaves the old
// file or the new one), and a whole-file read. Tiering's manifests and the node's snapshot share them.
#if canImport(Glibc)
import Glibc
#endif

/// Writes `bytes` to `temporary`, fsyncs it, renames it over `path` and fsyncs the directory (best effort, as the
/// callers always did: the rename itself is what must not fail). On failure the temporary file is removed and `path`
/// is untouched.
public func writeFileAtomically(_ bytes: [UInt8], to path: String, temporary: String) throws {
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw StorageError.system(call: "open", path: temporary, errno: errno) }
    func fail(_ call: String) -> StorageError {
        let error = StorageError.system(call: call, path: temporary, errno: errno)
        close(fd); unlink(temporary)
        return error
    }
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw fail("write") }
        offset += n
    }
    guard retryingEINTR({ fsync(fd) }) == 0 else { throw fail("fsync") }
    close(fd)
    guard rename(temporary, path) == 0 else {
        let error = StorageError.system(call: "rename", path: temporary, errno: errno)
        unlink(temporary)
        throw error
    }
    try? syncDirectory(of: path)
}

/// The whole file at `path`, or nil when it does not exist.
public func readWholeFile(_ path: String) throws -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 && errno == ENOENT { return nil }
    guard fd >= 0 else { throw StorageError.system(call: "open", path: path, errno: errno) }
    defer { close(fd) }
    var info = stat()
    var bytes: [UInt8] = []
    if fstat(fd, &info) == 0 { bytes.reserveCapacity(Int(info.st_size)) }
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { throw StorageError.system(call: "read", path: path, errno: errno) }
        if n == 0 { return bytes }
        bytes.append(contentsOf: chunk[0..<n])
    }
}
