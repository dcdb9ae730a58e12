// One sealed, immutable HNSW graph on SSD: level-0 records in page files, navigation state (codes, upper levels,
// labels) in RAM, searched DiskANN-style with batched page reads and an exact re-rank from the records read.
import CVectorKernels
import Storage
import Synchronization
import VectorIndex
#if canImport(Glibc)
import Glibc
#endif

/// What one segment keeps in RAM, and where its records are on SSD.
///
/// Local ids are record positions in the page file (`page = id / recordsPerPage`): the writer renumbers the graph in
/// its page-placement order, so no per-node directory is kept. RAM per node: the traversal code, the label and its
/// lookup (`SegmentLabels`), a tombstone byte; upper-level lists only for the ~1/M nodes that have them.
final class DiskSegment: @unchecked Sendable {
    let path: String
    let parameters: VectorIndexParameters
    let count: Int
    let layout: PageLayout
    let file: PageFile
    /// The buffer pool and the entry pages pinned in it; replaced whole when the memory share changes.
    private let poolState: Mutex<(pool: BufferPool, pinned: [PinnedPage])>
    var pool: BufferPool { poolState.withLock { $0.pool } }
    /// Hot vectors kept record by record (resident-list segments only); replaced with the pool.
    private let hotState: Mutex<HotRecordCache?>
    var hotRecords: HotRecordCache? { hotState.withLock { $0 } }
    private let distance: VectorDistance
    let quantizer: any TraversalQuantizer
    let codes: UnsafeMutablePointer<UInt8>
    let labels: SegmentLabels
    /// Per local id: 1 = deleted (tombstone). Written under `tombstoneLock`, read with acquire loads by searches.
    let tombstones: UnsafeMutablePointer<UInt8>
    private let tombstoneLock = Mutex<[UInt64]>([])  // labels deleted since open, in order (compaction replays them)
    private let deletedCount = Atomic<Int>(0)
    /// Upper levels: the nodes that have them, each with the offset of its `top` blocks of `[count, M ids]` in
    /// `upperLists`.
    let upperNodes: UpperLevelNodes
    let upperLists: [UInt32]
    let m: Int
    let entry: UInt32
    let maxLevel: Int
    private let scratchPool = Mutex<[SegmentScratch]>([])
    /// Level-0 lists held in RAM when the memory share has room for them (see `ResidentLists`); nil otherwise.
    private let residentState: Mutex<ResidentLists?>
    /// The resident lists' size once measured (segments are immutable, so it never changes).
    private let listBytes: Mutex<Int?>
    /// Frames a share must leave to the pool before the lists go resident; nil: never (a cold segment).
    private let minimumPoolFrames: Int?
    /// Encodes and reads the residual rows (4-bit codes only).
    private let residualCoder: ResidualCoder?
    /// Residual rows, held beside resident lists when the share has room for both and `minimumPoolFrames`.
    private let residualState: Mutex<ResidualRows?>
    var residualRows: ResidualRows? { residualState.withLock { $0 } }
    var residentLists: ResidentLists? { residentState.withLock { $0 } }
    let statistics: TieringCounters
    /// Set when a compaction replaced this segment: its files go when the last search lets go of it.
    let obsolete = Atomic<Bool>(false)

    // MARK: - Writing

    /// Writes the live nodes of a frozen graph as a new segment file at `path` (renumbered in neighbor-packing order,
    /// traversal codes trained on the graph's own vectors) and returns it opened. `deleted` labels start as tombstones.
    static func write(graph: HNSWGraphView, path: String, deleted: Set<UInt64>, poolBytes: Int, shareBytes: Int,
                      statistics: TieringCounters) throws -> DiskSegment {
        let p = graph.parameters
        let layout = try PageLayout(elementType: PageElementType(rawValue: p.elementType.rawValue)!, dimension: p.dimension,
                                    maxNeighbors0: 2 * p.m)
        var liveIds: [UInt32] = []
        liveIds.reserveCapacity(graph.idCount)
        for id in 0..<UInt32(graph.idCount) where graph.isLive(id) { liveIds.append(id) }
        let n = liveIds.count
        var dense = [UInt32](repeating: .max, count: graph.idCount)
        for (i, id) in liveIds.enumerated() { dense[Int(id)] = UInt32(i) }
        func liveNeighbors(_ old: UInt32, _ level: Int) -> [UInt32] {
            graph.neighbors(old, level: level).compactMap { dense[Int($0)] == .max ? nil : dense[Int($0)] }
        }
        // The graph's entry point may have been deleted since it was chosen (make fuzz found a SAVE that trapped on
        // it): the live node with the highest level enters the segment instead.
        let entry = graph.entryPoint.flatMap { graph.isLive($0) ? $0 : nil } ?? liveIds.max { graph.level($0) < graph.level($1) }
        let entryLevel = entry.map { $0 == graph.entryPoint ? graph.maxLevel : graph.level($0) } ?? -1
        // Placement over dense ids, then the file position of each dense id becomes its local id.
        let entryDense = entry.map { dense[Int($0)] } ?? 0
        let order = PagePlacement.order(count: n, recordsPerPage: layout.recordsPerPage, entry: entryDense,
                                        strategy: .neighborPacking) { liveNeighbors(liveIds[Int($0)], 0) }
        let position = PagePlacement.positions(of: order)
        func local(_ old: UInt32) -> UInt32 { position[Int(dense[Int(old)])] }
        let oldOf = order.map { liveIds[Int($0)] }  // local id → graph id

        // Quantizer trained on an even sample of the graph's vectors (prepared form: float32, normalized for COSINE).
        let distance = VectorDistance(dimension: p.dimension, elementType: p.elementType, metric: p.metric)
        let quantizer = makeQuantizer(dimension: p.dimension, metric: p.metric,
                                      ramPerVector: ramPerVector(shareBytes: shareBytes, vectors: n))
        let prepared = UnsafeMutablePointer<Float>.allocate(capacity: p.dimension)
        defer { prepared.deallocate() }
        let sampleCount = min(n, 20_000)
        if sampleCount > 0 {
            let sample = UnsafeMutablePointer<Float>.allocate(capacity: sampleCount * p.dimension)
            defer { sample.deallocate() }
            for s in 0..<sampleCount {
                try distance.prepareFloat32(graph.vector(oldOf[s * n / sampleCount]), into: sample + s * p.dimension)
            }
            quantizer.train(vectors: sample, count: sampleCount)
        }
        var codes = [UInt8](repeating: 0, count: n * quantizer.codeBytes)
        try codes.withUnsafeMutableBufferPointer { out in
            for l in 0..<n {
                try distance.prepareFloat32(graph.vector(oldOf[l]), into: prepared)
                quantizer.encode(prepared, into: out.baseAddress! + l * quantizer.codeBytes)
            }
        }

        let uppers: [(id: UInt32, lists: [[UInt32]])] = (0..<n).compactMap { l in
            let old = oldOf[l], top = graph.level(old)
            guard top > 0 else { return nil }
            return (UInt32(l), (1...top).map { level in
                graph.neighbors(old, level: level).compactMap { dense[Int($0)] == .max ? nil : local($0) }
            })
        }
        let parts = SegmentParts(
            parameters: p, count: n, entry: entry.map { local($0) } ?? .max,
            maxLevel: entryLevel,
            labels: (0..<n).map { graph.label(oldOf[$0]) },
            tombstones: (0..<n).map { deleted.contains(graph.label(oldOf[$0])) ? 1 : 0 },
            uppers: uppers, quantizer: quantizer, codes: codes)
        return try writeSegment(parts, layout: layout, path: path, poolBytes: poolBytes, statistics: statistics,
                                vector: { graph.vector(oldOf[Int($0)]) },
                                neighbors: { liveNeighbors(oldOf[Int($0)], 0).map { position[Int($0)] } })
    }

