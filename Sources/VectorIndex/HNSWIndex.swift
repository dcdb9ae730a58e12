// HNSW: graph index with fine-grained per-node locks, real deletes with neighbor repair, filtered and range search.
import CVectorKernels
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Concurrency model:
/// - `structureLock` (reader-writer): searches and inserts hold it shared; growth, delete and load hold it exclusively,
///   so pointers into the arenas never move under a reader and a freed node is never read while being reset.
/// - each node's lock word guards its neighbor lists on every level; a reader copies a list under the lock, then
///   computes distances lock-free (vectors are immutable while a node is live).
/// - `states[id]` is published with release after the record is written; readers skip non-live ids (acquire), so a
///   dangling edge to a freed or half-written id is harmless.
/// - `mapLock` guards the label map, the free-id list and counters; `entryLock` guards the entry point.
public final class HNSWIndex: VectorIndex, @unchecked Sendable {
    public let parameters: VectorIndexParameters
    let space: DistanceSpace
    let m: Int
    let m0: Int
    private let levelMultiplier: Double
    private let store: any NodeRecordStore
    private let arena: RAMRecordArena

    private let structureLock = ReadWriteLock()
    private let mapLock = PlainLock()
    private let entryLock = PlainLock()
    private let scratchLock = PlainLock()

    // Per-id side arrays, reallocated only under the exclusive structure lock.
    private var levels: UnsafeMutablePointer<UInt8>
    private var states: UnsafeMutablePointer<UInt8>
    /// Levels 1…L of a node: L blocks of `[count, M ids]`; nil for level-0-only nodes (most of them).
    private var upperLinks: UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>

    // Guarded by mapLock.
    private var labelMap: LabelMap
    private var freeIds: [UInt32] = []
    /// Deleted ids whose slots are not reused yet: other nodes' one-way edges may still point at them, and a new
    /// node in the slot would inherit those edges as random long links. `sweepDeleted` frees them (mapLock).
    private var deletedIds: [UInt32] = []
    /// Deleted ids whose neighbors are not re-linked yet (`detach`); `repairDetached` moves them to `deletedIds`.
    private var detachedIds: [UInt32] = []
    private var nextId: UInt32 = 0
    private var liveCount = 0
    private var upperBytes = 0
    /// An insert is running the adaptive codes' width test (`decideWidthFromStoredVectors`).
    private var decidingWidth = false

    // Guarded by entryLock.
    private var entryPoint: UInt32 = .max
    private var maxLevel = -1

