// Merging a sealed RAM graph into an SSD segment without loading the segment: its neighbor lists and codes are
// the only per-node state held during the merge (~230 B per 384-d node, vs ~1,700 B for a rebuild in RAM).
import CVectorKernels
import Storage
import VectorIndex

extension DiskSegment {
    /// Writes a new segment holding `big`'s records (same ids, lists patched with edges to the new nodes) followed by
    /// the live nodes of `graph`. New nodes find their neighbors in `big` with a code-only beam search over its
    /// in-RAM lists (FreshDiskANN's insert, without page reads); every list that overflows is re-selected with the
    /// HNSW heuristic on decoded codes. `big`'s upper levels, entry point and tombstones carry over (new nodes
    /// never join the upper levels); the codebook is retrained; labels in `deleted` start as tombstones.
    ///
    /// RAM held, per node of the result (128-d, M 16): lists 132 B, codes 64 B, visited 4 B, pending reverse edges
    /// (up to 2M ids per new node), then the writer's engine blob (labels, tombstones, codes: 73 B) and, while `big`
    /// is still open, the result's own labels, label index, tombstones and codes (85 B); plus the frozen graph. At
    /// 200k x 128 that is ~60-80 MB, well above a 28 MB limit: vector-bench measured a 206 MiB peak over the start
    /// for the whole build (bench/results/tiering-engine.md).
    /// `cancelled` is polled every 1,024 new nodes of the linking pass (the merge's long part): when it answers true
    /// (FT.DROPINDEX), the merge stops with `CancellationError` instead of finishing a segment nobody will open.
    static func merge(_ graph: HNSWGraphView, into big: DiskSegment, deleted: Set<UInt64>, path: String,
                      poolBytes: Int, shareBytes: Int, statistics: TieringCounters,
                      cancelled: () -> Bool = { false }) throws -> DiskSegment {
        let p = big.parameters, layout = big.layout
        let m0 = 2 * p.m, width = m0 + 1
        let nB = big.count
        let dim = p.dimension

        // New nodes: the graph's live ids, neighbor-packed among themselves, numbered after `big`'s.
        var liveIds: [UInt32] = []
        for id in 0..<UInt32(graph.idCount) where graph.isLive(id) { liveIds.append(id) }
        let nS = liveIds.count, total = nB + nS
        var dense = [UInt32](repeating: .max, count: graph.idCount)
        for (i, id) in liveIds.enumerated() { dense[Int(id)] = UInt32(i) }
        func smallNeighbors(_ old: UInt32) -> [UInt32] {
            graph.neighbors(old, level: 0).compactMap { dense[Int($0)] == .max ? nil : dense[Int($0)] }
        }
        let order = PagePlacement.order(count: nS, recordsPerPage: layout.recordsPerPage, entry: 0,
                                        strategy: .neighborPacking) { smallNeighbors(liveIds[Int($0)]) }
        let position = PagePlacement.positions(of: order)
        let oldOf = order.map { liveIds[Int($0)] }  // new id - nB → graph id
        func newId(_ old: UInt32) -> UInt32 { UInt32(nB) + position[Int(dense[Int(old)])] }

        // The codebook is retrained on the old and new data together (old vectors as their decoded codes, new ones
        // exact): a codebook trained on the first data alone encodes later, differently spread vectors badly, and
        // traversal then passes them by (a vector far from all earlier ones was not found by its own query).
        let distance = VectorDistance(dimension: dim, elementType: p.elementType, metric: p.metric)
        let prepared = UnsafeMutablePointer<Float>.allocate(capacity: dim)
        defer { prepared.deallocate() }
        let quantizer = makeQuantizer(dimension: dim, metric: p.metric,
                                      ramPerVector: ramPerVector(shareBytes: shareBytes, vectors: total))
        do {
            let fromOld = min(nB, 10_000), fromNew = min(nS, 10_000)
            let sample = UnsafeMutablePointer<Float>.allocate(capacity: max(fromOld + fromNew, 1) * dim)
            defer { sample.deallocate() }
            for i in 0..<fromOld {
                big.quantizer.decode(big.codes + (i * nB / fromOld) * big.quantizer.codeBytes, into: sample + i * dim)
            }
            for i in 0..<fromNew {
                try distance.prepareFloat32(graph.vector(oldOf[i * nS / fromNew]), into: sample + (fromOld + i) * dim)
            }
            quantizer.train(vectors: sample, count: fromOld + fromNew)
        }
        let cb = quantizer.codeBytes

        // Per-node state for the merge: lists (count + M0 ids) and codes of every node (old ones re-encoded from
        // their exact vectors as the lists are read).
        var lists = [UInt32](repeating: 0, count: total * width)
        var codes = [UInt8](repeating: 0, count: total * cb)
        try codes.withUnsafeMutableBufferPointer { out in
            try readLists(of: big, into: &lists, width: width) { id, vector in
                try distance.prepareFloat32(vector, into: prepared)
                quantizer.encode(prepared, into: out.baseAddress! + id * cb)
            }
        }
        for s in 0..<nS {
            try distance.prepareFloat32(graph.vector(oldOf[s]), into: prepared)
            codes.withUnsafeMutableBufferPointer { quantizer.encode(prepared, into: $0.baseAddress! + (nB + s) * cb) }
        }
        for s in 0..<nS {
            let own = smallNeighbors(oldOf[s]).prefix(m0).map { UInt32(nB) + position[Int($0)] }
            lists[(nB + s) * width] = UInt32(own.count)
            for (j, n) in own.enumerated() { lists[(nB + s) * width + 1 + j] = n }
        }

        let queryState = UnsafeMutableRawPointer.allocate(byteCount: quantizer.queryStateBytes, alignment: 64)
        defer { queryState.deallocate() }
        let selector = NeighborSelector(quantizer: quantizer, metric: p.metric, maxCandidates: 4 * m0 + 8)
        defer { selector.deallocate() }
        var visited = [UInt32](repeating: 0, count: max(total, 1))
        var epoch: UInt32 = 0
        var pending: [UInt32: [UInt32]] = [:]
        let ef = min(max(p.efConstruction, 2 * m0), 128)
        try codes.withUnsafeBufferPointer { codeBuffer in
            let codeBase = codeBuffer.baseAddress!
            func estimate(_ id: UInt32) -> Float { quantizer.estimate(state: queryState, code: codeBase + Int(id) * cb) }
            for s in 0..<nS {
                if s & 1023 == 0, cancelled() { throw CancellationError() }
                let me = UInt32(nB + s)
                try distance.prepareFloat32(graph.vector(oldOf[s]), into: prepared)
                quantizer.prepare(query: prepared, into: queryState)
                epoch &+= 1
                var candidates: [(Float, UInt32)] = []
                if nB > 0, big.entry != .max {
                    candidates = searchBig(big, lists: lists, width: width, nodes: total, ef: ef, visited: &visited,
                                           epoch: epoch, estimate: estimate)
                }
                let base = Int(me) * width
                for j in 0..<Int(lists[base]) { candidates.append((estimate(lists[base + 1 + j]), lists[base + 1 + j])) }
                candidates.sort { $0.0 < $1.0 }
                let chosen = selector.select(base: me, candidates: candidates, codes: codeBase, limit: m0)
                lists[base] = UInt32(chosen.count)
                for (j, n) in chosen.enumerated() { lists[base + 1 + j] = n }
                for n in chosen { pending[n, default: []].append(me) }
            }
            // Reverse edges: append, and re-select lists that overflow.
            for (node, additions) in pending {
                let base = Int(node) * width
                var union = (0..<Int(lists[base])).map { lists[base + 1 + $0] }
                for a in additions where a != node && !union.contains(a) { union.append(a) }
                if union.count > m0 {
                    union = selector.prune(base: node, candidates: union, codes: codeBase, limit: m0)
                }
                lists[base] = UInt32(union.count)
                for (j, n) in union.enumerated() { lists[base + 1 + j] = n }
            }
        }
        // Every node must be reachable from the entry point at level 0, or no search ever finds it: pruning (of old
        // lists that took reverse edges, and HNSW's own) can drop all of a node's in-edges. 200k x 128 after 4
        // merges: 42 unreachable nodes.
        if nB > 0, big.entry != .max { linkUnreachable(lists: &lists, width: width, nodes: total, entry: big.entry) }

        var labels = (0..<nB).map { big.labels[$0] }
        labels += oldOf.map { graph.label($0) }
        var tombstones = (0..<nB).map { big.isDeleted(UInt32($0)) ? UInt8(1) : 0 }
        tombstones += oldOf.map { deleted.contains(graph.label($0)) ? 1 : 0 }
        let uppers: [(id: UInt32, lists: [[UInt32]])] = big.upperNodes.ids.map { id in
            let (offset, top) = big.upperNodes.find(id)!
            return (id, (0..<top).map { level in
                let b = offset + level * (p.m + 1)
                return Array(big.upperLists[(b + 1)..<(b + 1 + Int(big.upperLists[b]))])
            })
        }
        let parts = SegmentParts(parameters: p, count: total, entry: big.entry, maxLevel: big.maxLevel, labels: labels,
                                 tombstones: tombstones, uppers: uppers, quantizer: quantizer, codes: codes)
        // Records of `big` are copied page by page in id order (the writer asks in that order).
        let records = SequentialRecords(big)
        defer { records.deallocate() }
        let segment = try writeSegment(parts, layout: layout, path: path, poolBytes: poolBytes, statistics: statistics,
            vector: { id in Int(id) < nB ? records.vector(Int(id)) : graph.vector(oldOf[Int(id) - nB]) },
            neighbors: { id in
                let base = Int(id) * width
                return Array(lists[(base + 1)..<(base + 1 + Int(lists[base]))])
            })
        try records.check()
        return segment
    }