    /// Writes a segment file from its parts (records from `vector` / `neighbors` in id order) and opens it.
    static func writeSegment(_ parts: SegmentParts, layout: PageLayout, path: String, poolBytes: Int,
                             statistics: TieringCounters, vector: (UInt32) -> UnsafeRawBufferPointer,
                             neighbors: (UInt32) -> [UInt32]) throws -> DiskSegment {
        let p = parts.parameters, n = parts.count
        var blob = BlobWriter()
        blob.write(UInt32(blobVersion))
        blob.write(UInt32(p.algorithm.rawValue)); blob.write(UInt32(p.dimension)); blob.write(UInt32(p.elementType.rawValue))
        blob.write(UInt32(p.metric.rawValue)); blob.write(UInt32(p.m)); blob.write(UInt32(p.efConstruction))
        blob.write(UInt32(p.efRuntime)); blob.write(p.epsilon.bitPattern)
        blob.write(UInt64(n))
        blob.write(parts.entry)
        blob.write(Int32(parts.maxLevel))
        for label in parts.labels { blob.write(label) }
        for t in parts.tombstones { blob.write(t) }
        blob.write(UInt64(parts.uppers.count))
        for (id, lists) in parts.uppers {
            blob.write(id); blob.write(UInt8(lists.count))
            for list in lists {
                blob.write(UInt32(min(list.count, p.m)))
                for j in 0..<p.m { blob.write(j < list.count ? list[j] : 0) }
            }
        }
        let pq = parts.quantizer.serialize()
        blob.write(UInt64(pq.count)); blob.bytes.append(contentsOf: pq)
        blob.bytes.append(contentsOf: parts.codes)

        let pagesBefore = statistics.pagesWritten.load(ordering: .relaxed)
        _ = try SegmentWriter.write(path: path, layout: layout, count: n, entry: parts.entry == .max ? 0 : parts.entry,
                                    placement: .identity, engineBlob: blob.bytes, vector: vector, neighbors: neighbors)
        let dataPages = (n + layout.recordsPerPage - 1) / layout.recordsPerPage
        statistics.pagesWritten.store(pagesBefore + dataPages + (blob.bytes.count + layout.pageSize - 1) / layout.pageSize,
                                      ordering: .relaxed)
        return try DiskSegment(path: path, poolBytes: poolBytes, statistics: statistics)
    }

    static let blobVersion = 1

    /// The codes a new segment's walks run on: 4 bits per dimension (`FourBitQuantizer`) wherever they fit in
    /// `codeShare` of the index's RAM per vector (always from 64 to 256 dimensions), else product quantization with 4
    /// dimensions per byte (2 below 64 dimensions, where 4-bit codes would be mostly padding). Measured on
    /// pypi-minilm-50k (384-d) at a 20 % limit (360 B per vector): fine codes re-ranking 12 candidates gave recall
    /// 0.962 at ef 40 where 4 dimensions per byte needed 20 reads for 0.955 (and gave 0.909 at 12): the SSD's read
    /// rate bounds tiered QPS, so finer codes pay while they leave the pool room. 4-bit codes
    /// rank like 2-dimension PQ (exact top-10 among the best 12 estimates: 0.987 vs 0.986) at a sixth of the CPU per
    /// estimate. A 200k × 128-d Gaussian mixture sealed once gave 0.734 at ef 40 with 4 dimensions per PQ byte and
    /// 0.965 with 2 (all-RAM HNSW 0.961).
    static func makeQuantizer(dimension: Int, metric: DistanceMetric, ramPerVector: Int) -> any TraversalQuantizer {
        let budget = codeShare * Double(ramPerVector)
        if dimension >= 64, dimension <= 256 || Double(FourBitQuantizer.codeBytes(dimension: dimension)) <= budget {
            return FourBitQuantizer(dimension: dimension, metric: metric)
        }
        let fine = max(1, dimension / 2)
        let subspaces = dimension <= 256 || Double(fine) <= budget ? fine : max(1, dimension / 4)
        return ProductQuantizer(dimension: dimension, subspaces: subspaces, metric: metric)
    }
    /// Part of an index's RAM per vector that fine codes may take (the rest: labels, resident lists, pool): 0.6 lets
    /// 384-d 4-bit codes (204 B) in at a 20 % limit (356 B per vector).
    static let codeShare = 0.6

    /// RAM per vector of an index holding `vectors` in a share of `shareBytes`.
    static func ramPerVector(shareBytes: Int, vectors: Int) -> Int { shareBytes / max(vectors, 1) }

    // MARK: - Opening

    /// Opens a segment written by `write` (also after a restart: nothing is rebuilt).
    /// `minimumPoolFrames`: what a share must leave to the pool before the lists go resident (tests lower it);
    /// `residentLists` false: never (a cold segment is read lazily).
    init(path: String, poolBytes: Int, statistics: TieringCounters,
         minimumPoolFrames: Int = DiskSegment.residentMinimumPoolFrames, residentLists: Bool = true) throws {
        self.path = path
        self.minimumPoolFrames = residentLists ? minimumPoolFrames : nil
        self.statistics = statistics
        file = try PageFile(path: path)
        layout = file.layout
        let metadata = try SegmentWriter.readMetadata(file)
        var r = BlobReader(bytes: metadata.engineBlob, path: path)
        guard try r.read(UInt32.self) == DiskSegment.blobVersion else { throw r.corrupt("engine blob version") }
        let algorithm = try r.read(UInt32.self), dimension = Int(try r.read(UInt32.self))
        guard let type = VectorElementType(rawValue: UInt8(truncatingIfNeeded: try r.read(UInt32.self))),
              let metric = DistanceMetric(rawValue: UInt8(truncatingIfNeeded: try r.read(UInt32.self))),
              algorithm == UInt32(VectorAlgorithm.hnsw.rawValue), dimension == layout.dimension
        else { throw r.corrupt("parameters") }
        let m = Int(try r.read(UInt32.self)), efc = Int(try r.read(UInt32.self)), efr = Int(try r.read(UInt32.self))
        let epsilon = Double(bitPattern: try r.read(UInt64.self))
        parameters = VectorIndexParameters(algorithm: .hnsw, dimension: dimension, elementType: type, metric: metric,
                                           m: m, efConstruction: efc, efRuntime: efr, epsilon: epsilon)
        self.m = m
        let n = Int(try r.read(UInt64.self))
        guard n == metadata.directory.count, n <= Int(file.header.recordCount) else { throw r.corrupt("node count") }
        count = n
        entry = try r.read(UInt32.self)
        maxLevel = Int(try r.read(Int32.self))
        var labelsById = [UInt64](repeating: 0, count: n)
        for l in 0..<n { labelsById[l] = try r.read(UInt64.self) }
        tombstones = .allocate(capacity: max(n, 1))
        var deleted = 0
        for l in 0..<n { tombstones[l] = try r.read(UInt8.self); deleted += Int(tombstones[l]) }
        deletedCount.store(deleted, ordering: .relaxed)
        let upperCount = Int(try r.read(UInt64.self))
        var uppers: [(id: UInt32, offset: UInt32, top: UInt8)] = [], lists: [UInt32] = []
        for _ in 0..<upperCount {
            let id = try r.read(UInt32.self), top = try r.read(UInt8.self)
            guard Int(id) < n, top > 0, lists.count <= Int(UInt32.max) else { throw r.corrupt("upper levels") }
            uppers.append((id, UInt32(lists.count), top))
            for _ in 0..<(Int(top) * (m + 1)) { lists.append(try r.read(UInt32.self)) }
        }
        guard let nodes = UpperLevelNodes(uppers) else { throw r.corrupt("upper levels: a node listed twice") }
        upperNodes = nodes; upperLists = lists
        let pqCount = Int(try r.read(UInt64.self))
        quantizer = try deserializeTraversalQuantizer(try r.bytes(pqCount))
        codes = .allocate(capacity: max(n * quantizer.codeBytes, 1))
        try r.copy(into: codes, count: n * quantizer.codeBytes)
        collapseToHugePages(codes, byteCount: n * quantizer.codeBytes)
        // Local ids must be record positions (the writer used identity placement over renumbered ids).
        for (l, address) in metadata.directory.enumerated() where address.rawValue != UInt64(l) {
            throw r.corrupt("record \(l) is not at its position")
        }
        // Only records live at open are indexed by label: a merged segment can hold a dead older copy of a label
        // beside its live one, and lookups (reads, tombstones) must reach the live one.
        let deadAtOpen = tombstones
        labels = SegmentLabels(labelsById) { deadAtOpen[$0] == 0 }
        distance = VectorDistance(dimension: dimension, elementType: type, metric: metric)
        var coder: ResidualCoder?
        if DiskSegment.residualsEnabled, let fourBit = quantizer as? FourBitQuantizer {
            coder = ResidualCoder(quantizer: fourBit, codes: UnsafePointer(codes), codeBytes: fourBit.codeBytes,
                                  dimension: dimension, distance: distance, metric: metric)
        }
        residualCoder = coder
        let (file, layout) = (file, layout)
        let plan = DiskSegment.planMemory(poolBytes, layout: layout, pages: file.pageCount, nodes: n,
                                          minimumPoolFrames: minimumPoolFrames, current: nil, knownListBytes: nil) {
            try ResidentLists(file: file, layout: layout, count: n, m: m)
        }
        let rows = DiskSegment.planResiduals(coder, poolBytes: plan.poolBytes, listsResident: plan.lists != nil,
                                             layout: layout, nodes: n, minimumPoolFrames: minimumPoolFrames,
                                             current: nil) { try ResidualRows(coder: $0, file: file, layout: layout, count: n) }
        let split = DiskSegment.splitPool(plan.poolBytes - (rows?.memoryUsage ?? 0), layout: layout,
                                          listsResident: plan.lists != nil, minimumPoolFrames: minimumPoolFrames)
        let pool = try BufferPool(file: file, budgetBytes: DiskSegment.clampPool(split.frameBytes, layout, pages: file.pageCount),
                                  shards: 4)
        poolState = Mutex((pool, DiskSegment.pinEntryNeighborhood(pool, pages: file.pageCount, nodes: n)))
        hotState = Mutex(split.hotBytes > 0 ? HotRecordCache(budgetBytes: split.hotBytes, recordBytes: layout.vectorBytes) : nil)
        residentState = Mutex(plan.lists)
        residualState = Mutex(rows)
        listBytes = Mutex(plan.measuredListBytes)
    }

