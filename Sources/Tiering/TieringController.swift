// The node's side of tiering: `vector-memory-limit`, each tiered index's share of it, and the counters INFO reports.
import CStorageShims
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One per node (`TieringController.node`); tests make their own. Shares: the limit is split evenly among the tiered
/// indexes; within a share, the active RAM graph may grow to a half before it is sealed, and the buffer pool gets
/// what the share leaves after the segments' fixed RAM (codes, labels, upper levels) and the active graph.
public final class TieringController: @unchecked Sendable {
    public static let node = TieringController()

    /// Share used by an index created with `STORAGE TIERED` while the node limit is 0 (unlimited).
    public static let defaultShare = 256 << 20

    private let limitBytes = Atomic<Int>(0)
    private let base = Mutex<String>("./vecshard-tiering")
    private let indexes = Mutex<[ObjectIdentifier: WeakIndex]>([:])
    private let logger = Mutex<(@Sendable (String) -> Void)?>(nil)
    public let counters = TieringCounters()

    public init() {}

    /// `vector-memory-limit` in bytes; 0 = unlimited (HNSW indexes stay all in RAM unless created `STORAGE TIERED`).
    public var limit: Int {
        get { limitBytes.load(ordering: .relaxed) }
        set {
            limitBytes.store(max(newValue, 0), ordering: .relaxed)
            let live = liveIndexes
            guard !live.isEmpty else { return }
            // Re-sharing can load or drop segments' resident neighbor lists (a sequential read of each file), so it
            // runs off the caller's thread, which is the event loop for CONFIG SET.
            DispatchQueue.global().async { for index in live { index.rebalancePools(); index.scheduleMaintenance() } }
        }
    }

    /// Where tiered indexes put their directories (`<dir>/vecshard-tiering`).
    public var baseDirectory: String {
        get { base.withLock { $0 } }
        set { base.withLock { $0 = newValue } }
    }

    /// `vector-cold-dir`: where idle segments go ("" = no cold tier).
    public var coldDirectory: String {
        get { cold.withLock { $0.directory } }
        set { cold.withLock { $0.directory = newValue }; startColdClock() }
    }
    /// `vector-cold-after`: seconds without a search, read or write before an index's segments go cold (0 = never).
    public var coldAfterSeconds: Int {
        get { cold.withLock { $0.after } }
        set { cold.withLock { $0.after = max(newValue, 0) }; startColdClock() }
    }
    private let cold = Mutex<(directory: String, after: Int, clock: Bool)>(("", 0, false))

    /// Once the cold tier is configured, every second each idle index is offered to it.
    private func startColdClock() {
        let start = cold.withLock { c -> Bool in
            guard !c.clock, !c.directory.isEmpty, c.after > 0 else { return false }
            c.clock = true
            return true
        }
        guard start else { return }
        coldTick(queue: DispatchQueue(label: "vecshard.tiering.cold"))
    }

    private func coldTick(queue: DispatchQueue) {
        queue.asyncAfter(deadline: .now() + 1) {
            let (directory, after) = self.cold.withLock { ($0.directory, $0.after) }
            for index in self.liveIndexes { index.coolIfIdle(coldDirectory: directory, coldAfterSeconds: after) }
            self.coldTick(queue: queue)
        }
    }

    public func setLogger(_ log: @escaping @Sendable (String) -> Void) { logger.withLock { $0 = log } }
    func log(_ message: String) {
        if let log = logger.withLock({ $0 }) { log(message) } else {
            let line = Array((message + "\n").utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        }
    }

    /// A fresh directory for a new tiered index.
    public func newIndexDirectory(name: String) -> String {
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(64))
        var random = SystemRandomNumberGenerator()
        return baseDirectory + "/" + safe + "-" + String(random.next() as UInt64, radix: 16)
    }

    func register(_ index: TieredHNSWIndex) { indexes.withLock { $0[ObjectIdentifier(index)] = WeakIndex(index: index) } }
    func unregister(_ index: TieredHNSWIndex) { _ = indexes.withLock { $0.removeValue(forKey: ObjectIdentifier(index)) } }

    var liveIndexes: [TieredHNSWIndex] {
        indexes.withLock { table in
            table = table.filter { $0.value.index != nil }
            return table.values.compactMap(\.index)
        }
    }