    private var scratchPool: [SearchScratch] = []
    /// Feeds the level generator; bumped atomically so concurrent inserts draw distinct levels.
    private let levelCounter = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)

    /// Optional SQ8 codes for traversal (guarded like the side arrays).
    private var quantizer: TraversalCodes?

    static let live: UInt8 = 1
    static let free: UInt8 = 0
    /// Deleted, neighbors not re-linked yet: searches still walk through the node (its lists and code are intact) but
    /// never return it, so a burst of deletes does not cut the graph while the repairs catch up (hnswlib's
    /// marked-deleted state, for as long as the repair queue holds the node).
    static let detached: UInt8 = 2
    /// Deleted and re-linked around, waiting for the sweep: still walked through, never returned. The repair re-selects
    /// only the lists that linked back, so a node whose one in-edge came from the deleted node would be stranded if the
    /// walk stopped here; its lists stay intact until the sweep drops the edges into it and links stranded nodes back.
    static let repaired: UInt8 = 3

    public init(_ parameters: VectorIndexParameters) throws {
        try validate(parameters)
        self.parameters = parameters
        space = DistanceSpace(dimension: parameters.dimension, elementType: parameters.elementType, metric: parameters.metric)
        m = parameters.m
        m0 = 2 * parameters.m
        levelMultiplier = 1 / log(Double(max(parameters.m, 2)))
        let capacity = max(parameters.initialCapacity, 16)
        arena = RAMRecordArena(layout: RecordLayout(maxNeighbors0: m0, vectorBytes: space.vectorBytes,
                                                    storesInverseNorm: space.metric == .cosine), capacity: capacity)
        store = arena
        levels = .allocate(capacity: capacity)
        levels.initialize(repeating: 0, count: capacity)
        states = .allocate(capacity: capacity)
        states.initialize(repeating: HNSWIndex.free, count: capacity)
        upperLinks = .allocate(capacity: capacity)
        upperLinks.initialize(repeating: nil, count: capacity)
        labelMap = LabelMap(capacity: capacity)
        levelCounter.initialize(to: 0x5EED)
        if parameters.quantization != .none {
            quantizer = TraversalCodes(space: space, capacity: capacity, quantization: parameters.quantization)
        }
    }

    deinit {
        for i in 0..<Int(nextId) { upperLinks[i]?.deallocate() }
        levels.deallocate()
        states.deallocate()
        upperLinks.deallocate()
        labelMap.deallocate()
        levelCounter.deallocate()
        for s in scratchPool { s.deallocate() }
    }

    // MARK: - Small accessors

    public var count: Int { mapLock.withLock { liveCount } }

    public func contains(label: UInt64) -> Bool { mapLock.withLock { labelMap.find(label) != nil } }

    public var memoryUsage: Int {
        structureLock.withReadLock {
            // The record and code arenas grow by half ahead of use, but pages nobody wrote are not resident: counting
            // their capacity made FT.INFO's vector_index_sz_mb 965 MiB at 1M × 128 in a process of 858 MiB RSS. The
            // per-slot arrays are initialized over their whole capacity, so all of it counts.
            let capacity = store.capacity
            let used = mapLock.withLock { Int(nextId) }
            var total = store.residentBytes(used: used) + capacity * (1 + 1 + MemoryLayout<UnsafeMutablePointer<UInt32>?>.stride)
            total += mapLock.withLock { labelMap.memoryUsage + upperBytes + (freeIds.capacity + deletedIds.capacity + detachedIds.capacity) * 4 }
            total += scratchLock.withLock { scratchPool.reduce(0) { $0 + $1.memoryUsage } }
            if let quantizer { total += quantizer.residentBytes(used: used) }
            return total
        }
    }

    /// Bytes of the vectors the graph traversal reads: full vectors, or the codes when quantized.
    public var traversalVectorBytesPerVector: Int { quantizer?.codeBytes ?? space.vectorBytes }

    public func vectorBytes(label: UInt64) -> [UInt8]? {
        structureLock.withReadLock {
            guard let id = mapLock.withLock({ labelMap.find(label) }), vs_load_acquire_u8(states + Int(id)) == HNSWIndex.live
            else { return nil }
            return Array(UnsafeRawBufferPointer(start: store.records().vector(id), count: space.vectorBytes))
        }
    }

    @inline(__always) private func isLive(_ id: UInt32) -> Bool { vs_load_acquire_u8(states + Int(id)) == HNSWIndex.live }

    /// `[count, ids…]` of `id` at `level` (level 0 is in the record).
    @inline(__always) private func list(_ records: NodeRecords, _ id: UInt32, _ level: Int) -> UnsafeMutablePointer<UInt32> {
        level == 0 ? records.level0List(id) : upperLinks[Int(id)]! + (level - 1) * (m + 1)
    }

    /// Copies a neighbor list under the node's lock; returns the count.
    @inline(__always)
    private func copyNeighbors(_ records: NodeRecords, _ id: UInt32, _ level: Int, into buffer: UnsafeMutablePointer<UInt32>) -> Int {
        let word = records.lockWord(id)
        vs_spin_lock(word)
        let l = list(records, id, level)
        let n = Int(l[0])
        for j in 0..<n { buffer[j] = l[j &+ 1] }
        vs_spin_unlock(word)
        return n
    }

    private func randomLevel() -> Int {
        var x = vs_fetch_add_u64(levelCounter, 0x9E37_79B9_7F4A_7C15)
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        let uniform = (Double(x >> 11) + 0.5) / Double(1 << 53)
        return min(Int(-log(uniform) * levelMultiplier), 200)
    }

    // MARK: - Scratch

    private func acquireScratch() -> SearchScratch {
        let capacity = store.capacity
        let scratch = scratchLock.withLock { scratchPool.popLast() }
            ?? SearchScratch(queryBytes: space.queryBytes, dimension: space.dimension, maxNeighbors: m0)
        scratch.ensureVisitedCapacity(capacity)
        return scratch
    }

    private func releaseScratch(_ scratch: SearchScratch) { scratchLock.withLock { scratchPool.append(scratch) } }

    // MARK: - Insert

    public func add(label: UInt64, vector: UnsafeRawBufferPointer) throws {
        try space.checkBlob(vector)
        while true {
            enum Outcome { case inserted, insertedTrainingDue, insertedWidthDue, exists, full }
            let outcome: Outcome = structureLock.withReadLock {
                var live = 0
                let slot: UInt32? = mapLock.withLock {
                    if labelMap.find(label) != nil { return UInt32.max }
                    let id: UInt32
                    if let reused = freeIds.popLast() { id = reused }
                    else if Int(nextId) < store.capacity { id = nextId; nextId += 1 }
                    else { return nil }
                    labelMap.set(label, id)
                    liveCount += 1
                    live = liveCount
                    return id
                }
                guard let id = slot else { return .full }
                if id == .max { return .exists }
                insertNode(id: id, label: label, blob: vector.baseAddress!)
                if let quantizer, quantizer.trainsItself {
                    if !quantizer.trained && live >= HNSWIndex.autoTrainCount { return .insertedTrainingDue }
                    if quantizer.needsWidthDecision && live >= LowBitCodes.widthSampleCount { return .insertedWidthDue }
                }
                return .inserted
            }
            switch outcome {
            case .inserted: return
            case .insertedTrainingDue: trainFromStoredVectors(); return
            case .insertedWidthDue: decideWidthFromStoredVectors(); return
            case .exists: remove(label: label) // update = delete (with repair) + insert
            case .full: growIfFull()
            }
        }
    }

    /// An index fed one vector at a time (the server's HSETs) trains its 4-bit codes' mean on the first this many.
    static let autoTrainCount = 1_024
    var isQuantizerTrained: Bool { structureLock.withReadLock { quantizer?.trained ?? false } }

    /// Trains the 4-bit codes on the vectors stored so far and re-encodes them, so an index built by single inserts
    /// walks the same centered codes the engine benchmark (`addBatch`) measures. On pypi-minilm-50k the server's
    /// recall at ef 40 stayed within build-to-build variation (0.9475–0.9492 in three runs, 0.9488 untrained).
    private func trainFromStoredVectors() {
        guard let quantizer else { return }
        structureLock.withWriteLock {
            guard !quantizer.trained else { return }
            let used = usedSlots
            withTemporaryPages(byteCount: min(used, LowBitCodes.widthSampleCount) * space.vectorBytes) { samples in
                let count = copyLiveVectors(into: samples, limit: LowBitCodes.widthSampleCount)
                quantizer.train(samples: UnsafeRawBufferPointer(start: samples, count: count * space.vectorBytes), count: count)
            }
            reencodeAll(quantizer)
        }
    }

    /// An adaptive index's width test at `LowBitCodes.widthSampleCount` vectors. Only the sample copy and the switch
    /// take the exclusive lock; the test itself (about 0.3 s at 384-d) runs beside searches and inserts, on one
    /// thread at a time (inserts arriving meanwhile go on).
    private func decideWidthFromStoredVectors() {
        guard let quantizer, mapLock.withLock({ () -> Bool in
            guard !decidingWidth else { return false }
            decidingWidth = true
            return true
        }) else { return }
        defer { mapLock.withLock { decidingWidth = false } }
        let sampleCount = LowBitCodes.widthSampleCount, stride = space.vectorBytes
        withTemporaryPages(byteCount: sampleCount * stride) { samples in
            let copied = structureLock.withWriteLock {
                quantizer.needsWidthDecision ? copyLiveVectors(into: samples, limit: sampleCount) : 0
            }
            // Inserts still linking hold back some of the first vectors; a later insert tries again.
            guard copied == sampleCount else { return }
            let choice = quantizer.chooseWidth(samples: UnsafeRawBufferPointer(start: samples, count: copied * stride),
                                               count: copied)
            structureLock.withWriteLock {
                if quantizer.settleWidth(choice) { reencodeAll(quantizer) }
            }
        }
    }

    /// Copies the vectors of the first `limit` live nodes back to back; caller holds the structure lock exclusively.
    private func copyLiveVectors(into samples: UnsafeMutableRawPointer, limit: Int) -> Int {
        let records = store.records(), stride = space.vectorBytes
        var count = 0
        for i in 0..<usedSlots where count < limit && states[i] == HNSWIndex.live {
            (samples + count * stride).copyMemory(from: records.vector(UInt32(i)), byteCount: stride)
            count += 1
        }
        return count
    }

    /// Encodes every stored vector again (after training or a width change); caller holds the structure lock exclusively.
    private func reencodeAll(_ quantizer: TraversalCodes) {
        let records = store.records()
        for i in 0..<usedSlots where states[i] != HNSWIndex.free {
            quantizer.encode(id: UInt32(i), stored: records.vector(UInt32(i)))
        }
    }

    /// Inserts many vectors on `threads` threads (bulk build). `vectors` holds `labels.count` blobs back to back.
    public func addBatch(labels: [UInt64], vectors: UnsafeRawBufferPointer, threads: Int) throws {
        guard vectors.count == labels.count * space.vectorBytes else {
            throw VectorIndexError.wrongBlobSize(expected: labels.count * space.vectorBytes, got: vectors.count)
        }
        reserve(capacity: count + labels.count)
        // Train once; an adaptive index also retrains on a batch big enough to choose its width. Smaller batches
        // of a trained index leave that to the insert that brings it to `widthSampleCount` vectors.
        if let quantizer,
           !quantizer.trained || (quantizer.needsWidthDecision && labels.count >= LowBitCodes.widthSampleCount) {
            structureLock.withWriteLock {
                quantizer.train(samples: vectors, count: min(labels.count, LowBitCodes.widthSampleCount))
                reencodeAll(quantizer)
            }
        }
        let next = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        next.initialize(to: 0)
        defer { next.deallocate() }
        let counter = UnsafeSendablePointer(pointer: next)
        let base = UnsafeSendableRawPointer(pointer: vectors.baseAddress!)
        let stride = space.vectorBytes, total = labels.count
        DispatchQueue.concurrentPerform(iterations: max(threads, 1)) { _ in
            while true {
                let i = Int(vs_fetch_add_u64(counter.pointer, 1))
                if i >= total { break }
                try? self.add(label: labels[i], vector: UnsafeRawBufferPointer(start: base.pointer + i * stride, count: stride))
            }
        }
        repairReachability()
    }

    /// Gives an in-edge to every live node that level 0 cannot reach from the entry point (pruning dropped them all;
    /// a 2-thread build of 1,500 16-d Gaussians left one such node in about one build of six). Returns the number of
    /// edges added. Runs under the exclusive structure lock: O(nodes × M0), a fraction of a build.
    @discardableResult
    public func repairReachability() -> Int { structureLock.withWriteLock { repairReachabilityLocked() } }

    /// `repairReachability` for a caller that holds the structure lock exclusively.
    @discardableResult
    private func repairReachabilityLocked() -> Int {
        let used = usedSlots
        let entry = entryLock.withLock { entryPoint }
        guard entry != .max else { return 0 }
        let records = store.records()
        return GraphReachability.linkUnreachable(
            nodes: used, entry: entry, isLive: { vs_load_acquire_u8(states + $0) == HNSWIndex.live },
            neighbors: { id in
                let l = records.level0List(id)
                return UnsafeBufferPointer(start: l + 1, count: Int(l[0]))
            },
            capacity: m0,
            addEdge: { from, to in
                let l = records.level0List(from)
                let n = Int(l[0])
                if n < m0 { l[1 + n] = to; l[0] = UInt32(n + 1) } else { l[n] = to }
            })
    }

    /// Sets the SQ8 per-dimension ranges from `count` sample blobs (back to back). `addBatch` does this on its own
    /// when the index is still untrained; an index fed only by `add` uses [-1, 1] per dimension (unit embeddings)
    /// unless this is called first. Vectors already in the index are re-encoded. No effect without SQ8.
    public func trainQuantizer(samples: UnsafeRawBufferPointer, count: Int) throws {
        guard samples.count == count * space.vectorBytes else {
            throw VectorIndexError.wrongBlobSize(expected: count * space.vectorBytes, got: samples.count)
        }
        guard let quantizer else { return }
        structureLock.withWriteLock {
            quantizer.train(samples: samples, count: count)
            reencodeAll(quantizer)
        }
    }

    /// Grows the arenas so `capacity` nodes fit without further reallocation.
    public func reserve(capacity wanted: Int) {
        structureLock.withWriteLock { if wanted > store.capacity { grow(to: wanted) } }
    }

    private func growIfFull() {
        structureLock.withWriteLock {
            let used = usedSlots
            guard used >= store.capacity, freeIds.isEmpty else { return }
            grow(to: store.capacity + max(parameters.blockSize, store.capacity / 2))
        }
    }

    /// Caller holds the structure lock exclusively.
    private func grow(to newCapacity: Int) {
        let old = store.capacity, used = Int(nextId)
        store.grow(to: newCapacity, used: used)
        func regrow<T>(_ p: inout UnsafeMutablePointer<T>, fill: T) {
            let bigger = UnsafeMutablePointer<T>.allocate(capacity: newCapacity)
            bigger.moveInitialize(from: p, count: old)
            (bigger + old).initialize(repeating: fill, count: newCapacity - old)
            p.deallocate()
            p = bigger
        }
        regrow(&levels, fill: 0)
        regrow(&states, fill: HNSWIndex.free)
        regrow(&upperLinks, fill: nil)
        quantizer?.grow(to: newCapacity, used: used)
    }

    /// Writes the record, publishes it and links it on every level. Caller holds the structure lock shared.
    private func insertNode(id: UInt32, label: UInt64, blob: UnsafeRawPointer) {
        let records = store.records()
        let level = randomLevel()
        let vector = records.vector(id)
        vector.copyMemory(from: blob, byteCount: space.vectorBytes)
        records.setInverseNorm(id, space.inverseNorm(stored: vector))
        records.setLabel(id, label)
        records.lockWord(id).pointee = 0
        records.level0List(id).pointee = 0
        levels[Int(id)] = UInt8(level)
        if level > 0 {
            let block = UnsafeMutablePointer<UInt32>.allocate(capacity: level * (m + 1))
            for l in 0..<level { block[l * (m + 1)] = 0 }
            upperLinks[Int(id)] = block
            mapLock.withLock { upperBytes += level * (m + 1) * 4 }
        }
        quantizer?.encode(id: id, stored: vector)
        vs_store_release_u8(states + Int(id), HNSWIndex.live)

        var (entry, top) = entryLock.withLock { (entryPoint, maxLevel) }
        if entry == .max {
            let claimed = entryLock.withLock {
                if entryPoint == .max { entryPoint = id; maxLevel = level; return true }
                return false
            }
            if claimed { return }
            (entry, top) = entryLock.withLock { (entryPoint, maxLevel) }
        }

        let scratch = acquireScratch()
        defer { releaseScratch(scratch) }
        let exact = StoredQuery(space: space, vector: vector, inverseNorm: records.inverseNorm(id))
        if let quantizer, (try? space.prepareQuery(UnsafeRawBufferPointer(start: blob, count: space.vectorBytes),
                                                    into: scratch.query)) != nil {
            // With SQ8 the beam searches of construction run on codes too; candidates are re-scored exactly
            // before the neighbor heuristic, so edges are chosen on true distances.
            let estimate = quantizer.prepare(query: scratch.query, scratch: scratch)
            connect(id, level: level, entry: entry, top: top, traversal: estimate, exact: exact, records, scratch)
        } else {
            connect(id, level: level, entry: entry, top: top, traversal: exact, exact: exact, records, scratch)
        }
        if level > top {
            // A node detached while it was being connected must not become the entry point (a seal then wrote a
            // segment from a deleted entry and trapped: make fuzz). Detach marks the state under this lock too.
            entryLock.withLock {
                if level > maxLevel && vs_load_acquire_u8(states + Int(id)) == HNSWIndex.live { entryPoint = id; maxLevel = level }
            }
        }
    }

    /// Finds and links the neighbors of a published node on every level ≤ `level`. `traversal` scores the beam
    /// searches; `exact` re-scores their results when the two differ.
    private func connect<Q: QueryDistance>(_ id: UInt32, level: Int, entry: UInt32, top: Int, traversal: Q,
                                           exact: StoredQuery, _ records: NodeRecords, _ scratch: SearchScratch) {
        let rescore = !(traversal is StoredQuery)
        var current = entry
        var currentDistance = traversal.distance(records, current)
        if top > level {
            for l in stride(from: top, to: level, by: -1) {
                greedy(traversal, records, &current, &currentDistance, level: l, scratch: scratch)
            }
        }
        for l in stride(from: min(level, top), through: 0, by: -1) {
            searchLayer(traversal, records, entry: current, entryDistance: currentDistance, level: l,
                        ef: parameters.efConstruction, filter: nil, scratch: scratch)
            let found = scratch.drainResultsAscending()
            let candidates = scratch.sorted
            guard found > 0 else { continue }
            current = candidates[0].id
            currentDistance = candidates[0].distance
            if rescore {
                for i in 0..<found { candidates[i].distance = exact.distance(records, candidates[i].id) }
                sortAscending(candidates, found)
            }
            let selected = selectNeighbors(records, candidates, count: found, max: m, into: scratch.selected)
            setOwnList(records, id, level: l, selected: selected, exact: exact, scratch: scratch)
            for j in 0..<selected { link(records, from: scratch.selected[j], to: id, level: l, scratch: scratch) }
        }
    }

    /// Writes a new node's own list on `level`. Once the node is linked on a higher level, a concurrent insert can
    /// reach it, choose it as a neighbor and add itself to this list before we get here; overwriting would drop that
    /// edge — the only path to the other node in some graphs, which left it unreachable (seen as self-search misses
    /// under 2-thread builds). So edges already present are merged in and the union is re-selected if too long.
    private func setOwnList(_ records: NodeRecords, _ id: UInt32, level: Int, selected: Int, exact: StoredQuery,
                            scratch: SearchScratch) {
        let limit = level == 0 ? m0 : m
        let word = records.lockWord(id)
        vs_spin_lock(word)
        defer { vs_spin_unlock(word) }
        let own = list(records, id, level)
        let present = Int(own.pointee)
        if present == 0 {
            own.pointee = UInt32(selected)
            (own + 1).update(from: scratch.selected, count: selected)
            return
        }
        let pool = scratch.prune
        var count = 0
        func offer(_ other: UInt32) {
            for j in 0..<count where pool[j].id == other { return }
            pool[count] = HeapItem(distance: exact.distance(records, other), id: other)
            count += 1
        }
        for j in 0..<present { offer(own[1 + j]) }
        for j in 0..<selected { offer(scratch.selected[j]) }
        sortAscending(pool, count)
        let kept = selectNeighbors(records, pool, count: count, max: limit, into: scratch.pruneSelected)
        own.pointee = UInt32(kept)
        (own + 1).update(from: scratch.pruneSelected, count: kept)
    }

    /// Adds `id` to `node`'s list on `level`, re-selecting with the heuristic when the list is full.
    private func link(_ records: NodeRecords, from node: UInt32, to id: UInt32, level: Int, scratch: SearchScratch) {
        let limit = level == 0 ? m0 : m
        let word = records.lockWord(node)
        vs_spin_lock(word)
        defer { vs_spin_unlock(word) }
        let l = list(records, node, level)
        let n = Int(l[0])
        for j in 0..<n where l[1 + j] == id { return }
        if n < limit {
            l[1 + n] = id
            l[0] = UInt32(n + 1)
            return
        }
        let nodeQuery = StoredQuery(space: space, vector: records.vector(node), inverseNorm: records.inverseNorm(node))
        let pool = scratch.prune
        var count = 0
        for j in 0..<n {
            let other = l[1 + j]
            guard isLive(other), level == 0 || Int(levels[Int(other)]) >= level else { continue } // drop stale edges
            pool[count] = HeapItem(distance: nodeQuery.distance(records, other), id: other)
            count += 1
        }
        pool[count] = HeapItem(distance: nodeQuery.distance(records, id), id: id)
        count += 1
        sortAscending(pool, count)
        let selected = selectNeighbors(records, pool, count: count, max: limit, into: scratch.pruneSelected)
        l[0] = UInt32(selected)
        (l + 1).update(from: scratch.pruneSelected, count: selected)
    }

    /// hnswlib-style heuristic: keep a candidate only if it is closer to the base than to every kept neighbor, which
    /// spreads edges over directions instead of piling them into one cluster. `candidates` is sorted ascending.
    private func selectNeighbors(_ records: NodeRecords, _ candidates: UnsafeMutablePointer<HeapItem>, count: Int, max: Int,
                                 into out: UnsafeMutablePointer<UInt32>) -> Int {
        if count <= max {
            for i in 0..<count { out[i] = candidates[i].id }
            return count
        }
        var kept = 0
        for i in 0..<count {
            let c = candidates[i]
            let cv = records.vector(c.id), cn = records.inverseNorm(c.id)
            var good = true
            for j in 0..<kept {
                let d = space.distance(stored: cv, cn, stored: records.vector(out[j]), records.inverseNorm(out[j]))
                if d < c.distance { good = false; break }
            }
            if good {
                out[kept] = c.id
                kept += 1
                if kept == max { break }
            }
        }
        return kept
    }

    // MARK: - Delete

    @discardableResult
    public func remove(label: UInt64) -> Bool {
        let sweepDue: Bool? = structureLock.withWriteLock {
            guard let id = detachLocked(label) else { return nil }
            return repairAroundDeleted(id)
        }
        guard let sweepDue else { return false }
        if sweepDue { sweep() }
        return true
    }

    /// Deletes `label` for every later search and lookup at O(1) (its slot stops being live) and leaves the graph
    /// repair around it to `repairDetached`, for callers that must not wait ~150 µs per delete: 12,800 pipelined DELs
    /// on pypi-50k held the event loop 2.9 s when each DEL repaired at once. Only the shared structure lock is taken,
    /// so a delete never waits for another delete's repair.
    @discardableResult
    public func detach(label: UInt64) -> Bool {
        enum Outcome { case absent, detached, needsExclusive }
        let outcome: Outcome = structureLock.withReadLock {
            return mapLock.withLock {
                guard let id = labelMap.find(label) else { return .absent }
                // A node whose insert has not published it yet would be published live after we unpublished it.
                guard vs_load_acquire_u8(states + Int(id)) == HNSWIndex.live else { return .needsExclusive }
                // The entry point needs a successor chosen under the exclusive lock. The check and the state change
                // happen under the entry lock, where an insert still connecting this node decides whether it becomes
                // the entry: either it already is (the exclusive path), or the insert sees it detached.
                let isEntry: Bool = entryLock.withLock {
                    if entryPoint == id { return true }
                    vs_store_release_u8(states + Int(id), HNSWIndex.detached)
                    return false
                }
                guard !isEntry else { return .needsExclusive }
                _ = labelMap.remove(label)
                liveCount -= 1
                detachedIds.append(id)
                return .detached
            }
        }
        switch outcome {
        case .absent: return false
        case .detached: return true
        case .needsExclusive:
            return structureLock.withWriteLock {
                guard let id = detachLocked(label) else { return false }
                mapLock.withLock { detachedIds.append(id) }
                return true
            }
        }
    }

    /// Repairs up to `limit` detached slots under the shared structure lock (searches and inserts go on meanwhile),
    /// sweeping when one is due; returns how many are still waiting.
    @discardableResult
    public func repairDetached(limit: Int) -> Int {
        var repaired = 0
        while repaired < limit {
            let outcome: Bool? = structureLock.withReadLock {
                guard let id = mapLock.withLock({ detachedIds.popLast() }) else { return nil }
                return repairAroundDeleted(id)
            }
            guard let sweepDue = outcome else { break }
            if sweepDue { sweep() }
            repaired += 1
        }
        return mapLock.withLock { detachedIds.count }
    }

    /// Caller holds the structure lock exclusively. The label stops resolving and the slot stops being live (searches
    /// walk through it but never return it); its lists stay as they are, for `repairAroundDeleted`.
    private func detachLocked(_ label: UInt64) -> UInt32? {
        guard let id = mapLock.withLock({ labelMap.remove(label) }) else { return nil }
        vs_store_release_u8(states + Int(id), HNSWIndex.detached)
        mapLock.withLock { liveCount -= 1 }
        if entryLock.withLock({ entryPoint == id }) { chooseNewEntryPoint(store.records()) }
        return id
    }

    /// Re-links the neighbors of a detached slot and queues the slot for the sweep; returns whether a sweep is due.
    /// Caller holds the structure lock, shared or exclusive: lists change only under their node locks, and the slot's
    /// own lists stay until the sweep (a search that entered it before the detach may still read them).
    private func repairAroundDeleted(_ id: UInt32) -> Bool {
        let records = store.records()
        let scratch = acquireScratch()
        defer { releaseScratch(scratch) }
        for level in 0...Int(levels[Int(id)]) { repairNeighbors(records, of: id, level: level, scratch: scratch) }
        // Searches keep walking through it until the sweep (see `repaired`); the slot is reused only after that.
        vs_store_release_u8(states + Int(id), HNSWIndex.repaired)
        // The repair re-selects only the lists of neighbors that linked back. One-way edges into the deleted node
        // stay, and a neighbor reached only through the deleted node's own list would be stranded if walks stopped
        // there (they do not: `repaired`). Every sixteenth of the index's size in deletes, one pass drops the edges
        // into deleted slots, frees the slots for reuse and links stranded nodes back: O(nodes × M0) under the
        // exclusive lock, amortized over the deletes. It waits for the detached slots' repairs (it would drop the
        // back edges those repairs replace).
        return mapLock.withLock {
            deletedIds.append(id)
            deletesSinceSweep += 1
            return deletesSinceSweep >= max(HNSWIndex.repairAfterDeletes, liveCount / 16) && detachedIds.isEmpty
        }
    }

    /// Drops edges into deleted slots, frees the slots and re-links stranded nodes (see `repairAroundDeleted`).
    private func sweep() {
        structureLock.withWriteLock {
            guard mapLock.withLock({ () -> Bool in
                guard !deletedIds.isEmpty else { return false }
                deletesSinceSweep = 0
                return true
            }) else { return }
            let records = store.records()
            while let id = mapLock.withLock({ detachedIds.popLast() }) { _ = repairAroundDeleted(id) }
            sweepDeleted(records)
            repairReachabilityLocked()
        }
    }

    /// Caller holds the structure lock exclusively: removes every edge into a deleted slot, then makes the slots
    /// reusable.
    private func sweepDeleted(_ records: NodeRecords) {
        let used = usedSlots
        for id in 0..<used where states[id] == HNSWIndex.live {
            for level in 0...Int(levels[id]) {
                let l = list(records, UInt32(id), level)
                let n = Int(l[0])
                var kept = 0
                for j in 0..<n where states[Int(l[1 + j])] == HNSWIndex.live {
                    l[1 + kept] = l[1 + j]
                    kept += 1
                }
                l[0] = UInt32(kept)
            }
        }
        let freed = mapLock.withLock { () -> [UInt32] in
            defer { freeIds.append(contentsOf: deletedIds); deletedIds.removeAll() }
            return deletedIds
        }
        var released = 0
        for id in freed {
            states[Int(id)] = HNSWIndex.free
            records.level0List(id).pointee = 0
            if let block = upperLinks[Int(id)] {
                block.deallocate()
                upperLinks[Int(id)] = nil
                released += Int(levels[Int(id)]) * (m + 1) * 4
            }
            levels[Int(id)] = 0
        }
        mapLock.withLock { upperBytes -= released }
    }

    /// Slots ever handed out (live, deleted or free): the extent of the arenas' used part.
    var usedSlots: Int { mapLock.withLock { Int(nextId) } }

    /// Deletes between two reachability passes, at least (see `remove`).
    static let repairAfterDeletes = 256
    /// Guarded by mapLock.
    private var deletesSinceSweep = 0

    /// For every neighbor that links back to the deleted node, replace that edge: re-select the neighbor's list from
    /// its remaining neighbors plus the deleted node's neighbors (VecSim's repair, without long-lived tombstones).
    /// One-way edges into the node from elsewhere stay until `sweepDeleted` drops them (readers walk through the node
    /// but never return it; the slot is not reused before that sweep).
    private func repairNeighbors(_ records: NodeRecords, of id: UInt32, level: Int, scratch: SearchScratch) {
        let limit = level == 0 ? m0 : m
        let orphans = scratch.orphans
        let deletedCount = copyNeighbors(records, id, level, into: orphans)
        let current = scratch.neighbors
        for i in 0..<deletedCount {
            let node = orphans[i]
            guard node != id, isLive(node), level == 0 || Int(levels[Int(node)]) >= level else { continue }
            // Re-selected from a copy, outside the node's lock (searches copy lists under it); written back only if
            // the list did not change meanwhile, else the next round starts from the new list.
            for _ in 0..<3 {
                let n = copyNeighbors(records, node, level, into: current)
                var pointsBack = false
                for j in 0..<n where current[j] == id { pointsBack = true; break }
                guard pointsBack else { break }
                let nodeQuery = StoredQuery(space: space, vector: records.vector(node), inverseNorm: records.inverseNorm(node))
                let pool = scratch.prune
                var count = 0
                func consider(_ other: UInt32) {
                    guard other != id, other != node, isLive(other), level == 0 || Int(levels[Int(other)]) >= level
                    else { return }
                    for j in 0..<count where pool[j].id == other { return }
                    pool[count] = HeapItem(distance: nodeQuery.distance(records, other), id: other)
                    count += 1
                }
                for j in 0..<n { consider(current[j]) }
                for j in 0..<deletedCount { consider(orphans[j]) }
                sortAscending(pool, count)
                let selected = selectNeighbors(records, pool, count: count, max: limit, into: scratch.pruneSelected)
                let word = records.lockWord(node)
                vs_spin_lock(word)
                let l = list(records, node, level)
                var unchanged = Int(l[0]) == n
                if unchanged { for j in 0..<n where l[1 + j] != current[j] { unchanged = false; break } }
                if unchanged {
                    l[0] = UInt32(selected)
                    (l + 1).update(from: scratch.pruneSelected, count: selected)
                }
                vs_spin_unlock(word)
                if unchanged { break }
            }
        }
    }

    /// Caller holds the structure lock exclusively; picks the live node on the highest level.
    private func chooseNewEntryPoint(_ records: NodeRecords) {
        var best: UInt32 = .max, bestLevel = -1
        for i in 0..<Int(nextId) where states[i] == HNSWIndex.live && Int(levels[i]) > bestLevel {
            best = UInt32(i)
            bestLevel = Int(levels[i])
        }
        entryLock.withLock { entryPoint = best; maxLevel = bestLevel }
    }

    // MARK: - Search

    /// Greedy walk on one upper level towards the query.
    private func greedy<Q: QueryDistance>(_ query: Q, _ records: NodeRecords, _ current: inout UInt32,
                                          _ currentDistance: inout Float, level: Int, scratch: SearchScratch) {
        let buffer = scratch.neighbors
        var changed = true
        while changed {
            changed = false
            let n = copyNeighbors(records, current, level, into: buffer)
            for j in 0..<n {
                let candidate = buffer[j]
                guard isLive(candidate), Int(levels[Int(candidate)]) >= level else { continue }
                let d = query.distance(records, candidate)
                if d < currentDistance {
                    currentDistance = d
                    current = candidate
                    changed = true
                }
            }
        }
    }

    /// Beam search on one level; leaves up to `ef` best (allowed) nodes in `scratch.results`.
    private func searchLayer<Q: QueryDistance>(_ query: Q, _ records: NodeRecords, entry: UInt32, entryDistance: Float,
                                               level: Int, ef: Int, filter: SearchFilter?, scratch: SearchScratch) {
        let visited = scratch.visited
        let epoch = scratch.nextEpoch()
        var candidates = scratch.candidates
        var results = scratch.results
        candidates.removeAll()
        results.removeAll()
        defer { scratch.candidates = candidates; scratch.results = results }
        let buffer = scratch.neighbors, distances = scratch.neighborDistances
        let listBytes0 = 8 + 4 * m0

        visited[Int(entry)] = epoch
        candidates.push(-entryDistance, entry)
        if isLive(entry), filter?.allows(records.label(entry)) ?? true { results.push(entryDistance, entry) }
        var bound = results.isEmpty ? Float.infinity : results.top.distance

        let states = self.states, levels = self.levels
        while !candidates.isEmpty {
            let nearest = candidates.top
            if -nearest.distance > bound && results.count >= ef { break }
            candidates.pop()
            // Warm the next candidate's neighbor list while this one is expanded (hnswlib does the same).
            if !candidates.isEmpty { vs_prefetch_span(records.record(candidates.top.id), listBytes0) }
            let n = copyNeighbors(records, nearest.id, level, into: buffer)
            // First pass: keep only unvisited walkable ids (live, detached or repaired) and start fetching their
            // vectors.
            var fresh = 0
            for j in 0..<n {
                let next = buffer[j]
                if visited[Int(next)] == epoch { continue }
                visited[Int(next)] = epoch
                guard vs_load_acquire_u8(states + Int(next)) != HNSWIndex.free,
                      level == 0 || Int(levels[Int(next)]) >= level else { continue }
                buffer[fresh] = next
                fresh &+= 1
                query.prefetch(records, next)
            }
            // The walk is bound by DRAM latency: the distances are computed together so their loads overlap.
            query.distances(records, buffer, fresh, into: distances)
            for j in 0..<fresh {
                let next = buffer[j]
                let d = distances[j]
                if results.count < ef || d < bound {
                    candidates.push(-d, next)
                    if vs_load_acquire_u8(states + Int(next)) == HNSWIndex.live, filter?.allows(records.label(next)) ?? true {
                        results.push(d, next)
                        if results.count > ef { results.pop() }
                        bound = results.top.distance
                    }
                }
            }
        }
    }

    public func search(query: UnsafeRawBufferPointer, k: Int, efRuntime: Int? = nil, filter: SearchFilter? = nil) throws
        -> [VectorMatch] {
        try space.checkBlob(query)
        guard k > 0 else { return [] }
        return try structureLock.withReadLock {
            let scratch = acquireScratch()
            defer { releaseScratch(scratch) }
            try space.prepareQuery(query, into: scratch.query)
            let records = store.records()
            let ef = max(efRuntime ?? parameters.efRuntime, k)
            if let filter, preferBruteForce(filter, ef: ef, records: records) {
                return bruteForce(records, filter: filter, k: k, ef: ef, scratch: scratch)
            }
            let (entry, top) = entryLock.withLock { (entryPoint, maxLevel) }
            guard entry != .max else { return [] }
            if let quantizer {
                // Traverse on SQ8 estimates with a wider beam, then re-rank the beam with full vectors.
                let estimate = quantizer.prepare(query: scratch.query, scratch: scratch)
                let (current, distance) = descend(estimate, records, entry: entry, top: top, scratch: scratch)
                searchLayer(estimate, records, entry: current, entryDistance: distance, level: 0,
                            ef: quantizer.walkBeam(ef: ef), filter: filter, scratch: scratch)
                let exact = PreparedQuery(space: space, query: scratch.query)
                var out: [VectorMatch] = []
                out.reserveCapacity(scratch.results.count)
                for i in 0..<scratch.results.count {
                    let id = scratch.results.items[i].id
                    out.append((records.label(id), exact.distance(records, id)))
                }
                sortMatches(&out)
                if out.count > k { out.removeSubrange(k...) }
                // The code walk strands like the float walk: a small index whose entry point was just deleted
                // answered a KNN with nothing after an update (SearchIndexTests, 12 runs in 20 run alone).
                return scanIfStranded(out, records, filter: filter, k: k, ef: ef, scratch: scratch)
            }
            let exact = PreparedQuery(space: space, query: scratch.query)
            let (current, distance) = descend(exact, records, entry: entry, top: top, scratch: scratch)
            searchLayer(exact, records, entry: current, entryDistance: distance, level: 0, ef: ef, filter: filter,
                        scratch: scratch)
            return scanIfStranded(collect(records, scratch: scratch, k: k), records, filter: filter, k: k, ef: ef,
                                  scratch: scratch)
        }
    }

    /// Deletes can leave a walk stranded (a region whose live out-edges all led to deleted nodes): seen as 1-3 results
    /// for k 10 under concurrent deletes in CI. An unfiltered search that found fewer than k while more are live
    /// answers with an exact scan instead of short.
    private func scanIfStranded(_ found: [VectorMatch], _ records: NodeRecords, filter: SearchFilter?, k: Int, ef: Int,
                                scratch: SearchScratch) -> [VectorMatch] {
        guard filter == nil, found.count < k, found.count < mapLock.withLock({ liveCount }) else { return found }
        return bruteForce(records, filter: SearchFilter(allows: { _ in true }), k: k, ef: ef, scratch: scratch)
    }

    private func descend<Q: QueryDistance>(_ query: Q, _ records: NodeRecords, entry: UInt32, top: Int,
                                           scratch: SearchScratch) -> (UInt32, Float) {
        var current = entry
        var distance = query.distance(records, entry)
        if top >= 1 {
            for level in stride(from: top, through: 1, by: -1) {
                greedy(query, records, &current, &distance, level: level, scratch: scratch)
            }
        }
        // An insert publishes its node, then links it top-down: a node reached on an upper level may not have its
        // level-0 list yet, and a level-0 walk from it finds only itself (a search returned 1 of 10 in the
        // concurrency test). The entry point is always fully linked.
        if current != entry {
            let word = records.lockWord(current)
            vs_spin_lock(word)
            let linked = records.level0List(current).pointee > 0
            vs_spin_unlock(word)
            if !linked { return (entry, query.distance(records, entry)) }
        }
        return (current, distance)
    }

    private func collect(_ records: NodeRecords, scratch: SearchScratch, k: Int) -> [VectorMatch] {
        var results = scratch.results
        defer { scratch.results = results }
        while results.count > k { results.pop() }
        var out: [VectorMatch] = []
        out.reserveCapacity(results.count)
        for i in 0..<results.count { out.append((records.label(results.items[i].id), results.items[i].distance)) }
        sortMatches(&out)
        return out
    }

    /// Chooses brute force over the allowed set when it costs fewer distance computations than a filtered graph
    /// search, which needs about ef·M0/selectivity of them. Selectivity is exact for label lists and sampled for
    /// predicates, so both a 1 % and a 90 % filter take the cheap, accurate path.
    private func preferBruteForce(_ filter: SearchFilter, ef: Int, records: NodeRecords) -> Bool {
        let (live, used) = mapLock.withLock { (liveCount, Int(nextId)) }
        guard live > 0 else { return true }
        var selectivity: Double
        var bruteCost: Double
        if let allowed = filter.allowedLabels {
            selectivity = Double(allowed.count) / Double(live)
            bruteCost = Double(allowed.count)
        } else {
            var seen = 0, passed = 0
            let step = max(used / 256, 1)
            var i = 0
            while i < used {
                if isLive(UInt32(i)) {
                    seen += 1
                    if filter.allows(records.label(UInt32(i))) { passed += 1 }
                }
                i += step
            }
            selectivity = seen > 0 ? Double(passed) / Double(seen) : 1
            // A predicate scan must test every live label; testing is cheaper than a distance, so count it at half.
            bruteCost = selectivity * Double(live) + 0.5 * Double(live)
        }
        selectivity = max(selectivity, 1e-4)
        let graphCost = Double(ef * m0) / selectivity
        return bruteCost <= graphCost
    }

    private func bruteForce(_ records: NodeRecords, filter: SearchFilter, k: Int, ef: Int, scratch: SearchScratch) -> [VectorMatch] {
        let exact = PreparedQuery(space: space, query: scratch.query)
        var heap = scratch.results
        heap.removeAll()
        func offer(_ id: UInt32) {
            let d = exact.distance(records, id)
            if heap.count < k { heap.push(d, id); return }
            let worst = heap.top
            if d < worst.distance || (d == worst.distance && records.label(id) < records.label(worst.id)) {
                heap.pop()
                heap.push(d, id)
            }
        }
        let ids: [UInt32]
        if let allowed = filter.allowedLabels {
            ids = mapLock.withLock { allowed.compactMap { labelMap.find($0) } }
        } else {
            // Test labels from the label map's flat arrays (sequential), not from the records (one miss each).
            var matching: [UInt32] = []
            mapLock.withLock { labelMap.forEach { label, id in if filter.allows(label) { matching.append(id) } } }
            ids = matching
        }
        let shortlist = quantizer?.exactShortlist(k: k, ef: ef) ?? 0
        if let quantizer, ids.count > shortlist {
            // With traversal codes, the allowed set is scanned on estimates (a seventh to a fourteenth of the bytes of
            // 384-d float32 vectors) and only the best `shortlist` are scored exactly. Each exact score is a DRAM miss
            // of the whole vector: ef 160 as the shortlist cost a third of the popular filter's QPS (914 allowed) at
            // ef 40.
            let estimate = quantizer.prepare(query: scratch.query, scratch: scratch)
            var best = scratch.candidates
            best.removeAll()
            let distances = scratch.neighborDistances, chunk = m0
            ids.withUnsafeBufferPointer { all in
                var start = 0
                while start < all.count {
                    let count = min(chunk, all.count - start)
                    estimate.distances(records, all.baseAddress! + start, count, into: distances)
                    for j in 0..<count where best.count < shortlist || distances[j] < best.top.distance {
                        let id = all[start + j]
                        guard isLive(id) else { continue }
                        best.push(distances[j], id)
                        if best.count > shortlist { best.pop() }
                    }
                    start += count
                }
            }
            for j in 0..<best.count { exact.prefetch(records, best.items[j].id) }
            for j in 0..<best.count { offer(best.items[j].id) }
            scratch.candidates = best
        } else {
            // The whole vector of a record a few ahead is prefetched: the scan is bound by memory (every allowed
            // record is a miss), so the next records stream in while this one is scored.
            let ahead = 3
            for j in 0..<min(ahead, ids.count) { exact.prefetch(records, ids[j]); exact.prefetchAll(records, ids[j]) }
            for j in 0..<ids.count {
                if j + ahead < ids.count { exact.prefetch(records, ids[j + ahead]); exact.prefetchAll(records, ids[j + ahead]) }
                if isLive(ids[j]) { offer(ids[j]) }
            }
        }
        // `collect` reads the scratch heap: store the local one first (a stale heap from the last query otherwise).
        scratch.results = heap
        return collect(records, scratch: scratch, k: k)
    }

    /// All nodes within `radius`: a best-first walk that keeps expanding while candidates are inside a boundary of
    /// `dynamicRange × (1 + epsilon)`, where the dynamic range shrinks towards the radius (RediSearch's EPSILON).
    public func rangeSearch(query: UnsafeRawBufferPointer, radius: Float, epsilon: Double? = nil,
                            filter: SearchFilter? = nil) throws -> [VectorMatch] {
        try space.checkBlob(query)
        return try structureLock.withReadLock {
            let scratch = acquireScratch()
            defer { releaseScratch(scratch) }
            try space.prepareQuery(query, into: scratch.query)
            let records = store.records()
            let (entry, top) = entryLock.withLock { (entryPoint, maxLevel) }
            guard entry != .max else { return [] }
            let exact = PreparedQuery(space: space, query: scratch.query)
            let (start, startDistance) = descend(exact, records, entry: entry, top: top, scratch: scratch)
            let widen = Float(1 + (epsilon ?? parameters.epsilon))
            var dynamicRange = max(startDistance, radius)
            var boundary = dynamicRange * widen
            var out: [VectorMatch] = []
            let visited = scratch.visited
            let epoch = scratch.nextEpoch()
            var candidates = scratch.candidates
            candidates.removeAll()
            defer { scratch.candidates = candidates }
            let buffer = scratch.neighbors
            visited[Int(start)] = epoch
            candidates.push(-startDistance, start)
            if startDistance <= radius, isLive(start), filter?.allows(records.label(start)) ?? true {
                out.append((records.label(start), startDistance))
            }
            while !candidates.isEmpty {
                let nearest = candidates.pop()
                let d0 = -nearest.distance
                if d0 > boundary { break }
                if d0 < dynamicRange {
                    dynamicRange = max(d0, radius)
                    boundary = dynamicRange * widen
                }
                let n = copyNeighbors(records, nearest.id, 0, into: buffer)
                for j in 0..<n {
                    let next = buffer[j]
                    if visited[Int(next)] == epoch { continue }
                    visited[Int(next)] = epoch
                    guard vs_load_acquire_u8(states + Int(next)) != HNSWIndex.free else { continue }
                    let d = exact.distance(records, next)
                    if d < boundary {
                        candidates.push(-d, next)
                        if d <= radius, isLive(next), filter?.allows(records.label(next)) ?? true {
                            out.append((records.label(next), d))
                        }
                    }
                }
            }
            sortMatches(&out)
            return out
        }
    }

    /// The graph's parts under the shared structure lock (for `withFrozenGraph`).
    func withGraphParts<R>(_ body: (NodeRecords, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>,
                                    UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>, Int, UInt32, Int) throws -> R) rethrows -> R {
        try structureLock.withReadLock {
            let used = usedSlots
            let (entry, top) = entryLock.withLock { (entryPoint, maxLevel) }
            return try body(store.records(), states, levels, upperLinks, used, entry, top)
        }
    }

    // MARK: - Save / load

    /// ### Layout (after the common header)
    ///     | used: UInt32 | live: UInt64 | entry: UInt32 | maxLevel: Int32 | recordSize: UInt32 |
    ///     | records (used × recordSize, lock words zero) | states (used B) | levels (used B) |
    ///     | upper lists of live nodes with level > 0, in id order (level × (M+1) × UInt32) |
    ///     | free ids: UInt32 count + ids | SQ8 min/scale (2 × dim × Float32) + codes (used × dim) when quantized |
    public func serialize() -> [UInt8] {
        structureLock.withWriteLock {
            while let id = mapLock.withLock({ detachedIds.popLast() }) { _ = repairAroundDeleted(id) }
            let records = store.records()
            let used = Int(nextId)
            var w = ByteWriter()
            w.bytes.reserveCapacity(256 + used * (store.layout.recordSize + 2))
            w.writeHeader(parameters)
            w.write(UInt32(used))
            w.write(UInt64(liveCount))
            w.write(entryPoint)
            w.write(Int32(maxLevel))
            w.write(UInt32(store.layout.recordSize))
            w.write(raw: records.base, count: used * store.layout.recordSize)
            w.write(raw: states, count: used)
            w.write(raw: levels, count: used)
            for i in 0..<used where states[i] == HNSWIndex.live && levels[i] > 0 {
                w.write(raw: upperLinks[i]!, count: Int(levels[i]) * (m + 1) * 4)
            }
            // Deleted slots not swept yet are stored as free (a loaded index reuses them; edges into them are skipped
            // while the slot is empty).
            w.write(UInt32(freeIds.count + deletedIds.count))
            for id in freeIds + deletedIds { w.write(id) }
            quantizer?.serialize(into: &w, used: used)
            return w.bytes
        }
    }

    public convenience init(deserializing bytes: [UInt8]) throws {
        var r = ByteReader(bytes)
        var p = try r.readHeader()
        guard p.algorithm == .hnsw else { throw VectorIndexError.corruptSerialization("not an HNSW index") }
        let used = Int(try r.read(UInt32.self))
        let live = Int(try r.read(UInt64.self))
        let entry = try r.read(UInt32.self)
        let top = Int(try r.read(Int32.self))
        let recordSize = Int(try r.read(UInt32.self))
        guard used <= bytes.count else { throw VectorIndexError.corruptSerialization("bad node count") }
        p.initialCapacity = max(p.initialCapacity, used)
        try self.init(p)
        guard recordSize == store.layout.recordSize else { throw VectorIndexError.corruptSerialization("record layout differs") }
        let records = store.records()
        try r.read(into: records.base, count: used * recordSize)
        try r.read(into: states, count: used)
        try r.read(into: levels, count: used)
        for i in 0..<used {
            records.lockWord(UInt32(i)).pointee = 0
            if states[i] == HNSWIndex.live {
                labelMap.set(records.label(UInt32(i)), UInt32(i))
                if levels[i] > 0 {
                    let words = Int(levels[i]) * (m + 1)
                    let block = UnsafeMutablePointer<UInt32>.allocate(capacity: words)
                    try r.read(into: block, count: words * 4)
                    upperLinks[i] = block
                    upperBytes += words * 4
                }
            } else {
                levels[i] = 0
            }
        }
        let freeCount = Int(try r.read(UInt32.self))
        guard freeCount <= used else { throw VectorIndexError.corruptSerialization("bad free list") }
        for _ in 0..<freeCount {
            let id = try r.read(UInt32.self)
            guard Int(id) < used else { throw VectorIndexError.corruptSerialization("bad free list") }
            states[Int(id)] = HNSWIndex.free  // a deleted slot saved before its sweep: its edges are gone on reuse
            records.level0List(id).pointee = 0
            freeIds.append(id)
        }
        try quantizer?.deserialize(from: &r, used: used)
        guard labelMap.count == live else { throw VectorIndexError.corruptSerialization("label count mismatch") }
        nextId = UInt32(used)
        liveCount = live
        entryPoint = entry
        maxLevel = top
    }
}

