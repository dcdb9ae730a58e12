// SQ8: per-dimension min/max 8-bit codes used to estimate distances during graph traversal (exact re-rank after).
import CVectorKernels

/// Codes live in one contiguous arena (`dimension` bytes per internal id). For COSINE the normalized vector is
/// encoded so every estimate is a plain dot product. In the all-RAM mode the full vectors stay in the records (they
/// serve re-ranking and `vectorBytes`); the point of SQ8 is that traversal touches 4× fewer bytes, and that
/// [tiering] can leave the full records on SSD.
final class SQ8Quantizer: @unchecked Sendable {
    let space: DistanceSpace
    let dimension: Int
    private(set) var minimum: UnsafeMutablePointer<Float>
    private(set) var scale: UnsafeMutablePointer<Float>
    private(set) var trained = false
    private var codes: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private let convert: UnsafeMutablePointer<Float>

    init(space: DistanceSpace, capacity: Int) {
        self.space = space
        dimension = space.dimension
        self.capacity = capacity
        minimum = .allocate(capacity: dimension)
        scale = .allocate(capacity: dimension)
        // Until trained, assume unit-scale embeddings; `train` replaces this before a bulk build.
        minimum.initialize(repeating: -1, count: dimension)
        scale.initialize(repeating: 2 / 255, count: dimension)
        codes = .allocate(capacity: capacity * dimension)
        convert = .allocate(capacity: dimension)
    }

    deinit { minimum.deallocate(); scale.deallocate(); codes.deallocate(); convert.deallocate() }

    var memoryUsage: Int { capacity * dimension + 3 * dimension * 4 }

    func grow(to newCapacity: Int, used: Int) {
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity * dimension)
        bigger.update(from: codes, count: used * dimension)
        codes.deallocate()
        codes = bigger
        capacity = newCapacity
    }

    /// Float32 view of a stored vector (normalized for COSINE) in `convert`.
    private func toFloat(_ stored: UnsafeRawPointer) -> UnsafeMutablePointer<Float> {
        let n = dimension
        switch space.elementType {
        case .float32: convert.update(from: stored.assumingMemoryBound(to: Float.self), count: n)
        case .float64: for i in 0..<n { convert[i] = Float(stored.load(fromByteOffset: i * 8, as: Double.self)) }
        case .float16: vs_f16_to_f32(stored.assumingMemoryBound(to: UInt16.self), convert, n)
        case .bfloat16: vs_bf16_to_f32(stored.assumingMemoryBound(to: UInt16.self), convert, n)
        }
        if space.metric == .cosine {
            let inv = space.inverseNorm(stored: stored)
            for i in 0..<n { convert[i] *= inv }
        }
        return convert
    }

    /// Learns per-dimension ranges from sample blobs (called before bulk inserts; not thread-safe with them).
    func train(samples: UnsafeRawBufferPointer, count: Int) {
        let n = dimension
        var lo = [Float](repeating: .infinity, count: n), hi = [Float](repeating: -.infinity, count: n)
        for s in 0..<count {
            let v = toFloat(samples.baseAddress! + s * space.vectorBytes)
            for i in 0..<n { lo[i] = min(lo[i], v[i]); hi[i] = max(hi[i], v[i]) }
        }
        for i in 0..<n where lo[i] <= hi[i] {
            minimum[i] = lo[i]
            scale[i] = hi[i] > lo[i] ? (hi[i] - lo[i]) / 255 : 0
        }
        trained = true
    }

    /// Encodes under the inserting thread; one thread per id, so only `convert` is shared — guard with a local copy.
    func encode(id: UInt32, stored: UnsafeRawPointer) {
        let n = dimension
        let out = codes + Int(id) * n
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { tmp in
            let v = tmp.baseAddress!
            switch space.elementType {
            case .float32: v.update(from: stored.assumingMemoryBound(to: Float.self), count: n)
            case .float64: for i in 0..<n { v[i] = Float(stored.load(fromByteOffset: i * 8, as: Double.self)) }
            case .float16: vs_f16_to_f32(stored.assumingMemoryBound(to: UInt16.self), v, n)
            case .bfloat16: vs_bf16_to_f32(stored.assumingMemoryBound(to: UInt16.self), v, n)
            }
            let inv = space.metric == .cosine ? space.inverseNorm(stored: stored) : 1
            for i in 0..<n {
                let s = scale[i]
                let c = s > 0 ? ((v[i] * inv - minimum[i]) / s).rounded() : 0
                out[i] = UInt8(min(max(c, 0), 255))
            }
        }
    }

    /// Builds the estimate query from a prepared query (float32, or float64 for FLOAT64).
    func prepare(query: UnsafeRawPointer, scratch: SearchScratch) -> SQ8Query {
        let n = dimension
        let q0 = scratch.sq8Query, q1 = scratch.sq8Query + n
        func value(_ i: Int) -> Float {
            space.elementType == .float64 ? Float(query.load(fromByteOffset: i * 8, as: Double.self))
                : query.load(fromByteOffset: i * 4, as: Float.self)
        }
        var constant: Float = 0
        if space.metric == .l2 {
            for i in 0..<n {
                let s = scale[i]
                q0[i] = s > 0 ? (value(i) - minimum[i]) / s : 0
                q1[i] = s * s
            }
        } else {
            for i in 0..<n {
                let q = value(i)
                q0[i] = q * scale[i]
                constant += q * minimum[i]
            }
        }
        return SQ8Query(codes: codes, dimension: n, queryInCodeUnits: q0, weights: q1, constant: constant,
                        isL2: space.metric == .l2)
    }

    func serialize(into w: inout ByteWriter, used: Int) {
        w.write(raw: minimum, count: dimension * 4)
        w.write(raw: scale, count: dimension * 4)
        w.write(raw: codes, count: used * dimension)
    }

    func deserialize(from r: inout ByteReader, used: Int) throws {
        try r.read(into: minimum, count: dimension * 4)
        try r.read(into: scale, count: dimension * 4)
        try r.read(into: codes, count: used * dimension)
        trained = true
    }
}

/// Distance estimate from SQ8 codes.
struct SQ8Query: QueryDistance {
    let codes: UnsafeMutablePointer<UInt8>
    let dimension: Int
    let queryInCodeUnits: UnsafeMutablePointer<Float>
    let weights: UnsafeMutablePointer<Float>
    let constant: Float
    let isL2: Bool
    @inline(__always) func prefetch(_ records: NodeRecords, _ id: UInt32) { vs_prefetch(codes + Int(id) &* dimension) }
    @inline(__always) func prefetchAll(_ records: NodeRecords, _ id: UInt32) {
        let c = codes + Int(id) &* dimension
        var offset = 64
        while offset < dimension { vs_prefetch(c + offset); offset &+= 64 }
    }
    @inline(__always) func distance(_ records: NodeRecords, _ id: UInt32) -> Float {
        let c = codes + Int(id) &* dimension
        if isL2 { return vs_sq8_l2(queryInCodeUnits, weights, c, dimension) }
        return 1 - (constant + vs_sq8_dot(queryInCodeUnits, c, dimension))
    }
}
