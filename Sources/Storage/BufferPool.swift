// A fixed RAM budget of page frames over one page file: CLOCK replacement, pin counts, sharded locks, batched misses.
#if canImport(Glibc)
import Glibc
#endif

/// Which reader a buffer pool uses for its misses.
public enum PageReaderKind: Sendable, Equatable {
    case pread
    /// One ring per concurrent caller (readers are pooled), with the frame arena registered as fixed buffers.
    case ioURing(queueDepth: Int)
}

/// Counters of a buffer pool, summed over its shards.
public struct BufferPoolStatistics: Sendable, Equatable {
    /// Pins served from a frame (including pins that waited for another caller's read of the same page).
    public var hits = 0
    /// Pins that had to read their page.
    public var misses = 0
    /// Valid pages dropped to make room.
    public var evictions = 0
    /// Pages read from the file (misses plus prefetches).
    public var pageReads = 0
    /// Reader calls (one per batch): `pageReads / readBatches` is the mean batch size.
    public var readBatches = 0
    /// Pages brought in by `prefetch(pages:)`.
    public var prefetchedPages = 0

    public var hitRatio: Double { hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses) }
}

/// A pinned page: its bytes stay valid and unchanged until `BufferPool.unpin` (one unpin per pin).
public struct PinnedPage: @unchecked Sendable {
    public let page: UInt64
    public let bytes: UnsafeRawPointer
    let frame: Int32
}

/// Page frames in one 4 KiB-aligned arena, split into shards that each own a contiguous range of frames, a page
/// table, a CLOCK hand and a lock; a page belongs to shard `hash(page) % shards` (`shards: 1` is one global lock).
///
/// A miss reserves a frame (state `loading`, pinned by the loader), drops the shard lock for the I/O, then publishes
/// the frame; other callers wanting that page wait on the shard's condition. A batch (`pin(pages:)`, `prefetch`)
/// reserves all its misses first and reads them in one reader call, so io_uring sees the whole batch at once.
public final class BufferPool: @unchecked Sendable {
    public let file: PageFile
    public let frameCount: Int
    public let pageSize: Int
    public let readerKind: PageReaderKind
    private let arena: AlignedBuffer
    private let shards: [Shard]

    private let readerLock = ConditionLock()
    private var idleReaders: [any PageReader] = []

    /// `budgetBytes / pageSize` frames (at least `shards`, one per shard).
    public init(file: PageFile, budgetBytes: Int, shards: Int = 8, reader: PageReaderKind = .ioURing(queueDepth: 32)) throws {
        let pageSize = file.layout.pageSize
        let frames = budgetBytes / pageSize
        guard shards >= 1, frames >= shards else {
            throw StorageError.invalidArgument("budget of \(budgetBytes) bytes gives \(frames) frames for \(shards) shards")
        }
        self.file = file
        self.pageSize = pageSize
        frameCount = frames
        readerKind = reader
        arena = AlignedBuffer(byteCount: frames * pageSize)
        var list: [Shard] = []
        for s in 0..<shards {
            let first = frames * s / shards, end = frames * (s + 1) / shards
            list.append(Shard(firstFrame: first, count: end - first))
        }
        self.shards = list
        // Fail early (and keep the reader) if io_uring is not available.
        let first = try makeReader()
        idleReaders.append(first)
    }

    /// RAM held by frames.
    public var memoryUsage: Int { arena.count }

    public var statistics: BufferPoolStatistics {
        var total = BufferPoolStatistics()
        for s in shards {
            s.lock.withLock {
                total.hits += s.stats.hits
                total.misses += s.stats.misses
                total.evictions += s.stats.evictions
                total.pageReads += s.stats.pageReads
                total.prefetchedPages += s.stats.prefetchedPages
            }
        }
        total.readBatches = readerLock.withLock { readBatches }
        return total
    }
    private var readBatches = 0

    /// Whether `page` is resident (valid) right now.
    public func contains(_ page: UInt64) -> Bool {
        let s = shard(page)
        return s.lock.withLock { s.table[page].map { s.state[Int($0) - s.firstFrame] == .valid } ?? false }
    }

    @inline(__always) private func shard(_ page: UInt64) -> Shard {
        shards[Int(((page &* 0x9E37_79B9_7F4A_7C15) >> 32) % UInt64(shards.count))]
    }

    // MARK: - Pin / unpin

    /// Pins one page, reading it on a miss. A hit takes the shard lock once and allocates nothing.
    public func pin(_ page: UInt64) throws -> PinnedPage {
        let s = shard(page)
        s.lock.lock()
        if let global = s.table[page], s.state[Int(global) - s.firstFrame] == .valid {
            let f = Int(global) - s.firstFrame
            s.pins[f] += 1
            s.referenced[f] = true
            s.stats.hits += 1
            s.lock.unlock()
            return PinnedPage(page: page, bytes: arena.pointer + Int(global) * pageSize, frame: global)
        }
        s.lock.unlock()
        return try pin(pages: [page])[0]
    }

