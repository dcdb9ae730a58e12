// The brute-force path of filtered HNSW searches: a fresh heap per query, and the low-bit shortlist before the exact scores.
import Testing
@testable import VectorIndex

@Suite("Filtered brute force")
struct FilteredBruteForceTests {
    @Test("each filtered query returns its own nearest allowed labels")
    func consecutiveQueries() throws {
        let index = try HNSWIndex(VectorIndexParameters(algorithm: .hnsw, dimension: 2, metric: .l2))
        for label in 0..<200 {
            let v: [Float] = [Float(label), 0]
            try v.withUnsafeBytes { try index.add(label: UInt64(label), vector: $0) }
        }
        let allowed = SearchFilter(labels: (0..<200).filter { $0 % 10 == 0 }.map { UInt64($0) })
        for target in [5, 150, 42, 199] {
            let q: [Float] = [Float(target), 0]
            let result = try q.withUnsafeBytes { try index.search(query: $0, k: 2, efRuntime: 10, filter: allowed) }
            let expected = (0..<200).filter { $0 % 10 == 0 }
                .sorted { abs($0 - target) != abs($1 - target) ? abs($0 - target) < abs($1 - target) : $0 < $1 }
                .prefix(2).map { UInt64($0) }
            #expect(result.map(\.label) == Array(expected))
        }
    }

    @Test("with 4-bit and 2-bit codes the allowed set is shortlisted on estimates, then scored exactly",
          arguments: [VectorQuantization.fourBit, .twoBit])
    func lowBitShortlist(quantization: VectorQuantization) throws {
        let dimension = 64
        let base = syntheticVectors(count: 3000, dimension: dimension, seed: 7)
        let labels = (0..<base.count).map { UInt64($0) }
        let index = try HNSWIndex(hnswParameters(dimension: dimension, metric: .cosine, quantization: quantization))
        let flatBlob = base.flatMap { blob($0, .float32).bytes }
        try flatBlob.withUnsafeBytes { try index.addBatch(labels: labels, vectors: $0, threads: 2) }
        // 400 of 3,000 allowed (13 %): the cost model picks the scan, and 400 is far above the 32-candidate shortlist.
        let isAllowed: (UInt64) -> Bool = { $0 % 15 < 2 }
        let filter = SearchFilter(labels: labels.filter(isAllowed))
        let queries = syntheticVectors(count: 30, dimension: dimension, seed: 99)
        var found = 0
        for q in queries {
            let result = try search(index, q, k: 10, ef: 10, filter: filter)
            let expected = bruteForce(base, labels: labels, q, k: 10, metric: .cosine, allowed: isAllowed)
            #expect(result.count == 10)
            #expect(result.allSatisfy { isAllowed($0.label) })
            found += Set(result.map(\.label)).intersection(expected).count
            // Returned distances are exact, not estimates.
            for match in result {
                let exact = referenceDistance(q.map(Double.init), base[Int(match.label)].map(Double.init), .cosine)
                #expect(abs(Double(match.distance) - exact) < 1e-4)
            }
        }
        let recall = Double(found) / Double(queries.count * 10)
        #expect(recall >= 0.99, "recall \(recall)")
    }
}