    /// This index's share of the limit.
    func share(for index: TieredHNSWIndex) -> Int {
        let limit = self.limit
        guard limit > 0 else { return TieringController.defaultShare }
        // Indexes whose segments are all cold hold no RAM: the warm ones share the limit.
        return limit / max(liveIndexes.filter { !$0.isCold || $0 === index }.count, 1)
    }

    /// Active-graph memory above which it is sealed.
    /// Half the share: every seal merges into the segment on code estimates, and fewer, larger merges keep more of the
    /// exact RAM graph's edges (a quarter gave twice the merges for the same load).
    func activeCap(for index: TieredHNSWIndex) -> Int? { max(share(for: index) / 2, minimumActiveCap) }

    /// Floor of the active graph's cap, so a tiny limit does not seal every few vectors (tests lower it).
    public var minimumActiveCap: Int {
        get { minimumCap.load(ordering: .relaxed) }
        set { minimumCap.store(newValue, ordering: .relaxed) }
    }
    private let minimumCap = Atomic<Int>(1 << 20)

    /// Buffer-pool bytes for all of an index's segments together.
    func poolShare(for index: TieredHNSWIndex) -> Int {
        let (fixed, active) = index.fixedAndActiveMemory
        return max(share(for: index) - fixed - active, 0)
    }

    // MARK: - Write stalls

    /// Indexes whose writers should wait: a tiered index whose next seal is already due while one is still running
    /// (or a bulk load outruns sealing and holds itself in RAM: 1M × 128 at a 185 MB limit had 726 MB of RAM graphs
    /// at the end of its load), or any HNSW index whose write buffer is full (its writers would otherwise link
    /// vectors themselves, on the event loop).
    private let stalled = Mutex<Set<ObjectIdentifier>>([])
    private let stallFlag = Atomic<Bool>(false)
    private let writableHandler = Mutex<(@Sendable () -> Void)?>(nil)

    /// True while some index's writes should wait (one atomic load: writers check it after every write).
    public var writeStalled: Bool { stallFlag.load(ordering: .relaxed) }

    /// `body` runs (on a background thread) each time the last stall clears.
    public func setWritableHandler(_ body: @escaping @Sendable () -> Void) { writableHandler.withLock { $0 = body } }

    /// Marks `index` as stalled (its writers should wait).
    public func stall(_ index: AnyObject) { _ = updateStalls { $0.insert(ObjectIdentifier(index)) } }

    /// Clears `index`'s stall; when it was the last one, the writable handler runs.
    public func clearStall(_ index: AnyObject) {
        let cleared = updateStalls { $0.remove(ObjectIdentifier(index)) }
        if cleared { writableHandler.withLock { $0 }?() }
    }

    /// Applies `change` to the stalled set; true when that emptied it.
    private func updateStalls(_ change: (inout Set<ObjectIdentifier>) -> Void) -> Bool {
        stalled.withLock { set in
            let was = !set.isEmpty
            change(&set)
            stallFlag.store(!set.isEmpty, ordering: .relaxed)
            return was && set.isEmpty
        }
    }

    /// Makes RSS follow frees, which tiering relies on (it measures and bounds RSS): glibc's default raises its mmap
    /// threshold up to 32 MB after the first large free, after which the growing arenas of RAM graphs, seals and
    /// compactions come from per-thread heaps that keep their pages (a server at a 45 MB limit showed 177 MB in four
    /// thread arenas during a load). Allocations of 256 KiB and more are mmapped and go back on free; two arenas.
    /// Same-run A/B on an all-RAM server (pypi-50k, ef 40, 3 alternating rounds): 4,168 / 4,223 / 4,328 QPS with
    /// this setting vs 4,160 / 4,266 / 3,779 without, so the hot path does not pay for it.
    public static func configureProcessMemory() { vs_configure_malloc(256 << 10, 2) }

    /// Gives freed arenas back to the kernel after a compaction (glibc keeps freed heap otherwise; RSS is what counts).
    func releaseFreedMemory() { _ = vs_release_free_memory() }

