// Graph-quality measurements of a tiered index's largest segment (vector-bench --tiered-diagnose): how well its
// lists hold each node's true neighbors, in-degrees, reachability, PQ error, and recall of an exact-distance walk.
import CVectorKernels
import VectorIndex

/// What `TieredHNSWIndex.diagnose` measured; `bands` split the segment's ids into tenths (merges append new nodes
/// after the old ones, so a band is roughly one generation).
public struct SegmentDiagnosis: Sendable {
    public var fields: [(String, String)] = []
    public var bands: [[(String, String)]] = []
    /// Per ef: labels found per query by a walk of the same graph with exact distances (no PQ).
    public var exactWalk: [Int: [[UInt64]]] = [:]
}

extension TieredHNSWIndex {
    /// Reads the largest segment whole into RAM (vectors and lists: a diagnostic, not for a limited server) and
    /// measures it on `sample` evenly spread live nodes and the given queries.
    public func diagnose(sample: Int, queries: UnsafeRawBufferPointer, queryCount: Int, efs: [Int], k: Int) throws
        -> SegmentDiagnosis {
        guard let segment = state.withLock({ $0.segments.max { $0.count < $1.count } }) else { return SegmentDiagnosis() }
        return try segment.diagnose(sample: sample, queries: queries, queryCount: queryCount, efs: efs, k: k)
    }
}

