// An HNSW index that spans RAM and SSD: writes go to an in-RAM graph, which is sealed into page-file segments in the
// background when it outgrows its share of `vector-memory-limit`; segments are merged by background compaction.
import Dispatch
import Storage
import Synchronization
import VectorIndex
#if canImport(Glibc)
import Glibc
#endif

/// Life of a vector: `add` puts it in the active RAM graph (searchable at once). When the active graph's memory
/// passes its cap, it is frozen ("sealing": still searched in RAM, no more writes) and a background task writes it
/// as a segment, then swaps the segment in. Deletes and updates of labels already on SSD are tombstones in their
/// segment. Compaction rebuilds several segments into one graph without their tombstoned records (background).
///
/// The directory holds the segment files and a manifest naming the current set; both are replaced atomically
/// (write + fsync + rename), so a crash at any moment leaves a set that `open` can load without rebuilding.
public final class TieredHNSWIndex: VectorIndex, @unchecked Sendable {
    public let parameters: VectorIndexParameters
    public let directory: String
    let controller: TieringController

    struct State {
        var active: HNSWIndex
        var sealing: HNSWIndex?
        var sealingDeletes: Set<UInt64> = []
        var segments: [DiskSegment] = []
        var busy = false
        var nextSegment = 1
        var lastWrite = 0
        var closed = false
        /// Segments moved to the cold directory and released from RAM (see TieredHNSWIndex+Cold.swift).
        var cold: [ColdSegment] = []
        /// Segments opened from the cold directory and not yet moved back: path → searches since opening.
        var warmedFromCold: [String: Int] = [:]
    }
    let state: Mutex<State>
    /// Writers hold it shared while they write to the active graph; freezing the active graph takes it exclusively,
    /// so no write lands in a graph that is being written out.
    let swapLock = SharedExclusiveLock()
    let worker = DispatchQueue(label: "vecshard.tiering.maintenance")
    private let writesSinceCheck = Atomic<Int>(0)
    /// Last search, read or write (the cold tier's idle clock).
    let lastAccess = Atomic<Int>(monotonicNanoseconds())
    /// True while some segments are cold (a lock-free fast path for `warmIfCold`).
    let hasCold = Atomic<Bool>(false)
    /// Serializes opening cold segments.
    let warming = Mutex<Void>(())
    /// Width of a level-0 search step: records read with one io_uring submission.
    public var beamWidth = 4

    /// A new, empty tiered index in `directory` (created; existing segment files there are removed).
    public init(_ parameters: VectorIndexParameters, directory: String, controller: TieringController) throws {
        guard parameters.algorithm == .hnsw else { throw VectorIndexError.invalidParameter("tiered storage needs HNSW") }
        self.parameters = parameters
        self.directory = directory
        self.controller = controller
        try TieredHNSWIndex.makeDirectory(directory)
        for name in TieredHNSWIndex.listDirectory(directory) { unlink(directory + "/" + name) }
        state = Mutex(State(active: try HNSWIndex(TieredHNSWIndex.activeParameters(parameters))))
        controller.register(self)
    }

    /// Reopens the segments named by `directory`'s manifest (nothing is rebuilt). The active graph starts empty.
    public init(opening directory: String, parameters: VectorIndexParameters, controller: TieringController) throws {
        self.parameters = parameters
        self.directory = directory
        self.controller = controller
        var segments: [DiskSegment] = []
        var next = 1
        for name in try TieredHNSWIndex.readManifest(directory) {
            let path = name.hasPrefix("/") ? name : directory + "/" + name
            let segment = try DiskSegment(path: path, poolBytes: 0, statistics: controller.counters)
            try TieredHNSWIndex.applyDeletedSidecar(segment)
            segments.append(segment)
            if let n = Int(name.dropFirst(4).prefix(while: { $0 != "." })) { next = max(next, n + 1) }
        }
        var s = State(active: try HNSWIndex(TieredHNSWIndex.activeParameters(parameters)))
        s.segments = segments
        s.nextSegment = next
        state = Mutex(s)
        controller.register(self)
        rebalancePools()
    }

    deinit {
        let dropped = state.withLock { s -> Bool in
            defer { s.segments = [] }
            return s.closed
        }
        if dropped { rmdir(directory) }
    }