    /// Makes every node reachable from `entry` over `lists` (rows of `[count, ids…]`, `width` words each).
    static func linkUnreachable(lists: inout [UInt32], width: Int, nodes: Int, entry: UInt32) {
        lists.withUnsafeMutableBufferPointer { rows in
            let base = rows.baseAddress!
            GraphReachability.linkUnreachable(
                nodes: nodes, entry: entry, isLive: { _ in true },
                neighbors: { UnsafeBufferPointer(start: base + Int($0) * width + 1, count: Int(base[Int($0) * width])) },
                capacity: width - 1,
                addEdge: { from, to in
                    let row = base + Int(from) * width, n = Int(row[0])
                    if n < width - 1 { row[1 + n] = to; row[0] = UInt32(n + 1) } else { row[n] = to }
                })
        }
    }

    /// Every record's level-0 list, read sequentially (no pool, no page cache); `record` sees each record's vector.
    private static func readLists(of segment: DiskSegment, into lists: inout [UInt32], width: Int,
                                  record: (Int, UnsafeRawBufferPointer) throws -> Void = { _, _ in }) throws {
        let records = SequentialRecords(segment)
        defer { records.deallocate() }
        for id in 0..<segment.count {
            let view = try records.record(id)
            let n = min(view.neighbors.count, width - 1)
            lists[id * width] = UInt32(n)
            for j in 0..<n { lists[id * width + 1 + j] = view.neighbors[j] }
            try record(id, view.vector)
        }
    }