extension DiskSegment {
    func diagnose(sample: Int, queries: UnsafeRawBufferPointer, queryCount: Int, efs: [Int], k: Int) throws
        -> SegmentDiagnosis {
        let p = parameters, dim = p.dimension, n = count, m0 = 2 * p.m
        let distance = VectorDistance(dimension: dim, elementType: p.elementType, metric: p.metric)
        var vectors = [Float](repeating: 0, count: n * dim)
        var lists = [[UInt32]](repeating: [], count: n)
        let records = SequentialRecords(self)
        defer { records.deallocate() }
        try vectors.withUnsafeMutableBufferPointer { out in
            for id in 0..<n {
                let view = try records.record(id)
                lists[id] = Array(view.neighbors)
                try distance.prepareFloat32(view.vector, into: out.baseAddress! + id * dim)
            }
        }
        let l2 = vs_kernel(0, 0, 0)!, dot = vs_kernel(0, 1, 0)!
        let metric = p.metric
        func between(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> Float {
            switch metric {
            case .l2: return l2(a, b, dim)
            case .cosine: return l2(a, b, dim) / 2
            case .ip: return 1 - dot(a, b, dim)
            }
        }
        let live = (0..<n).map { !isDeleted(UInt32($0)) }
        let bandOf = { (id: Int) in min(id * 10 / max(n, 1), 9) }
        var result = SegmentDiagnosis()

        try vectors.withUnsafeBufferPointer { vb in
            let v = vb.baseAddress!
            // In-degree and reachability at level 0.
            var inDegree = [Int](repeating: 0, count: n)
            for id in 0..<n { for x in lists[id] where Int(x) < n { inDegree[Int(x)] += 1 } }
            var reached = [Bool](repeating: false, count: n)
            var frontier: [Int] = entry == .max ? [] : [Int(entry)]
            if let e = frontier.first { reached[e] = true }
            while let id = frontier.popLast() {
                for x in lists[id] where Int(x) < n && !reached[Int(x)] { reached[Int(x)] = true; frontier.append(Int(x)) }
            }
            let liveIds = (0..<n).filter { live[$0] }
            result.fields += [
                ("nodes", "\(n)"), ("live", "\(liveIds.count)"), ("upper_nodes", "\(upperNodes.count)"),
                ("max_level", "\(maxLevel)"),
                ("mean_list", f3(Double(lists.reduce(0) { $0 + $1.count }) / Double(max(n, 1)))),
                ("full_lists", f3(Double(lists.filter { $0.count >= m0 }.count) / Double(max(n, 1)))),
                ("in_degree_0", "\(liveIds.filter { inDegree[$0] == 0 }.count)"),
                ("in_degree_le2", "\(liveIds.filter { inDegree[$0] <= 2 }.count)"),
                ("unreachable_live", "\(liveIds.filter { !reached[$0] }.count)"),
            ]

            // True neighbors of sampled nodes, by brute force over the live nodes.
            let step = max(liveIds.count / max(sample, 1), 1)
            let sampled = stride(from: 0, to: liveIds.count, by: step).map { liveIds[$0] }
            let queryState = UnsafeMutableRawPointer.allocate(byteCount: quantizer.queryStateBytes, alignment: 64)
            defer { queryState.deallocate() }
            var inList = [Int](repeating: 0, count: 10), inListTotal = [Int](repeating: 0, count: 10)
            var top1 = [Int](repeating: 0, count: 10), sampledPerBand = [Int](repeating: 0, count: 10)
            var laterTruth = [Int](repeating: 0, count: 10), laterTruthInList = [Int](repeating: 0, count: 10)
            var forwardEdges = [Int](repeating: 0, count: 10), edges = [Int](repeating: 0, count: 10)
            var pqError = 0.0, pqPairs = 0
            var pqRankHits = 0, pqRankTotal = 0
            for s in sampled {
                var best: [(Float, Int)] = []
                for other in liveIds where other != s {
                    let d = between(v + s * dim, v + other * dim)
                    if best.count < 100 || d < best[best.count - 1].0 {
                        var at = best.count
                        while at > 0 && best[at - 1].0 > d { at -= 1 }
                        best.insert((d, other), at: at)
                        if best.count > 100 { best.removeLast() }
                    }
                }
                let truth = best.prefix(10).map(\.1)
                let list = Set(lists[s].map(Int.init))
                let b = bandOf(s)
                sampledPerBand[b] += 1
                inListTotal[b] += truth.count
                inList[b] += truth.filter { list.contains($0) }.count
                if let first = truth.first, list.contains(first) { top1[b] += 1 }
                for t in truth where bandOf(t) > b { laterTruth[b] += 1; if list.contains(t) { laterTruthInList[b] += 1 } }
                for x in lists[s] { edges[b] += 1; if bandOf(Int(x)) > b { forwardEdges[b] += 1 } }
                // PQ: relative error of the estimate for the 100 true neighbors, and whether the PQ order of those
                // 100 puts the true 10 first.
                quantizer.prepare(query: v + s * dim, into: queryState)
                var estimates: [(Float, Int)] = []
                for (d, id) in best {
                    let e = quantizer.estimate(state: queryState, code: codes + id * quantizer.codeBytes)
                    if d > 0 { pqError += Double(abs(e - d) / d); pqPairs += 1 }
                    estimates.append((e, id))
                }
                estimates.sort { $0.0 < $1.0 }
                let truthSet = Set(truth)
                pqRankHits += estimates.prefix(10).filter { truthSet.contains($0.1) }.count
                pqRankTotal += truth.count
            }
            let sum = { (a: [Int]) in a.reduce(0, +) }
            result.fields += [
                ("sampled", "\(sampled.count)"),
                ("nn10_in_list", f3(Double(sum(inList)) / Double(max(sum(inListTotal), 1)))),
                ("nn1_in_list", f3(Double(sum(top1)) / Double(max(sampled.count, 1)))),
                ("pq_relative_error", f3(pqError / Double(max(pqPairs, 1)))),
                ("pq_top10_of_100", f3(Double(pqRankHits) / Double(max(pqRankTotal, 1)))),
            ]
            for b in 0..<10 {
                let ids = (b * n / 10)..<((b + 1) * n / 10)
                result.bands.append([
                    ("band", "\(b)"), ("sampled", "\(sampledPerBand[b])"),
                    ("nn10_in_list", f3(Double(inList[b]) / Double(max(inListTotal[b], 1)))),
                    ("nn1_in_list", f3(Double(top1[b]) / Double(max(sampledPerBand[b], 1)))),
                    ("later_truth", f3(Double(laterTruth[b]) / Double(max(inListTotal[b], 1)))),
                    ("later_truth_in_list", f3(Double(laterTruthInList[b]) / Double(max(laterTruth[b], 1)))),
                    ("forward_edges", f3(Double(forwardEdges[b]) / Double(max(edges[b], 1)))),
                    ("mean_in_degree", f3(Double(ids.reduce(0) { $0 + inDegree[$1] }) / Double(max(ids.count, 1)))),
                    ("mean_list", f3(Double(ids.reduce(0) { $0 + lists[$1].count }) / Double(max(ids.count, 1)))),
                    ("upper_nodes", "\(ids.filter { upperNodes.find(UInt32($0)) != nil }.count)"),
                ])
            }

            // The same graph walked with exact distances: upper levels greedily, then level 0 best-first.
            let query = UnsafeMutablePointer<Float>.allocate(capacity: dim)
            defer { query.deallocate() }
            var visited = [Bool](repeating: false, count: n)
            // Page co-location: distinct groups of `g` consecutive ids (a page of g records in this placement) that
            // each query's best 12 live nodes fall in, summed over the queries of the first ef.
            let groupSizes = [1, 2, 4, 8, 16]
            var groupsTouched = [Int](repeating: 0, count: groupSizes.count)
            for ef in efs {
                var found: [[UInt64]] = []
                for q in 0..<queryCount {
                    try distance.prepareFloat32(UnsafeRawBufferPointer(rebasing: queries[(q * p.vectorByteCount)..<((q + 1) * p.vectorByteCount)]),
                                                into: query)
                    let (start, startDistance) = descendUpperLevels { between(query, v + Int($0) * dim) }
                    var list: [(Float, UInt32, Bool)] = [(startDistance, start, false)]
                    var touched: [UInt32] = [start]
                    visited[Int(start)] = true
                    while let i = list.firstIndex(where: { !$0.2 }) {
                        list[i].2 = true
                        for x in lists[Int(list[i].1)] where Int(x) < n && !visited[Int(x)] {
                            visited[Int(x)] = true
                            touched.append(x)
                            let d = between(query, v + Int(x) * dim)
                            if list.count >= ef, d >= list[list.count - 1].0 { continue }
                            var at = list.count
                            while at > 0 && list[at - 1].0 > d { at -= 1 }
                            list.insert((d, x, false), at: at)
                            if list.count > ef { list.removeLast() }
                        }
                    }
                    for t in touched { visited[Int(t)] = false }
                    let best = list.filter { live[Int($0.1)] }
                    found.append(best.prefix(k).map { labels[Int($0.1)] })
                    if ef == efs.first {
                        for (i, g) in groupSizes.enumerated() { groupsTouched[i] += Set(best.prefix(12).map { Int($0.1) / g }).count }
                    }
                }
                result.exactWalk[ef] = found
            }
            for (i, g) in groupSizes.enumerated() {
                result.fields.append(("best12_pages_of_\(g)", f3(Double(groupsTouched[i]) / Double(max(queryCount, 1)))))
            }
        }
        return result
    }

    private func f3(_ x: Double) -> String { "\((x * 1000).rounded() / 1000)" }
}