    /// Stops background work and deletes the files (FT.DROPINDEX, FLUSHALL): segments unlink their files when the
    /// last search lets go of them.
    public func drop() {
        let segments = state.withLock { s -> [DiskSegment] in s.closed = true; return s.segments }
        for segment in segments { segment.obsolete.store(true, ordering: .releasing) }
        unlink(directory + "/MANIFEST")
        controller.unregister(self)
        controller.clearStall(self)
    }

    private static func activeParameters(_ p: VectorIndexParameters) -> VectorIndexParameters {
        var q = p
        q.initialCapacity = min(p.initialCapacity, 1024)
        q.quantization = .none
        return q
    }

    // MARK: - Sizes

    public var count: Int {
        let s = state.withLock { ($0.active, $0.sealing, $0.sealingDeletes.count, $0.segments, $0.cold) }
        return s.0.count + (s.1.map { $0.count - s.2 } ?? 0) + s.3.reduce(0) { $0 + $1.liveCount }
            + s.4.reduce(0) { $0 + $1.vectors }
    }

    public var memoryUsage: Int {
        let s = state.withLock { ($0.active, $0.sealing, $0.segments) }
        return s.0.memoryUsage + (s.1?.memoryUsage ?? 0) + s.2.reduce(0) { $0 + $1.memoryUsage }
    }

    /// What INFO and FT.INFO report for this index.
    public var report: TieringIndexReport {
        let s = state.withLock { ($0.active, $0.sealing, $0.segments, $0.busy) }
        var r = TieringIndexReport()
        let cold = state.withLock { $0.cold }
        r.coldBytes = cold.reduce(0) { $0 + $1.bytes }
        r.coldVectors = cold.reduce(0) { $0 + $1.vectors }
        r.coldSegments = cold.count
        r.ramBytes = s.0.memoryUsage + (s.1?.memoryUsage ?? 0) + s.2.reduce(0) { $0 + $1.memoryUsage }
        r.ssdBytes = s.2.reduce(0) { $0 + $1.ssdBytes }
        r.segments = s.2.count
        r.ramVectors = s.0.count + (s.1?.count ?? 0)
        r.ssdVectors = s.2.reduce(0) { $0 + $1.liveCount }
        r.residentListBytes = s.2.reduce(0) { $0 + ($1.residentLists?.memoryUsage ?? 0) }
        for segment in s.2 {
            let pool = segment.pool, p = pool.statistics
            r.poolBytes += pool.memoryUsage
            r.poolHits += p.hits; r.poolMisses += p.misses; r.evictions += p.evictions; r.promotions += p.pageReads
            if let hot = segment.hotRecords {
                // Hot records are part of the pool: a hit there is a pool hit; a miss shows as the frame lookup
                // that follows it.
                let h = hot.statistics
                r.poolBytes += hot.memoryUsage; r.hotRecordBytes += hot.memoryUsage
                r.poolHits += h.hits; r.hotRecordHits += h.hits
                r.hotRecordAdmissions += h.admissions; r.evictions += h.evictions
            }
        }
        r.compactionDebtBytes = s.2.reduce(0) { $0 + $1.deleted * $1.layout.recordSize }
            + (s.2.count > 1 ? s.2.reduce(0) { $0 + $1.ssdBytes } : 0)
        r.busy = s.3 || s.1 != nil || (s.2.count > 1) || needsSeal(s.0)
            || idleSealDue(s.0, segments: s.2, idleNanos: .max)  // due once writes pause
        return r
    }

    // MARK: - Writes

    public func add(label: UInt64, vector: UnsafeRawBufferPointer) throws {
        guard vector.count == parameters.vectorByteCount else {
            throw VectorIndexError.wrongBlobSize(expected: parameters.vectorByteCount, got: vector.count)
        }
        try warmIfCold()
        try swapLock.withShared {
            let (active, segments) = state.withLock { s -> (HNSWIndex, [DiskSegment]) in
                if let sealing = s.sealing, !s.sealingDeletes.contains(label), sealing.contains(label: label) {
                    s.sealingDeletes.insert(label)
                }
                s.lastWrite = monotonicNanoseconds()
                return (s.active, s.segments)
            }
            for segment in segments { segment.tombstone(label: label) }
            try active.add(label: label, vector: vector)
            stallIfSealingBehind(active)
        }
        if writesSinceCheck.add(1, ordering: .relaxed).newValue % 128 == 0 { scheduleMaintenance() }
    }