    /// Pins every page of `pages` (duplicates pin twice); all misses are read in one reader call. On error nothing
    /// stays pinned.
    public func pin(pages: [UInt64]) throws -> [PinnedPage] {
        try load(pages, keepPinned: true, bestEffort: false).pinned
    }

    public func unpin(_ pinned: PinnedPage) {
        let s = shard(pinned.page)
        s.lock.withLock {
            let f = Int(pinned.frame) - s.firstFrame
            precondition(s.pins[f] > 0 && s.page[f] == pinned.page, "unpin of a page that is not pinned")
            s.pins[f] -= 1
        }
    }

    public func unpin(_ pinned: [PinnedPage]) { for p in pinned { unpin(p) } }

    /// Runs `body` on the page's bytes while it is pinned.
    public func withPage<R>(_ page: UInt64, _ body: (PageView) throws -> R) throws -> R {
        let p = try pin(page)
        defer { unpin(p) }
        return try body(PageView(bytes: p.bytes, layout: file.layout))
    }

    /// Brings the non-resident pages of `pages` in with one batched read and leaves them unpinned (referenced, so
    /// CLOCK spares them for one sweep). Best effort: pages that find no free frame are skipped. Returns pages read.
    @discardableResult
    public func prefetch(pages: [UInt64]) throws -> Int {
        try load(pages, keepPinned: false, bestEffort: true).read
    }

    /// Pins the pages of `addresses` with one batched read for the misses, calls `body` for each record (in the
    /// order given, duplicates included), then unpins. This is one beam-search step: the records of a frontier.
    /// Batches with more distinct pages than half a shard's frames are split (and halved again if a shard is
    /// exhausted by other callers' pins), so a large batch degrades to several reads instead of failing.
    public func withRecords(_ addresses: [RecordAddress], _ body: (_ index: Int, _ record: RecordView) throws -> Void) throws {
        let layout = file.layout
        var chunk = max(1, shards.map(\.count).min()! / 2)
        var start = 0
        while start < addresses.count {
            // Take addresses until `chunk` distinct pages are covered.
            var pages: [UInt64] = []
            var pageIndex: [UInt64: Int] = [:]
            var pinOf: [Int] = []
            var end = start
            while end < addresses.count {
                let page = layout.location(of: addresses[end]).page
                if let k = pageIndex[page] { pinOf.append(k) } else {
                    guard pages.count < chunk else { break }
                    pageIndex[page] = pages.count
                    pinOf.append(pages.count)
                    pages.append(page)
                }
                end += 1
            }
            let pins: [PinnedPage]
            do { pins = try pin(pages: pages) } catch StorageError.bufferPoolExhausted where chunk > 1 {
                chunk /= 2
                continue
            }
            defer { unpin(pins) }
            for i in start..<end {
                let slot = layout.location(of: addresses[i]).slot
                try body(i, PageView(bytes: pins[pinOf[i - start]].bytes, layout: layout).recordView(slot))
            }
            start = end
        }
    }

    // MARK: - Loading

    private struct Reservation {
        let index: Int
        let page: UInt64
        let frame: Int
        let shard: Shard
    }

