// Tiered HNSW (as RediSearch's): writes land in a small exact FLAT buffer and return at once; background threads
// link them into the graph. Searches query both tiers and merge, so a vector is visible as soon as HSET replied.
import Dispatch
import Synchronization
import Tiering
import VectorIndex

public final class TieredVectorIndex: VectorIndex, @unchecked Sendable {
    public let parameters: VectorIndexParameters
    let graph: any VectorIndex
    let buffer: FlatIndex
    /// At this many buffered vectors, writers are made to wait (backpressure, bounded scans): with a `writeGate`,
    /// the write still goes into the buffer and the gate holds the writing clients until the drainers bring the
    /// buffer down to half; without one, the writer links its vector into the graph itself.
    let bufferLimit: Int
    /// The node's stall registry (the server holds clients after hash writes while it is stalled). Linking on the
    /// writer's thread meant linking on the event loop: a pypi-50k bulk load into a tiered index stalled PING for
    /// up to 1.7 s.
    private let writeGate: TieringController?

    /// Guards `versions` and `queue`: a label's version changes on every write so a transfer can tell whether the
    /// vector it copied is still the current one.
    private struct TierState {
        var versions: [UInt64: UInt64] = [:]
        var queue: [(label: UInt64, version: UInt64)] = []
        var nextVersion: UInt64 = 1
        var drainers = 0
        /// Labels a drainer is linking now. A later write of the same label waits in the queue until that drainer
        /// is done: two inserts of one label running at once can finish in either order, and the older vector then
        /// stayed in the graph (an update found by its old vector, seen once in CI).
        var inFlight: Set<UInt64> = []
        /// True while this index holds a stall in `writeGate`.
        var stalled = false
    }
    private let state = Mutex(TierState())
    /// Drains that emptied their queue, over every index of the process. A drain that finishes has freed its transfer
    /// copies and shrunk the buffer: the server counts it as activity when it decides to give freed heap back.
    private static let finishedDrains = Atomic<Int>(0)
    public static var drainsFinished: Int { finishedDrains.load(ordering: .relaxed) }
    /// Vectors a drainer links before it goes to the back of the global queue. Searches run on that queue's threads,
    /// as many as there are cores. Drainers that kept them through a burst of HSETs made searches wait for the whole
    /// backlog: 2.2 s for one FT.SEARCH at 8 connections while a client pipelined overwrites.
    static let drainSlice = 32
    /// Times a drainer handed its thread back with work left (see `drainSlice`).
    private static let yieldedDrains = Atomic<Int>(0)
    public static var drainsYielded: Int { yieldedDrains.load(ordering: .relaxed) }
    /// Rows the write buffer keeps when empty.
    static let idleBufferCapacity = 64
    private let maxDrainers: Int
    /// True while a background thread repairs the graph around detached deletes.
    private let repairing = Atomic<Bool>(false)

    /// `graph` is what the buffer drains into: an all-RAM HNSW built from `parameters` unless given (a
    /// `TieredHNSWIndex` for `STORAGE TIERED`, whose inserts are HNSW inserts too, so HSET still should not wait).
    public init(_ parameters: VectorIndexParameters, graph: (any VectorIndex)? = nil, bufferLimit: Int = 1024,
                backgroundThreads: Int = 2, writeGate: TieringController? = nil) throws {
        self.parameters = parameters
        self.writeGate = writeGate
        self.graph = try graph ?? makeVectorIndex(parameters)
        var flat = parameters
        flat.algorithm = .flat
        // Grown by doubling and given back once drained: a bulk load fills it, but an idle index should not keep
        // `bufferLimit` vectors of RAM (1.6 MB at 384-d) for nothing.
        flat.initialCapacity = min(parameters.initialCapacity, TieredVectorIndex.idleBufferCapacity)
        flat.blockSize = TieredVectorIndex.idleBufferCapacity
        buffer = try FlatIndex(flat)
        self.bufferLimit = bufferLimit
        maxDrainers = max(1, backgroundThreads)
    }