    /// Asks the node to hold writers while the next seal is due and the running one has not landed: the active graph
    /// then stops at about its cap (plus what is queued in front of it) instead of taking the whole load. Set under
    /// the state lock, where `maintain` ends its run before clearing, so a stall can never outlive the run.
    private func stallIfSealingBehind(_ active: HNSWIndex) {
        // Most writes find no seal running: look at that before working out the share.
        guard state.withLock({ $0.busy && $0.sealing != nil }),
              let cap = controller.activeCap(for: self), active.memoryUsage > cap else { return }
        state.withLock { s in
            if s.busy, s.sealing != nil, !s.closed { controller.stall(self) }
        }
    }

    @discardableResult
    public func remove(label: UInt64) -> Bool { delete(label, repairNow: true) }

    /// As `remove`, but a label in the RAM graph is only detached there (O(1)); the repair around it is left to
    /// `repairDetached`, which the search layer runs on a background thread. Repairing at once cost ~490 µs per DEL on
    /// the event loop during a burst of writes (a 20 % pypi server), since recent writes are in the RAM graph.
    @discardableResult
    public func detach(label: UInt64) -> Bool { delete(label, repairNow: false) }

    /// Repairs up to `limit` detached nodes of the RAM graph; returns how many are left there. A graph being sealed
    /// repairs its own before it is written (`seal`), so only the current RAM graph is this caller's.
    @discardableResult
    public func repairDetached(limit: Int) -> Int {
        swapLock.withShared { state.withLock { $0.active }.repairDetached(limit: limit) }
    }

    private func delete(_ label: UInt64, repairNow: Bool) -> Bool {
        try? warmIfCold()
        return swapLock.withShared {
            let (active, segments, inSealing) = state.withLock { s -> (HNSWIndex, [DiskSegment], Bool) in
                var found = false
                if let sealing = s.sealing, !s.sealingDeletes.contains(label), sealing.contains(label: label) {
                    s.sealingDeletes.insert(label)
                    found = true
                }
                return (s.active, s.segments, found)
            }
            var removed = (repairNow ? active.remove(label: label) : active.detach(label: label)) || inSealing
            for segment in segments where segment.tombstone(label: label) { removed = true }
            return removed
        }
    }

    public func contains(label: UInt64) -> Bool {
        try? warmIfCold()
        let s = state.withLock { ($0.active, $0.sealing, $0.sealingDeletes.contains(label), $0.segments) }
        if s.0.contains(label: label) { return true }
        if let sealing = s.1, !s.2, sealing.contains(label: label) { return true }
        return s.3.contains { $0.contains(label: label) }
    }

    public func vectorBytes(label: UInt64) -> [UInt8]? {
        try? warmIfCold()
        let s = state.withLock { ($0.active, $0.sealing, $0.sealingDeletes.contains(label), $0.segments) }
        if let bytes = s.0.vectorBytes(label: label) { return bytes }
        if let sealing = s.1, !s.2, let bytes = sealing.vectorBytes(label: label) { return bytes }
        for segment in s.3.reversed() { if let bytes = segment.vectorBytes(label: label) { return bytes } }
        return nil
    }

    // MARK: - Search

    public func search(query: UnsafeRawBufferPointer, k: Int, efRuntime: Int?, filter: SearchFilter?) throws -> [VectorMatch] {
        guard query.count == parameters.vectorByteCount else {
            throw VectorIndexError.wrongBlobSize(expected: parameters.vectorByteCount, got: query.count)
        }
        guard k > 0 else { return [] }
        try warmIfCold()
        let s = state.withLock { ($0.active, $0.sealing, $0.sealingDeletes, $0.segments) }
        // At least 32 candidates in every tier: segments are walked on code estimates, and the RAM graph holds the
        // newest writes, where an isolated vector (an update far from the rest, in CI) was missed by its own query at
        // RediSearch's default EF_RUNTIME of 10 and found at 32.
        let ef = max(efRuntime ?? parameters.efRuntime, k, 32)
        var all = try s.0.search(query: query, k: k, efRuntime: ef, filter: filter)
        if let sealing = s.1 {
            all += try sealing.search(query: query, k: k, efRuntime: ef, filter: excluding(s.2, filter))
        }
        if !s.3.isEmpty {
            controller.counters.beginQuery()
            for segment in s.3 {
                all += try segment.search(query: query, k: k, ef: ef, beamWidth: beamWidth, filter: filter, excluded: [])
            }
            controller.counters.endQuery()
            noteSearch(of: s.3)
        }
        return best(all, limit: k)
    }