/// Sorts `count` items ascending by distance (insertion sort: lists here are at most a few hundred long).
func sortAscending(_ items: UnsafeMutablePointer<HeapItem>, _ count: Int) {
    if count < 2 { return }
    for i in 1..<count {
        let x = items[i]
        var j = i - 1
        while j >= 0 && items[j].distance > x.distance {
            items[j + 1] = items[j]
            j -= 1
        }
        items[j + 1] = x
    }
}

/// How a search measures distance from its query to a node; specialised per kind so the hot loop has no dispatch.
protocol QueryDistance {
    func distance(_ records: NodeRecords, _ id: UInt32) -> Float
    /// Starts loading what `distance` will read for `id`.
    func prefetch(_ records: NodeRecords, _ id: UInt32)
    /// Loads everything `distance` reads for `id` (beyond the first line).
    func prefetchAll(_ records: NodeRecords, _ id: UInt32)
    /// The distances of `count` ids (a walk step's unvisited neighbors), `out[j]` for `ids[j]`.
    func distances(_ records: NodeRecords, _ ids: UnsafePointer<UInt32>, _ count: Int, into out: UnsafeMutablePointer<Float>)
}

extension QueryDistance {
    @inline(__always) func prefetch(_ records: NodeRecords, _ id: UInt32) { vs_prefetch(records.vector(id)) }
    @inline(__always) func distances(_ records: NodeRecords, _ ids: UnsafePointer<UInt32>, _ count: Int,
                                     into out: UnsafeMutablePointer<Float>) {
        distancesOneByOne(records, ids, count, into: out)
    }
    /// One at a time, pulling the whole next vector while this one is scored: full vectors are too large to
    /// prefetch a whole step's worth at once.
    @inline(__always) func distancesOneByOne(_ records: NodeRecords, _ ids: UnsafePointer<UInt32>, _ count: Int,
                                             into out: UnsafeMutablePointer<Float>) {
        for j in 0..<count {
            if j &+ 1 < count { prefetchAll(records, ids[j &+ 1]) }
            out[j] = distance(records, ids[j])
        }
    }
}