    /// Best-first search on code estimates only: `big`'s upper levels, then level 0 over every node's list in `lists`
    /// (old nodes, new nodes already linked, and new nodes still holding their RAM-graph lists), so new nodes also
    /// find each other as HNSW's sequential inserts do; returns up to `ef` candidates with their estimates.
    private static func searchBig(_ big: DiskSegment, lists: [UInt32], width: Int, nodes: Int, ef: Int,
                                  visited: inout [UInt32],
                                  epoch: UInt32, estimate: (UInt32) -> Float) -> [(Float, UInt32)] {
        let (current, currentDistance) = big.descendUpperLevels(estimate)
        var list: [(Float, UInt32, Bool)] = [(currentDistance, current, false)]
        visited[Int(current)] = epoch
        while let i = list.firstIndex(where: { !$0.2 }) {
            list[i].2 = true
            let base = Int(list[i].1) * width
            for j in 0..<Int(lists[base]) {
                let next = lists[base + 1 + j]
                guard Int(next) < nodes, visited[Int(next)] != epoch else { continue }
                visited[Int(next)] = epoch
                let e = estimate(next)
                if list.count >= ef, e >= list[list.count - 1].0 { continue }
                var at = list.count
                while at > 0 && list[at - 1].0 > e { at -= 1 }
                list.insert((e, next, false), at: at)
                if list.count > ef { list.removeLast() }
            }
        }
        return list.map { ($0.0, $0.1) }
    }
}

/// The HNSW neighbor heuristic on decoded codes: keep a candidate only if it is closer to the base than to
/// every neighbor kept so far (edges spread over directions instead of piling into one cluster), relaxed by
/// Vamana's α (`slack`, on squared distances ≈ α 1.05) to absorb some quantization error.
final class NeighborSelector {
    let quantizer: any TraversalQuantizer
    let metric: DistanceMetric
    let dimension: Int
    private let decoded: UnsafeMutablePointer<Float>
    private let baseVector: UnsafeMutablePointer<Float>
    private let capacity: Int
    /// A larger slack fills lists with the nearest candidates: where candidates are nearly equidistant (a 128-d
    /// Gaussian mixture) 1.3 pruned almost nothing, 84 % of lists were full (mean 31 of 32; HNSW's own graph: 2 %,
    /// mean 17), the edges between clusters went, and an exact-distance walk of that graph found only 0.72 at ef 40.
    /// It was the graph, not PQ: linking with exact vectors at 1.3 gave 0.75, at 1.0 0.975. Recall@10 at ef 40 after
    /// 4 merges (vector-bench, 20 % limit), 200k x 128 mixture / pypi-minilm-50k: 1.3: 0.726 / 0.952, 1.1: 0.976 /
    /// 0.966, 1.0: 0.966 / 0.947 (and 1.44 / 2.0 were worse than 1.3 on the mixture: 0.699 / 0.653).
    private let slack: Float = 1.1
    private let l2 = vs_kernel(0, 0, 0)!
    private let dot = vs_kernel(0, 1, 0)!

