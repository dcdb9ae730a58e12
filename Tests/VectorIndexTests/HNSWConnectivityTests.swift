// Graph health under concurrent construction: every vector must be findable by searching for itself.
import Testing
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
@testable import VectorIndex

/// Standard normal vectors (Box-Muller over SplitMix64): isotropic data with no cluster structure, the hardest
/// case for graph connectivity at a given dimension.
func gaussianVectors(count: Int, dimension: Int, seed: UInt64) -> [[Float]] {
    var rng = SplitMix64(state: seed)
    return (0..<count).map { _ in
        (0..<dimension).map { _ in
            let u1 = Double.random(in: Double.ulpOfOne..<1, using: &rng), u2 = Double.random(in: 0..<1, using: &rng)
            return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
        }
    }
}

@Suite("HNSW connectivity")
struct HNSWConnectivityTests {
    /// Labels that a k=1 search for their own vector at `ef` does not return.
    static func selfMisses(_ index: HNSWIndex, _ vectors: [[Float]], ef: Int) throws -> [UInt64] {
        var missed: [UInt64] = []
        for (i, v) in vectors.enumerated() where try search(index, v, k: 1, ef: ef).first?.label != UInt64(i) {
            missed.append(UInt64(i))
        }
        return missed
    }

    @Test("1,500 × 16-d Gaussian, M 16, EFC 200: every vector finds itself at ef 200", arguments: [1, 2, 4])
    func everyNodeReachable(threads: Int) throws {
        let vectors = gaussianVectors(count: 1500, dimension: 16, seed: 99)
        var worst: [UInt64] = []
        for _ in 0..<(threads == 1 ? 1 : 6) {
            var p = hnswParameters(dimension: 16, metric: .l2)
            p.efConstruction = 200
            let index = try HNSWIndex(p)
            let flat = vectors.flatMap { $0 }
            try flat.withUnsafeBytes { raw in
                try index.addBatch(labels: (0..<UInt64(vectors.count)).map { $0 }, vectors: raw, threads: threads)
            }
            let missed = try Self.selfMisses(index, vectors, ef: 200)
            if missed.count > worst.count { worst = missed }
        }
        #expect(worst.isEmpty, "threads \(threads): unreachable labels \(worst)")
    }
}