    public var count: Int {
        // Labels in transit sit in both tiers; the version map counts each live label once.
        state.withLock { $0.versions.count } + graphOnlyCount
    }
    /// Labels that finished their transfer (no longer versioned).
    private var graphOnlyCount: Int { max(0, graph.count - transitCount) }
    private var transitCount: Int { state.withLock { s in s.versions.keys.filter { graph.contains(label: $0) }.count } }

    public var memoryUsage: Int { graph.memoryUsage + buffer.memoryUsage }

    /// Vectors still waiting to be linked into the graph (FT.INFO `indexing`).
    public var pendingCount: Int { state.withLock { $0.versions.count } }

    public func add(label: UInt64, vector: UnsafeRawBufferPointer) throws {
        guard vector.count == parameters.vectorByteCount else {
            try buffer.add(label: label, vector: vector)  // throws the engine's size error
            return
        }
        if buffer.count >= bufferLimit {
            if let writeGate {
                // Buffer full: take the write anyway and make writers wait until the drainers catch up.
                state.withLock { s in
                    if !s.stalled { s.stalled = true; writeGate.stall(self) }
                }
            } else {
                // Buffer full: insert synchronously, dropping any buffered older version first, unless a drainer is
                // linking an older version right now (then this one queues behind it, below).
                let linking = state.withLock { s -> Bool in
                    if s.inFlight.contains(label) { return true }
                    s.versions.removeValue(forKey: label)
                    return false
                }
                if !linking {
                    buffer.remove(label: label)
                    try graph.add(label: label, vector: vector)
                    return
                }
            }
        }
        try buffer.add(label: label, vector: vector)
        let startDrainer = state.withLock { s -> Bool in
            let v = s.nextVersion
            s.nextVersion += 1
            s.versions[label] = v
            s.queue.append((label, v))
            if s.drainers < maxDrainers { s.drainers += 1; return true }
            return false
        }
        if startDrainer { DispatchQueue.global().async { self.drain() } }
    }

    /// The graph's share of a delete is `detach` (O(1)); the repair around the deleted node runs on a background
    /// thread, like RediSearch's tiered index, so a burst of DELs does not hold the event loop.
    @discardableResult
    public func remove(label: UInt64) -> Bool {
        let wasBuffered = state.withLock { $0.versions.removeValue(forKey: label) } != nil
        let a = buffer.remove(label: label)
        let b = graph.detach(label: label)
        // Only a graph whose detach left work behind (all-RAM HNSW) needs the repairer; a tiered one deleted at once.
        if b, graph.repairDetached(limit: 0) > 0 { scheduleRepairs() }
        return a || b || wasBuffered
    }

    /// Starts the repairer unless it runs; it stops once `repairDetached` reports nothing left.
    private func scheduleRepairs() {
        guard repairing.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        DispatchQueue.global().async { self.repairLoop() }
    }

    private func repairLoop() {
        while true {
            while graph.repairDetached(limit: 64) > 0 {}
            repairing.store(false, ordering: .releasing)
            // A detach between the last repair and the store saw the flag still set and started nothing.
            guard graph.repairDetached(limit: 0) > 0,
                  repairing.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
            else { return }
        }
    }

    public func contains(label: UInt64) -> Bool { buffer.contains(label: label) || graph.contains(label: label) }

    public func vectorBytes(label: UInt64) -> [UInt8]? { buffer.vectorBytes(label: label) ?? graph.vectorBytes(label: label) }

