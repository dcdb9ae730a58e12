// Regression: consecutive filtered searches that take the brute-force path must not see the previous query's heap.
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
}