    public func rangeSearch(query: UnsafeRawBufferPointer, radius: Float, epsilon: Double?, filter: SearchFilter?) throws
        -> [VectorMatch] {
        try warmIfCold()
        let s = state.withLock { ($0.active, $0.sealing, $0.sealingDeletes, $0.segments) }
        var all = try s.0.rangeSearch(query: query, radius: radius, epsilon: epsilon, filter: filter)
        if let sealing = s.1 {
            all += try sealing.rangeSearch(query: query, radius: radius, epsilon: epsilon, filter: excluding(s.2, filter))
        }
        if !s.3.isEmpty {
            controller.counters.beginQuery()
            // A segment answers KNN; widen k until the farthest match leaves the radius (or the segment is exhausted).
            for segment in s.3 {
                var k = 32
                while true {
                    let found = try segment.search(query: query, k: k, ef: max(k, parameters.efRuntime), beamWidth: beamWidth,
                                                   filter: filter, excluded: [])
                    if found.count < k || found[found.count - 1].distance > radius || k >= segment.liveCount {
                        all += found.filter { $0.distance <= radius }
                        break
                    }
                    k *= 4
                }
            }
            controller.counters.endQuery()
        }
        return best(all, limit: .max)
    }

    private func excluding(_ deleted: Set<UInt64>, _ filter: SearchFilter?) -> SearchFilter? {
        if deleted.isEmpty { return filter }
        if let filter { return SearchFilter(allows: { !deleted.contains($0) && filter.allows($0) }) }
        return SearchFilter(allows: { !deleted.contains($0) })
    }

    /// Sorted by distance then label, one entry per label (a label is live in one tier only; this guards races).
    private func best(_ all: [VectorMatch], limit: Int) -> [VectorMatch] {
        var sorted = all
        sortMatches(&sorted)
        var seen = Set<UInt64>()
        var out: [VectorMatch] = []
        for m in sorted where seen.insert(m.label).inserted {
            out.append(m)
            if out.count == limit { break }
        }
        return out
    }

    /// An index of segments has no single-graph serialization; the segment files and manifest are its persistence.
    public func serialize() -> [UInt8] { [] }

    /// Loads the first `pages` pages of every segment into its pool (the entry neighborhoods); returns pages read.
    public func warmUp(pages: Int) throws -> Int {
        try warmIfCold()
        let segments = state.withLock { $0.segments }
        return try segments.reduce(0) { $0 + (try $1.warmUp(pages: pages)) }
    }

    // MARK: - Maintenance

    private func needsSeal(_ active: HNSWIndex) -> Bool {
        guard let cap = controller.activeCap(for: self) else { return false }
        return active.count > 0 && active.memoryUsage > cap
    }

    /// Writes paused this long with vectors left in the active graph of an index that already has segments: seal
    /// them. Otherwise the tail of a bulk load stays in RAM (up to half the share) and its segments get that much
    /// less: 1M × 128 at 176 MiB kept the page walk (71 reads/query at ef 80) because the lists no longer fit.
    static let idleSealNanoseconds = 2_000_000_000

    /// An active graph worth sealing once writes pause (below this, sealing costs a merge for little RAM).
    private func idleSealDue(_ active: HNSWIndex, segments: [DiskSegment], idleNanos: Int) -> Bool {
        !segments.isEmpty && active.count > 0 && active.memoryUsage >= controller.minimumActiveCap
            && idleNanos >= Self.idleSealNanoseconds
    }

    /// Queues a seal or compaction if one is due and none is running.
    func scheduleMaintenance() {
        let start = state.withLock { s -> Bool in
            guard !s.busy, !s.closed else { return false }
            s.busy = true
            return true
        }
        guard start else { return }
        worker.async { self.maintain() }
    }

