// ProductQuantizer: PQ estimates must rank like exact distances, survive save/load bit for bit, and reject bad bytes.
import Testing
@testable import VectorIndex

@Suite("ProductQuantizer")
struct ProductQuantizerTests {
    /// 5,000 base vectors and 50 queries drawn from the same clusters (one call, so they share the centers).
    static let data = syntheticVectors(count: 5_050, dimension: 64, seed: 77)

    /// Exact distance in the form the quantizer estimates.
    static func exact(_ a: [Float], _ b: [Float], _ metric: DistanceMetric) -> Float {
        switch metric {
        case .l2: zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        case .ip, .cosine: 1 - zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        }
    }

    /// What the table computes between a query and a reconstruction: squared L2, 1 − dot, and ‖q − c‖²/2 for
    /// COSINE (equal to 1 − dot when both are unit vectors).
    static func estimateForm(_ q: [Float], _ c: [Float], _ metric: DistanceMetric) -> Float {
        switch metric {
        case .l2: exact(q, c, .l2)
        case .ip: exact(q, c, .ip)
        case .cosine: exact(q, c, .l2) / 2
        }
    }

    static func trained(_ vectors: [[Float]], dimension: Int, subspaces: Int, metric: DistanceMetric,
                        iterations: Int) -> ProductQuantizer {
        let pq = ProductQuantizer(dimension: dimension, subspaces: subspaces, metric: metric)
        let flat = vectors.flatMap { $0 }
        flat.withUnsafeBufferPointer { pq.train(vectors: $0.baseAddress!, count: vectors.count, iterations: iterations) }
        return pq
    }

    static func codes(_ pq: ProductQuantizer, _ vectors: [[Float]]) -> [[UInt8]] {
        vectors.map { v in
            var code = [UInt8](repeating: 0, count: pq.codeBytes)
            v.withUnsafeBufferPointer { p in code.withUnsafeMutableBufferPointer { pq.encode(p.baseAddress!, into: $0.baseAddress!) } }
            return code
        }
    }

    /// Estimated distances from `query` to every code.
    static func estimates(_ pq: ProductQuantizer, query: [Float], codes: [[UInt8]]) -> [Float] {
        var table = [Float](repeating: .nan, count: pq.tableCount)
        query.withUnsafeBufferPointer { q in table.withUnsafeMutableBufferPointer { pq.prepareTable(query: q.baseAddress!, into: $0.baseAddress!) } }
        return table.withUnsafeBufferPointer { t in codes.map { c in c.withUnsafeBufferPointer { pq.distance(table: t.baseAddress!, code: $0.baseAddress!) } } }
    }

    @Test("5,000 × 64-d, 16 subspaces: exact top-10 within the PQ top-100 (recall ≥ 0.9); self estimates far below the mean",
          arguments: [DistanceMetric.l2, .cosine])
    func recall(metric: DistanceMetric) throws {
        let all = metric == .cosine ? Self.data.map(normalized) : Self.data
        let base = Array(all.prefix(5_000)), queries = Array(all.suffix(50))
        // A 1,000-vector sample with 2 rounds keeps a debug run short; both metrics reach about 0.98 with it.
        let trainCount = 1_000
        let pq = Self.trained(Array(base.prefix(trainCount)), dimension: 64, subspaces: 16, metric: metric, iterations: 2)
        let codes = Self.codes(pq, base)
        // FLAT gives the exact neighbours with the engine's compiled kernels, which keeps this debug test quick.
        let flat = try makeVectorIndex(VectorIndexParameters(algorithm: .flat, dimension: 64, metric: metric,
                                                             initialCapacity: base.count))
        for (i, v) in base.enumerated() { try add(flat, UInt64(i), v) }
        var found = 0
        for q in queries {
            let estimated = Self.estimates(pq, query: q, codes: codes)
            let cutoff = estimated.sorted()[99]
            found += try search(flat, q, k: 10).filter { estimated[Int($0.label)] <= cutoff }.count
        }
        let recall = Double(found) / Double(queries.count * 10)
        #expect(recall >= 0.9, "recall \(recall)")

        // Vectors the codebooks never saw: the estimate to their own code must be small next to the typical
        // distance, and estimates must be comparable with exact distances, not merely ordered alike.
        let sample = Array(codes.prefix(500))
        var selfSum: Float = 0, meanSum: Float = 0, pairError: Float = 0
        for i in trainCount..<(trainCount + 50) {
            let estimated = Self.estimates(pq, query: base[i], codes: sample + [codes[i]])
            selfSum += estimated[500]
            meanSum += estimated.prefix(500).reduce(0, +) / 500
            let j = (i * 37) % 500
            pairError += abs(estimated[j] - Self.exact(base[i], base[j], metric))
        }
        #expect(selfSum < 0.1 * meanSum, "self \(selfSum / 50) vs mean \(meanSum / 50)")
        #expect(pairError < 0.1 * meanSum, "pair error \(pairError / 50) vs mean \(meanSum / 50)")
    }

