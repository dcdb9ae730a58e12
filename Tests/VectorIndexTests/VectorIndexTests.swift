// Correctness tests of the vector engine: exactness of FLAT, recall of HNSW, deletes, filters, concurrency, save/load.
import Testing
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
@testable import VectorIndex

/// Deterministic generator so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Clustered Gaussian-ish points (sum of uniforms), like real embeddings rather than a uniform cube.
func syntheticVectors(count: Int, dimension: Int, seed: UInt64, clusters: Int = 20) -> [[Float]] {
    var rng = SplitMix64(state: seed)
    let centers = (0..<clusters).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &rng) } }
    return (0..<count).map { _ in
        let c = centers[Int.random(in: 0..<clusters, using: &rng)]
        return c.map { $0 + 0.35 * (Float.random(in: -1...1, using: &rng) + Float.random(in: -1...1, using: &rng)) }
    }
}

/// The blob of `v` in `type`, plus the float values the engine will actually see after conversion.
func blob(_ v: [Float], _ type: VectorElementType) -> (bytes: [UInt8], seen: [Double]) {
    var bytes: [UInt8] = []
    var seen: [Double] = []
    for x in v {
        switch type {
        case .float32:
            withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            seen.append(Double(x))
        case .float64:
            withUnsafeBytes(of: Double(x).bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            seen.append(Double(x))
        case .float16:
            let h = Float16(x)
            withUnsafeBytes(of: h.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            seen.append(Double(Float(h)))
        case .bfloat16:
            let b = UInt16(truncatingIfNeeded: x.bitPattern >> 16)
            withUnsafeBytes(of: b.littleEndian) { bytes.append(contentsOf: $0) }
            seen.append(Double(Float(bitPattern: UInt32(b) << 16)))
        }
    }
    return (bytes, seen)
}

/// RediSearch's definitions, computed in double.
func referenceDistance(_ a: [Double], _ b: [Double], _ metric: DistanceMetric) -> Double {
    switch metric {
    case .l2: return zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
    case .ip: return 1 - zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
    case .cosine:
        let na = a.reduce(0) { $0 + $1 * $1 }.squareRoot(), nb = b.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if na == 0 || nb == 0 { return 1 }
        return 1 - zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } / (na * nb)
    }
}

func normalized(_ v: [Float]) -> [Float] {
    let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return n > 0 ? v.map { $0 / n } : v
}

func bruteForce(_ base: [[Float]], labels: [UInt64], _ q: [Float], k: Int, metric: DistanceMetric,
                allowed: ((UInt64) -> Bool)? = nil) -> [UInt64] {
    let qd = q.map(Double.init)
    var scored: [(UInt64, Double)] = []
    for (i, v) in base.enumerated() where allowed?(labels[i]) ?? true {
        scored.append((labels[i], referenceDistance(qd, v.map(Double.init), metric)))
    }
    scored.sort { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
    return scored.prefix(k).map(\.0)
}

func add(_ index: any VectorIndex, _ label: UInt64, _ v: [Float], _ type: VectorElementType = .float32) throws {
    try blob(v, type).bytes.withUnsafeBytes { try index.add(label: label, vector: $0) }
}

func search(_ index: any VectorIndex, _ q: [Float], k: Int, ef: Int? = nil, filter: SearchFilter? = nil,
            _ type: VectorElementType = .float32) throws -> [VectorMatch] {
    try blob(q, type).bytes.withUnsafeBytes { try index.search(query: $0, k: k, efRuntime: ef, filter: filter) }
}

func hnswParameters(dimension: Int, metric: DistanceMetric, quantization: VectorQuantization = .none) -> VectorIndexParameters {
    VectorIndexParameters(algorithm: .hnsw, dimension: dimension, metric: metric, initialCapacity: 64, m: 16,
                          efConstruction: 100, efRuntime: 10, quantization: quantization)
}

@Suite("FLAT")
struct FlatTests {
    @Test("FLAT equals brute force (ids and distances) for every type × metric",
          arguments: VectorElementType.allCases, DistanceMetric.allCases)
    func exact(type: VectorElementType, metric: DistanceMetric) throws {
        let dimension = 37 // odd: exercises the kernels' tails
        var base = syntheticVectors(count: 400, dimension: dimension, seed: 7)
        base[5] = [Float](repeating: 0, count: dimension) // zero vector: COSINE must give 1, never NaN
        let index = try FlatIndex(VectorIndexParameters(algorithm: .flat, dimension: dimension, elementType: type,
                                                        metric: metric, initialCapacity: 10))
        var seen: [[Double]] = []
        for (i, v) in base.enumerated() {
            try add(index, UInt64(i * 3), v, type)
            seen.append(blob(v, type).seen)
        }
        #expect(index.count == base.count)
        for (qi, q) in syntheticVectors(count: 20, dimension: dimension, seed: 99).enumerated() {
            let qSeen = blob(q, type).seen
            var expected = seen.enumerated().map { (UInt64($0.offset * 3), referenceDistance(qSeen, $0.element, metric)) }
            expected.sort { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
            let got = try search(index, q, k: 10, type)
            #expect(got.map(\.label) == expected.prefix(10).map(\.0), "query \(qi)")
            for (g, e) in zip(got, expected) {
                #expect(!g.distance.isNaN)
                #expect(abs(Double(g.distance) - e.1) <= 1e-4 * max(1, abs(e.1)), "query \(qi) label \(g.label)")
            }
            // Range search returns exactly the rows inside the radius.
            let radius = Float(expected[25].1)
            let inRange = try blob(q, type).bytes.withUnsafeBytes { try index.rangeSearch(query: $0, radius: radius, epsilon: nil, filter: nil) }
            #expect(Set(inRange.map(\.label)).isSuperset(of: expected.prefix(24).map(\.0)))
            #expect(inRange.allSatisfy { $0.distance <= radius })
        }
        let zeroDistance = try search(index, base[5], k: 1, type)
        #expect(!zeroDistance[0].distance.isNaN)
    }

    @Test("delete moves the last row into the hole; vectorBytes returns the original blob")
    func deleteAndBytes() throws {
        let index = try FlatIndex(VectorIndexParameters(algorithm: .flat, dimension: 4, elementType: .float16, metric: .cosine))
        for i in 0..<10 { try add(index, UInt64(i), [Float(i), 1, 2, 3], .float16) }
        #expect(index.remove(label: 3))
        #expect(!index.remove(label: 3))
        #expect(!index.contains(label: 3))
        #expect(index.count == 9)
        #expect(index.vectorBytes(label: 9) == blob([9, 1, 2, 3], .float16).bytes)
        let hits = try search(index, [9, 1, 2, 3], k: 1, .float16)
        #expect(hits.first?.label == 9)
    }

    @Test("releaseUnusedCapacity gives back rows beyond the live ones and keeps every vector")
    func releaseCapacity() throws {
        let index = try FlatIndex(VectorIndexParameters(algorithm: .flat, dimension: 4, metric: .l2, initialCapacity: 16,
                                                        blockSize: 16))
        for i in 0..<300 { try add(index, UInt64(i), [Float(i), 0, 0, 0]) }
        for i in 0..<290 { index.remove(label: UInt64(i)) }
        let before = index.memoryUsage
        index.releaseUnusedCapacity(keeping: 16)
        #expect(index.memoryUsage < before / 4, "\(before) -> \(index.memoryUsage)")
        #expect(index.count == 10)
        for i in 290..<300 { #expect(index.vectorBytes(label: UInt64(i)) == blob([Float(i), 0, 0, 0], .float32).bytes) }
        #expect(try search(index, [295, 0, 0, 0], k: 1).first?.label == 295)
        try add(index, 1000, [1000, 0, 0, 0])  // grows again after shrinking
        #expect(index.count == 11)
    }
}

/// The two deletes of HNSWIndex: repaired at once, or detached and repaired later (the server's).
enum DeleteCall: Sendable { case remove, detach }

@Suite("HNSW")
struct HNSWTests {
    static let dimension = 24
    static let base = syntheticVectors(count: 2500, dimension: dimension, seed: 1)
    static let queries = syntheticVectors(count: 60, dimension: dimension, seed: 2)

    func recall(_ index: any VectorIndex, base: [[Float]], labels: [UInt64], metric: DistanceMetric, ef: Int = 100,
                filter: SearchFilter? = nil, allowed: ((UInt64) -> Bool)? = nil) throws -> Double {
        var hits = 0, total = 0
        for q in HNSWTests.queries {
            let truth = bruteForce(base, labels: labels, q, k: 10, metric: metric, allowed: allowed)
            let got = try search(index, q, k: 10, ef: ef, filter: filter)
            if let allowed { #expect(got.allSatisfy { allowed($0.label) }) }
            hits += Set(truth).intersection(got.map(\.label)).count
            total += truth.count
        }
        return total == 0 ? 1 : Double(hits) / Double(total)
    }

    /// IP runs on unit vectors, its usual use: on raw clustered vectors (maximum inner product, not a metric) this
    /// configuration measured 0.94, like any plain HNSW.
    @Test("recall@10 ≥ 0.95 at ef 100", arguments: [DistanceMetric.l2, .cosine, .ip])
    func recallAt100(metric: DistanceMetric) throws {
        let index = try HNSWIndex(hnswParameters(dimension: HNSWTests.dimension, metric: metric))
        let labels = (0..<HNSWTests.base.count).map { UInt64($0) + 1000 }
        let base = metric == .ip ? HNSWTests.base.map(normalized) : HNSWTests.base
        for (i, v) in base.enumerated() { try add(index, labels[i], v) }
        let r = try recall(index, base: base, labels: labels, metric: metric)
        #expect(r >= 0.95, "recall \(r)")
        let hits = try search(index, HNSWTests.queries[0], k: 10, ef: 100)
        let sorted = hits.sorted { $0.distance != $1.distance ? $0.distance < $1.distance : $0.label < $1.label }
        #expect(hits.map(\.label) == sorted.map(\.label))
    }

    /// `detached`: every delete is `detach` (gone at once for lookups), and the repairs run afterwards in one go.
    @Test("delete 30 %, re-insert half: recall stays ≥ 0.95, deleted labels never come back", arguments: [false, true])
    func deleteAndReinsert(detached: Bool) throws {
        let index = try HNSWIndex(hnswParameters(dimension: HNSWTests.dimension, metric: .l2))
        for (i, v) in HNSWTests.base.enumerated() { try add(index, UInt64(i), v) }
        var rng = SplitMix64(state: 5)
        let deleted = Array((0..<HNSWTests.base.count).shuffled(using: &rng).prefix(HNSWTests.base.count * 3 / 10))
        for i in deleted {
            #expect(detached ? index.detach(label: UInt64(i)) : index.remove(label: UInt64(i)))
            #expect(!index.contains(label: UInt64(i)))
        }
        if detached {
            #expect(index.count == HNSWTests.base.count - deleted.count)
            #expect(index.repairDetached(limit: 10) == deleted.count - 10)
            #expect(index.repairDetached(limit: .max) == 0)
        }
        let reinserted = deleted.prefix(deleted.count / 2)
        for i in reinserted { try add(index, UInt64(i), HNSWTests.base[i]) }
        let gone = Set(deleted.suffix(from: deleted.count / 2).map { UInt64($0) })
        let liveLabels = (0..<HNSWTests.base.count).map { UInt64($0) }.filter { !gone.contains($0) }
        let liveBase = liveLabels.map { HNSWTests.base[Int($0)] }
        #expect(index.count == liveLabels.count)
        let r = try recall(index, base: liveBase, labels: liveLabels, metric: .l2)
        #expect(r >= 0.95, "recall \(r)")
        for q in HNSWTests.queries {
            let got = try search(index, q, k: 50, ef: 100)
            #expect(got.allSatisfy { !gone.contains($0.label) })
        }
        // Update in place: the label now answers with its new vector.
        try add(index, 0, HNSWTests.queries[0])
        #expect(try search(index, HNSWTests.queries[0], k: 1, ef: 50).first?.label == 0)
        #expect(index.vectorBytes(label: 0) == blob(HNSWTests.queries[0], .float32).bytes)
    }

    @Test("filtered search returns only allowed labels with recall ≥ 0.95", arguments: [0.005, 0.05, 0.5, 0.95])
    func filtered(selectivity: Double) throws {
        let index = try HNSWIndex(hnswParameters(dimension: HNSWTests.dimension, metric: .cosine))
        let labels = (0..<HNSWTests.base.count).map { UInt64($0) }
        for (i, v) in HNSWTests.base.enumerated() { try add(index, labels[i], v) }
        var rng = SplitMix64(state: 11)
        let allowedSet = Set(labels.filter { _ in Double.random(in: 0..<1, using: &rng) < selectivity })
        let allows: @Sendable (UInt64) -> Bool = { allowedSet.contains($0) }
        let byPredicate = try recall(index, base: HNSWTests.base, labels: labels, metric: .cosine,
                                     filter: SearchFilter(allows: allows), allowed: allows)
        #expect(byPredicate >= 0.95, "predicate recall \(byPredicate) at \(selectivity)")
        let byList = try recall(index, base: HNSWTests.base, labels: labels, metric: .cosine,
                                filter: SearchFilter(labels: Array(allowedSet)), allowed: allows)
        #expect(byList >= 0.95, "label-list recall \(byList) at \(selectivity)")
    }

    @Test("range search with epsilon finds the rows a brute force finds")
    func range() throws {
        let index = try HNSWIndex(hnswParameters(dimension: HNSWTests.dimension, metric: .l2))
        let flat = try FlatIndex(VectorIndexParameters(algorithm: .flat, dimension: HNSWTests.dimension, metric: .l2))
        for (i, v) in HNSWTests.base.prefix(1500).enumerated() { try add(index, UInt64(i), v); try add(flat, UInt64(i), v) }
        var found = 0, expected = 0
        for q in HNSWTests.queries.prefix(20) {
            let exact = try search(flat, q, k: 30)
            let radius = exact[29].distance
            let got = try blob(q, .float32).bytes.withUnsafeBytes { try index.rangeSearch(query: $0, radius: radius, epsilon: 0.2, filter: nil) }
            #expect(got.allSatisfy { $0.distance <= radius })
            found += Set(got.map(\.label)).intersection(exact.map(\.label)).count
            expected += exact.count
        }
        #expect(Double(found) / Double(expected) >= 0.95)
    }

    @Test("a KNN over codes after updates and deletes of a tiny index answers every live label", arguments: [VectorQuantization.none, .fourBit, .lowBit])
    func tinyIndexUpdatesThenSearch(quantization: VectorQuantization) throws {
        // The server's update is detach + add under the same label. When the entry point is a detached node whose
        // lists never got the re-added nodes, the walk strands: SearchIndexTests' "deletes and updates" saw a KNN
        // answer nothing (3 nodes, the entry dead on level 1, the one live node unreachable from it; 12 runs in 20
        // alone, with the drainer's timing). This randomized version did not reproduce it without the fix.
        var rng = SplitMix64(state: 11)
        for trial in 0..<300 {
            let index = try HNSWIndex(hnswParameters(dimension: 2, metric: .l2, quantization: quantization))
            var live = Set<UInt64>()
            for _ in 0..<6 {
                let label = UInt64.random(in: 0..<3, using: &rng)
                if live.contains(label), Bool.random(using: &rng) {
                    _ = index.detach(label: label)
                    if Bool.random(using: &rng) { while index.repairDetached(limit: 64) > 0 {} }
                    live.remove(label)
                } else {
                    if live.contains(label) { _ = index.detach(label: label) }
                    try add(index, label, [Float.random(in: -5...5, using: &rng), Float.random(in: -5...5, using: &rng)])
                    live.insert(label)
                }
            }
            let hits = try search(index, [0, 0], k: 3, ef: 10)
            #expect(Set(hits.map(\.label)) == live, "trial \(trial): \(hits) for live \(live.sorted())")
        }
    }

    @Test("memoryUsage counts written records and codes, not the arena reserved ahead", arguments: [VectorQuantization.none, .fourBit])
    func memoryUsageCountsUsedSlots(quantization: VectorQuantization) throws {
        var reserved = hnswParameters(dimension: 64, metric: .l2, quantization: quantization)
        reserved.initialCapacity = 100_000
        var exact = reserved
        exact.initialCapacity = 1_000
        let big = try HNSWIndex(reserved), small = try HNSWIndex(exact)
        var rng = SplitMix64(state: 7)
        for i in 0..<1_000 {
            let v = (0..<64).map { _ in Float.random(in: -1...1, using: &rng) }
            try add(big, UInt64(i), v)
            try add(small, UInt64(i), v)
        }
        // Only the arrays initialized over the whole reservation may differ: per-slot state (10 B), the dense label
        // map (4 B) and a search scratch's visited epochs (2 B).
        let perSlot = 1 + 1 + MemoryLayout<UnsafeMutablePointer<UInt32>?>.stride + 4 + 2
        let allowance = (100_000 - 1_000) * perSlot
        #expect(big.memoryUsage - small.memoryUsage <= allowance + 64 * 1024,
                "\(big.memoryUsage) with 100k reserved vs \(small.memoryUsage) with 1k")
        #expect(big.memoryUsage > 1_000 * 64 * 4)
    }

    @Test("save → load gives identical results", arguments: [VectorQuantization.none, .sq8, .fourBit, .twoBit])
    func saveLoad(quantization: VectorQuantization) throws {
        let index = try HNSWIndex(hnswParameters(dimension: HNSWTests.dimension, metric: .ip, quantization: quantization))
        for (i, v) in HNSWTests.base.prefix(1200).enumerated() { try add(index, UInt64(i), v) }
        for i in stride(from: 0, to: 1200, by: 7) { index.remove(label: UInt64(i)) }
        let loaded = try makeVectorIndex(deserializing: index.serialize())
        #expect(loaded.count == index.count)
        for q in HNSWTests.queries {
            let a = try search(index, q, k: 10, ef: 50), b = try search(loaded, q, k: 10, ef: 50)
            #expect(a.map(\.label) == b.map(\.label))
            #expect(a.map(\.distance) == b.map(\.distance))
        }
        let flat = try FlatIndex(VectorIndexParameters(algorithm: .flat, dimension: 3, elementType: .float64, metric: .l2))
        try add(flat, 42, [1, 2, 3], .float64)
        let flatLoaded = try makeVectorIndex(deserializing: flat.serialize())
        #expect(flatLoaded.vectorBytes(label: 42) == flat.vectorBytes(label: 42))
        #expect(throws: VectorIndexError.self) { try makeVectorIndex(deserializing: [1, 2, 3, 4, 5, 6, 7, 8]) }
    }

    @Test("SQ8, 4-bit and 2-bit traversal with exact re-rank keep recall ≥ 0.95", arguments: [VectorQuantization.sq8, .fourBit, .twoBit])
    func quantizedTraversalRecall(quantization: VectorQuantization) throws {
        let index = try HNSWIndex(hnswParameters(dimension: HNSWTests.dimension, metric: .l2, quantization: quantization))
        let labels = (0..<HNSWTests.base.count).map { UInt64($0) }
        let flatBlob = HNSWTests.base.flatMap { blob($0, .float32).bytes }
        try flatBlob.withUnsafeBytes { try index.addBatch(labels: labels, vectors: $0, threads: 2) }
        let r = try recall(index, base: HNSWTests.base, labels: labels, metric: .l2)
        #expect(r >= 0.95, "recall \(r)")
        // Fed one by one, then trained: existing codes are re-encoded with the learned ranges.
        let single = try HNSWIndex(hnswParameters(dimension: HNSWTests.dimension, metric: .l2, quantization: quantization))
        for (i, v) in HNSWTests.base.enumerated() { try add(single, labels[i], v) }
        try flatBlob.withUnsafeBytes { try single.trainQuantizer(samples: $0, count: labels.count) }
        let r2 = try recall(single, base: HNSWTests.base, labels: labels, metric: .l2)
        #expect(r2 >= 0.95, "recall after train \(r2)")
    }

    @Test("4-bit and 2-bit codes of an index fed one vector at a time are trained after 1,024 inserts",
          arguments: [VectorQuantization.fourBit, .twoBit])
    func lowBitAutoTraining(quantization: VectorQuantization) throws {
        let base = HNSWTests.base
        let index = try HNSWIndex(hnswParameters(dimension: HNSWTests.dimension, metric: .cosine, quantization: quantization))
        for (i, v) in base.enumerated() {
            try add(index, UInt64(i), v)
            #expect(index.isQuantizerTrained == (i + 1 >= HNSWIndex.autoTrainCount), "after \(i + 1) inserts")
        }
        let labels = (0..<base.count).map { UInt64($0) }
        let r = try recall(index, base: base, labels: labels, metric: .cosine)
        #expect(r >= 0.95, "recall \(r)")
    }

    @Test("blobs of the wrong size throw a clear error")
    func badBlobs() throws {
        for algorithm in [VectorAlgorithm.flat, .hnsw] {
            let index = try makeVectorIndex(VectorIndexParameters(algorithm: algorithm, dimension: 4, elementType: .float64, metric: .l2))
            let short = [UInt8](repeating: 0, count: 16)
            #expect(throws: VectorIndexError.wrongBlobSize(expected: 32, got: 16)) {
                try short.withUnsafeBytes { try index.add(label: 1, vector: $0) }
            }
            #expect(throws: VectorIndexError.self) {
                try short.withUnsafeBytes { _ = try index.search(query: $0, k: 1, efRuntime: nil, filter: nil) }
            }
            #expect(index.count == 0)
        }
        #expect(VectorIndexError.wrongBlobSize(expected: 32, got: 16).description.contains("expected 32"))
    }

    /// With 4-bit codes the inserts cross `autoTrainCount`, so the codes are trained and re-encoded while other
    /// threads insert, delete and search.
    @Test("concurrent inserts, searches and deletes from several threads", arguments: [VectorQuantization.none, .fourBit, .twoBit])
    func concurrent(quantization: VectorQuantization) throws {
        let index = try HNSWIndex(hnswParameters(dimension: HNSWTests.dimension, metric: .l2, quantization: quantization))
        let base = HNSWTests.base
        for i in 0..<500 { try add(index, UInt64(i), base[i]) }
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            switch worker {
            case 0, 1: // writers: insert disjoint ranges, then check visibility right after the insert returns
                for i in stride(from: 500 + worker, to: 1500, by: 2) {
                    try! add(index, UInt64(i), base[i])
                    #expect(index.contains(label: UInt64(i)))
                }
            case 2: // deleter
                for i in stride(from: 0, to: 400, by: 3) { index.remove(label: UInt64(i)) }
            default: // reader
                for j in 0..<300 {
                    let hits = try! search(index, HNSWTests.queries[j % HNSWTests.queries.count], k: 10, ef: 40)
                    #expect(hits.count == 10)
                }
            }
        }
        #expect(index.count == 1500 - (0..<400).filter { $0 % 3 == 0 }.count)
        // Inserted vectors find themselves. One miss of the 28 is allowed: no sweep is due after 134 deletes, and
        // the pruning of a concurrent build can leave a node that only the sweep's reachability pass links back (CI
        // saw one such miss in 4-bit, once in about 30 runs).
        var missed: [Int] = []
        for i in stride(from: 500, to: 1500, by: 37) where try search(index, base[i], k: 1, ef: 64).first?.label != UInt64(i) {
            missed.append(i)
        }
        #expect(missed.count <= 1, "not found as their own nearest: \(missed)")
        #expect(index.memoryUsage > 1500 * HNSWTests.dimension * 4)
        #expect(index.isQuantizerTrained == (quantization != .none))
    }

    /// Deletes below the sweep threshold leave one-way edges into the deleted slots, and a node whose only in-edge
    /// came from a deleted node's own list is stranded if walks stop at deleted nodes. Exhaustive self-searches (ef
    /// above the node count) before and after 223 deletes (no sweep due) on a sparse graph (M 4, where such nodes are
    /// common): when repaired slots stopped the walk, 6 nodes found before were lost with either delete; walking
    /// through them until the sweep leaves 2 (remove) and 3 (detach), which the repair's re-selection pruned out of
    /// every list. The sweep's reachability pass brings every one back.
    @Test("a live node found before deletes is found after them, between sweeps", arguments: [DeleteCall.remove, .detach])
    func findableBetweenSweeps(mode: DeleteCall) throws {
        var parameters = hnswParameters(dimension: HNSWTests.dimension, metric: .l2)
        parameters.m = 4
        parameters.efConstruction = 40
        let index = try HNSWIndex(parameters)
        let base = HNSWTests.base
        for i in 0..<2000 { try add(index, UInt64(i), base[i]) }
        let deleted = Set(stride(from: 0, to: 2000, by: 9).map { UInt64($0) })  // 223: below the 256 of a sweep
        func findable() throws -> Set<Int> {
            var found = Set<Int>()
            for i in 0..<2000 where !deleted.contains(UInt64(i)) {
                if try search(index, base[i], k: 1, ef: 4000).first?.label == UInt64(i) { found.insert(i) }
            }
            return found
        }
        let before = try findable()
        for label in deleted.sorted() {
            switch mode {
            case .remove: index.remove(label: label)
            case .detach: index.detach(label: label)
            }
        }
        if mode == .detach { index.repairDetached(limit: .max) }
        let lost = before.subtracting(try findable()).sorted()
        #expect(lost.count <= 3, "found before the deletes, not after: \(lost)")
        index.repairReachability()
        let lostAfterRepair = before.subtracting(try findable()).sorted()
        #expect(lostAfterRepair.isEmpty, "found before the deletes, not after the reachability pass: \(lostAfterRepair)")
    }

    /// The server's delete: `detach` on one thread while another repairs under the shared lock, beside inserts and
    /// searches. A detached label is never returned by a search that starts after `detach` returned.
    @Test("concurrent detach with background repair beside inserts and searches", arguments: [VectorQuantization.none, .fourBit, .twoBit])
    func concurrentDetach(quantization: VectorQuantization) throws {
        let index = try HNSWIndex(hnswParameters(dimension: HNSWTests.dimension, metric: .l2, quantization: quantization))
        let base = HNSWTests.base
        for i in 0..<1200 { try add(index, UInt64(i), base[i]) }
        let deleting = Atomic<Bool>(true)
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            switch worker {
            case 0: // writer: fresh labels, some deleted moments after their insert by the deleter below
                for i in 1200..<1500 { try! add(index, UInt64(i), base[i]) }
            case 1: // deleter
                for i in stride(from: 0, to: 1500, by: 4) {
                    guard index.detach(label: UInt64(i)) else { continue }
                    #expect(!index.contains(label: UInt64(i)))
                    let hits = try! search(index, base[i], k: 10, ef: 40)
                    #expect(!hits.contains { $0.label == UInt64(i) })
                }
                deleting.store(false, ordering: .releasing)
            case 2: // repairer
                while deleting.load(ordering: .acquiring) || index.repairDetached(limit: 0) > 0 {
                    if index.repairDetached(limit: 8) == 0 { usleep(100) }
                }
            default: // reader
                for j in 0..<300 {
                    let hits = try! search(index, HNSWTests.queries[j % HNSWTests.queries.count], k: 10, ef: 40)
                    #expect(hits.count == 10)
                }
            }
        }
        #expect(index.repairDetached(limit: .max) == 0)
        let gone = Set((0..<1500).filter { $0 % 4 == 0 && !index.contains(label: UInt64($0)) }.map { UInt64($0) })
        #expect(index.count == 1500 - gone.count)
        for i in stride(from: 1, to: 1500, by: 29) where !gone.contains(UInt64(i)) {
            #expect(try search(index, base[i], k: 1, ef: 64).first?.label == UInt64(i))
        }
        for q in HNSWTests.queries.prefix(50) {
            #expect(try search(index, q, k: 20, ef: 80).allSatisfy { !gone.contains($0.label) })
        }
    }
}