    /// Runs due work until none is left: seal an oversized active graph; merge segments when there are many, or
    /// when writes have paused for a second.
    private func maintain() {
        while true {
            let (active, segments, idleNanos, closed) = state.withLock {
                ($0.active, $0.segments, monotonicNanoseconds() - $0.lastWrite, $0.closed)
            }
            if closed { break }
            do {
                if needsSeal(active) || idleSealDue(active, segments: segments, idleNanos: idleNanos) {
                    try seal()
                } else if segments.count >= 8 {
                    try compact(Array(segments.sorted { $0.count < $1.count }.prefix(4)))
                } else if segments.count >= 2 && idleNanos > 1_000_000_000 {
                    try compact(segments)
                } else if segments.count == 1, let only = segments.first, only.liveCount == 0 {
                    try removeEmpty(only)
                } else if segments.count == 1, let only = segments.first, only.deleted * 4 > only.count {
                    try consolidate(only)
                } else {
                    break
                }
            } catch {
                // FT.DROPINDEX removed the directory under a running seal or merge: expected, not a failure.
                if state.withLock({ $0.closed }) { break }
                controller.counters.failures.add(1, ordering: .relaxed)
                controller.log("tiering: background work on \(directory) failed: \(error)")
                break
            }
        }
        // Writers held by `stallIfSealingBehind` go on, also after a failure (a stall must never outlive its cause).
        state.withLock { $0.busy = false }
        controller.clearStall(self)
        // More segments than one, or an active graph to seal, and writes still coming: look again once they pause.
        let again = state.withLock { s in
            !s.closed && (s.segments.count >= 2 || idleSealDue(s.active, segments: s.segments, idleNanos: .max))
        }
        if again { worker.asyncAfter(deadline: .now() + 1.2) { self.scheduleMaintenance() } }
    }

    /// Freezes the active graph, writes it as a segment and swaps the segment in.
    /// Freezes the active graph and moves it to SSD: merged into the largest segment when there is one (its records
    /// are not loaded: see `DiskSegment.merge`), else written as the first segment. A graph left frozen by a failed
    /// seal is retried first.
    private func seal() throws {
        try warmIfCold()
        let fresh = try HNSWIndex(TieredHNSWIndex.activeParameters(parameters))
        let frozen: HNSWIndex = swapLock.withExclusive {
            state.withLock { s in
                if let stuck = s.sealing { return stuck }
                let old = s.active
                s.sealing = old
                s.sealingDeletes = []
                s.active = fresh
                return old
            }
        }
        // Merge into the largest segment that still has a live record (its entry point and codebook carry over);
        // segments with none (all deleted, e.g. by FLUSHALL) are simply replaced.
        let (name, target, empty) = state.withLock { s -> (String, DiskSegment?, [DiskSegment]) in
            defer { s.nextSegment += 1 }
            let usable = s.segments.filter { $0.liveCount > 0 && $0.entry != .max }
            return ("seg-\(s.nextSegment).vsp", usable.max { $0.count < $1.count }, s.segments.filter { $0.liveCount == 0 })
        }
        // Deletes detached in it and not yet repaired are repaired now: the frozen view must not change while written.
        frozen.repairDetached(limit: .max)
        let deletedAtStart = state.withLock { $0.sealingDeletes }
        let mark = target?.deletionLogCount ?? 0
        if target == nil { frozen.repairReachability() } // a merge repairs the merged lists itself
        let segment = try frozen.withFrozenGraph { graph in
            if let target {
                return try DiskSegment.merge(graph, into: target, deleted: deletedAtStart, path: directory + "/" + name,
                                             poolBytes: controller.poolShare(for: self), shareBytes: controller.share(for: self),
                                             statistics: controller.counters) { self.state.withLock { $0.closed } }
            }
            return try DiskSegment.write(graph: graph, path: directory + "/" + name, deleted: deletedAtStart,
                                         poolBytes: controller.poolShare(for: self), shareBytes: controller.share(for: self),
                                         statistics: controller.counters)
        }
        try install(segment, replacing: (target.map { [$0] } ?? []) + empty) { s in
            for label in s.sealingDeletes { segment.tombstone(label: label) }
            if let target { for label in target.deletions(from: mark) { segment.tombstone(label: label) } }
            s.sealing = nil
            s.sealingDeletes = []
        }
        // The frozen graph is gone (`sealing` is nil, so no writer stalls again until the next seal starts).
        controller.clearStall(self)
        controller.counters.seals.add(1, ordering: .relaxed)
        if target != nil { controller.counters.merges.add(1, ordering: .relaxed) }
        controller.releaseFreedMemory()
    }

