// Turns blobs into query buffers and finishes kernel sums into RediSearch distances for one (dim, type, metric).
import CVectorKernels

/// The distance function of one index, chosen once at construction (hnswlib's lesson: no per-call dispatch on type).
/// Stored vectors stay exactly as inserted; for COSINE each record carries 1/‖x‖ so `vectorBytes` can return the
/// original blob while distances still equal `1 - cos`.
struct DistanceSpace: @unchecked Sendable {
    let dimension: Int
    let elementType: VectorElementType
    let metric: DistanceMetric
    /// Bytes of a stored vector (= blob size).
    let vectorBytes: Int
    /// Bytes of a prepared query (float32 per element, float64 for FLOAT64).
    let queryBytes: Int
    private let queryKernel: vs_distance_fn
    private let storedKernel: vs_distance_fn
    private let storedDot: vs_distance_fn

    init(dimension: Int, elementType: VectorElementType, metric: DistanceMetric) {
        self.dimension = dimension
        self.elementType = elementType
        self.metric = metric
        vectorBytes = dimension * elementType.byteSize
        queryBytes = dimension * (elementType == .float64 ? 8 : 4)
        let type = Int32(elementType.rawValue)
        let dot: Int32 = metric == .l2 ? 0 : 1
        queryKernel = vs_kernel(type, dot, 0)!
        storedKernel = vs_kernel(type, dot, 1)!
        storedDot = vs_kernel(type, 1, 1)!
    }

    func checkBlob(_ blob: UnsafeRawBufferPointer) throws {
        guard blob.count == vectorBytes else { throw VectorIndexError.wrongBlobSize(expected: vectorBytes, got: blob.count) }
    }

    /// Writes the query form of `blob` (converted to float32/float64, normalized for COSINE) into `out`.
    func prepareQuery(_ blob: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) throws {
        try checkBlob(blob)
        let n = dimension
        switch elementType {
        case .float64:
            let dst = out.assumingMemoryBound(to: Double.self)
            for i in 0..<n { dst[i] = blob.loadUnaligned(fromByteOffset: i &* 8, as: Double.self) }
            if metric == .cosine {
                var s = 0.0
                for i in 0..<n { s += dst[i] * dst[i] }
                if s > 0 { let inv = 1 / s.squareRoot(); for i in 0..<n { dst[i] *= inv } }
            }
            return
        case .float32:
            out.copyMemory(from: blob.baseAddress!, byteCount: vectorBytes)
        case .float16:
            vs_f16_to_f32(blob.baseAddress!.assumingMemoryBound(to: UInt16.self), out.assumingMemoryBound(to: Float.self), n)
        case .bfloat16:
            vs_bf16_to_f32(blob.baseAddress!.assumingMemoryBound(to: UInt16.self), out.assumingMemoryBound(to: Float.self), n)
        }
        if metric == .cosine {
            let dst = out.assumingMemoryBound(to: Float.self)
            let s = vs_kernel(0, 1, 0)!(dst, dst, n)
            if s > 0 { let inv = 1 / s.squareRoot(); for i in 0..<n { dst[i] *= inv } }
        }
    }

    /// 1/‖x‖ of a stored vector (0 for the zero vector, which makes its cosine distance 1 to everything).
    func inverseNorm(stored: UnsafeRawPointer) -> Float {
        guard metric == .cosine else { return 1 }
        let s = storedDot(stored, stored, dimension)
        return s > 0 ? 1 / s.squareRoot() : 0
    }

    /// Distance from a prepared query to a stored vector whose inverse norm is `inverseNorm`.
    @inline(__always)
    func distance(query: UnsafeRawPointer, stored: UnsafeRawPointer, inverseNorm: Float) -> Float {
        let raw = queryKernel(query, stored, dimension)
        switch metric {
        case .l2: return raw
        case .ip: return 1 - raw
        case .cosine: return 1 - raw * inverseNorm
        }
    }

    /// Same, but reads 1/‖x‖ only after the kernel has pulled the record's first line into cache.
    @inline(__always)
    func distance(query: UnsafeRawPointer, stored: UnsafeRawPointer, inverseNormAt: UnsafeRawPointer) -> Float {
        let raw = queryKernel(query, stored, dimension)
        switch metric {
        case .l2: return raw
        case .ip: return 1 - raw
        case .cosine: return 1 - raw * inverseNormAt.load(as: Float.self)
        }
    }

    /// Distance between two stored vectors (used while linking the graph).
    @inline(__always)
    func distance(stored a: UnsafeRawPointer, _ inverseNormA: Float, stored b: UnsafeRawPointer, _ inverseNormB: Float) -> Float {
        let raw = storedKernel(a, b, dimension)
        switch metric {
        case .l2: return raw
        case .ip: return 1 - raw
        case .cosine: return 1 - raw * inverseNormA * inverseNormB
        }
    }
}

/// Times the engine's own distance path (Swift → DistanceSpace → dispatched C kernel) for `vector-bench --kernels`.
public enum KernelBenchmark {
    /// Returns (total of distances, to defeat dead-code elimination) after computing `iterations` distances of
    /// query `i / rows % queries` against base row `i % rows`; blobs are in `elementType`.
    public static func run(elementType: VectorElementType, metric: DistanceMetric, dimension: Int,
                           queries: UnsafeRawBufferPointer, base: UnsafeRawBufferPointer, rows: Int,
                           iterations: Int) throws -> Double {
        let space = DistanceSpace(dimension: dimension, elementType: elementType, metric: metric)
        let queryCount = queries.count / space.vectorBytes
        let prepared = UnsafeMutableRawPointer.allocate(byteCount: queryCount * space.queryBytes, alignment: 64)
        defer { prepared.deallocate() }
        for q in 0..<queryCount {
            try space.prepareQuery(UnsafeRawBufferPointer(rebasing: queries[q * space.vectorBytes..<(q + 1) * space.vectorBytes]),
                                   into: prepared + q * space.queryBytes)
        }
        var sum = 0.0
        let basePointer = base.baseAddress!
        for i in 0..<iterations {
            let q = prepared + (i / rows % queryCount) * space.queryBytes
            sum += Double(space.distance(query: q, stored: basePointer + (i % rows) * space.vectorBytes, inverseNorm: 1))
        }
        return sum
    }
}
