// FourBitQuantizer: 4-bit estimates rank like exact distances on every kernel, round-trip bit for bit, reject bad bytes.
import CVectorKernels
import Testing
@testable import VectorIndex

@Suite("FourBitQuantizer", .serialized)
struct FourBitQuantizerTests {
    /// 2,000 base vectors and 30 queries from the same clusters; 100-d so the last 64-dimension block is padded.
    static let data = syntheticVectors(count: 2_030, dimension: 100, seed: 41)

    static func trained(_ vectors: [[Float]], metric: DistanceMetric) -> FourBitQuantizer {
        let q = FourBitQuantizer(dimension: vectors[0].count, metric: metric)
        vectors.flatMap { $0 }.withUnsafeBufferPointer { q.train(vectors: $0.baseAddress!, count: vectors.count) }
        return q
    }

    static func codes(_ q: any TraversalQuantizer, _ vectors: [[Float]]) -> [[UInt8]] {
        vectors.map { v in
            var code = [UInt8](repeating: 0xAA, count: q.codeBytes)
            v.withUnsafeBufferPointer { p in code.withUnsafeMutableBufferPointer { q.encode(p.baseAddress!, into: $0.baseAddress!) } }
            return code
        }
    }

    /// Single estimates and the batched call, which must agree exactly.
    static func estimates(_ q: any TraversalQuantizer, query: [Float], codes: [[UInt8]]) -> [Float] {
        let state = UnsafeMutableRawPointer.allocate(byteCount: q.queryStateBytes, alignment: 64)
        defer { state.deallocate() }
        query.withUnsafeBufferPointer { q.prepare(query: $0.baseAddress!, into: state) }
        let flat = codes.flatMap { $0 }
        return flat.withUnsafeBufferPointer { buffer in
            let pointers = (0..<codes.count).map { buffer.baseAddress! + $0 * q.codeBytes }
            var batched = [Float](repeating: .nan, count: codes.count)
            pointers.withUnsafeBufferPointer { p in
                batched.withUnsafeMutableBufferPointer { q.estimates(state: state, codes: p.baseAddress!, count: codes.count, into: $0.baseAddress!) }
            }
            let single = pointers.map { q.estimate(state: state, code: $0) }
            #expect(single.map(\.bitPattern) == batched.map(\.bitPattern))
            return batched
        }
    }

    static func exact(_ a: [Float], _ b: [Float], _ metric: DistanceMetric) -> Float {
        switch metric {
        case .l2: zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        case .ip, .cosine: 1 - zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        }
    }

    /// Trains `q` on 500 of 2,000 base vectors, then for 30 queries: the share of the exact top 10 found among the
    /// best `shortlist` estimates, and the mean estimate error over the mean exact distance.
    static func rankingQuality(_ q: any TraversalQuantizer, metric: DistanceMetric, shortlist: Int) -> (recall: Double, error: Float) {
        let all = metric == .l2 ? data : data.map(normalized)
        let base = Array(all.prefix(2_000)), queries = Array(all.suffix(30))
        Array(base.prefix(500)).flatMap { $0 }.withUnsafeBufferPointer { q.train(vectors: $0.baseAddress!, count: 500) }
        let codes = codes(q, base)
        var found = 0, errorSum: Float = 0, distanceSum: Float = 0
        for query in queries {
            let estimated = estimates(q, query: query, codes: codes)
            let exact = base.map { Self.exact(query, $0, metric) }
            let truth = Set(exact.indices.sorted { exact[$0] < exact[$1] }.prefix(10))
            found += estimated.indices.sorted { estimated[$0] < estimated[$1] }.prefix(shortlist).filter(truth.contains).count
            for i in stride(from: 0, to: base.count, by: 7) {
                errorSum += abs(estimated[i] - exact[i])
                distanceSum += abs(exact[i])
            }
        }
        return (Double(found) / Double(queries.count * 10), errorSum / distanceSum)
    }

    @Test("exact top-10 within the 4-bit top-30 (recall ≥ 0.95), estimates close to exact distances",
          arguments: [DistanceMetric.l2, .ip, .cosine])
    func ranksLikeExact(metric: DistanceMetric) {
        let (recall, error) = Self.rankingQuality(FourBitQuantizer(dimension: 100, metric: metric), metric: metric, shortlist: 30)
        #expect(recall >= 0.95, "recall \(recall)")
        #expect(error < 0.05, "mean error \(error) of the mean distance")
    }