    /// Forgets a segment whose records are all deleted (FLUSHALL, say): nothing to rewrite.
    private func removeEmpty(_ victim: DiskSegment) throws {
        let names: [String]? = swapLock.withExclusive {
            state.withLock { s in
                if s.closed || victim.liveCount > 0 { return nil }
                s.segments.removeAll { $0 === victim }
                return manifestEntries(s)
            }
        }
        guard let names else { return }
        try TieredHNSWIndex.writeManifest(directory, names: names)
        victim.obsolete.store(true, ordering: .releasing)
        controller.counters.compactions.add(1, ordering: .relaxed)
        rebalancePools()
    }

    /// Rewrites a segment without its deleted records (RAM: its lists and codes only), replaying deletes that
    /// happen meanwhile.
    private func consolidate(_ victim: DiskSegment) throws {
        let mark = victim.deletionLogCount
        let name = state.withLock { s -> String in defer { s.nextSegment += 1 }; return "seg-\(s.nextSegment).vsp" }
        let segment = try DiskSegment.consolidate(victim, path: directory + "/" + name,
                                                  poolBytes: controller.poolShare(for: self), statistics: controller.counters)
        try install(segment, replacing: [victim]) { _ in
            for label in victim.deletions(from: mark) { segment.tombstone(label: label) }
        }
        controller.counters.compactions.add(1, ordering: .relaxed)
        controller.releaseFreedMemory()
    }

    /// Rebuilds `victims` into one segment (live records only), replaying deletes that happen meanwhile.
    private func compact(_ victims: [DiskSegment]) throws {
        let marks = victims.map { $0.deletionLogCount }
        let total = victims.reduce(0) { $0 + $1.liveCount }
        var p = parameters
        p.initialCapacity = max(total, 16)
        p.quantization = .none
        let graph = try HNSWIndex(p)
        var labels: [UInt64] = []
        labels.reserveCapacity(total)
        var vectors = [UInt8]()
        vectors.reserveCapacity(total * parameters.vectorByteCount)
        for segment in victims {
            try segment.forEachLive { label, vector in labels.append(label); vectors.append(contentsOf: vector) }
        }
        // Dropped meanwhile: skip the rebuild (the long part) and the write.
        if state.withLock({ $0.closed }) { throw CancellationError() }
        try vectors.withUnsafeBytes { try graph.addBatch(labels: labels, vectors: $0, threads: 2) }
        vectors = []
        if state.withLock({ $0.closed }) { throw CancellationError() }
        let name = state.withLock { s -> String in defer { s.nextSegment += 1 }; return "seg-\(s.nextSegment).vsp" }
        let segment = try graph.withFrozenGraph { view in
            try DiskSegment.write(graph: view, path: directory + "/" + name, deleted: [],
                                  poolBytes: controller.poolShare(for: self), shareBytes: controller.share(for: self),
                                  statistics: controller.counters)
        }
        try install(segment, replacing: victims) { _ in
            for (victim, mark) in zip(victims, marks) {
                for label in victim.deletions(from: mark) { segment.tombstone(label: label) }
            }
        }
        controller.counters.compactions.add(1, ordering: .relaxed)
        controller.releaseFreedMemory()
    }

    /// Swaps `segment` in for `replacing` (and runs `update` in the same critical section), then commits the manifest.
    func install(_ segment: DiskSegment, replacing: [DiskSegment], update: (inout State) -> Void) throws {
        let names: [String]? = swapLock.withExclusive {
            state.withLock { s in
                // Dropped while this segment was being written: it goes with the rest, the manifest stays gone.
                if s.closed { return nil }
                update(&s)
                s.segments.removeAll { old in replacing.contains { $0 === old } }
                s.segments.append(segment)
                return manifestEntries(s)
            }
        }
        guard let names else {
            segment.obsolete.store(true, ordering: .releasing)
            return
        }
        try TieredHNSWIndex.writeManifest(directory, names: names)
        for old in replacing { old.obsolete.store(true, ordering: .releasing) }
        rebalancePools()
    }

    /// Gives each segment its share of the pool budget (proportional to its records).
    func rebalancePools() {
        let segments = state.withLock { $0.segments }
        let total = segments.reduce(0) { $0 + $1.count }
        guard total > 0 else { return }
        let budget = controller.poolShare(for: self)
        for segment in segments { try? segment.resizePool(bytes: budget * segment.count / total) }
    }

    /// Segments' RAM besides their pools, and the RAM graphs' (see `TieringController.poolShare`).
    func memorySplit() -> (Int, Int) {
        let s = state.withLock { ($0.active, $0.sealing, $0.segments) }
        return (s.2.reduce(0) { $0 + $1.fixedMemory }, s.0.memoryUsage + (s.1?.memoryUsage ?? 0))
    }

