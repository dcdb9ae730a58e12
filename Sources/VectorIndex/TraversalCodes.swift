// Traversal codes of an all-RAM HNSW: SQ8 (per-dimension min/max bytes) or 4-/2-bit per-vector codes (exact re-rank after).
import CVectorKernels

/// Codes live in one contiguous arena (`codeBytes` per internal id). For COSINE the normalized vector is encoded so
/// every estimate is a plain dot product. The full vectors stay in the records (they serve re-ranking and
/// `vectorBytes`); traversal touches 4× (SQ8) or 7.5× (4-bit, 384-d) fewer bytes. With 4-bit codes
/// (`FourBitQuantizer`, an int8 × nibble dot product per estimate) pypi-minilm-50k built in 5.4 s instead of 10.7 s
/// (2 threads) and answered 14,926 instead of 6,911 queries/s at ef 40 on one thread, recall 0.950 both
/// (vector-bench, bench/results/engine.md), for 204 more bytes per vector; 2-bit codes (`TwoBitQuantizer`) cost 108.
/// The walks on 4- and 2-bit codes differ only in the C kernel, so both go through `LowBitQuantizer`.
final class TraversalCodes: @unchecked Sendable {
    let space: DistanceSpace
    let dimension: Int
    private(set) var minimum: UnsafeMutablePointer<Float>
    private(set) var scale: UnsafeMutablePointer<Float>
    private(set) var trained = false
    private var codes: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private let convert: UnsafeMutablePointer<Float>
    /// Set for 4-bit and 2-bit codes; nil for SQ8.
    private var lowBit: LowBitQuantizer?
    /// Per-vector codes learn only a mean, so the index trains them itself once enough vectors arrived.
    var trainsItself: Bool { lowBit != nil }
    private(set) var codeBytes: Int
    /// `.lowBit`: the codes start 4-bit and a training sample of `widthSampleCount` decides whether 2-bit will do.
    private let adaptiveWidth: Bool
    private var widthDecided = false
    /// An adaptive index that has not yet seen a sample large enough to choose its code width.
    var needsWidthDecision: Bool { adaptiveWidth && !widthDecided }
    var isTwoBit: Bool { lowBit is TwoBitQuantizer }

    init(space: DistanceSpace, capacity: Int, quantization: VectorQuantization) {
        self.space = space
        dimension = space.dimension
        self.capacity = capacity
        minimum = .allocate(capacity: dimension)
        scale = .allocate(capacity: dimension)
        // Until trained, assume unit-scale embeddings; `train` replaces this before a bulk build.
        minimum.initialize(repeating: -1, count: dimension)
        scale.initialize(repeating: 2 / 255, count: dimension)
        adaptiveWidth = quantization == .lowBit
        switch quantization {
        case .fourBit, .lowBit: lowBit = FourBitQuantizer(dimension: dimension, metric: space.metric)
        case .twoBit: lowBit = TwoBitQuantizer(dimension: dimension, metric: space.metric)
        case .none, .sq8: lowBit = nil
        }
        codeBytes = lowBit?.codeBytes ?? dimension
        codes = allocateArena(byteCount: capacity * codeBytes).assumingMemoryBound(to: UInt8.self)
        convert = .allocate(capacity: dimension)
    }

    /// Bytes of per-query state `prepare` writes into `SearchScratch.sq8Query`.
    static func queryStateFloats(dimension: Int) -> Int { max(2 * dimension, 32 + 16 * ((dimension + 63) / 64)) }

    deinit { minimum.deallocate(); scale.deallocate(); freeArena(codes); convert.deallocate() }

    /// Bytes held with `used` codes written: like the record arena, the code arena's reserved tail is not resident.
    func residentBytes(used: Int) -> Int { min(used, capacity) * codeBytes + 3 * dimension * 4 }

    /// The beam a KNN walk on these codes keeps for EF_RUNTIME `ef`. 2-bit estimates are coarser: a quarter more
    /// (+2) brings their recall to the float walk's at the same ef (pypi-minilm-50k: ef 10 → 0.80 vs 0.79, ef 40 →
    /// 0.96 vs 0.95), so EF_RUNTIME keeps its meaning; SQ8 and 4-bit walk the beam as given.
    func walkBeam(ef: Int) -> Int {
        if isTwoBit { return ef + (ef + 3) / 4 + 2 }
        return ef
    }

    /// How many of a filtered scan's best estimates are scored exactly: four times k (32 at least) plus ef / 8 for
    /// SQ8 and 4-bit codes (4-bit estimates put 98.7 % of pypi-minilm-50k's true top 10 among their best 12); twice
    /// that for 2-bit codes, whose ranking is coarser.
    func exactShortlist(k: Int, ef: Int) -> Int {
        let base = max(4 * k, 32) + ef / 8
        if isTwoBit { return 2 * base }
        return base
    }

    func grow(to newCapacity: Int, used: Int) {
        let bigger = allocateArena(byteCount: newCapacity * codeBytes).assumingMemoryBound(to: UInt8.self)
        bigger.update(from: codes, count: used * codeBytes)
        freeArena(codes)
        codes = bigger
        capacity = newCapacity
    }

