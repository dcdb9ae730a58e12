// The codes a graph walk estimates distances on (all-RAM walks and SSD segments): the protocol and its encodings.
import CVectorKernels

/// What a walk over compressed codes needs: per-query state, single and batched estimates, encode/decode for
/// segment writes and merges, and self-describing bytes. Estimates are in the metric's own form (L2 squared
/// Euclidean; IP and COSINE about 1 − dot) so they rank like exact distances; they are only compared with each other.
///
/// After `train`, every other member only reads and may run on any number of threads; per-query state lives in
/// the caller's buffer of `queryStateBytes` (64-byte aligned).
public protocol TraversalQuantizer: AnyObject, Sendable {
    var dimension: Int { get }
    var metric: DistanceMetric { get }
    /// Bytes of one vector's code.
    var codeBytes: Int { get }
    /// Bytes of one query's prepared state.
    var queryStateBytes: Int { get }
    /// Dimensions per byte of code: 2 or fewer count as fine codes (re-rank quotas are smaller for them).
    var dimensionsPerCodeByte: Int { get }
    /// Bytes of RAM the quantizer itself holds (codebooks, means).
    var memoryUsage: Int { get }
    /// Learns from `count` prepared float32 vectors laid out back to back (a sample is enough).
    func train(vectors: UnsafePointer<Float>, count: Int)
    func encode(_ vector: UnsafePointer<Float>, into code: UnsafeMutablePointer<UInt8>)
    /// The vector a code stands for (`dimension` floats).
    func decode(_ code: UnsafePointer<UInt8>, into vector: UnsafeMutablePointer<Float>)
    /// Fills the state for one prepared float32 query.
    func prepare(query: UnsafePointer<Float>, into state: UnsafeMutableRawPointer)
    func estimate(state: UnsafeRawPointer, code: UnsafePointer<UInt8>) -> Float
    /// `count` estimates at once, one per code pointer.
    func estimates(state: UnsafeRawPointer, codes: UnsafePointer<UnsafePointer<UInt8>>, count: Int,
                   into out: UnsafeMutablePointer<Float>)
    func serialize() -> [UInt8]
}

/// Reads any encoding back by its magic; throws `VectorIndexError.corruptSerialization` on anything else.
public func deserializeTraversalQuantizer(_ bytes: [UInt8]) throws -> any TraversalQuantizer {
    guard bytes.count >= 4 else { throw VectorIndexError.corruptSerialization("quantizer truncated") }
    let magic = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    switch magic {
    case FourBitQuantizer.magic: return try FourBitQuantizer(deserializing: bytes)
    case TwoBitQuantizer.magic: return try TwoBitQuantizer(deserializing: bytes)
    default: return try ProductQuantizer(deserializing: bytes)
    }
}

/// The 16 bytes every encoding's serialized form starts with (magic, version, metric, trained flag, dimension) and
/// the FNV-1a 64 trailer it ends with, written and checked in one place.
struct QuantizerHeader {
    static let byteCount = 16
    let metric: DistanceMetric
    let trained: Bool
    let dimension: Int

    ///     | magic: UInt32 | major: UInt16 | minor: UInt16 | metric: UInt8 | trained: UInt8 | reserved: UInt16 (0) |
    ///     | dimension: UInt32 |
    static func write(_ w: inout ByteWriter, magic: UInt32, major: UInt16, minor: UInt16, metric: DistanceMetric,
                      trained: Bool, dimension: Int) {
        w.write(magic)
        w.write(major)
        w.write(minor)
        w.write(metric.rawValue)
        w.write(UInt8(trained ? 1 : 0))
        w.write(UInt16(0))
        w.write(UInt32(dimension))
    }

