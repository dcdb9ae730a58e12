// Does placing graph neighbors on one page cut page reads per query? A kNN graph over clustered synthetic points,
// best-first searches (HNSW's level-0 search, exact distances), and the distinct pages each query's expansions touch
// under each `PagePlacementStrategy`, for several records-per-page values.
import Storage
#if canImport(Glibc)
import Glibc
#endif

struct PlacementExperiment {
    let count: Int
    let dimension: Int
    let k: Int
    let ef: Int
    let queries: Int
    /// Where the tiered run writes its segment files (nil: skip the tiered run).
    var tieredDirectory: String? = nil

    func run() throws {
        var rng = SplitMix64(state: 42)
        let clusters = 64
        let centers = (0..<clusters * dimension).map { _ in Float(rng.next() % 2001) / 1000 - 1 }
        func gaussianish() -> Float { Float(rng.next() % 1001 + rng.next() % 1001) / 1000 - 1 }
        var points = [Float](repeating: 0, count: count * dimension)
        for i in 0..<count {
            let c = Int(rng.next() % UInt64(clusters))
            for j in 0..<dimension { points[i * dimension + j] = centers[c * dimension + j] + 0.3 * gaussianish() }
        }
        let t0 = now()
        let graph = knnGraph(points)
        say("kNN graph: \(count) × \(dimension)-d, k = \(k), built in \(String(format1: now() - t0)) s")
        // Entry: the point nearest the mean (a medoid stand-in, like DiskANN's start node).
        var mean = [Float](repeating: 0, count: dimension)
        for i in 0..<count { for j in 0..<dimension { mean[j] += points[i * dimension + j] / Float(count) } }
        let entry = UInt32(nearest(mean, points))
        let pivots = (0..<max(count / 100, 1)).map { _ in UInt32(rng.next() % UInt64(count)) }
        func distance(_ q: [Float], _ id: UInt32) -> Float {
            q.withUnsafeBufferPointer { qp in points.withUnsafeBufferPointer { p in
                self.distance(qp.baseAddress!, p.baseAddress! + Int(id) * dimension)
            } }
        }
        var traces: [[UInt32]] = []
        var hits = 0
        var queryList: [(vector: [Float], start: UInt32, truth: Set<UInt32>)] = []
        for _ in 0..<queries {
            let base = Int(rng.next() % UInt64(count))
            let q = (0..<dimension).map { points[base * dimension + $0] + 0.1 * gaussianish() }
            // HNSW's upper layers hand level 0 an entry near the query: the nearest of 1 % pivots stands in for them.
            let start = pivots.min { distance(q, $0) < distance(q, $1) }!
            let (expanded, top) = search(q, points, graph, entry: start)
            traces.append(expanded)
            let truth = exactTop(q, points, 10)
            hits += Set(top.prefix(10)).intersection(truth).count
            queryList.append((q, start, truth))
        }
        let expanded = Double(traces.reduce(0) { $0 + $1.count }) / Double(traces.count)
        say("best-first search, ef = \(ef), \(queries) queries: recall@10 \(String(format1: 100 * Double(hits) / Double(10 * queries))) %")
        say("")
        say("| records per page | placement | mean records expanded per query | mean pages read per query | reads saved |")
        say("| ---: | --- | ---: | ---: | ---: |")
        for perPage in [2, 6, 16] {
            var identityPages = 0.0
            for strategy in PagePlacementStrategy.allCases {
                let order = PagePlacement.order(count: count, recordsPerPage: perPage, entry: entry, strategy: strategy) {
                    graph[Int($0)]
                }
                let position = PagePlacement.positions(of: order)
                let pages = Double(traces.reduce(0) {
                    $0 + PagePlacement.pagesTouched($1, position: position, recordsPerPage: perPage)
                }) / Double(traces.count)
                if strategy == .identity { identityPages = pages }
                let saved = identityPages > 0 ? 100 * (1 - pages / identityPages) : 0
                say("| \(perPage) | \(strategy.rawValue) | \(String(format1: expanded)) | \(String(format1: pages)) | \(String(format1: saved)) % |")
            }
        }
        if let dir = tieredDirectory { try tiered(points, graph, entry: entry, queries: queryList, directory: dir) }
    }

