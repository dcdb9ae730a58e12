// Batched page reads through one io_uring: a sliding window of `queueDepth` reads, registered buffers when possible.
#if canImport(Glibc)
import Glibc
#endif
import CURing

/// Reads pages with liburing: the batch is submitted `queueDepth` at a time and topped up as completions arrive; the
/// call returns after the last completion (it blocks the calling thread, so call it from a worker, never the event
/// loop). Destinations inside `registeredRegion` use IORING_OP_READ_FIXED (no per-read page pinning); others plain
/// reads. One instance per thread: the ring is not thread-safe.
public final class IOURingPageReader: PageReader {
    public let file: PageFile
    public let queueDepth: Int
    public let verifyChecksums: Bool
    /// Whether `registeredRegion` was registered with the ring (false if none was given or registration failed).
    public private(set) var usesRegisteredBuffers = false

    private let ring: UnsafeMutablePointer<io_uring>
    /// Registered chunks: region base, chunk size (a multiple of the page size, ≤ 1 GiB), chunk count.
    private var regionBase: UnsafeMutableRawPointer?
    private var regionBytes = 0
    private var chunkBytes = 0
    /// Request indexes whose read must be resubmitted (EAGAIN / EINTR completions).
    private var retries: [Int] = []

    /// Optional ring setup flags; a kernel that refuses them gets a plain ring. On the 2-vCPU VM neither changed
    /// read rates measurably (bench/results/storage.md), so the default is none.
    public struct SetupOptions: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// IORING_SETUP_COOP_TASKRUN: completions run at the next kernel entry instead of interrupting the task.
        public static let cooperativeTaskRun = SetupOptions(rawValue: IORING_SETUP_COOP_TASKRUN)
        /// IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN: completions run only when this thread waits.
        /// Only for a ring that one thread ever submits to (not for `BufferPool`'s shared reader list).
        public static let singleIssuerDeferTaskRun =
            SetupOptions(rawValue: IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN)
    }

    public init(file: PageFile, queueDepth: Int = 32, registeredRegion: UnsafeMutableRawBufferPointer? = nil,
                verifyChecksums: Bool = true, setup: SetupOptions = []) throws {
        let setupFlags = setup.rawValue
        precondition(queueDepth >= 1 && queueDepth <= 4096)
        self.file = file
        self.queueDepth = queueDepth
        self.verifyChecksums = verifyChecksums
        ring = .allocate(capacity: 1)
        var rc = io_uring_queue_init(UInt32(queueDepth), ring, setupFlags)
        if rc == -EINVAL && setupFlags != 0 { rc = io_uring_queue_init(UInt32(queueDepth), ring, 0) }
        guard rc == 0 else {
            ring.deallocate()
            throw StorageError.ioURingUnavailable(errno: -rc)
        }
        if let region = registeredRegion, let base = region.baseAddress, region.count > 0 { register(base, region.count) }
    }

    deinit {
        io_uring_queue_exit(ring)
        ring.deallocate()
    }

    /// Registers the region in chunks of at most 1 GiB (the kernel's per-buffer limit). A failure (RLIMIT_MEMLOCK on
    /// old kernels, ENOMEM) only costs the fixed-buffer fast path: it is noted and plain reads are used.
    private func register(_ base: UnsafeMutableRawPointer, _ count: Int) {
        let pageSize = file.layout.pageSize
        let chunk = max((1 << 30) / pageSize, 1) * pageSize
        let chunks = (count + chunk - 1) / chunk
        guard chunks <= 1024 else { return storageNote("registered region too large (\(count) bytes); plain reads") }
        var iovecs = (0..<chunks).map { i in
            iovec(iov_base: base + i * chunk, iov_len: min(chunk, count - i * chunk))
        }
        let rc = io_uring_register_buffers(ring, &iovecs, UInt32(chunks))
        guard rc == 0 else { return storageNote("io_uring_register_buffers: \(errnoText(-rc)); plain reads") }
        regionBase = base
        regionBytes = count
        chunkBytes = chunk
        usesRegisteredBuffers = true
    }

    public func read(_ requests: UnsafeBufferPointer<PageReadRequest>) throws {
        let pageSize = file.layout.pageSize
        var firstError: Error?
        // Reject out-of-range pages up front; they are counted as done.
        var skip = [Bool](repeating: false, count: requests.count)
        for (i, r) in requests.enumerated() where r.page >= file.pageCount {
            skip[i] = true
            firstError = firstError ?? StorageError.pageOutOfRange(path: file.path, page: r.page, pageCount: file.pageCount)
        }
        var next = 0, inFlight = 0
        retries.removeAll(keepingCapacity: true)
        while true {
            // Fill the window: retries first, then new requests.
            while inFlight < queueDepth {
                let index: Int
                if let r = retries.popLast() { index = r } else {
                    while next < requests.count && skip[next] { next += 1 }
                    guard next < requests.count else { break }
                    index = next
                    next += 1
                }
                guard let sqe = io_uring_get_sqe(ring) else {
                    retries.append(index)
                    break
                }
                prepare(sqe, requests[index], index: index, pageSize: pageSize)
                inFlight += 1
            }
            if inFlight == 0 { break }
            // With nothing left to top the window up with, wait for the whole window at once: one wakeup per batch
            // instead of one per completion (a search's batch of 12 reads could wake its thread 12 times).
            while next < requests.count && skip[next] { next += 1 }
            let waitFor = retries.isEmpty && next == requests.count ? inFlight : 1
            var rc: Int32
            repeat { rc = io_uring_submit_and_wait(ring, UInt32(waitFor)) } while rc == -EINTR || rc == -EAGAIN
            if rc < 0 {
                // Nothing more can be submitted; drain what is in flight before throwing.
                firstError = firstError ?? StorageError.system(call: "io_uring_submit", path: file.path, errno: -rc)
                drain(&inFlight, requests, pageSize, &firstError)
                break
            }
            reap(&inFlight, requests, pageSize, &firstError, wait: false)
        }
        if let firstError { throw firstError }
    }

    private func prepare(_ sqe: UnsafeMutablePointer<io_uring_sqe>, _ r: PageReadRequest, index: Int, pageSize: Int) {
        let offset = UInt64(file.layout.fileOffset(ofPage: r.page))
        if let base = regionBase, r.destination >= base, r.destination + pageSize <= base + regionBytes {
            let chunk = (r.destination - base) / chunkBytes
            io_uring_prep_read_fixed(sqe, file.fileDescriptor, r.destination, UInt32(pageSize), offset, Int32(chunk))
        } else {
            io_uring_prep_read(sqe, file.fileDescriptor, r.destination, UInt32(pageSize), offset)
        }
        io_uring_sqe_set_data64(sqe, UInt64(index))
    }

    /// Consumes every completion available now (and waits for one first when `wait`).
    private func reap(_ inFlight: inout Int, _ requests: UnsafeBufferPointer<PageReadRequest>, _ pageSize: Int,
                      _ firstError: inout Error?, wait: Bool) {
        var cqe: UnsafeMutablePointer<io_uring_cqe>?
        if wait {
            var rc: Int32
            repeat { rc = io_uring_wait_cqe(ring, &cqe) } while rc == -EINTR || rc == -EAGAIN
            if rc < 0 { return }
        }
        while io_uring_peek_cqe(ring, &cqe) == 0, let c = cqe {
            let index = Int(io_uring_cqe_get_data64(c))
            let res = c.pointee.res
            io_uring_cqe_seen(ring, c)
            inFlight -= 1
            let r = requests[index]
            if res == -EAGAIN || res == -EINTR {
                retries.append(index)
            } else if res < 0 {
                firstError = firstError ?? StorageError.system(call: "io_uring read", path: file.path, errno: -res)
            } else if Int(res) != pageSize {
                firstError = firstError ?? StorageError.shortRead(path: file.path, page: r.page, bytes: Int(res))
            } else if verifyChecksums {
                do { try file.verify(r.destination, page: r.page) } catch { firstError = firstError ?? error }
            }
        }
    }

    /// Waits for every in-flight read (the destinations must not be handed back while the kernel may write them).
    private func drain(_ inFlight: inout Int, _ requests: UnsafeBufferPointer<PageReadRequest>, _ pageSize: Int,
                       _ firstError: inout Error?) {
        while inFlight > 0 {
            let before = inFlight
            reap(&inFlight, requests, pageSize, &firstError, wait: true)
            if inFlight == before { break }  // wait_cqe failed hard: nothing more will come
        }
        if !retries.isEmpty {
            // Reads that asked to be retried but could not be resubmitted.
            firstError = firstError ?? StorageError.system(call: "io_uring read", path: file.path, errno: EAGAIN)
        }
        retries.removeAll()
    }
}