    /// Reads and checks the header; `kind` names the encoding in errors.
    static func read(_ r: inout ByteReader, magic: UInt32, major: UInt16, kind: String) throws -> QuantizerHeader {
        guard try r.read(UInt32.self) == magic else { throw VectorIndexError.corruptSerialization("not a \(kind) (bad magic)") }
        let version = try r.read(UInt16.self)
        _ = try r.read(UInt16.self)
        guard version == major else {
            throw VectorIndexError.corruptSerialization("\(kind) layout version \(version) not supported")
        }
        guard let metric = DistanceMetric(rawValue: try r.read(UInt8.self)) else {
            throw VectorIndexError.corruptSerialization("unknown metric")
        }
        let trainedFlag = try r.read(UInt8.self)
        let reserved = try r.read(UInt16.self)
        let dimension = Int(try r.read(UInt32.self))
        guard trainedFlag <= 1, reserved == 0, (1...32768).contains(dimension) else {
            throw VectorIndexError.corruptSerialization("bad \(kind) header")
        }
        return QuantizerHeader(metric: metric, trained: trainedFlag == 1, dimension: dimension)
    }

    /// FNV-1a, 64 bits: any single changed byte changes it, which is what a corrupt-file check needs.
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.withUnsafeBufferPointer { buffer in
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in buffer { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            return hash
        }
    }

    /// Throws unless `bytes` has exactly `expected` bytes and ends with the checksum of the rest.
    static func verify(_ bytes: [UInt8], expected: Int, kind: String) throws {
        guard bytes.count == expected else {
            throw VectorIndexError.corruptSerialization("\(kind) has \(bytes.count) bytes, expected \(expected)")
        }
        guard checksum(bytes[..<(bytes.count - 8)]) == UInt64(littleEndian: bytes.withUnsafeBytes {
            $0.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self)
        }) else {
            throw VectorIndexError.corruptSerialization("\(kind) checksum mismatch")
        }
    }
}

extension ProductQuantizer: TraversalQuantizer {
    public var queryStateBytes: Int { tableCount * MemoryLayout<Float>.stride }
    public var dimensionsPerCodeByte: Int { dimensionsPerSubspace }
    public func train(vectors: UnsafePointer<Float>, count: Int) { train(vectors: vectors, count: count, iterations: 12, seed: 42) }
    public func prepare(query: UnsafePointer<Float>, into state: UnsafeMutableRawPointer) {
        prepareTable(query: query, into: state.assumingMemoryBound(to: Float.self))
    }
    @inline(__always) public func estimate(state: UnsafeRawPointer, code: UnsafePointer<UInt8>) -> Float {
        distance(table: state.assumingMemoryBound(to: Float.self), code: code)
    }
    public func estimates(state: UnsafeRawPointer, codes: UnsafePointer<UnsafePointer<UInt8>>, count: Int,
                          into out: UnsafeMutablePointer<Float>) {
        distances(table: state.assumingMemoryBound(to: Float.self), codes: codes, count: count, into: out)
    }
}

/// 4 bits per dimension, adapted to each vector (LVQ-style): after subtracting the training mean, a vector's own
/// minimum and step (range / 15) map every value to 0…15. An estimate is an integer dot product of the query,
/// quantized once to int8, with the nibbles (AVX-512 VNNI or AVX2), plus three per-vector constants. A C
/// micro-benchmark (16 random codes of a 50k set per batch, prefetched) took 20 ns per 384-d estimate where product
/// quantization's 192 table lookups took 121 ns, at about the same size (204 vs 192 bytes).
/// On pypi-minilm-50k (300 queries), the exact top-10 among the 12 best estimates: 0.987 here, 0.986 with
/// 2-dimension PQ; scaling the whole set by one global range instead of per vector gave 0.967.
///
/// Code layout (`codeBytes` = 32 × ⌈dimension / 64⌉ + 12):
///
///     | block 0: 32 bytes | block 1 | ... | low: Float32 | step: Float32 | ‖reconstruction‖²: Float32 |
///     block b, byte j: low nibble = dimension 64b + j, high nibble = dimension 64b + 32 + j (zero past the end)
///
/// COSINE and IP estimate 1 − dot; L2 estimates ‖q‖² + ‖x̂‖² − 2·dot with the reconstruction's own norm.
public final class FourBitQuantizer: TraversalQuantizer, @unchecked Sendable {
    public let dimension: Int
    public let metric: DistanceMetric
    /// 64-dimension blocks (the last one zero-padded).
    let blocks: Int
    private let mean: UnsafeMutablePointer<Float>
    private var trained = false