    /// End to end through Storage: the graph as a segment of 128-d-sized records (6 per page; the 16-d vector padded),
    /// searched with a beam of 4 whose expansions read their records through a BufferPool (io_uring, depth 32) at
    /// several budgets. Traversal distances come from the 16-d points in RAM (standing in for SQ8 codes); the
    /// neighbor lists come from the pages. One warm-up pass, then a measured pass.
    func tiered(_ points: [Float], _ graph: [[UInt32]], entry: UInt32,
                queries: [(vector: [Float], start: UInt32, truth: Set<UInt32>)], directory: String) throws {
        let layout = try PageLayout(elementType: .float32, dimension: 128, maxNeighbors0: k)
        var padded = [UInt8](repeating: 0, count: count * layout.vectorBytes)
        points.withUnsafeBytes { src in
            padded.withUnsafeMutableBytes { dst in
                for i in 0..<count {
                    dst.baseAddress!.advanced(by: i * layout.vectorBytes)
                        .copyMemory(from: src.baseAddress! + i * dimension * 4, byteCount: dimension * 4)
                }
            }
        }
        say("")
        say("Tiered search through Storage: \(count) records of \(layout.recordSize) B (\(layout.recordsPerPage) per page), beam 4, ef \(ef), \(queries.count) queries after one warm-up pass:")
        say("")
        say("| placement | pool budget (share of data pages) | SSD page reads per query | read batches per query | pool hit ratio | recall@10 | QPS (wall) |")
        say("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for placement in [PagePlacementStrategy.identity, .neighborPacking] {
            let path = directory + "/vecshard-storage-tiered-\(placement.rawValue).vsp"
            defer { unlink(path) }
            let meta = try padded.withUnsafeBytes { all in
                try SegmentWriter.write(path: path, layout: layout, count: count, entry: entry, placement: placement,
                                        vector: { UnsafeRawBufferPointer(rebasing: all[Int($0) * layout.vectorBytes..<Int($0 + 1) * layout.vectorBytes]) },
                                        neighbors: { graph[Int($0)] })
            }
            let file = try PageFile(path: path)
            let dataPages = Int(file.header.metadataFirstPage)
            for share in [1.0, 0.5, 0.2, 0.1] {
                let frames = max(Int((Double(dataPages) * share).rounded()), 16)
                let pool = try BufferPool(file: file, budgetBytes: frames * layout.pageSize, shards: 1,
                                          reader: .ioURing(queueDepth: 32))
                var hits = 0
                var before = pool.statistics
                var t0 = now()
                for pass in 0..<2 {
                    if pass == 1 {
                        before = pool.statistics
                        hits = 0
                        t0 = now()
                    }
                    for q in queries {
                        let top = try beamSearch(q.vector, points, pool: pool, directory: meta.directory, entry: q.start, beam: 4)
                        hits += Set(top.prefix(10)).intersection(q.truth).count
                    }
                }
                let elapsed = now() - t0
                let after = pool.statistics
                let n = Double(queries.count)
                let lookups = Double(after.hits + after.misses - before.hits - before.misses)
                say("| \(placement.rawValue) | \(Int(share * 100)) % (\(frames) frames) | \(String(format1: Double(after.pageReads - before.pageReads) / n)) | \(String(format1: Double(after.readBatches - before.readBatches) / n)) | \(String(format1: 100 * Double(after.hits - before.hits) / max(lookups, 1))) % | \(String(format1: 100 * Double(hits) / (10 * n))) % | \(Int(n / elapsed)) |")
            }
        }
    }