    /// Node totals for `INFO tiering`.
    public var report: TieringNodeReport {
        var r = TieringNodeReport()
        r.limit = limit
        for index in liveIndexes {
            let i = index.report
            r.indexes += 1
            r.ramBytes += i.ramBytes; r.ssdBytes += i.ssdBytes; r.segments += i.segments; r.poolBytes += i.poolBytes
            r.residentListBytes += i.residentListBytes
            r.poolHits += i.poolHits; r.poolMisses += i.poolMisses; r.promotions += i.promotions; r.evictions += i.evictions
            r.hotRecordBytes += i.hotRecordBytes; r.hotRecordHits += i.hotRecordHits
            r.hotRecordAdmissions += i.hotRecordAdmissions
            r.compactionDebtBytes += i.compactionDebtBytes
            r.coldBytes += i.coldBytes
            r.coldSegments += i.coldSegments
            r.busy = r.busy || i.busy
        }
        counters.fill(&r)
        return r
    }
}

struct WeakIndex { weak var index: TieredHNSWIndex? }

extension TieredHNSWIndex {
    /// Segments' RAM besides their pools, and the RAM graphs (active and sealing).
    var fixedAndActiveMemory: (Int, Int) { memorySplit() }
}

/// Query-side counters shared by every segment of the node.
public final class TieringCounters: @unchecked Sendable {
    let queries = Atomic<Int>(0)
    let pagesRead = Atomic<Int>(0)
    let batches = Atomic<Int>(0)
    let readNanoseconds = Atomic<Int>(0)
    let pagesWritten = Atomic<Int>(0)
    let seals = Atomic<Int>(0)
    let compactions = Atomic<Int>(0)
    /// Seals merged into an existing segment (the others started the first segment).
    let merges = Atomic<Int>(0)
    /// Cold tier: segments moved out, opened in place from the cold directory, and moved back.
    let coolings = Atomic<Int>(0)
    let coldLoads = Atomic<Int>(0)
    let promotionsFromCold = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    /// SSD pages read per query: exact counts 0…254, the last bucket for more.
    private let histogram = Mutex<[Int]>([Int](repeating: 0, count: 256))
    /// Pages read by the query running on this thread, summed over its segments.
    private let perThread = Mutex<[UInt: Int]>([:])

    func beginQuery() { perThread.withLock { $0[threadKey()] = 0 } }

    func recordQuery(pagesRead pages: Int, batches b: Int, nanoseconds: Int) {
        if pages > 0 {
            pagesRead.add(pages, ordering: .relaxed)
            batches.add(b, ordering: .relaxed)
            readNanoseconds.add(nanoseconds, ordering: .relaxed)
        }
        perThread.withLock { if let n = $0[threadKey()] { $0[threadKey()] = n + pages } }
    }

    func endQuery() {
        let pages = perThread.withLock { $0.removeValue(forKey: threadKey()) } ?? 0
        queries.add(1, ordering: .relaxed)
        histogram.withLock { $0[min(pages, 255)] += 1 }
    }

    private func threadKey() -> UInt { UInt(bitPattern: Int(bitPattern: UInt(pthread_self()))) }

    func fill(_ r: inout TieringNodeReport) {
        r.queries = queries.load(ordering: .relaxed)
        r.ssdReads = pagesRead.load(ordering: .relaxed)
        r.readBatches = batches.load(ordering: .relaxed)
        r.pagesWritten = pagesWritten.load(ordering: .relaxed)
        r.seals = seals.load(ordering: .relaxed)
        r.compactions = compactions.load(ordering: .relaxed)
        r.merges = merges.load(ordering: .relaxed)
        r.coolings = coolings.load(ordering: .relaxed)
        r.coldLoads = coldLoads.load(ordering: .relaxed)
        r.promotionsFromCold = promotionsFromCold.load(ordering: .relaxed)
        r.failures = failures.load(ordering: .relaxed)
        r.readsPerQueryMean = r.queries > 0 ? Double(r.ssdReads) / Double(r.queries) : 0
        r.readLatencyMicrosMean = r.readBatches > 0 ? Double(readNanoseconds.load(ordering: .relaxed)) / 1000 / Double(r.readBatches) : 0
        let h = histogram.withLock { $0 }
        let total = h.reduce(0, +)
        if total > 0 {
            var seen = 0
            for (pages, n) in h.enumerated() {
                seen += n
                if Double(seen) >= 0.99 * Double(total) { r.readsPerQueryP99 = pages; break }
            }
        }
    }

    /// Clears the query counters (`CONFIG RESETSTAT`).
    public func reset() {
        queries.store(0, ordering: .relaxed); pagesRead.store(0, ordering: .relaxed); batches.store(0, ordering: .relaxed)
        readNanoseconds.store(0, ordering: .relaxed)
        histogram.withLock { $0 = [Int](repeating: 0, count: 256) }
    }
}