extension PreparedQuery {
    @inline(__always) func prefetchAll(_ records: NodeRecords, _ id: UInt32) {
        let v = records.vector(id)
        var offset = 64
        while offset < space.vectorBytes { vs_prefetch(v + offset); offset &+= 64 }
    }
}

/// A prepared (converted, normalized) query against full-precision records.
struct PreparedQuery: QueryDistance {
    let space: DistanceSpace
    let query: UnsafeRawPointer
    @inline(__always) func distance(_ records: NodeRecords, _ id: UInt32) -> Float {
        let record = records.record(id)
        return space.distance(query: query, stored: record + records.layout.vectorOffset,
                              inverseNormAt: record + records.layout.inverseNormOffset)
    }
}

/// A stored vector used as the query (graph construction and repair).
struct StoredQuery: QueryDistance {
    @inline(__always) func prefetchAll(_ records: NodeRecords, _ id: UInt32) {
        let v = records.vector(id)
        var offset = 64
        while offset < space.vectorBytes { vs_prefetch(v + offset); offset &+= 64 }
    }
    let space: DistanceSpace
    let vector: UnsafeRawPointer
    let inverseNorm: Float
    @inline(__always) func distance(_ records: NodeRecords, _ id: UInt32) -> Float {
        space.distance(stored: vector, inverseNorm, stored: records.vector(id), records.inverseNorm(id))
    }
}