    /// Pins (or, for a prefetch, just loads) `pages`; returns the pins and how many pages this call read.
    private func load(_ pages: [UInt64], keepPinned: Bool, bestEffort: Bool) throws -> (pinned: [PinnedPage], read: Int) {
        for p in pages { try file.checkRange(p) }
        var result = [PinnedPage?](repeating: nil, count: pages.count)
        var reserved: [Reservation] = []
        var waitFor: [Int] = []
        var failure: Error?
        // 1. Hits pin now; misses reserve a frame; pages someone else is loading are handled after our own reads.
        for (i, page) in pages.enumerated() {
            let s = shard(page)
            s.lock.lock()
            if let global = s.table[page] {
                let f = Int(global) - s.firstFrame
                if s.state[f] == .valid {
                    if keepPinned {
                        s.pins[f] += 1
                        s.stats.hits += 1
                        result[i] = PinnedPage(page: page, bytes: arena.pointer + Int(global) * pageSize, frame: global)
                    }
                    s.referenced[f] = true
                } else if keepPinned {
                    waitFor.append(i)
                }
                s.lock.unlock()
                continue
            }
            guard let f = s.victim() else {
                s.lock.unlock()
                if bestEffort { continue }
                failure = StorageError.bufferPoolExhausted(frames: s.count)
                break
            }
            s.page[f] = page
            s.state[f] = .loading
            s.pins[f] = 1
            s.referenced[f] = true
            s.table[page] = Int32(s.firstFrame + f)
            if keepPinned { s.stats.misses += 1 } else { s.stats.prefetchedPages += 1 }
            s.stats.pageReads += 1
            s.lock.unlock()
            reserved.append(Reservation(index: i, page: page, frame: s.firstFrame + f, shard: s))
        }
        // 2. One reader call for all reservations.
        if failure == nil && !reserved.isEmpty {
            let requests = reserved.map { PageReadRequest(page: $0.page, destination: arena.pointer + $0.frame * pageSize) }
            do { try withReader { try $0.read(requests) } } catch { failure = error }
        }
        // 3. Publish (or, on failure, release) the reserved frames.
        for r in reserved {
            let s = r.shard, f = r.frame - s.firstFrame
            s.lock.lock()
            if failure == nil {
                s.state[f] = .valid
                if keepPinned {
                    result[r.index] = PinnedPage(page: r.page, bytes: arena.pointer + r.frame * pageSize, frame: Int32(r.frame))
                } else {
                    s.pins[f] = 0
                }
            } else {
                s.table[r.page] = nil
                s.page[f] = .max
                s.state[f] = .empty
                s.pins[f] = 0
            }
            s.cond.broadcast()
            s.lock.unlock()
        }
        // 4. Pages another caller was loading: wait for them (a failed load is retried by us).
        if failure == nil {
            for i in waitFor {
                do { result[i] = try pinWaiting(pages[i]) } catch {
                    failure = error
                    break
                }
            }
        }
        if let failure {
            for case let p? in result { unpin(p) }
            throw failure
        }
        return (keepPinned ? result.map { $0! } : [], reserved.count)
    }

    /// Pins one page, waiting while another caller loads it.
    private func pinWaiting(_ page: UInt64) throws -> PinnedPage {
        let s = shard(page)
        s.lock.lock()
        while let global = s.table[page], s.state[Int(global) - s.firstFrame] == .loading { s.cond.wait() }
        if let global = s.table[page] {
            let f = Int(global) - s.firstFrame
            s.pins[f] += 1
            s.referenced[f] = true
            s.stats.hits += 1
            s.lock.unlock()
            return PinnedPage(page: page, bytes: arena.pointer + Int(global) * pageSize, frame: global)
        }
        s.lock.unlock()
        return try load([page], keepPinned: true, bestEffort: false).pinned[0]
    }

    // MARK: - Readers

    private func makeReader() throws -> any PageReader {
        switch readerKind {
        case .pread: PReadPageReader(file: file)
        case let .ioURing(depth): try IOURingPageReader(file: file, queueDepth: depth, registeredRegion: arena.bytes)
        }
    }

    /// Checks a reader out for one batch (one ring per concurrent caller), then returns it to the idle list.
    private func withReader<R>(_ body: (any PageReader) throws -> R) throws -> R {
        let idle: (any PageReader)? = readerLock.withLock {
            readBatches += 1
            return idleReaders.popLast()
        }
        let reader = try idle ?? makeReader()
        defer { readerLock.withLock { idleReaders.append(reader) } }
        return try body(reader)
    }
}

/// One shard's frames and page table; every field is guarded by `lock`.
private final class Shard: @unchecked Sendable {
    enum FrameState: UInt8 { case empty, loading, valid }

    let lock = ConditionLock()
    var cond: ConditionLock { lock }
    let firstFrame: Int
    let count: Int
    var table: [UInt64: Int32] = [:]
    var page: [UInt64]
    var state: [FrameState]
    var pins: [Int32]
    var referenced: [Bool]
    var hand = 0
    var stats = BufferPoolStatistics()

    init(firstFrame: Int, count: Int) {
        self.firstFrame = firstFrame
        self.count = count
        page = [UInt64](repeating: .max, count: count)
        state = [FrameState](repeating: .empty, count: count)
        pins = [Int32](repeating: 0, count: count)
        referenced = [Bool](repeating: false, count: count)
        table.reserveCapacity(count)
    }

    /// CLOCK: the next empty frame, or the first unpinned valid frame whose reference bit is clear (clearing bits on
    /// the way). Evicts it from the table. Nil when two sweeps find every frame pinned or loading.
    func victim() -> Int? {
        for _ in 0..<(2 * count + 1) {
            let f = hand
            hand = hand + 1 == count ? 0 : hand + 1
            switch state[f] {
            case .empty: return f
            case .loading: continue
            case .valid:
                if pins[f] > 0 { continue }
                if referenced[f] {
                    referenced[f] = false
                    continue
                }
                table[page[f]] = nil
                page[f] = .max
                state[f] = .empty
                stats.evictions += 1
                return f
            }
        }
        return nil
    }
}