/// One tiered index, for FT.INFO.
public struct TieringIndexReport: Sendable {
    public init() {}
    public var ramBytes = 0, ssdBytes = 0, segments = 0, ramVectors = 0, ssdVectors = 0, poolBytes = 0
    /// Level-0 lists held in RAM (part of `ramBytes`, like the pool).
    public var residentListBytes = 0
    /// The pool's hot records (part of `poolBytes`): bytes, lookups they answered, records admitted.
    public var hotRecordBytes = 0, hotRecordHits = 0, hotRecordAdmissions = 0
    public var poolHits = 0, poolMisses = 0, promotions = 0, evictions = 0, compactionDebtBytes = 0
    public var coldBytes = 0, coldVectors = 0, coldSegments = 0
    public var busy = false
    public var poolHitRatio: Double { poolHits + poolMisses == 0 ? 0 : Double(poolHits) / Double(poolHits + poolMisses) }
}

/// The node, for `INFO tiering`.
public struct TieringNodeReport: Sendable {
    public init() {}
    public var limit = 0, indexes = 0, ramBytes = 0, ssdBytes = 0, segments = 0, poolBytes = 0, residentListBytes = 0
    public var hotRecordBytes = 0, hotRecordHits = 0, hotRecordAdmissions = 0
    public var poolHits = 0, poolMisses = 0, promotions = 0, evictions = 0, compactionDebtBytes = 0
    public var busy = false
    public var queries = 0, ssdReads = 0, readBatches = 0, pagesWritten = 0, seals = 0, compactions = 0, failures = 0
    public var merges = 0
    public var coldBytes = 0, coldSegments = 0, coldLoads = 0, coolings = 0, promotionsFromCold = 0
    public var readsPerQueryMean = 0.0, readsPerQueryP99 = 0, readLatencyMicrosMean = 0.0
    public var poolHitRatio: Double { poolHits + poolMisses == 0 ? 0 : Double(poolHits) / Double(poolHits + poolMisses) }

    /// `INFO tiering` lines (without the section header).
    public var infoLines: [String] {
        let f = formatDecimal
        return [
            "vector_memory_limit:\(limit)", "tiering_indexes:\(indexes)", "tiering_ram_bytes:\(ramBytes)",
            "tiering_ssd_bytes:\(ssdBytes)", "tiering_cold_bytes:\(coldBytes)",
            "tiering_segments:\(segments)", "tiering_cold_segments:\(coldSegments)",
            "tiering_busy:\(busy ? 1 : 0)", "tiering_pool_bytes:\(poolBytes)", "tiering_resident_list_bytes:\(residentListBytes)", "tiering_pool_hits:\(poolHits)",
            "tiering_pool_misses:\(poolMisses)", "tiering_pool_hit_ratio:\(f(poolHitRatio))",
            "tiering_hot_record_bytes:\(hotRecordBytes)", "tiering_hot_record_hits:\(hotRecordHits)",
            "tiering_hot_record_admissions:\(hotRecordAdmissions)",
            "tiering_queries:\(queries)", "tiering_ssd_reads:\(ssdReads)",
            "tiering_ssd_reads_per_query_mean:\(f(readsPerQueryMean))", "tiering_ssd_reads_per_query_p99:\(readsPerQueryP99)",
            "tiering_read_batches:\(readBatches)", "tiering_read_latency_us_mean:\(f(readLatencyMicrosMean))",
            "tiering_promotions:\(promotions)", "tiering_evictions:\(evictions)", "tiering_pages_written:\(pagesWritten)",
            "tiering_seals:\(seals)", "tiering_merges:\(merges)", "tiering_compactions:\(compactions)", "tiering_failures:\(failures)",
            "tiering_compaction_debt_bytes:\(compactionDebtBytes)",
            "tiering_cold_moves:\(coolings)", "tiering_cold_loads:\(coldLoads)", "tiering_cold_promotions:\(promotionsFromCold)",
        ]
    }
}

/// Four decimals, no exponent (INFO values are parsed by scripts).
func formatDecimal(_ x: Double) -> String {
    let scaled = Int((x * 10000).rounded())
    let whole = scaled / 10000, frac = abs(scaled % 10000)
    let fracText = String(frac)
    return "\(whole).\(String(repeating: "0", count: 4 - fracText.count))\(fracText)"
}