    deinit {
        poolState.withLock { $0.pool.unpin($0.pinned) }
        codes.deallocate(); tombstones.deallocate()
        for s in scratchPool.withLock({ $0 }) { s.deallocate() }
        if obsolete.load(ordering: .acquiring) { unlink(path) }
    }

    /// At most the whole file (frames beyond it would never fill), at least 128 frames: a beam pins up to its width
    /// in pages per search, and a shard (a quarter of the frames) must never run out under concurrent searches.
    static func clampPool(_ bytes: Int, _ layout: PageLayout, pages: UInt64) -> Int {
        max(min(bytes / layout.pageSize, Int(pages) + 4), minimumFrames) * layout.pageSize
    }

    /// With resident lists a page read only brings the re-rank its exact vectors, and a 4 KiB frame usually holds one
    /// record worth keeping (pypi-minilm-50k: two 1.7 KiB records a page). So the pool keeps just enough frames to
    /// carry reads (`minimumPoolFrames`, at least `clampPool`'s floor) and the rest of its share holds hot vectors
    /// record by record, admitted by frequency (`HotRecordCache`). VS_HOT_RECORDS=0: all frames (A/B).
    static func splitPool(_ bytes: Int, layout: PageLayout, listsResident: Bool, minimumPoolFrames: Int?)
        -> (frameBytes: Int, hotBytes: Int) {
        guard hotRecordsEnabled, listsResident, let minimumPoolFrames else { return (bytes, 0) }
        let frameBytes = max(minimumPoolFrames, minimumFrames) * layout.pageSize
        let hotBytes = bytes - frameBytes
        guard hotBytes >= 64 * HotRecordCache.bytesPerSlot(layout.vectorBytes) else { return (bytes, 0) }
        return (frameBytes, hotBytes)
    }
    static let hotRecordsEnabled = getenv("VS_HOT_RECORDS").map { String(cString: $0) != "0" } ?? true
    /// The fewest frames a pool gets (see `clampPool`).
    static let minimumFrames = 128

    /// How a memory share is spent: when the pool cannot hold the whole file but the share holds every level-0 list
    /// plus `minimumPoolFrames` frames, the lists go resident and the pool gets the rest. A pool that holds the file
    /// needs no lists (every page is a hit), and a share too small for them keeps the page-reading walk. The lists'
    /// size is known only once they are encoded: `current` (already resident) or `knownListBytes` (measured
    /// before) avoid reading them again; otherwise `build` reads them, and they are dropped if they do not fit.
    static func planMemory(_ bytes: Int, layout: PageLayout, pages: UInt64, nodes: Int, minimumPoolFrames: Int?,
                           current: ResidentLists?, knownListBytes: Int?, build: () throws -> ResidentLists)
        -> (lists: ResidentLists?, poolBytes: Int, measuredListBytes: Int?) {
        let wholeFile = (Int(pages) + 4) * layout.pageSize
        guard residentListsEnabled, let minimumPoolFrames, nodes > 0, bytes < wholeFile else {
            return (nil, bytes, knownListBytes)
        }
        let floor = minimumPoolFrames * layout.pageSize
        let known = current?.memoryUsage ?? knownListBytes
        guard bytes >= (known ?? ResidentLists.lowerBound(nodes: nodes)) + floor else { return (nil, bytes, known) }
        guard let lists = current ?? (try? build()) else { return (nil, bytes, known) }
        guard bytes >= lists.memoryUsage + floor else { return (nil, bytes, lists.memoryUsage) }
        return (lists, bytes - lists.memoryUsage, lists.memoryUsage)
    }