    /// A stored vector as float32 (normalized for COSINE), written to `out` (`dimension` floats).
    private func toFloat(_ stored: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
        let n = dimension
        switch space.elementType {
        case .float32: out.update(from: stored.assumingMemoryBound(to: Float.self), count: n)
        case .float64: for i in 0..<n { out[i] = Float(stored.load(fromByteOffset: i * 8, as: Double.self)) }
        case .float16: vs_f16_to_f32(stored.assumingMemoryBound(to: UInt16.self), out, n)
        case .bfloat16: vs_bf16_to_f32(stored.assumingMemoryBound(to: UInt16.self), out, n)
        }
        if space.metric == .cosine {
            let inv = space.inverseNorm(stored: stored)
            for i in 0..<n { out[i] *= inv }
        }
    }

    /// Learns per-dimension ranges from sample blobs (called before bulk inserts; not thread-safe with them).
    func train(samples: UnsafeRawBufferPointer, count: Int) {
        let n = dimension
        if let lowBit {
            withFloatSamples(samples, count: count) { all in
                lowBit.train(vectors: all, count: count)
                trained = true
                if needsWidthDecision, count >= LowBitCodes.widthSampleCount { _ = settleWidth(twoBitIfFine(all, count: count)) }
            }
            return
        }
        var lo = [Float](repeating: .infinity, count: n), hi = [Float](repeating: -.infinity, count: n)
        for s in 0..<count {
            toFloat(samples.baseAddress! + s * space.vectorBytes, into: convert)
            let v = convert
            for i in 0..<n { lo[i] = min(lo[i], v[i]); hi[i] = max(hi[i], v[i]) }
        }
        for i in 0..<n where lo[i] <= hi[i] {
            minimum[i] = lo[i]
            scale[i] = hi[i] > lo[i] ? (hi[i] - lo[i]) / 255 : 0
        }
        trained = true
    }

    /// The width test on sample blobs copied out of the index: a trained 2-bit quantizer if 2-bit codes suffice, else
    /// nil. It reads only `space`, so it runs without the index's lock (about 0.3 s for 20,000 384-d vectors).
    func chooseWidth(samples: UnsafeRawBufferPointer, count: Int) -> TwoBitQuantizer? {
        withFloatSamples(samples, count: count) { twoBitIfFine($0, count: count) }
    }

    /// Runs `body` on the sample blobs as float32 (normalized for COSINE), in pages unmapped afterwards.
    private func withFloatSamples<R>(_ samples: UnsafeRawBufferPointer, count: Int,
                                     _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let n = dimension
        return withTemporaryPages(byteCount: count * n * 4) { pages in
            let all = pages.bindMemory(to: Float.self, capacity: count * n)
            for s in 0..<count { toFloat(samples.baseAddress! + s * space.vectorBytes, into: all + s * n) }
            return body(all)
        }
    }

    private func twoBitIfFine(_ all: UnsafePointer<Float>, count: Int) -> TwoBitQuantizer? {
        let twoBit = TwoBitQuantizer(dimension: dimension, metric: space.metric)
        twoBit.train(vectors: all, count: count)
        return LowBitCodes.twoBitSuffices(twoBit, vectors: all, count: count) ? twoBit : nil
    }

    /// Records the width decision (under the index's exclusive lock); true if the codes changed and every vector
    /// must be re-encoded.
    func settleWidth(_ twoBit: TwoBitQuantizer?) -> Bool {
        guard needsWidthDecision else { return false }
        widthDecided = true
        guard let twoBit else { return false }
        use(twoBit)
        return true
    }

    /// Switches the code width; the caller re-encodes every vector (it holds the index's structure lock exclusively).
    private func use(_ quantizer: LowBitQuantizer) {
        lowBit = quantizer
        codeBytes = quantizer.codeBytes
        freeArena(codes)
        codes = allocateArena(byteCount: capacity * codeBytes).assumingMemoryBound(to: UInt8.self)
    }

    /// Encodes under the inserting thread; inserts run on several threads, so it converts into a buffer of its own
    /// (`convert` belongs to training).
    func encode(id: UInt32, stored: UnsafeRawPointer) {
        let n = dimension
        let out = codes + Int(id) * codeBytes
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { tmp in
            let v = tmp.baseAddress!
            toFloat(stored, into: v)
            if let lowBit { return lowBit.encode(v, into: out) }
            for i in 0..<n {
                let s = scale[i]
                let c = s > 0 ? ((v[i] - minimum[i]) / s).rounded() : 0
                out[i] = UInt8(min(max(c, 0), 255))
            }
        }
    }