/// Wrappers that let raw pointers cross into `concurrentPerform` in Swift 6 (the pointee is used atomically or
/// read-only by design).
struct UnsafeSendablePointer: @unchecked Sendable { let pointer: UnsafeMutablePointer<UInt64> }
struct UnsafeSendableRawPointer: @unchecked Sendable { let pointer: UnsafeRawPointer }

/// Per-search working memory, pooled and reused so a search allocates nothing once warm.
final class SearchScratch: @unchecked Sendable {
    private(set) var visited: UnsafeMutablePointer<UInt16>
    private var visitedCapacity: Int
    private var epoch: UInt16 = 0
    var candidates = DistanceHeap(capacity: 256)
    var results = DistanceHeap(capacity: 256)
    /// Results of a layer search, ascending.
    private(set) var sorted: UnsafeMutablePointer<HeapItem>
    private var sortedCapacity = 256
    let neighbors: UnsafeMutablePointer<UInt32>
    /// `neighbors`' distances during a walk step.
    let neighborDistances: UnsafeMutablePointer<Float>
    let selected: UnsafeMutablePointer<UInt32>
    let prune: UnsafeMutablePointer<HeapItem>
    let pruneSelected: UnsafeMutablePointer<UInt32>
    let orphans: UnsafeMutablePointer<UInt32>
    let query: UnsafeMutableRawPointer
    /// SQ8 query preparation: query in code units, then per-dimension weights.
    let sq8Query: UnsafeMutablePointer<Float>
    private let fixedBytes: Int