    /// Residual rows go in when the lists are resident and what the pool keeps after them is still at least
    /// `minimumPoolFrames` frames; rows already built are kept while they fit. Nil: none (or they do not fit).
    static func planResiduals(_ coder: ResidualCoder?, poolBytes: Int, listsResident: Bool, layout: PageLayout, nodes: Int,
                              minimumPoolFrames: Int?, current: ResidualRows?,
                              build: (ResidualCoder) throws -> ResidualRows) -> ResidualRows? {
        guard let coder, listsResident, let minimumPoolFrames,
              poolBytes - nodes * coder.rowBytes >= minimumPoolFrames * layout.pageSize else { return nil }
        return current ?? (try? build(coder))
    }
    /// VS_RESIDUALS=0 builds no residual rows (A/B).
    static let residualsEnabled = getenv("VS_RESIDUALS").map { String(cString: $0) != "0" } ?? true
    /// VS_RESIDENT_LISTS=0 turns resident lists off (benchmarks compare both walks).
    static let residentListsEnabled = getenv("VS_RESIDENT_LISTS").map { String(cString: $0) != "0" } ?? true
    /// The quota bounds how many distinct pages, in candidate-list order, the re-rank takes: cached ones among them
    /// save reads, and candidates on cached pages further down are still re-ranked for free. Counting only uncached
    /// reads instead made every query read the full quota however warm the pool was (pypi-minilm-50k at 20 %, ef 40:
    /// 12.0 reads and recall 0.957 that way, 10.8 and 0.954 by depth, 7-12 % more queries/s, 2026-12-07).
    /// How deep a resident-list search re-ranks (the figures below counted uncached reads): an
    /// eighth of its candidate list and at least 1.2k with codes of 2 dimensions per byte or finer (4-bit codes), a
    /// quarter and at least 2k with coarser ones, so EF_RUNTIME buys both a wider walk and a deeper re-rank. The walk's
    /// width matters more than the re-rank's depth. 1M × 128 mixture at 176 MiB, 4-bit codes (vector-bench, same
    /// segment): re-ranking a quarter, recall 0.939 / 0.961 at ef 120 / 160 with 30 / 40 reads; an eighth,
    /// 0.934 / 0.954 at ef 200 / 240 with 25 / 30 reads, and the first ef at ≥ 0.95 ran 1,655 instead of 1,286
    /// queries/s; a twelfth gained nothing more (0.944 at ef 320, 26 reads, slower walks).
    /// pypi-minilm-50k at ef 64 / 120: 0.972 / 0.991 with 12 / 15 reads (a quarter: 0.980 / 0.992 with 16 / 30).
    /// At ef 40 (12 reads either way): 2-dimension PQ 0.932 / 0.962 / 0.967 re-ranking 10 / 12 / 20, PQ of 4 dimensions
    /// per byte 0.871 / 0.909 / 0.955.
    /// With residual rows ordering the list, a sixteenth: 1M × 128 at 195 MiB gave 0.951 / 0.956 / 0.985 at
    /// ef 120 / 160 / 240 with 12 / 12 / 15 reads (a twelfth: 0.951 / 0.965 / 0.990 with 12 / 13 / 20; an eighth:
    /// 0.968 / 0.979 / 0.991 with 15 / 20 / 30).
    static func rerankQuota(k: Int, ef: Int, dimensionsPerCodeByte: Int, refined: Bool = false) -> Int {
        if refined { return max((12 * k + 9) / 10, ef / 16) }
        return dimensionsPerCodeByte <= 2 ? max((12 * k + 9) / 10, ef / 8) : max(2 * k, ef / 4)
    }
    /// Frames a share must leave to the pool before lists go resident.
    static let residentMinimumPoolFrames = 256

    /// The entry point's neighborhood (placement writes it first) stays pinned for the segment's lifetime.
    private static func pinEntryNeighborhood(_ pool: BufferPool, pages fileBytes: UInt64, nodes: Int) -> [PinnedPage] {
        let pages = min(UInt64(4), fileBytes)
        guard nodes > 0, pages > 0, pool.frameCount >= 256 else { return [] }
        return (try? pool.pin(pages: (0..<pages).map { $0 })) ?? []
    }

    /// Replaces the buffer pool (a new memory share); searches holding the old one finish on it.
    func resizePool(bytes: Int) throws {
        let plan = DiskSegment.planMemory(bytes, layout: layout, pages: file.pageCount, nodes: count,
                                          minimumPoolFrames: minimumPoolFrames, current: residentLists,
                                          knownListBytes: listBytes.withLock { $0 }) {
            try ResidentLists(file: file, layout: layout, count: count, m: m)
        }
        listBytes.withLock { $0 = plan.measuredListBytes }
        residentState.withLock { $0 = plan.lists }
        let (segmentFile, segmentLayout, nodes) = (file, layout, count)
        let rows = DiskSegment.planResiduals(residualCoder, poolBytes: plan.poolBytes, listsResident: plan.lists != nil,
                                             layout: layout, nodes: count, minimumPoolFrames: minimumPoolFrames,
                                             current: residualRows) {
            try ResidualRows(coder: $0, file: segmentFile, layout: segmentLayout, count: nodes)
        }
        residualState.withLock { $0 = rows }
        let split = DiskSegment.splitPool(plan.poolBytes - (rows?.memoryUsage ?? 0), layout: layout,
                                          listsResident: plan.lists != nil, minimumPoolFrames: minimumPoolFrames)
        let hotSlots = split.hotBytes / HotRecordCache.bytesPerSlot(layout.vectorBytes)
        if hotSlots != hotRecords?.capacity ?? 0 {
            let hot = split.hotBytes > 0 ? HotRecordCache(budgetBytes: split.hotBytes, recordBytes: layout.vectorBytes) : nil
            hotState.withLock { $0 = hot }
        }
        let target = DiskSegment.clampPool(split.frameBytes, layout, pages: file.pageCount)
        guard target / layout.pageSize != pool.frameCount else { return }
        let fresh = try BufferPool(file: file, budgetBytes: target, shards: 4)
        let pinned = DiskSegment.pinEntryNeighborhood(fresh, pages: file.pageCount, nodes: count)
        let old = poolState.withLock { state in
            defer { state = (fresh, pinned) }
            return state
        }
        old.pool.unpin(old.pinned)
    }

    // MARK: - Bookkeeping

    var liveCount: Int { count - deletedCount.load(ordering: .relaxed) }
    var deleted: Int { deletedCount.load(ordering: .relaxed) }
    var ssdBytes: Int { Int(file.pageCount) * layout.pageSize + 2 * PageLayout.blockSize }
    /// RAM besides the pool: codes, labels and their lookup, tombstones, upper levels, codebook.
    var fixedMemory: Int {
        count * (quantizer.codeBytes + 1) + labels.memoryUsage + upperLists.count * 4 + upperNodes.memoryUsage
            + quantizer.memoryUsage
    }
    var memoryUsage: Int {
        fixedMemory + pool.memoryUsage + (hotRecords?.memoryUsage ?? 0) + (residentLists?.memoryUsage ?? 0)
            + (residualRows?.memoryUsage ?? 0)
    }

    private func localId(_ label: UInt64) -> UInt32? { labels.localId(label) }

    @inline(__always) func isDeleted(_ id: UInt32) -> Bool { vs_load_acquire_u8(tombstones + Int(id)) != 0 }

    func contains(label: UInt64) -> Bool { localId(label).map { !isDeleted($0) } ?? false }

    /// Marks `label` deleted; false when it is not live here.
    @discardableResult
    func tombstone(label: UInt64) -> Bool {
        guard let id = localId(label) else { return false }
        return tombstoneLock.withLock { log in
            guard !isDeleted(id) else { return false }
            vs_store_release_u8(tombstones + Int(id), 1)
            hotRecords?.remove(id)
            deletedCount.add(1, ordering: .relaxed)
            log.append(label)
            return true
        }
    }

    /// Labels deleted since open, from position `from` (compaction replays what happened while it copied).
    func deletions(from: Int) -> [UInt64] { tombstoneLock.withLock { Array($0[min(from, $0.count)...]) } }
    var deletionLogCount: Int { tombstoneLock.withLock { $0.count } }

    /// Live labels with their vectors, in file order, read sequentially without the pool (compaction's input).
    func forEachLive(_ body: (UInt64, UnsafeRawBufferPointer) throws -> Void) throws {
        let records = SequentialRecords(self)
        defer { records.deallocate() }
        for id in 0..<count where !isDeleted(UInt32(id)) { try body(labels[id], try records.record(id).vector) }
    }

    /// The blob of `label`, read from its page (through the pool).
    func vectorBytes(label: UInt64) -> [UInt8]? {
        guard let id = localId(label), !isDeleted(id) else { return nil }
        let bytes = layout.vectorBytes
        if let cached = hotRecords?.withRecord(id, countAccess: false, {
            Array(UnsafeRawBufferPointer(start: $0, count: bytes))
        }) { return cached }
        let (page, slot) = (UInt64(Int(id) / layout.recordsPerPage), Int(id) % layout.recordsPerPage)
        return try? pool.withPage(page) { Array($0.vector(slot)) }
    }

