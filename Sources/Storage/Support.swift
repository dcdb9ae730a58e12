// Small system helpers for Storage: errno text, a stderr note, 4 KiB-aligned buffers and a mutex with a condition.
#if canImport(Glibc)
import Glibc
#endif

func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

/// Writes one line to stderr with write(2) (the `stderr` global is not concurrency-safe in Swift 6).
func storageNote(_ message: String) {
    let line = "storage: " + message + "\n"
    line.utf8CString.withUnsafeBufferPointer { p in _ = write(2, p.baseAddress, p.count - 1) }
}

/// An owned, zeroed allocation aligned for `O_DIRECT` (posix_memalign); freed on deinit.
public final class AlignedBuffer: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let count: Int
    public let alignment: Int

    public init(byteCount: Int, alignment: Int = PageLayout.blockSize) {
        precondition(byteCount > 0 && alignment > 0 && alignment & (alignment - 1) == 0)
        var raw: UnsafeMutableRawPointer?
        let rc = posix_memalign(&raw, alignment, byteCount)
        precondition(rc == 0 && raw != nil, "posix_memalign(\(byteCount)) failed: \(errnoText(rc))")
        pointer = raw!
        count = byteCount
        self.alignment = alignment
        memset(pointer, 0, byteCount)
    }
    deinit { free(pointer) }

    public var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: pointer, count: count) }
}

/// A pthread mutex plus condition variable, heap-allocated so they never move.
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }
    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    @inline(__always) func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) func unlock() { pthread_mutex_unlock(mutex) }
    /// Call with the lock held; returns with it held.
    func wait() { pthread_cond_wait(condition, mutex) }
    func broadcast() { pthread_cond_broadcast(condition) }

    @inline(__always) func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// Retries a system call returning -1 with errno EINTR.
@inline(__always) func retryingEINTR<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let r = call()
        if r == -1 && errno == EINTR { continue }
        return r
    }
}

/// Asks the kernel to back the whole 2 MiB-aligned part of a large, already filled allocation with huge pages now
/// (MADV_COLLAPSE, Linux 6.1; independent of the THP sysfs mode). For arrays read at random per search (traversal
/// codes, resident lists): on a VM each TLB miss walks two page tables. Best effort: an older kernel refuses and
/// nothing changes; the RSS stays the same since only pages already touched are collapsed.
public func collapseToHugePages(_ pointer: UnsafeRawPointer, byteCount: Int) {
    let huge = 2 << 20
    guard hugePagesEnabled, byteCount >= 2 * huge else { return }
    let start = (Int(bitPattern: pointer) + huge - 1) & ~(huge - 1)
    let end = (Int(bitPattern: pointer) + byteCount) & ~(huge - 1)
    guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
    let madviseCollapse: Int32 = 25  // MADV_COLLAPSE; Debian 12's headers predate it
    _ = madvise(aligned, end - start, madviseCollapse)
}

/// VS_HUGE_PAGES=0 leaves large arrays on 4 KiB pages (A/B).
let hugePagesEnabled = getenv("VS_HUGE_PAGES").map { String(cString: $0) != "0" } ?? true