    init(queryBytes: Int, dimension: Int, maxNeighbors: Int) {
        visitedCapacity = 0
        visited = .allocate(capacity: 1)
        sorted = .allocate(capacity: sortedCapacity)
        neighbors = .allocate(capacity: maxNeighbors + 1)
        neighborDistances = .allocate(capacity: maxNeighbors + 1)
        selected = .allocate(capacity: maxNeighbors + 1)
        prune = .allocate(capacity: 2 * maxNeighbors + 2)
        pruneSelected = .allocate(capacity: 2 * maxNeighbors + 2)
        orphans = .allocate(capacity: maxNeighbors + 1)
        query = .allocate(byteCount: max(queryBytes, 8), alignment: 64)
        sq8Query = .allocate(capacity: TraversalCodes.queryStateFloats(dimension: dimension))
        fixedBytes = queryBytes + 8 * dimension + (maxNeighbors + 1) * 16 + (2 * maxNeighbors + 2) * 12
    }

    func deallocate() {
        visited.deallocate(); sorted.deallocate(); neighbors.deallocate(); neighborDistances.deallocate(); selected.deallocate()
        prune.deallocate(); pruneSelected.deallocate(); orphans.deallocate(); query.deallocate(); sq8Query.deallocate()
        candidates.deallocate(); results.deallocate()
    }

    var memoryUsage: Int {
        visitedCapacity * 2 + (candidates.capacity + results.capacity + sortedCapacity) * MemoryLayout<HeapItem>.stride + fixedBytes
    }

    func ensureVisitedCapacity(_ capacity: Int) {
        guard capacity > visitedCapacity else { return }
        visited.deallocate()
        visited = .allocate(capacity: capacity)
        visited.initialize(repeating: 0, count: capacity)
        visitedCapacity = capacity
        epoch = 0
    }

    /// A fresh visited mark; the array is cleared only when the 16-bit epoch wraps.
    func nextEpoch() -> UInt16 {
        epoch &+= 1
        if epoch == 0 {
            visited.update(repeating: 0, count: visitedCapacity)
            epoch = 1
        }
        return epoch
    }

    /// Moves `results` into `sorted` ascending; returns the count.
    func drainResultsAscending() -> Int {
        let n = results.count
        if n > sortedCapacity {
            sorted.deallocate()
            sortedCapacity = n * 2
            sorted = .allocate(capacity: sortedCapacity)
        }
        var i = n - 1
        while i >= 0 { sorted[i] = results.pop(); i -= 1 }
        return n
    }
}