    /// Loads the first `pages` pages (the entry point's neighborhood and what placement put next to it); returns how
    /// many were read.
    func warmUp(pages: Int) throws -> Int {
        let n = min(UInt64(max(pages, 0)), file.pageCount, UInt64(pool.frameCount))
        var read = 0, start: UInt64 = 0
        while start < n {
            let end = min(start + 32, n)
            read += try pool.prefetch(pages: (start..<end).map { $0 })
            start = end
        }
        return read
    }

    // MARK: - Search

    /// The `k` nearest live labels (exact distances), with a beam search of width `beamWidth` on code estimates over
    /// a candidate list of `ef`; every expanded record's exact distance comes from its page. `allows` filters results.
    func search(query blob: UnsafeRawBufferPointer, k: Int, ef: Int, beamWidth: Int, filter: SearchFilter?,
                excluded: Set<UInt64>) throws -> [VectorMatch] {
        guard count > 0, entry != .max, k > 0 else { return [] }
        let scratch = acquireScratch()
        defer { releaseScratch(scratch) }
        try distance.prepare(blob, into: scratch.query)
        try distance.prepareFloat32(blob, into: scratch.queryFloat)
        quantizer.prepare(query: scratch.queryFloat, into: scratch.queryState)
        var found: [VectorMatch]
        if let filter, let allowed = allowedIds(filter, ef: ef) {
            found = try scanAllowed(allowed, k: k, ef: ef, scratch: scratch, excluded: excluded)
        } else {
            // Tombstoned records still guide the walk but are dropped from the results: widen the list by the dead
            // share so a segment with deletes returns as many live candidates as one without.
            let liveShare = max(Double(liveCount) / Double(max(count, 1)), 0.5)
            let widen = Double(filter == nil ? 1 : 4) / liveShare
            let width = Int((Double(max(ef, k)) * widen).rounded(.up))
            if let lists = residentLists {
                found = try residentSearch(lists, k: k, ef: width, filter: filter, excluded: excluded, scratch: scratch)
            } else {
                found = try beamSearch(k: k, ef: width, beamWidth: beamWidth, filter: filter, excluded: excluded,
                                       scratch: scratch)
            }
        }
        if found.count > k { found.removeSubrange(k...) }
        return found
    }

    @inline(__always) private func estimate(_ scratch: SegmentScratch, _ id: UInt32) -> Float {
        quantizer.estimate(state: scratch.queryState, code: codes + Int(id) &* quantizer.codeBytes)
    }

    /// Greedy walk from the entry point down the upper levels (all in RAM) on `estimate`; returns where level 0
    /// starts and its estimate.
    func descendUpperLevels(_ estimate: (UInt32) -> Float) -> (UInt32, Float) {
        var current = entry
        var currentDistance = estimate(current)
        if maxLevel > 0 {
            for level in stride(from: maxLevel, through: 1, by: -1) {
                var improved = true
                while improved {
                    improved = false
                    guard let (offset, top) = upperNodes.find(current), top >= level else { break }
                    let base = offset + (level - 1) * (m + 1)
                    for j in 0..<Int(upperLists[base]) {
                        let next = upperLists[base + 1 + j]
                        let d = estimate(next)
                        if d < currentDistance { currentDistance = d; current = next; improved = true }
                    }
                }
            }
        }
        return (current, currentDistance)
    }

    /// Level 0's starting point for both walks: the upper levels' descent on estimates, as the only candidate of the
    /// scratch list, marked visited in a fresh epoch.
    private func startWalk(_ scratch: SegmentScratch) -> [Candidate] {
        let (current, currentDistance) = descendUpperLevels { estimate(scratch, $0) }
        scratch.visited.removeAll()
        var list = scratch.list
        list.removeAll(keepingCapacity: true)
        list.append(Candidate(distance: currentDistance, id: current, expanded: false))
        _ = scratch.visited.insert(current)
        return list
    }

    private func beamSearch(k: Int, ef: Int, beamWidth: Int, filter: SearchFilter?, excluded: Set<UInt64>,
                            scratch: SegmentScratch) throws -> [VectorMatch] {
        // Level 0: candidate list sorted by estimate; expand the best `beamWidth` unexpanded per step, reading their
        // pages in one batch.
        let pool = self.pool
        var list = startWalk(scratch)
        let visited = scratch.visited
        var exact: [VectorMatch] = []
        var beam: [UInt32] = []
        var pages: [UInt64] = []
        var pagesRead = 0, batches = 0, readNanos = 0
        let perPage = layout.recordsPerPage
        /// Scores a record whose page is pinned: exact distance for the results, code estimates for its neighbors.
        func expand(_ id: UInt32, _ view: PageView) {
            let record = view.recordView(Int(id) % perPage)
            let d = distance.distance(prepared: scratch.query, stored: record.vector.baseAddress!)
            let label = labels[Int(id)]
            if !isDeleted(id), filter?.allows(label) ?? true, !excluded.contains(label) { exact.append((label, d)) }
            // Codes of neighbors are random accesses over the whole code array: start all their loads first.
            for next in record.neighbors where Int(next) < count { vs_prefetch(codes + Int(next) &* quantizer.codeBytes) }
            for next in record.neighbors {
                guard Int(next) < count, visited.insert(next) else { continue }
                list.insertBounded(Candidate(distance: estimate(scratch, next), id: next, expanded: false), capacity: ef)
            }
        }
        while true {
            beam.removeAll(keepingCapacity: true)
            pages.removeAll(keepingCapacity: true)
            for i in 0..<list.count where !list[i].expanded {
                list[i].expanded = true
                beam.append(list[i].id)
                let page = UInt64(Int(list[i].id) / perPage)
                if !pages.contains(page) { pages.append(page) }
                if beam.count == beamWidth { break }
            }
            if beam.isEmpty { break }
            var misses = 0
            for page in pages where !pool.contains(page) { misses += 1 }
            let readStart = misses > 0 ? monotonicNanoseconds() : 0
            let pinned = try pool.pin(pages: pages)
            defer { pool.unpin(pinned) }
            if misses > 0 { pagesRead += misses; batches += 1; readNanos += monotonicNanoseconds() - readStart }
            for id in beam {
                let at = pages.firstIndex(of: UInt64(Int(id) / perPage))!
                expand(id, PageView(bytes: pinned[at].bytes, layout: layout))
            }
            // Records that share a page with the beam came with the read: expand those already in the candidate list
            // now (no I/O), as Starling's block search does; neighbor packing makes them likely neighbors.
            if perPage > 1 {
                for (at, page) in pages.enumerated() {
                    let view = PageView(bytes: pinned[at].bytes, layout: layout)
                    let first = Int(page) * perPage
                    for id in UInt32(first)..<UInt32(min(first + perPage, count)) where visited.contains(id) {
                        guard let i = list.firstIndex(where: { $0.id == id }), !list[i].expanded else { continue }
                        list[i].expanded = true
                        expand(id, view)
                    }
                }
            }
        }
        scratch.list = list
        statistics.recordQuery(pagesRead: pagesRead, batches: batches, nanoseconds: readNanos)
        sortMatches(&exact)
        return exact
    }