    /// Moves queued vectors into the graph until the queue is empty.
    private func drain() {
        var linked = 0
        while true {
            if linked == TieredVectorIndex.drainSlice, state.withLock({ !$0.queue.isEmpty }) {
                // Still a drainer (the count is unchanged); continues behind whatever was queued meanwhile.
                Self.yieldedDrains.add(1, ordering: .relaxed)
                DispatchQueue.global().async { self.drain() }
                return
            }
            let bufferedNow = buffer.count
            let next = state.withLock { s -> (UInt64, UInt64)? in
                if s.stalled, s.queue.isEmpty || bufferedNow <= bufferLimit / 2 { clearStall(&s) }
                // The first write whose label no other drainer is linking; with none (empty, or only such labels,
                // which their drainers take next) this drainer stops.
                guard let at = s.queue.firstIndex(where: { !s.inFlight.contains($0.label) }) else {
                    s.drainers -= 1
                    return nil
                }
                let item = s.queue.remove(at: at)
                s.inFlight.insert(item.label)
                return (item.label, item.version)
            }
            guard let (label, version) = next else {
                buffer.releaseUnusedCapacity(keeping: TieredVectorIndex.idleBufferCapacity)
                Self.finishedDrains.add(1, ordering: .relaxed)
                return
            }
            // The label stays in flight until its insert (or the undo below) is done.
            defer { _ = state.withLock { $0.inFlight.remove(label) } }
            // Skip superseded or deleted writes; a newer queue entry carries the current vector.
            guard state.withLock({ $0.versions[label] == version }), let bytes = buffer.vectorBytes(label: label) else { continue }
            bytes.withUnsafeBytes { try? graph.add(label: label, vector: $0) }
            linked += 1
            let stillCurrent = state.withLock { s -> Bool in
                guard s.versions[label] == version else { return false }
                s.versions.removeValue(forKey: label)
                return true
            }
            if stillCurrent {
                buffer.remove(label: label)
            } else if state.withLock({ $0.versions[label] == nil }) && !buffer.contains(label: label) {
                // Deleted while we were linking it: undo our insert.
                graph.remove(label: label)
            }
        }
    }

    /// Caller holds `state`'s lock.
    private func clearStall(_ s: inout TierState) {
        s.stalled = false
        writeGate?.clearStall(self)
    }

    deinit { if state.withLock({ $0.stalled }) { writeGate?.clearStall(self) } }

    /// Waits until every buffered vector is in the graph and every detached delete repaired (tests, FT.INFO-driven
    /// waits, benchmarks).
    public func waitUntilDrained() {
        while state.withLock({ !$0.queue.isEmpty || $0.drainers > 0 }) || repairing.load(ordering: .acquiring) {
            usleepShort()
        }
    }

    public func search(query: UnsafeRawBufferPointer, k: Int, efRuntime: Int?, filter: SearchFilter?) throws -> [VectorMatch] {
        let fromBuffer = buffer.count > 0 ? try buffer.search(query: query, k: k, efRuntime: nil, filter: filter) : []
        let fromGraph = try graph.search(query: query, k: k, efRuntime: efRuntime, filter: filter)
        return merge(fromBuffer, fromGraph, limit: k)
    }

    public func rangeSearch(query: UnsafeRawBufferPointer, radius: Float, epsilon: Double?, filter: SearchFilter?) throws -> [VectorMatch] {
        let fromBuffer = buffer.count > 0 ? try buffer.rangeSearch(query: query, radius: radius, epsilon: epsilon, filter: filter) : []
        let fromGraph = try graph.rangeSearch(query: query, radius: radius, epsilon: epsilon, filter: filter)
        return merge(fromBuffer, fromGraph, limit: .max)
    }

    /// The buffer is authoritative for labels it holds (the graph may have an older vector of a label in transit).
    /// A drainer may move a label from the buffer into the graph between the two searches, so a label the buffer
    /// answered is skipped in the graph's answer even when the buffer no longer holds it.
    private func merge(_ fromBuffer: [VectorMatch], _ fromGraph: [VectorMatch], limit: Int) -> [VectorMatch] {
        if fromBuffer.isEmpty && buffer.count == 0 { return fromGraph }
        var all = fromBuffer
        let answered = Set(fromBuffer.lazy.map(\.label))
        for m in fromGraph where !answered.contains(m.label) && !buffer.contains(label: m.label) { all.append(m) }
        sortMatches(&all)
        if all.count > limit { all.removeSubrange(limit...) }
        return all
    }

    public func serialize() -> [UInt8] {
        waitUntilDrained()
        return graph.serialize()
    }
}

#if canImport(Glibc)
import Glibc
#endif
private func usleepShort() { usleep(200) }