    @Test("serialize → deserialize gives identical codes and distances", arguments: [DistanceMetric.l2, .ip, .cosine])
    func roundTrip(metric: DistanceMetric) throws {
        // 13 subspaces of 64 dimensions: uneven slices, and a code length that is not a multiple of the 4-way unroll.
        let vectors = Array(Self.data.prefix(150))
        let pq = Self.trained(vectors, dimension: 64, subspaces: 13, metric: metric, iterations: 1)
        let copy = try ProductQuantizer(deserializing: pq.serialize())
        #expect(copy.dimension == 64 && copy.subspaces == 13 && copy.metric == metric && copy.isTrained)
        #expect(copy.serialize() == pq.serialize())
        let codes = Self.codes(pq, Array(vectors.prefix(50)))
        #expect(Self.codes(copy, Array(vectors.prefix(50))) == codes)
        for q in Self.data.suffix(3) {
            let a = Self.estimates(pq, query: q, codes: codes), b = Self.estimates(copy, query: q, codes: codes)
            #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
        }
        let untrained = try ProductQuantizer(deserializing: ProductQuantizer(dimension: 5, subspaces: 2, metric: metric).serialize())
        #expect(!untrained.isTrained)
    }

    @Test("truncated, extended or garbled bytes throw corruptSerialization")
    func corruptBytes() throws {
        let pq = Self.trained(syntheticVectors(count: 300, dimension: 10, seed: 3), dimension: 10, subspaces: 4, metric: .l2, iterations: 2)
        let good = pq.serialize()
        func rejects(_ bytes: [UInt8]) -> Bool {
            do { _ = try ProductQuantizer(deserializing: bytes); return false } catch let error as VectorIndexError {
                if case .corruptSerialization = error { return true }
                return false
            } catch { return false }
        }
        #expect(!rejects(good))
        for length in Array(0..<40) + Array(stride(from: 40, to: good.count, by: 97)) + [good.count - 1] {
            #expect(rejects(Array(good.prefix(length))), "prefix of \(length) bytes accepted")
        }
        #expect(rejects(good + [0]))
        var random = SplitMix64(state: 9)
        for _ in 0..<200 {
            var garbled = good
            let position = Int.random(in: 0..<garbled.count, using: &random)
            garbled[position] ^= UInt8.random(in: 1...255, using: &random)
            #expect(rejects(garbled), "byte \(position) changed yet accepted")
        }
        // Headers that pass the checksum but describe impossible shapes (a writer bug, not a flipped bit).
        func resealed(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
            var bytes = Array(good.dropLast(8))
            edit(&bytes)
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            return bytes + withUnsafeBytes(of: hash.littleEndian, Array.init)
        }
        #expect(!rejects(resealed { _ in }))
        #expect(rejects(resealed { $0[4] = 2 }))                      // major version
        #expect(rejects(resealed { $0[8] = 7 }))                      // metric
        #expect(rejects(resealed { $0[16] = 11 }))                    // subspaces > dimension
        #expect(rejects(resealed { $0[16] = 0 }))                     // no subspaces
        #expect(rejects(resealed { $0[12] = 0; $0[13] = 0x80 }))      // dimension beyond the payload
        #expect(rejects(resealed { $0[20 + 3] = 0x7F; $0[20 + 2] = 0xC0 })) // NaN centroid
        for length in [0, 3, 64, 5_000] {
            let noise = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(rejects(noise))
        }
    }

    @Test("dimension 10 in 4 subspaces splits 3+3+2+2 and estimates equal the distance to the decoded vector",
          arguments: [DistanceMetric.l2, .ip, .cosine])
    func unevenSplit(metric: DistanceMetric) {
        func prepared(_ vectors: [[Float]]) -> [[Float]] { metric == .cosine ? vectors.map(normalized) : vectors }
        let pq = Self.trained(prepared(syntheticVectors(count: 300, dimension: 10, seed: 21)), dimension: 10, subspaces: 4,
                              metric: metric, iterations: 2)
        #expect((0..<4).map(pq.subspaceRange) == [0..<3, 3..<6, 6..<8, 8..<10])
        #expect(pq.codeBytes == 4 && pq.tableCount == 1024)
        let vectors = prepared(syntheticVectors(count: 20, dimension: 10, seed: 22))
        let codes = Self.codes(pq, vectors)
        let query = vectors[0]
        let estimated = Self.estimates(pq, query: query, codes: codes)
        for (i, code) in codes.enumerated() {
            var decoded = [Float](repeating: 0, count: 10)
            code.withUnsafeBufferPointer { c in decoded.withUnsafeMutableBufferPointer { pq.decode(c.baseAddress!, into: $0.baseAddress!) } }
            let expected = Self.estimateForm(query, decoded, metric)
            #expect(abs(estimated[i] - expected) <= 1e-4 * max(1, abs(expected)), "estimate \(estimated[i]) vs \(expected)")
        }
        #expect(ProductQuantizer(dimension: 3, subspaces: 8, metric: metric).subspaces == 3)
    }