    /// Best-first walk on code estimates over the resident lists (no I/O), then one batch of page reads re-ranks the
    /// candidates with exact distances: those on the first `rerankQuota` distinct pages in list order (reading the
    /// pages not in the pool) and every further one whose page is in the pool (free).
    private func residentSearch(_ resident: ResidentLists, k: Int, ef: Int, filter: SearchFilter?, excluded: Set<UInt64>,
                                scratch: SegmentScratch) throws -> [VectorMatch] {
        var list = startWalk(scratch)
        let visited = scratch.visited
        let codeBytes = quantizer.codeBytes
        let neighbors = scratch.neighbors
        var cursor = 0  // no unexpanded candidate sits before it
        while cursor < list.count {
            guard !list[cursor].expanded else { cursor += 1; continue }
            list[cursor].expanded = true
            let n = resident.neighbors(of: list[cursor].id, into: neighbors)
            var fresh = 0
            for j in 0..<n {
                let next = neighbors[j]
                guard Int(next) < count, visited.insert(next) else { continue }
                let code = codes + Int(next) &* codeBytes
                vs_prefetch_span(code, codeBytes)  // a 4-bit code of 384-d spans four lines
                neighbors[fresh] = next
                scratch.codePointers[fresh] = UnsafePointer(code)
                fresh += 1
            }
            quantizer.estimates(state: scratch.queryState, codes: scratch.codePointers, count: fresh, into: scratch.estimates)
            var inserted = list.count
            for j in 0..<fresh {
                let candidate = Candidate(distance: scratch.estimates[j], id: neighbors[j], expanded: false)
                if let at = list.insertBounded(candidate, capacity: ef) { inserted = min(inserted, at) }
            }
            cursor = min(cursor + 1, inserted)
        }
        let rows = residualRows  // only ever built with a coder
        if let rows, let residualCoder {
            // The walk's 4-bit order picks the reads badly; code + residual orders the list much closer to the truth.
            for i in 0..<list.count {
                list[i].distance = residualCoder.estimate(id: list[i].id, query: scratch.queryFloat, residuals: rows.rows)
            }
            list.sort { $0.distance < $1.distance }
        }
        scratch.list = list
        let pool = self.pool, hot = hotRecords, perPage = layout.recordsPerPage
        let quota = DiskSegment.rerankQuota(k: k, ef: ef, dimensionsPerCodeByte: quantizer.dimensionsPerCodeByte,
                                            refined: rows != nil)
        var exact: [VectorMatch] = []
        var chosen: [UInt32] = [], misses: Set<UInt64> = [], pagesTaken: Set<UInt64> = []
        for candidate in list {
            let id = candidate.id, page = UInt64(Int(id) / perPage)
            // Past the depth only what costs no read is re-ranked: ask the caches before touching the label and the
            // tombstone, two cache misses per candidate over hundreds of candidates at 1M.
            if pagesTaken.count >= quota, !pagesTaken.contains(page), !(hot?.contains(id) ?? false),
               !pool.contains(page) { continue }
            let label = labels[Int(id)]
            guard !isDeleted(id), filter?.allows(label) ?? true, excluded.isEmpty || !excluded.contains(label) else {
                continue
            }
            // A page not seen yet takes a place in the re-rank while places are left, whether it is read, pooled or
            // the candidate is a hot record: the places bound the depth, the cache saves reads within it. Candidates
            // further down are re-ranked only when that is free.
            let wanted = pagesTaken.contains(page) || (pagesTaken.count < quota && pagesTaken.insert(page).inserted)
            if let hot, let d = hot.withRecord(id, countAccess: wanted, {
                distance.distance(prepared: scratch.query, stored: $0)
            }) {
                exact.append((label, d))
                continue
            }
            let cached = pool.contains(page)
            if cached || wanted {
                chosen.append(id)
                if !cached { misses.insert(page) }
            }
        }
        chosen.sort()
        let started = monotonicNanoseconds()
        exact.reserveCapacity(exact.count + chosen.count)
        try pool.withRecords(chosen.map { RecordAddress(rawValue: UInt64($0)) }) { index, record in
            let vector = record.vector.baseAddress!
            exact.append((labels[Int(chosen[index])], distance.distance(prepared: scratch.query, stored: vector)))
            hot?.offer(chosen[index], bytes: vector)
        }
        statistics.recordQuery(pagesRead: misses.count, batches: misses.isEmpty ? 0 : 1,
                               nanoseconds: misses.isEmpty ? 0 : monotonicNanoseconds() - started)
        sortMatches(&exact)
        return exact
    }

    /// Local ids allowed by a selective filter, or nil when a graph search is the better plan: a code scan over the
    /// allowed set costs one table walk per allowed node, a graph search about `ef × M0 / selectivity` of them.
    private func allowedIds(_ filter: SearchFilter, ef: Int) -> [UInt32]? {
        let graphCost = Double(max(ef, 10) * 2 * m)
        if let allowedLabels = filter.allowedLabels {
            let selectivity = Double(allowedLabels.count) / Double(max(count, 1))
            guard Double(allowedLabels.count) <= graphCost / max(selectivity, 1e-4) else { return nil }
            return allowedLabels.compactMap { localId($0) }
        }
        var passed = 0, seen = 0
        let step = max(count / 256, 1)
        var i = 0
        while i < count { seen += 1; if filter.allows(labels[i]) { passed += 1 }; i += step }
        let selectivity = max(Double(passed) / Double(max(seen, 1)), 1e-4)
        guard selectivity * Double(count) <= graphCost / selectivity else { return nil }
        return (0..<UInt32(count)).filter { filter.allows(labels[Int($0)]) }
    }

    /// Ranks the allowed nodes by code estimate and re-ranks the best `max(2·ef, 4·k)` with exact distances from pages.
    private func scanAllowed(_ ids: [UInt32], k: Int, ef: Int, scratch: SegmentScratch, excluded: Set<UInt64>) throws
        -> [VectorMatch] {
        var ranked: [(Float, UInt32)] = []
        ranked.reserveCapacity(ids.count)
        for id in ids where !isDeleted(id) && !excluded.contains(labels[Int(id)]) { ranked.append((estimate(scratch, id), id)) }
        let keep = min(ranked.count, max(2 * ef, 4 * k))
        ranked.sort { $0.0 < $1.0 }
        let pool = self.pool, hot = hotRecords
        var exact: [VectorMatch] = []
        var chosen: [UInt32] = []
        for id in ranked.prefix(keep).map(\.1).sorted() {
            if let hot, let d = hot.withRecord(id, { distance.distance(prepared: scratch.query, stored: $0) }) {
                exact.append((labels[Int(id)], d))
            } else {
                chosen.append(id)
            }
        }
        var misses = 0, lastPage = UInt64.max
        for id in chosen {
            let page = UInt64(Int(id) / layout.recordsPerPage)
            if page != lastPage, !pool.contains(page) { misses += 1 }
            lastPage = page
        }
        let started = monotonicNanoseconds()
        try pool.withRecords(chosen.map { RecordAddress(rawValue: UInt64($0)) }) { index, record in
            let vector = record.vector.baseAddress!
            exact.append((labels[Int(chosen[index])], distance.distance(prepared: scratch.query, stored: vector)))
            hot?.offer(chosen[index], bytes: vector)
        }
        statistics.recordQuery(pagesRead: misses, batches: misses > 0 ? 1 : 0,
                               nanoseconds: misses > 0 ? monotonicNanoseconds() - started : 0)
        sortMatches(&exact)
        return exact
    }

    private func acquireScratch() -> SegmentScratch {
        scratchPool.withLock { $0.popLast() }
            ?? SegmentScratch(count: count, queryBytes: distance.queryBytes, dimension: parameters.dimension,
                              queryStateBytes: quantizer.queryStateBytes, maxDegree: 2 * m)
    }
    private func releaseScratch(_ s: SegmentScratch) { scratchPool.withLock { $0.append(s) } }
}

/// A segment's level-0 neighbor lists in RAM, read once sequentially from its pages. With them a search walks without
/// I/O (as DiskANN does with its graph cached) and reads pages only to re-rank. Each list is stored sorted: its first
/// id, then the gaps bit-packed at the list's widest gap or as varints, whichever is shorter (`encode`); placement
/// numbers graph neighbors close together, so gaps take about two bytes instead of four. Where a list starts: a 4-byte
/// position every `checkpointStride` nodes plus a 1-byte length per node (1.25 B a node instead of a 4-byte offset,
/// 2.6 MiB at 1M: room the lists need under a 20 % limit), or a 4-byte offset per node when a list may pass 255 bytes
/// (M > 25).
final class ResidentLists: @unchecked Sendable {
    /// Compact: the start of node `id`'s bytes when `id` is a multiple of `checkpointStride`, indexed by
    /// `id / checkpointStride`; otherwise `checkpoints[id]..<checkpoints[id + 1]` are `id`'s bytes in `encoded`.
    private let checkpoints: UnsafeMutablePointer<UInt32>
    /// Compact only: each node's encoded length.
    private let lengths: UnsafeMutablePointer<UInt8>?
    static let checkpointStride = 16
    private let encoded: UnsafeMutableRawPointer
    /// Most neighbors a list can hold (2M): `neighbors(of:into:)` needs that much room.
    let maxDegree: Int
    let memoryUsage: Int