    public init(dimension: Int, metric: DistanceMetric) {
        precondition(dimension > 0, "FourBitQuantizer needs a positive dimension")
        self.dimension = dimension
        self.metric = metric
        blocks = (dimension + 63) / 64
        mean = .allocate(capacity: dimension)
        mean.initialize(repeating: 0, count: dimension)
    }

    deinit { mean.deallocate() }

    /// Code size for a dimension, before any quantizer exists (for budget decisions).
    public static func codeBytes(dimension: Int) -> Int { (dimension + 63) / 64 * 32 + 12 }
    public var codeBytes: Int { blocks * 32 + 12 }
    public var isTrained: Bool { trained }
    public var queryStateBytes: Int { LowBitCodes.queryStateBytes(blocks: blocks) }
    public var dimensionsPerCodeByte: Int { 2 }
    public var memoryUsage: Int { dimension * MemoryLayout<Float>.stride }

    /// Takes over another quantizer's training (a loaded index's codes were encoded with it).
    func adopt(_ other: FourBitQuantizer) {
        precondition(other.dimension == dimension)
        mean.update(from: other.mean, count: dimension)
        trained = other.trained
    }

    public func train(vectors: UnsafePointer<Float>, count: Int) {
        guard count > 0 else { return }
        LowBitCodes.trainMean(vectors: vectors, count: count, dimension: dimension, into: mean)
        trained = true
    }

    public func encode(_ vector: UnsafePointer<Float>, into code: UnsafeMutablePointer<UInt8>) {
        var low = Float.infinity, high = -Float.infinity
        for i in 0..<dimension {
            let y = vector[i] - mean[i]
            low = min(low, y)
            high = max(high, y)
        }
        if !low.isFinite || !high.isFinite { low = 0; high = 0 }
        let step = (high - low) / 15
        let inverse: Float = step > 0 ? 1 / step : 0
        code.initialize(repeating: 0, count: blocks * 32)
        var norm2: Float = 0
        for i in 0..<dimension {
            // Written so NaN lands on 0 and ±inf on an end: vectors are stored as sent, and a trap here is a crash.
            let scaled = (vector[i] - mean[i] - low) * inverse
            let level: UInt8 = scaled >= 14.5 ? 15 : scaled > 0.5 ? UInt8(scaled.rounded()) : 0
            let reconstructed = mean[i] + low + step * Float(level)
            norm2 += reconstructed * reconstructed
            let block = i >> 6, within = i & 63
            code[block * 32 + (within & 31)] |= within < 32 ? level : level << 4
        }
        let tail = UnsafeMutableRawPointer(code + blocks * 32)
        tail.storeBytes(of: low, as: Float.self)
        tail.storeBytes(of: step, toByteOffset: 4, as: Float.self)
        tail.storeBytes(of: norm2, toByteOffset: 8, as: Float.self)
    }

    /// The width of one of a code's 16 levels: its values sit within ±step/2 of the decoded ones.
    @inline(__always) public func step(of code: UnsafePointer<UInt8>) -> Float {
        UnsafeRawPointer(code + blocks * 32).loadUnaligned(fromByteOffset: 4, as: Float.self)
    }

    public func decode(_ code: UnsafePointer<UInt8>, into vector: UnsafeMutablePointer<Float>) {
        let tail = UnsafeRawPointer(code + blocks * 32)
        let low = tail.loadUnaligned(as: Float.self), step = tail.loadUnaligned(fromByteOffset: 4, as: Float.self)
        for i in 0..<dimension {
            let block = i >> 6, within = i & 63
            let byte = code[block * 32 + (within & 31)]
            let level = within < 32 ? byte & 15 : byte >> 4
            vector[i] = mean[i] + low + step * Float(level)
        }
    }

    public func prepare(query: UnsafePointer<Float>, into state: UnsafeMutableRawPointer) {
        LowBitCodes.prepare(query: query, mean: mean, dimension: dimension, blocks: blocks, metric: metric, into: state)
    }

    @inline(__always) public func estimate(state: UnsafeRawPointer, code: UnsafePointer<UInt8>) -> Float {
        var out: Float = 0
        var pointer: UnsafePointer<UInt8>? = code
        vs_u4_estimates(state.assumingMemoryBound(to: vs_u4_query.self), &pointer, 1, blocks, &out)
        return out
    }

