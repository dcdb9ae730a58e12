// A reader-writer lock over pthread_rwlock: many searches read an index while the loop thread writes it.
#if canImport(Glibc)
import Glibc
#endif

public final class ReadWriteLock: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    /// Write sections entered so far: what a reader saw is still current while this has not moved. Changed only
    /// under the write lock, so a reader holding the read lock sees it stable.
    public private(set) var writes: UInt64 = 0

    public init() { pthread_rwlock_init(lock, nil) }
    deinit { pthread_rwlock_destroy(lock); lock.deallocate() }

    @inline(__always)
    public func withReadLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    @inline(__always)
    public func withWriteLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        writes &+= 1
        return try body()
    }
}