/// The real-data check, off by default (50k × 384 build: minutes in debug). Run with
/// `VECSHARD_SLOW_TESTS=1 swift test -c release --filter MiniLM`.
@Suite("pypi-minilm-50k", .enabled(if: ProcessInfoLite.environment("VECSHARD_SLOW_TESTS") != nil))
struct MiniLMTests {
    static let directory = ProcessInfoLite.environment("VECSHARD_DATA") ?? "/work/shared/data/pypi-minilm-50k"

    /// Rows of a TEXMEX file as one flat array of 4-byte values.
    func read(_ name: String) throws -> (rows: Int, dim: Int, bytes: [UInt8]) {
        guard let f = fopen(MiniLMTests.directory + "/" + name, "rb") else { throw VectorIndexError.invalidParameter("missing \(name)") }
        defer { fclose(f) }
        fseek(f, 0, SEEK_END)
        let size = ftell(f)
        fseek(f, 0, SEEK_SET)
        var raw = [UInt8](repeating: 0, count: size)
        _ = raw.withUnsafeMutableBytes { fread($0.baseAddress!, 1, size, f) }
        let dim = Int(raw.withUnsafeBytes { $0.load(as: Int32.self) })
        let rows = size / (4 * (dim + 1))
        var out = [UInt8](); out.reserveCapacity(rows * dim * 4)
        for r in 0..<rows { out.append(contentsOf: raw[(r * (dim + 1) + 1) * 4..<(r + 1) * (dim + 1) * 4]) }
        return (rows, dim, out)
    }