    @Test("batched estimates equal one-at-a-time estimates, for any count and a subspace count not a multiple of 4",
          arguments: [(64, 32), (10, 5), (66, 33)])
    func batchedEstimates(dimension: Int, subspaces: Int) {
        let vectors = syntheticVectors(count: 400, dimension: dimension, seed: 31)
        let pq = Self.trained(vectors, dimension: dimension, subspaces: subspaces, metric: .l2, iterations: 2)
        let codes = Self.codes(pq, vectors)
        let single = Self.estimates(pq, query: vectors[7], codes: codes)
        var table = [Float](repeating: .nan, count: pq.tableCount)
        vectors[7].withUnsafeBufferPointer { q in table.withUnsafeMutableBufferPointer { pq.prepareTable(query: q.baseAddress!, into: $0.baseAddress!) } }
        let flat = codes.flatMap { $0 }
        for count in [0, 1, 3, 32, 400] {
            var batch = [Float](repeating: .nan, count: max(count, 1))
            flat.withUnsafeBufferPointer { f in
                // Codes out of order, as a neighbor list gives them.
                let pointers = (0..<count).map { f.baseAddress! + ((($0 * 37) % codes.count) * pq.codeBytes) }
                pointers.withUnsafeBufferPointer { p in
                    table.withUnsafeBufferPointer { t in
                        batch.withUnsafeMutableBufferPointer { pq.distances(table: t.baseAddress!, codes: p.baseAddress!, count: count, into: $0.baseAddress!) }
                    }
                }
            }
            for i in 0..<count {
                let expected = single[(i * 37) % codes.count]
                #expect(abs(batch[i] - expected) <= 1e-5 * max(1, abs(expected)), "count \(count) #\(i): \(batch[i]) vs \(expected)")
            }
        }
    }

    @Test("untrained and tiny training sets stay finite and never crash")
    func edgeCases() {
        let empty = ProductQuantizer(dimension: 7, subspaces: 3, metric: .l2)
        [Float](repeating: 1, count: 7).withUnsafeBufferPointer { empty.train(vectors: $0.baseAddress!, count: 0) }
        #expect(!empty.isTrained)
        let v: [Float] = [1, 2, 3, 4, 5, 6, 7]
        let d = Self.estimates(empty, query: v, codes: Self.codes(empty, [v]))[0]
        #expect(d.isFinite && abs(d - 140) < 1e-3) // untrained centroids sit at the origin: ‖v‖²

        // Five points for 256 centroids: every point becomes a centroid, so each encodes to itself exactly.
        for metric in DistanceMetric.allCases {
            let few = syntheticVectors(count: 5, dimension: 7, seed: 4).map { metric == .cosine ? normalized($0) : $0 }
            let pq = Self.trained(few, dimension: 7, subspaces: 3, metric: metric, iterations: 3)
            #expect(pq.isTrained)
            let codes = Self.codes(pq, few)
            for (i, q) in few.enumerated() {
                let d = Self.estimates(pq, query: q, codes: codes)
                #expect(d.allSatisfy { $0.isFinite })
                #expect(abs(d[i] - Self.estimateForm(q, q, metric)) < 1e-4, "vector \(i) \(metric)")
            }
        }
        // Non-finite input must leave finite, serializable codebooks.
        var poisoned = syntheticVectors(count: 5, dimension: 7, seed: 4).flatMap { $0 }
        poisoned[3] = .nan
        poisoned[9] = .infinity
        let pq = ProductQuantizer(dimension: 7, subspaces: 3, metric: .l2)
        poisoned.withUnsafeBufferPointer { pq.train(vectors: $0.baseAddress!, count: 5, iterations: 2) }
        #expect(throws: Never.self) { try ProductQuantizer(deserializing: pq.serialize()) }

        let one = Self.trained([v], dimension: 7, subspaces: 9, metric: .l2, iterations: 1)
        #expect(one.subspaces == 7 && Self.estimates(one, query: v, codes: Self.codes(one, [v]))[0] == 0)
        #expect(one.memoryUsage >= 7 * 256 * 4)
    }
}