    init(quantizer: any TraversalQuantizer, metric: DistanceMetric, maxCandidates: Int) {
        self.quantizer = quantizer
        self.metric = metric
        dimension = quantizer.dimension
        capacity = maxCandidates
        decoded = .allocate(capacity: maxCandidates * quantizer.dimension)
        baseVector = .allocate(capacity: quantizer.dimension)
    }

    func deallocate() { decoded.deallocate(); baseVector.deallocate() }

    /// Distance between two decoded vectors in the metric's form (COSINE as ‖a−b‖²/2, as the quantizer estimates it).
    private func between(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> Float {
        switch metric {
        case .l2: return l2(a, b, dimension)
        case .cosine: return l2(a, b, dimension) / 2
        case .ip: return 1 - dot(a, b, dimension)
        }
    }

    /// Selects up to `limit` of `candidates` (sorted ascending by distance to `base`).
    func select(base: UInt32, candidates: [(Float, UInt32)], codes: UnsafePointer<UInt8>, limit: Int) -> [UInt32] {
        var kept: [UInt32] = []
        var keptSlots: [Int] = []
        var seen = Set<UInt32>()
        for (d, id) in candidates where id != base && seen.insert(id).inserted {
            if candidates.count <= limit { kept.append(id); continue }
            let slot = keptSlots.count
            guard slot < capacity else { break }
            let v = decoded + slot * dimension
            quantizer.decode(codes + Int(id) * quantizer.codeBytes, into: v)
            var good = true
            for k in keptSlots where slack * between(v, decoded + k * dimension) < d { good = false; break }
            if good {
                kept.append(id)
                keptSlots.append(slot)
                if kept.count == limit { break }
            }
        }
        return kept
    }

    /// Re-selects an overflowing list of `base` (distances from its decoded vector).
    func prune(base: UInt32, candidates: [UInt32], codes: UnsafePointer<UInt8>, limit: Int) -> [UInt32] {
        quantizer.decode(codes + Int(base) * quantizer.codeBytes, into: baseVector)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: dimension)
        defer { scratch.deallocate() }
        var scored: [(Float, UInt32)] = candidates.map { id in
            quantizer.decode(codes + Int(id) * quantizer.codeBytes, into: scratch)
            return (between(baseVector, scratch), id)
        }
        scored.sort { $0.0 < $1.0 }
        return select(base: base, candidates: scored, codes: codes, limit: limit)
    }
}