    @Test("recall@10 ≥ 0.95 at ef 100 on pypi-minilm-50k (COSINE)")
    func minilmRecall() throws {
        let base = try read("base.fvecs"), queries = try read("query.fvecs"), truth = try read("groundtruth.ivecs")
        let index = try HNSWIndex(VectorIndexParameters(algorithm: .hnsw, dimension: base.dim, metric: .cosine,
                                                        initialCapacity: base.rows, m: 16, efConstruction: 200))
        try base.bytes.withUnsafeBytes { try index.addBatch(labels: (0..<base.rows).map { UInt64($0) }, vectors: $0, threads: 2) }
        var hits = 0
        let stride = queries.dim * 4
        for q in 0..<queries.rows {
            let got = try queries.bytes.withUnsafeBytes {
                try index.search(query: UnsafeRawBufferPointer(rebasing: $0[q * stride..<(q + 1) * stride]), k: 10, efRuntime: 100, filter: nil)
            }
            let expected = Set((0..<10).map { j in
                UInt64(truth.bytes.withUnsafeBytes { $0.load(fromByteOffset: (q * truth.dim + j) * 4, as: Int32.self) })
            })
            hits += got.filter { expected.contains($0.label) }.count
        }
        let recall = Double(hits) / Double(queries.rows * 10)
        #expect(recall >= 0.95, "recall \(recall)")
    }
}

/// getenv without Foundation.
enum ProcessInfoLite {
    static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
}