    public func estimates(state: UnsafeRawPointer, codes: UnsafePointer<UnsafePointer<UInt8>>, count: Int,
                          into out: UnsafeMutablePointer<Float>) {
        codes.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: count) {
            vs_u4_estimates(state.assumingMemoryBound(to: vs_u4_query.self), $0, count, blocks, out)
        }
    }

    /// Estimates for the codes of `ids` in an array of `codeBytes`-strided codes.
    @inline(__always) func estimates(state: UnsafeRawPointer, base: UnsafePointer<UInt8>, ids: UnsafePointer<UInt32>,
                                     count: Int, into out: UnsafeMutablePointer<Float>) {
        vs_u4_estimates_at(state.assumingMemoryBound(to: vs_u4_query.self), base, codeBytes, ids, count, blocks, out)
    }

    // MARK: Serialization

    static let magic: UInt32 = 0x3451_5356 // "VSQ4" little-endian
    static let layoutMajor: UInt16 = 1
    static let layoutMinor: UInt16 = 0

    /// Self-describing bytes ("VSQ4", the mean; layout in `LowBitCodes.serialize`).
    public func serialize() -> [UInt8] {
        LowBitCodes.serialize(magic: FourBitQuantizer.magic, major: FourBitQuantizer.layoutMajor,
                              minor: FourBitQuantizer.layoutMinor, metric: metric, trained: trained, mean: mean,
                              dimension: dimension)
    }

    /// The inverse of `serialize`; throws `VectorIndexError.corruptSerialization` on any bad input.
    public convenience init(deserializing bytes: [UInt8]) throws {
        let (header, mean) = try LowBitCodes.deserialize(bytes, magic: FourBitQuantizer.magic,
                                                          major: FourBitQuantizer.layoutMajor, kind: "4-bit quantizer")
        self.init(dimension: header.dimension, metric: header.metric)
        self.mean.update(from: mean, count: header.dimension)
        trained = header.trained
    }
}

/// What the 4-bit and 2-bit per-vector codes share: a training mean, an int8 query with the constants of the C
/// estimate (`vs_u4_query`), and the serialized form (header, mean, checksum).
enum LowBitCodes {
    /// Sample size an adaptive (`.lowBit`) index decides its code width on; smaller samples cannot tell (below).
    static let widthSampleCount = 20_000