    @Test("AVX-512 VNNI, AVX2 and scalar kernels give identical integer dot products")
    func kernelsAgree() {
        let level = vs_u4_kernel_level()
        defer { vs_u4_force_kernel_level(level) }
        var random = SplitMix64(state: 5)
        let blocks = 3
        let query = (0..<blocks * 64).map { _ in Int8.random(in: -128...127, using: &random) }
        let codes = (0..<50).map { _ in (0..<blocks * 32).map { _ in UInt8.random(in: 0...255, using: &random) } }
        func dots() -> [Int32] {
            query.withUnsafeBufferPointer { q in codes.map { c in c.withUnsafeBufferPointer { vs_u4_dot(q.baseAddress!, $0.baseAddress!, blocks) } } }
        }
        vs_u4_force_kernel_level(0)
        let scalar = dots()
        let reference = codes.map { c in
            (0..<blocks * 64).reduce(Int32(0)) { sum, i in
                let byte = c[i / 64 * 32 + i % 32]
                return sum + Int32(query[i]) * Int32(i % 64 < 32 ? byte & 15 : byte >> 4)
            }
        }
        #expect(scalar == reference)
        for wanted in [1, 2] {
            vs_u4_force_kernel_level(Int32(wanted))
            if Int(vs_u4_kernel_level()) == wanted { #expect(dots() == reference, "level \(wanted)") }
        }
    }

    @Test("decode reproduces the vector within half a step per dimension; constant and zero vectors stay finite")
    func decodeAndEdgeCases() {
        let q = Self.trained(Array(Self.data.prefix(200)), metric: .l2)
        let v = Self.data[300]
        let code = Self.codes(q, [v])[0]
        var decoded = [Float](repeating: .nan, count: 100)
        code.withUnsafeBufferPointer { c in decoded.withUnsafeMutableBufferPointer { q.decode(c.baseAddress!, into: $0.baseAddress!) } }
        let step = code.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2 * 32 + 4, as: Float.self) }
        let withinHalfAStep = zip(v, decoded).allSatisfy { abs($0 - $1) <= step / 2 + 1e-5 }
        #expect(withinHalfAStep)
        for special in [[Float](repeating: 0, count: 100), [Float](repeating: 0.25, count: 100)] {
            let estimate = Self.estimates(q, query: special, codes: Self.codes(q, [special, v]))
            #expect(estimate.allSatisfy { $0.isFinite })
            #expect(estimate[0] < estimate[1], "own code \(estimate[0]) vs another vector's \(estimate[1])")
        }
    }

    @Test("NaN and infinite values encode and query without trapping")
    func nonFiniteValues() {
        let q = Self.trained(Array(Self.data.prefix(50)), metric: .l2)
        var odd = Self.data[60]
        odd[3] = .nan
        odd[50] = .infinity
        odd[70] = -.infinity
        let codes = Self.codes(q, [odd, Self.data[61]])
        let estimates = Self.estimates(q, query: odd, codes: codes) + Self.estimates(q, query: Self.data[61], codes: codes)
        #expect(estimates.count == 4)
        #expect(Self.estimates(q, query: Self.data[61], codes: [codes[1]])[0].isFinite)
    }

    @Test("serialize → deserialize gives identical codes and estimates; bad bytes throw", arguments: [DistanceMetric.l2, .cosine])
    func roundTripAndCorruption(metric: DistanceMetric) throws {
        let vectors = Array(Self.data.prefix(100))
        let q = Self.trained(vectors, metric: metric)
        let bytes = q.serialize()
        let copy = try #require(try deserializeTraversalQuantizer(bytes) as? FourBitQuantizer)
        #expect(copy.dimension == 100 && copy.metric == metric && copy.isTrained && copy.serialize() == bytes)
        #expect(Self.codes(copy, vectors) == Self.codes(q, vectors))
        let codes = Self.codes(q, vectors)
        #expect(Self.estimates(copy, query: vectors[3], codes: codes).map(\.bitPattern)
                == Self.estimates(q, query: vectors[3], codes: codes).map(\.bitPattern))
        // Product quantizers still come back through the same entry point (segments written before 4-bit codes).
        let pq = ProductQuantizer(dimension: 8, subspaces: 4, metric: metric)
        #expect(try deserializeTraversalQuantizer(pq.serialize()) is ProductQuantizer)
        func rejects(_ bytes: [UInt8]) -> Bool {
            do { _ = try FourBitQuantizer(deserializing: bytes); return false } catch let error as VectorIndexError {
                if case .corruptSerialization = error { return true }
                return false
            } catch { return false }
        }
        for length in [0, 3, 4, 15, 16, bytes.count - 9, bytes.count - 1] { #expect(rejects(Array(bytes.prefix(length))), "\(length)") }
        #expect(rejects(bytes + [0]))
        var random = SplitMix64(state: 3)
        for _ in 0..<100 {
            var garbled = bytes
            let position = Int.random(in: 0..<garbled.count, using: &random)
            garbled[position] ^= UInt8.random(in: 1...255, using: &random)
            #expect(rejects(garbled), "byte \(position) changed yet accepted")
        }
    }
}