    /// Builds the estimate query from a prepared query (float32, or float64 for FLOAT64).
    func prepare(query: UnsafeRawPointer, scratch: SearchScratch) -> TraversalCodeQuery {
        let n = dimension
        let q0 = scratch.sq8Query, q1 = scratch.sq8Query + n
        func value(_ i: Int) -> Float {
            space.elementType == .float64 ? Float(query.load(fromByteOffset: i * 8, as: Double.self))
                : query.load(fromByteOffset: i * 4, as: Float.self)
        }
        if let lowBit {
            let state = UnsafeMutableRawPointer(scratch.sq8Query)
            if space.elementType == .float64 {
                withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { tmp in
                    for i in 0..<n { tmp[i] = value(i) }
                    lowBit.prepare(query: tmp.baseAddress!, into: state)
                }
            } else {
                // Every other type's prepared query is already float32: no copy per search.
                lowBit.prepare(query: query.assumingMemoryBound(to: Float.self), into: state)
            }
            return TraversalCodeQuery(codes: codes, codeBytes: codeBytes, queryInCodeUnits: q0, weights: q1, constant: 0,
                                      isL2: false, lowBit: lowBit, state: UnsafeRawPointer(state))
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
        return TraversalCodeQuery(codes: codes, codeBytes: n, queryInCodeUnits: q0, weights: q1, constant: constant,
                                  isL2: space.metric == .l2, lowBit: nil, state: UnsafeRawPointer(q0))
    }

    /// SQ8: minimum and scale per dimension, then the codes. 4-/2-bit: the quantizer's own bytes (length first; its
    /// magic says the width), for `.lowBit` a byte telling whether the width is decided, then the codes.
    func serialize(into w: inout ByteWriter, used: Int) {
        if let lowBit {
            let bytes = lowBit.serialize()
            w.write(UInt64(bytes.count))
            w.bytes.append(contentsOf: bytes)
            if adaptiveWidth { w.write(UInt8(widthDecided ? 1 : 0)) }
        } else {
            w.write(raw: minimum, count: dimension * 4)
            w.write(raw: scale, count: dimension * 4)
        }
        w.write(raw: codes, count: used * codeBytes)
    }

    func deserialize(from r: inout ByteReader, used: Int) throws {
        if let lowBit {
            let count = Int(try r.read(UInt64.self))
            guard count >= 0, count <= 1 << 20 else { throw VectorIndexError.corruptSerialization("low-bit codes header") }
            var bytes = [UInt8](repeating: 0, count: count)
            try bytes.withUnsafeMutableBytes { try r.read(into: $0.baseAddress!, count: count) }
            let loaded = try deserializeTraversalQuantizer(bytes)
            guard loaded.dimension == dimension, loaded.metric == space.metric else {
                throw VectorIndexError.corruptSerialization("low-bit codes of another shape")
            }
            guard let other = loaded as? LowBitQuantizer else {
                throw VectorIndexError.corruptSerialization("codes of another kind")
            }
            if type(of: other) == type(of: lowBit) { lowBit.adopt(other) }
            else if adaptiveWidth, lowBit is FourBitQuantizer, other is TwoBitQuantizer { use(other) }
            else { throw VectorIndexError.corruptSerialization("codes of another width") }
            if adaptiveWidth {
                let decided = try r.read(UInt8.self)
                guard decided <= 1, decided == 1 || !isTwoBit else {
                    throw VectorIndexError.corruptSerialization("bad code width flag")
                }
                widthDecided = decided == 1
            }
        } else {
            try r.read(into: minimum, count: dimension * 4)
            try r.read(into: scale, count: dimension * 4)
        }
        try r.read(into: codes, count: used * codeBytes)
        trained = true
    }
}

/// Distance estimate from traversal codes (SQ8, 4-bit or 2-bit; the branch is the same for a whole search).
struct TraversalCodeQuery: QueryDistance {
    let codes: UnsafeMutablePointer<UInt8>
    let codeBytes: Int
    let queryInCodeUnits: UnsafeMutablePointer<Float>
    let weights: UnsafeMutablePointer<Float>
    let constant: Float
    let isL2: Bool
    let lowBit: LowBitQuantizer?
    let state: UnsafeRawPointer
    @inline(__always) func prefetch(_ records: NodeRecords, _ id: UInt32) { vs_prefetch(codes + Int(id) &* codeBytes) }
    @inline(__always) func prefetchAll(_ records: NodeRecords, _ id: UInt32) {
        vs_prefetch_span(codes + Int(id) &* codeBytes, codeBytes)
    }
    @inline(__always) func distance(_ records: NodeRecords, _ id: UInt32) -> Float {
        let c = codes + Int(id) &* codeBytes
        if let lowBit { return lowBit.estimate(state: state, code: c) }
        if isL2 { return vs_sq8_l2(queryInCodeUnits, weights, c, codeBytes) }
        return 1 - (constant + vs_sq8_dot(queryInCodeUnits, c, codeBytes))
    }
    @inline(__always) func distances(_ records: NodeRecords, _ ids: UnsafePointer<UInt32>, _ count: Int,
                                     into out: UnsafeMutablePointer<Float>) {
        if let lowBit { return lowBit.estimates(state: state, base: codes, ids: ids, count: count, into: out) }
        distancesOneByOne(records, ids, count, into: out)
    }
}