    /// Reads the lists of the `count` records of `file` (graph parameter `m`).
    init(file: PageFile, layout: PageLayout, count: Int, m: Int) throws {
        let maxDegree = 2 * m
        let compact = ResidentLists.maxEncodedBytes(maxDegree) <= Int(UInt8.max)
        let stride = ResidentLists.checkpointStride
        let offsets = UnsafeMutablePointer<UInt32>.allocate(capacity: compact ? count / stride + 1 : count + 1)
        let lengths: UnsafeMutablePointer<UInt8>? = compact ? .allocate(capacity: max(count, 1)) : nil
        var capacity = max(count * maxDegree * 2, 64), used = 0
        guard var buffer = malloc(capacity) else {
            offsets.deallocate(); lengths?.deallocate()
            throw ResidentListsError.outOfMemory
        }
        let records = SequentialRecords(file: file, layout: layout)
        defer { records.deallocate() }
        var sorted = [UInt32](repeating: 0, count: maxDegree)
        do {
            for id in 0..<count {
                let start = used
                if !compact { offsets[id] = UInt32(used) } else if id % stride == 0 { offsets[id / stride] = UInt32(used) }
                let neighbors = try records.record(id).neighbors
                let n = min(neighbors.count, maxDegree)
                for j in 0..<n { sorted[j] = neighbors[j] }
                sorted[0..<n].sort()
                // Room for this list and the 8 bytes of slack `neighbors` may load past the last list.
                if used + ResidentLists.maxEncodedBytes(n) + 8 > capacity {
                    capacity = max(capacity + capacity / 2, used + ResidentLists.maxEncodedBytes(n) + 8)
                    guard let grown = realloc(buffer, capacity) else { throw ResidentListsError.outOfMemory }
                    buffer = grown
                }
                used += ResidentLists.encode(sorted, count: n, to: buffer + used)
                guard used <= Int(UInt32.max) else { throw ResidentListsError.tooLarge }
                lengths?[id] = UInt8(used - start)  // at most `maxEncodedBytes(2M)`: checked by `compact`
            }
        } catch {
            offsets.deallocate(); lengths?.deallocate(); free(buffer)
            throw error
        }
        if !compact { offsets[count] = UInt32(used) }
        checkpoints = offsets
        self.lengths = lengths
        (buffer + used).initializeMemory(as: UInt8.self, repeating: 0, count: 8)
        encoded = realloc(buffer, used + 8) ?? buffer
        collapseToHugePages(encoded, byteCount: used + 8)
        self.maxDegree = maxDegree
        memoryUsage = (compact ? count + (count / stride + 1) * 4 : (count + 1) * 4) + used
    }

    deinit { checkpoints.deallocate(); lengths?.deallocate(); free(encoded) }

    /// Fewer bytes than any lists of `nodes` nodes take (a length byte each): a share below it cannot hold them.
    static func lowerBound(nodes: Int) -> Int { nodes + 1 }

    /// Where `id`'s bytes are in `encoded`.
    @inline(__always) private func span(of id: Int) -> (start: Int, end: Int) {
        guard let lengths else { return (Int(checkpoints[id]), Int(checkpoints[id &+ 1])) }
        var at = Int(checkpoints[id / ResidentLists.checkpointStride])
        var j = id & ~(ResidentLists.checkpointStride - 1)
        while j < id { at &+= Int(lengths[j]); j &+= 1 }
        return (at, at &+ Int(lengths[id]))
    }

    /// Decodes `id`'s neighbor ids (ascending) into `out`, which has room for `maxDegree`; returns how many.
    @inline(__always)
    func neighbors(of id: UInt32, into out: UnsafeMutablePointer<UInt32>) -> Int {
        ResidentLists.decode(encoded.assumingMemoryBound(to: UInt8.self), at: span(of: Int(id)).start,
                             maxDegree: maxDegree, into: out)
    }

    /// Reads the list `encode` wrote at `bytes + start` into `out` (room for `maxDegree`); returns how many ids. At
    /// least 8 readable bytes must follow the list.
    @inline(__always)
    static func decode(_ bytes: UnsafePointer<UInt8>, at start: Int, maxDegree: Int,
                       into out: UnsafeMutablePointer<UInt32>) -> Int {
        var at = start
        @inline(__always) func varint() -> UInt32 {
            var value: UInt32 = 0, shift: UInt32 = 0
            while true {
                let byte = bytes[at]
                at &+= 1
                value |= UInt32(byte & 0x7F) &<< shift
                if byte < 0x80 { return value }
                shift &+= 7
            }
        }
        let header = varint()
        let n = min(Int(header >> 1), maxDegree)
        guard n > 0 else { return 0 }
        var value = varint()
        out[0] = value
        if header & 1 == 1 {
            for j in 1..<n { value &+= varint(); out[j] = value }
            return n
        }
        let width = Int(bytes[at])
        at &+= 1
        let mask: UInt64 = (1 << UInt64(width)) &- 1
        var bit = 0
        for j in 1..<n {
            // A gap of at most 32 bits starting at bit 0-7 of this byte lies within the next 8 (slack at the end).
            let word = UnsafeRawPointer(bytes + (at &+ (bit >> 3))).loadUnaligned(as: UInt64.self)
            value &+= UInt32(truncatingIfNeeded: (UInt64(littleEndian: word) >> UInt64(bit & 7)) & mask)
            out[j] = value
            bit &+= width
        }
        return n
    }

    /// Most bytes `encode` writes for a list of `count` ids: a header varint, the first id and `count - 1` gaps as
    /// varints (the larger of the two forms).
    static func maxEncodedBytes(_ count: Int) -> Int { 5 + 5 * count }

    /// Writes `ids[0..<count]` (ascending) as `| count << 1 | form: varint | first id: varint |` then the gaps, in
    /// whichever form is shorter: form 0, `| width w: u8 | gaps, w bits each, packed LSB first |`; form 1, a varint
    /// per gap. Graph neighbors sit close in placement order, so one width per list packs the gaps tighter than a
    /// varint each; a list that also reaches far (a merged segment's new nodes link to old ones) pays that width for
    /// every gap, and keeps the varints. With both forms the lists of the 1M × 128 segment fit a 20 % limit that the
    /// varints alone did not (bench/results/tiering.md). Returns the bytes.
    static func encode(_ ids: [UInt32], count: Int, to: UnsafeMutableRawPointer) -> Int {
        let out = to.assumingMemoryBound(to: UInt8.self)
        var widest: UInt32 = 0, varintBytes = 0
        for j in 1..<max(count, 1) {
            let gap = ids[j] &- ids[j - 1]
            widest = max(widest, gap)
            varintBytes += gap < 1 << 7 ? 1 : gap < 1 << 14 ? 2 : gap < 1 << 21 ? 3 : gap < 1 << 28 ? 4 : 5
        }
        let width = widest == 0 ? 0 : 32 - widest.leadingZeroBitCount
        let packedBytes = 1 + (max(count - 1, 0) * width + 7) / 8
        let asVarints = varintBytes < packedBytes
        var used = writeVarint(UInt32(count) << 1 | (asVarints ? 1 : 0), to: to)
        guard count > 0 else { return used }
        used += writeVarint(ids[0], to: to + used)
        if asVarints {
            for j in 1..<count { used += writeVarint(ids[j] &- ids[j - 1], to: to + used) }
            return used
        }
        out[used] = UInt8(width)
        used += 1
        var bits: UInt64 = 0, pending = 0
        for j in 1..<count {
            bits |= UInt64(ids[j] &- ids[j - 1]) << UInt64(pending)
            pending += width
            while pending >= 8 {
                out[used] = UInt8(truncatingIfNeeded: bits)
                bits >>= 8; pending -= 8; used += 1
            }
        }
        if pending > 0 { out[used] = UInt8(truncatingIfNeeded: bits); used += 1 }
        return used
    }