    /// Best-first search expanding up to `beam` candidates per step; their records are read in one pool batch.
    func beamSearch(_ q: [Float], _ points: [Float], pool: BufferPool, directory: [RecordAddress], entry: UInt32,
                    beam: Int) throws -> [UInt32] {
        try q.withUnsafeBufferPointer { qp in
            try points.withUnsafeBufferPointer { p in
                func d(_ id: UInt32) -> Float { distance(qp.baseAddress!, p.baseAddress! + Int(id) * dimension) }
                var visited = Set<UInt32>([entry])
                var candidates: [(Float, UInt32)] = [(d(entry), entry)]  // sorted descending; nearest last
                var results: [(Float, UInt32)] = candidates               // sorted ascending
                while true {
                    var step: [UInt32] = []
                    while step.count < beam, let (cd, c) = candidates.last,
                          results.count < ef || cd <= results[results.count - 1].0 {
                        candidates.removeLast()
                        step.append(c)
                    }
                    if step.isEmpty { break }
                    try pool.withRecords(step.map { directory[Int($0)] }) { _, record in
                        for n in record.neighbors where visited.insert(n).inserted {
                            let nd = d(n)
                            if results.count < ef || nd < results[results.count - 1].0 {
                                results.insert((nd, n), at: results.firstIndex { $0.0 > nd } ?? results.count)
                                if results.count > ef { results.removeLast() }
                                candidates.insert((nd, n), at: candidates.firstIndex { $0.0 < nd } ?? candidates.count)
                            }
                        }
                    }
                }
                return results.map { $0.1 }
            }
        }
    }

    func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> Float {
        var s: Float = 0
        for j in 0..<dimension { let d = a[j] - b[j]; s += d * d }
        return s
    }

    func nearest(_ q: [Float], _ points: [Float]) -> Int {
        q.withUnsafeBufferPointer { qp in
            points.withUnsafeBufferPointer { p in
                var best = 0, bestD = Float.infinity
                for i in 0..<count {
                    let d = distance(qp.baseAddress!, p.baseAddress! + i * dimension)
                    if d < bestD { best = i; bestD = d }
                }
                return best
            }
        }
    }

    /// Exact k nearest neighbors of every point, nearest first (brute force).
    func knnGraph(_ points: [Float]) -> [[UInt32]] {
        points.withUnsafeBufferPointer { p in
            (0..<count).map { i in
                var best: [(Float, UInt32)] = []
                best.reserveCapacity(k + 1)
                var worst = Float.infinity
                for j in 0..<count where j != i {
                    let d = distance(p.baseAddress! + i * dimension, p.baseAddress! + j * dimension)
                    if best.count < k || d < worst {
                        let at = best.firstIndex { $0.0 > d } ?? best.count
                        best.insert((d, UInt32(j)), at: at)
                        if best.count > k { best.removeLast() }
                        worst = best.count == k ? best[k - 1].0 : .infinity
                    }
                }
                return best.map { $0.1 }
            }
        }
    }

    func exactTop(_ q: [Float], _ points: [Float], _ n: Int) -> Set<UInt32> {
        q.withUnsafeBufferPointer { qp in
            points.withUnsafeBufferPointer { p in
                let all = (0..<count).map { (distance(qp.baseAddress!, p.baseAddress! + $0 * dimension), UInt32($0)) }
                return Set(all.sorted { $0.0 < $1.0 }.prefix(n).map { $0.1 })
            }
        }
    }

    /// HNSW's level-0 best-first search with beam `ef`; returns the expanded nodes (whose records a query reads) and
    /// the results, nearest first.
    func search(_ q: [Float], _ points: [Float], _ graph: [[UInt32]], entry: UInt32) -> ([UInt32], [UInt32]) {
        q.withUnsafeBufferPointer { qp in
            points.withUnsafeBufferPointer { p in
                func d(_ id: UInt32) -> Float { distance(qp.baseAddress!, p.baseAddress! + Int(id) * dimension) }
                var visited = Set<UInt32>([entry])
                var candidates: [(Float, UInt32)] = [(d(entry), entry)]  // sorted descending; nearest last
                var results: [(Float, UInt32)] = candidates               // sorted ascending
                var expanded: [UInt32] = []
                while let (cd, c) = candidates.popLast() {
                    if results.count >= ef && cd > results[results.count - 1].0 { break }
                    expanded.append(c)
                    for n in graph[Int(c)] where visited.insert(n).inserted {
                        let nd = d(n)
                        if results.count < ef || nd < results[results.count - 1].0 {
                            results.insert((nd, n), at: results.firstIndex { $0.0 > nd } ?? results.count)
                            if results.count > ef { results.removeLast() }
                            candidates.insert((nd, n), at: candidates.firstIndex { $0.0 < nd } ?? candidates.count)
                        }
                    }
                }
                return (expanded, results.map { $0.1 })
            }
        }
    }
}