    /// Whether 2-bit codes are fine enough for this data: their reconstruction error (mean ‖x − x̂‖² over the
    /// sample) must stay within 0.18 of the mean squared distance from 200 sample vectors to their 10 nearest
    /// neighbors in the sample. What decides a walk's recall is coding noise against the gaps between neighbors.
    /// Measured on 20,000-vector samples: pypi-minilm-50k 0.117 (2-bit walk: recall 0.960 at ef 40, 4-bit 0.950), a
    /// 1M × 128 Gaussian mixture 0.256 (2-bit: 0.79 at ef 110 against 0.951) and a 200k × 384 one 0.264 (2-bit 0.91
    /// at ef 80 against 0.98). On 1,024 vectors all three read 0.09–0.10: a small sample has no close neighbors, so
    /// no decision is made below `widthSampleCount`.
    static func twoBitSuffices(_ quantizer: TwoBitQuantizer, vectors: UnsafePointer<Float>, count: Int) -> Bool {
        let n = quantizer.dimension
        let sample = min(count, widthSampleCount), queries = min(200, sample / 2)
        guard queries > 0 else { return false }
        let space = DistanceSpace(dimension: n, elementType: .float32, metric: .l2)
        var codingError: Double = 0
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: quantizer.codeBytes) { code in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { decoded in
                for v in 0..<sample {
                    quantizer.encode(vectors + v * n, into: code.baseAddress!)
                    quantizer.decode(code.baseAddress!, into: decoded.baseAddress!)
                    codingError += Double(space.distance(stored: vectors + v * n, 1, stored: decoded.baseAddress!, 1))
                }
            }
        }
        var neighborDistance: Double = 0
        var nearest = [Float](repeating: .infinity, count: 10)
        for q in 0..<queries {
            for i in 0..<10 { nearest[i] = .infinity }
            for v in 0..<sample where v != q {
                let d = space.distance(stored: vectors + q * n, 1, stored: vectors + v * n, 1)
                guard d < nearest[9] else { continue }
                var j = 9
                while j > 0, nearest[j - 1] > d { nearest[j] = nearest[j - 1]; j -= 1 }
                nearest[j] = d
            }
            neighborDistance += nearest.reduce(0) { $0 + Double($1) } / 10
        }
        let ratio = (codingError / Double(sample)) / (neighborDistance / Double(queries))
        return ratio.isFinite && ratio <= 0.18
    }

    /// The C query header, then the int8 query (64 per block).
    static let queryHeaderBytes = 64
    static func queryStateBytes(blocks: Int) -> Int { queryHeaderBytes + blocks * 64 }

    /// The mean of the sample (in Double, so large samples do not drift).
    static func trainMean(vectors: UnsafePointer<Float>, count: Int, dimension: Int, into mean: UnsafeMutablePointer<Float>) {
        var sums = [Double](repeating: 0, count: dimension)
        for v in 0..<count {
            let row = vectors + v * dimension
            for i in 0..<dimension { sums[i] += Double(row[i]) }
        }
        for i in 0..<dimension { mean[i] = Float(sums[i] / Double(count)) }
    }

    static func prepare(query: UnsafePointer<Float>, mean: UnsafePointer<Float>, dimension: Int, blocks: Int,
                        metric: DistanceMetric, into state: UnsafeMutableRawPointer) {
        var largest: Float = 0, sum: Float = 0, norm2: Float = 0, meanDot: Float = 0
        for i in 0..<dimension {
            let q = query[i]
            largest = max(largest, abs(q))
            sum += q
            norm2 += q * q
            meanDot += q * mean[i]
        }
        let scale: Float = largest > 0 && largest.isFinite ? largest / 127 : 1
        let values = (state + queryHeaderBytes).assumingMemoryBound(to: Int8.self)
        for i in 0..<blocks * 64 {
            let v = i < dimension ? (query[i] / scale).rounded() : 0
            values[i] = v >= 127 ? 127 : v <= -128 ? -128 : v.isNaN ? 0 : Int8(v)
        }
        state.initializeMemory(as: vs_u4_query.self, repeating: vs_u4_query(
            values: UnsafePointer(values), scale: scale, sum: sum, mean: meanDot, norm2: norm2,
            euclidean: metric == .l2 ? 1 : 0), count: 1)
    }

    /// Self-describing bytes; a reader refuses another major version, any size mismatch and any changed byte.
    ///
    /// ### Layout (little-endian)
    ///     | magic | major: UInt16 | minor: UInt16 | metric: UInt8 | trained: UInt8 | reserved: UInt16 (0) |
    ///     | dimension: UInt32 | mean: dimension × Float32 | FNV-1a 64 of every byte before it: UInt64 |
    static func serialize(magic: UInt32, major: UInt16, minor: UInt16, metric: DistanceMetric, trained: Bool,
                          mean: UnsafePointer<Float>, dimension: Int) -> [UInt8] {
        var w = ByteWriter()
        w.bytes.reserveCapacity(QuantizerHeader.byteCount + dimension * 4 + 8)
        QuantizerHeader.write(&w, magic: magic, major: major, minor: minor, metric: metric, trained: trained,
                              dimension: dimension)
        w.write(raw: mean, count: dimension * 4)
        w.write(QuantizerHeader.checksum(w.bytes[...]))
        return w.bytes
    }

    static func deserialize(_ bytes: [UInt8], magic: UInt32, major: UInt16, kind: String) throws
        -> (header: QuantizerHeader, mean: [Float]) {
        var r = ByteReader(bytes)
        let header = try QuantizerHeader.read(&r, magic: magic, major: major, kind: kind)
        try QuantizerHeader.verify(bytes, expected: QuantizerHeader.byteCount + header.dimension * 4 + 8, kind: kind)
        var mean = [Float](repeating: 0, count: header.dimension)
        try mean.withUnsafeMutableBytes { try r.read(into: $0.baseAddress!, count: header.dimension * 4) }
        guard mean.allSatisfy({ $0.isFinite }) else { throw VectorIndexError.corruptSerialization("non-finite mean value") }
        return (header, mean)
    }
}