    /// Seals whatever the active graph holds, whatever its size, and waits for it (and for due compactions): after
    /// it, every vector is in a segment named by the manifest (a clean shutdown; tests of restarts).
    public func flush(waitForCompaction: Bool = true) throws {
        var failure: Error?
        // On the maintenance queue, so it never overlaps a seal or compaction.
        worker.sync {
            guard state.withLock({ $0.active.count > 0 }) else { return }
            do { try seal() } catch { failure = error }
        }
        if let failure { throw failure }
        if waitForCompaction { waitForMaintenance() }
    }

    /// After a reopen (a node restart): keeps one record of each label `keep` accepts, the one in the newest segment
    /// (segments are installed in write order), and tombstones every other live record. Tombstones set after a
    /// segment was written live in RAM only, so documents deleted or updated in the last run come back from the files
    /// as live records; the caller's document table says which labels are current. Returns the records tombstoned.
    public func retainNewestRecords(of keep: (UInt64) -> Bool) -> Int {
        let segments = state.withLock { $0.segments }
        var seen = Set<UInt64>()
        var removed = 0
        for segment in segments.reversed() {
            for id in 0..<segment.count where !segment.isDeleted(UInt32(id)) {
                let label = segment.labels[id]
                if keep(label) && seen.insert(label).inserted { continue }
                if segment.tombstone(label: label) { removed += 1 }
            }
        }
        if removed > 0 { scheduleMaintenance() }
        return removed
    }

    /// Files of `directory` that the manifest does not name (a segment half-written, or replaced but not yet unlinked,
    /// when the process stopped): removed right after a reopen, before a write can start a seal (whose file is not in
    /// the manifest until it is installed) and before a new segment could take such a name. Returns how many.
    @discardableResult
    public func removeUnlistedFiles() -> Int {
        let listed = state.withLock { s in Set(manifestEntries(s).flatMap { [$0, $0 + ".deleted"] }) }
        var removed = 0
        for name in TieredHNSWIndex.listDirectory(directory) where name != "MANIFEST" && !listed.contains(name) {
            if unlink(directory + "/" + name) == 0 { removed += 1 }
        }
        return removed
    }

    /// Blocks until no seal or compaction is running or due (tests, benchmarks).
    public func waitForMaintenance(timeoutSeconds: Double = 600) {
        let deadline = monotonicNanoseconds() + Int(timeoutSeconds * 1e9)
        scheduleMaintenance()
        while monotonicNanoseconds() < deadline {
            let r = report
            if !r.busy { return }
            if !state.withLock({ $0.busy }) { scheduleMaintenance() }
            usleep(20_000)
        }
    }

    // MARK: - Files

    static func makeDirectory(_ path: String) throws {
        var partial = ""
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            partial += (partial.isEmpty && path.hasPrefix("/") ? "/" : (partial.isEmpty ? "" : "/")) + component
            if component.isEmpty { continue }
            if mkdir(partial, 0o755) != 0 && errno != EEXIST {
                throw StorageError.system(call: "mkdir", path: partial, errno: errno)
            }
        }
    }

    public static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// MANIFEST: one segment file name per line. Written to a temporary file, synced, renamed, directory synced.
    static func writeManifest(_ directory: String, names: [String]) throws {
        let path = directory + "/MANIFEST"
        try writeFileAtomically(Array((["VSMANIFEST 1"] + names).joined(separator: "\n").utf8) + [10], to: path,
                                temporary: path + ".tmp")
    }

    static func readManifest(_ directory: String) throws -> [String] {
        let path = directory + "/MANIFEST"
        guard let bytes = try readWholeFile(path) else {
            throw StorageError.system(call: "open", path: path, errno: ENOENT)
        }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        guard lines.first == "VSMANIFEST 1" else {
            throw StorageError.corruptHeader(path: path, reason: "not a tiering manifest")
        }
        return Array(lines.dropFirst())
    }
}

/// A reader-writer lock over pthread_rwlock (heap-allocated, as pthread objects must not move).
final class SharedExclusiveLock: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    init() { pthread_rwlock_init(lock, nil) }
    deinit { pthread_rwlock_destroy(lock); lock.deallocate() }
    func withShared<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock); defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
    func withExclusive<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock); defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