    /// Appends `value` as a LEB128 varint at `to`; returns the bytes written (1…5).
    @inline(__always)
    static func writeVarint(_ value: UInt32, to: UnsafeMutableRawPointer) -> Int {
        var v = value, written = 0
        let out = to.assumingMemoryBound(to: UInt8.self)
        while v >= 0x80 {
            out[written] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            written += 1
        }
        out[written] = UInt8(v)
        return written + 1
    }
}

enum ResidentListsError: Error { case outOfMemory, tooLarge }

/// Everything a segment file holds besides its records.
struct SegmentParts {
    var parameters: VectorIndexParameters
    var count: Int
    /// `.max` for an empty segment.
    var entry: UInt32
    var maxLevel: Int
    var labels: [UInt64]
    var tombstones: [UInt8]
    /// Nodes with upper levels: their lists on levels 1…top.
    var uppers: [(id: UInt32, lists: [[UInt32]])]
    var quantizer: any TraversalQuantizer
    var codes: [UInt8]
}

struct Candidate {
    var distance: Float
    var id: UInt32
    var expanded: Bool
}

extension Array where Element == Candidate {
    /// Inserts in distance order into a list kept at `capacity` entries; returns the position, or nil when the
    /// candidate does not make the cut.
    @inline(__always) @discardableResult
    mutating func insertBounded(_ candidate: Candidate, capacity: Int) -> Int? {
        if count >= capacity, candidate.distance >= self[count - 1].distance { return nil }
        // After every entry at most as far (a binary search: lists run to EF_RUNTIME, hundreds at 1M).
        var low = 0, high = count
        while low < high {
            let middle = (low &+ high) &>> 1
            if self[middle].distance > candidate.distance { high = middle } else { low = middle &+ 1 }
        }
        let at = low
        insert(candidate, at: at)
        if count > capacity { removeLast() }
        return at
    }
}

/// Per-search working memory of one segment, pooled: an epoch-stamped visited array, the prepared query, the
/// quantizer's query state.
final class SegmentScratch: @unchecked Sendable {
    let visited: VisitedBits
    let query: UnsafeMutableRawPointer
    let queryFloat: UnsafeMutablePointer<Float>
    let queryState: UnsafeMutableRawPointer
    /// One decoded resident list.
    let neighbors: UnsafeMutablePointer<UInt32>
    /// The codes of a list's unvisited neighbors and their estimates (`TraversalQuantizer.estimates`).
    let codePointers: UnsafeMutablePointer<UnsafePointer<UInt8>>
    let estimates: UnsafeMutablePointer<Float>
    var list: [Candidate] = []

    init(count: Int, queryBytes: Int, dimension: Int, queryStateBytes: Int, maxDegree: Int) {
        visited = VisitedBits(count: count)
        query = .allocate(byteCount: max(queryBytes, 8), alignment: 64)
        queryFloat = .allocate(capacity: max(dimension, 1))
        queryState = .allocate(byteCount: max(queryStateBytes, 8), alignment: 64)
        neighbors = .allocate(capacity: max(maxDegree, 1))
        codePointers = .allocate(capacity: max(maxDegree, 1))
        estimates = .allocate(capacity: max(maxDegree, 1))
    }

    func deallocate() {
        visited.deallocate(); query.deallocate(); queryFloat.deallocate(); queryState.deallocate()
        neighbors.deallocate()
        codePointers.deallocate(); estimates.deallocate()
    }

}

/// A walk's visited nodes, one bit each. A bitset rather than an epoch stamp per node: at 1M nodes it is 125 KiB
/// and stays in L2, where 2-byte stamps took 2 MiB and their loads were a fifth of a tiered walk's CPU (perf, 1M × 128
/// at 20 %). Clearing it is one memset per search.
struct VisitedBits {
    private let words: UnsafeMutablePointer<UInt64>
    private let wordCount: Int

    init(count: Int) {
        wordCount = max((count + 63) / 64, 1)
        words = .allocate(capacity: wordCount)
        words.initialize(repeating: 0, count: wordCount)
    }

    func deallocate() { words.deallocate() }
    func removeAll() { words.update(repeating: 0, count: wordCount) }

    /// Marks `id`; true when it was not marked before. `id` must be below the count given at creation.
    @inline(__always) func insert(_ id: UInt32) -> Bool {
        let word = words + Int(id &>> 6), bit = UInt64(1) &<< UInt64(id & 63)
        guard word.pointee & bit == 0 else { return false }
        word.pointee |= bit
        return true
    }

    @inline(__always) func contains(_ id: UInt32) -> Bool {
        words[Int(id &>> 6)] & (UInt64(1) &<< UInt64(id & 63)) != 0
    }
}

public func monotonicNanoseconds() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// Little-endian writer for a segment's engine blob.
struct BlobWriter {
    var bytes: [UInt8] = []
    mutating func write<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
}

/// Bounds-checked reader of an engine blob; every failure names the file.
struct BlobReader {
    let bytes: [UInt8]
    let path: String
    var offset = 0
    func corrupt(_ what: String) -> StorageError { .corruptHeader(path: path, reason: "tiered segment: \(what)") }
    mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        guard offset + MemoryLayout<T>.size <= bytes.count else { throw corrupt("truncated") }
        let v = bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        offset += MemoryLayout<T>.size
        return v
    }
    mutating func bytes(_ n: Int) throws -> [UInt8] {
        guard n >= 0, offset + n <= bytes.count else { throw corrupt("truncated") }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }
    mutating func copy(into out: UnsafeMutablePointer<UInt8>, count n: Int) throws {
        guard n >= 0, offset + n <= bytes.count else { throw corrupt("truncated") }
        bytes.withUnsafeBytes { out.update(from: $0.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset, count: n) }
        offset += n
    }
}

/// The nodes of a segment's upper HNSW levels (about one in M), sorted by id and found by bisection: 9 bytes a node
/// where two dictionaries took about 35 (and were counted as 48 against the memory share).
struct UpperLevelNodes {
    /// Ascending node ids.
    let ids: [UInt32]
    /// Per node: where its first level's block starts in the segment's `upperLists`.
    private let offsets: [UInt32]
    /// Per node: its highest level (≥ 1).
    private let tops: [UInt8]

    /// Nil when a node appears twice.
    init?(_ nodes: [(id: UInt32, offset: UInt32, top: UInt8)]) {
        let sorted = nodes.sorted { $0.id < $1.id }
        for i in sorted.indices.dropFirst() where sorted[i].id == sorted[i - 1].id { return nil }
        ids = sorted.map(\.id); offsets = sorted.map(\.offset); tops = sorted.map(\.top)
    }

    var count: Int { ids.count }
    var memoryUsage: Int { count * 9 }

    /// `id`'s first block in `upperLists` and its highest level, or nil when it has no upper level.
    @inline(__always) func find(_ id: UInt32) -> (offset: Int, top: Int)? {
        var lo = 0, hi = ids.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if ids[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        guard lo < ids.count, ids[lo] == id else { return nil }
        return (Int(offsets[lo]), Int(tops[lo]))
    }
}