extension DiskSegment {
    /// Rewrites `segment` without its tombstoned records, holding only lists and codes in RAM (FreshDiskANN's delete
    /// consolidation): a live node's edges to dead nodes are replaced by those nodes' live neighbors, and lists that
    /// overflow are re-selected on decoded codes. Survivors keep their order, so records copy sequentially.
    static func consolidate(_ segment: DiskSegment, path: String, poolBytes: Int,
                            statistics: TieringCounters) throws -> DiskSegment {
        let p = segment.parameters, layout = segment.layout
        let m0 = 2 * p.m, width = m0 + 1
        let n = segment.count, cb = segment.quantizer.codeBytes
        var lists = [UInt32](repeating: 0, count: max(n, 1) * width)
        try readLists(of: segment, into: &lists, width: width)
        var survivor = [UInt32](repeating: .max, count: n)
        var oldOf: [UInt32] = []
        for id in 0..<n where !segment.isDeleted(UInt32(id)) { survivor[id] = UInt32(oldOf.count); oldOf.append(UInt32(id)) }
        let live = oldOf.count
        let selector = NeighborSelector(quantizer: segment.quantizer, metric: p.metric, maxCandidates: 4 * m0 + 8)
        defer { selector.deallocate() }
        var newLists: [[UInt32]] = []
        newLists.reserveCapacity(live)
        for old in oldOf {
            let base = Int(old) * width
            var union: [UInt32] = []
            for j in 0..<Int(lists[base]) {
                let neighbor = lists[base + 1 + j]
                guard Int(neighbor) < n else { continue }
                if survivor[Int(neighbor)] != .max {
                    if !union.contains(neighbor) { union.append(neighbor) }
                } else {
                    let b = Int(neighbor) * width
                    for k in 0..<Int(lists[b]) {
                        let second = lists[b + 1 + k]
                        if Int(second) < n, second != old, survivor[Int(second)] != .max, !union.contains(second) {
                            union.append(second)
                        }
                    }
                }
            }
            if union.count > m0 { union = selector.prune(base: old, candidates: union, codes: segment.codes, limit: m0) }
            newLists.append(union.map { survivor[Int($0)] })
        }
        // Upper levels: dead nodes leave; the entry point is the live node on the highest level.
        var uppers: [(id: UInt32, lists: [[UInt32]])] = []
        var entry = UInt32.max, maxLevel = -1
        for id in segment.upperNodes.ids where survivor[Int(id)] != .max {
            let (offset, top) = segment.upperNodes.find(id)!
            uppers.append((survivor[Int(id)], (0..<top).map { level in
                let b = offset + level * (p.m + 1)
                return segment.upperLists[(b + 1)..<(b + 1 + Int(segment.upperLists[b]))].compactMap {
                    survivor[Int($0)] == .max ? nil : survivor[Int($0)]
                }
            }))
            if top > maxLevel { maxLevel = top; entry = survivor[Int(id)] }
        }
        if segment.entry != .max, survivor[Int(segment.entry)] != .max, segment.maxLevel >= maxLevel {
            entry = survivor[Int(segment.entry)]
            maxLevel = segment.maxLevel
        }
        if entry == .max, live > 0 { entry = 0; maxLevel = 0 }
        var codes = [UInt8](repeating: 0, count: live * cb)
        codes.withUnsafeMutableBufferPointer { out in
            for (i, old) in oldOf.enumerated() { (out.baseAddress! + i * cb).update(from: segment.codes + Int(old) * cb, count: cb) }
        }
        let parts = SegmentParts(parameters: p, count: live, entry: entry, maxLevel: maxLevel,
                                 labels: oldOf.map { segment.labels[Int($0)] },
                                 tombstones: [UInt8](repeating: 0, count: live), uppers: uppers,
                                 quantizer: segment.quantizer, codes: codes)
        let records = SequentialRecords(segment)
        defer { records.deallocate() }
        let result = try writeSegment(parts, layout: layout, path: path, poolBytes: poolBytes, statistics: statistics,
                                      vector: { records.vector(Int(oldOf[Int($0)])) }, neighbors: { newLists[Int($0)] })
        try records.check()
        return result
    }
}

/// A segment's vectors read in increasing id order, one page read per page (no pool, no page cache): what merges and
/// consolidation copy into the segment they write. A read error yields zeros and is thrown by `check()`.
final class SequentialRecords {
    private let layout: PageLayout
    private let reader: PReadPageReader
    private let page: UnsafeMutableRawPointer
    private let zero: UnsafeMutableRawPointer
    private var loaded = UInt64.max
    private var failure: Error?

    convenience init(_ segment: DiskSegment) { self.init(file: segment.file, layout: segment.layout) }

    init(file: PageFile, layout: PageLayout) {
        self.layout = layout
        reader = PReadPageReader(file: file)
        page = .allocate(byteCount: layout.pageSize, alignment: PageLayout.blockSize)
        zero = .allocate(byteCount: max(layout.vectorBytes, 1), alignment: 16)
        zero.initializeMemory(as: UInt8.self, repeating: 0, count: max(layout.vectorBytes, 1))
    }

    func deallocate() { page.deallocate(); zero.deallocate() }

    /// Record `id`, valid until the next call; throws on a read error.
    func record(_ id: Int) throws -> RecordView {
        let wanted = UInt64(id / layout.recordsPerPage)
        if wanted != loaded {
            try reader.read(page: wanted, into: page)
            loaded = wanted
        }
        return PageView(bytes: page, layout: layout).recordView(id % layout.recordsPerPage)
    }

    /// Record `id`'s vector for a writer closure that cannot throw: zeros after a read error, which `check()` throws.
    func vector(_ id: Int) -> UnsafeRawBufferPointer {
        if failure == nil {
            do { return try record(id).vector } catch { failure = error }
        }
        return UnsafeRawBufferPointer(start: zero, count: layout.vectorBytes)
    }

    func check() throws { if let failure { throw failure } }
}
