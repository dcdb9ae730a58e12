// 2-bit per-vector traversal codes: half the bytes of the 4-bit codes for the all-RAM walk, with an exact re-rank after.
import CVectorKernels

/// 2 bits per dimension, adapted to each vector: after subtracting the training mean, a vector's values map to four
/// evenly spaced levels `low + step·c`, c ∈ 0…3. The levels start from ±1.8 standard deviations of the vector's own
/// values (clipping the tails: with four levels, min/max spacing wastes them on outliers), then `low` and `step` are
/// refit by least squares to the assignment twice. An estimate is the 4-bit one (`vs_u4_query`, an int8 query) with
/// a 2-bit integer dot product.
///
/// Why: on pypi-minilm-50k (384-d, M 16, EFC 200; graph built on the codes) this walk reached recall@10 0.942 / 0.960
/// / 0.970 at ef 40 / 50 / 60 against 0.950 / — / 0.972 for 4-bit codes, for 108 bytes per vector instead of 204, which
/// is what brings a 4-bit-speed index under hnswlib's bytes per vector.
///
/// Code layout (`codeBytes` = 16 × ⌈dimension / 64⌉ + 12):
///
///     | block 0: 16 bytes | block 1 | ... | low: Float32 | step: Float32 | ‖reconstruction‖²: Float32 |
///     block b, byte j: bits 0-1 = dimension 64b + j, 2-3 = 64b + 16 + j, 4-5 = 64b + 32 + j, 6-7 = 64b + 48 + j
public final class TwoBitQuantizer: TraversalQuantizer, @unchecked Sendable {
    public let dimension: Int
    public let metric: DistanceMetric
    /// 64-dimension blocks (the last one zero-padded).
    let blocks: Int
    private let mean: UnsafeMutablePointer<Float>
    private var trained = false
    /// The first guess of the level span, in standard deviations of the vector's centered values.
    static let clipDeviations: Float = 1.8

    public init(dimension: Int, metric: DistanceMetric) {
        precondition(dimension > 0, "TwoBitQuantizer needs a positive dimension")
        self.dimension = dimension
        self.metric = metric
        blocks = (dimension + 63) / 64
        mean = .allocate(capacity: dimension)
        mean.initialize(repeating: 0, count: dimension)
    }

    deinit { mean.deallocate() }

    public static func codeBytes(dimension: Int) -> Int { (dimension + 63) / 64 * 16 + 12 }
    public var codeBytes: Int { blocks * 16 + 12 }
    public var isTrained: Bool { trained }
    public var queryStateBytes: Int { LowBitCodes.queryStateBytes(blocks: blocks) }
    public var dimensionsPerCodeByte: Int { 4 }
    public var memoryUsage: Int { dimension * MemoryLayout<Float>.stride }

    /// Takes over another quantizer's training (a loaded index's codes were encoded with it).
    func adopt(_ other: TwoBitQuantizer) {
        precondition(other.dimension == dimension)
        mean.update(from: other.mean, count: dimension)
        trained = other.trained
    }

    public func train(vectors: UnsafePointer<Float>, count: Int) {
        guard count > 0 else { return }
        LowBitCodes.trainMean(vectors: vectors, count: count, dimension: dimension, into: mean)
        trained = true
    }

    /// The level of a centered value: NaN lands on 0 and ±inf on an end (vectors are stored as sent; a trap is a crash).
    @inline(__always) private static func level(_ y: Float, low: Float, inverse: Float) -> UInt8 {
        let scaled = (y - low) * inverse
        return scaled >= 2.5 ? 3 : scaled >= 1.5 ? 2 : scaled >= 0.5 ? 1 : 0
    }

    public func encode(_ vector: UnsafePointer<Float>, into code: UnsafeMutablePointer<UInt8>) {
        let n = dimension
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { centered in
            var low = Float.infinity, high = -Float.infinity, sum: Float = 0, finite = 0
            for i in 0..<n {
                let y = vector[i] - mean[i]
                centered[i] = y
                guard y.isFinite else { continue }
                low = min(low, y)
                high = max(high, y)
                sum += y
                finite += 1
            }
            if finite == 0 { low = 0; high = 0 } else {
                let average = sum / Float(finite)
                var spread: Float = 0
                for i in 0..<n where centered[i].isFinite { spread += (centered[i] - average) * (centered[i] - average) }
                let deviation = (spread / Float(finite)).squareRoot() * TwoBitQuantizer.clipDeviations
                low = max(low, average - deviation)
                high = min(high, average + deviation)
            }
            var step = (high - low) / 3
            // Two rounds of: assign levels, then the least-squares low and step for that assignment.
            for _ in 0..<2 where step > 0 {
                let inverse = 1 / step
                var count: Float = 0, sumC: Float = 0, sumCC: Float = 0, sumY: Float = 0, sumCY: Float = 0
                for i in 0..<n where centered[i].isFinite {
                    let c = Float(TwoBitQuantizer.level(centered[i], low: low, inverse: inverse)), y = centered[i]
                    count += 1; sumC += c; sumCC += c * c; sumY += y; sumCY += c * y
                }
                let determinant = count * sumCC - sumC * sumC
                guard determinant > 1e-6 * count * count else { break }
                let fittedStep = (count * sumCY - sumC * sumY) / determinant
                let fittedLow = (sumY - fittedStep * sumC) / count
                guard fittedStep > 0, fittedStep.isFinite, fittedLow.isFinite else { break }
                step = fittedStep
                low = fittedLow
            }
            if !(step > 0) || !step.isFinite { step = 0 }
            let inverse: Float = step > 0 ? 1 / step : 0
            code.initialize(repeating: 0, count: blocks * 16)
            var norm2: Float = 0
            for i in 0..<n {
                let c = TwoBitQuantizer.level(centered[i], low: low, inverse: inverse)
                let reconstructed = mean[i] + low + step * Float(c)
                norm2 += reconstructed * reconstructed
                let within = i & 63
                code[(i >> 6) * 16 + (within & 15)] |= c << UInt8((within >> 4) * 2)
            }
            let tail = UnsafeMutableRawPointer(code + blocks * 16)
            tail.storeBytes(of: low, as: Float.self)
            tail.storeBytes(of: step, toByteOffset: 4, as: Float.self)
            tail.storeBytes(of: norm2, toByteOffset: 8, as: Float.self)
        }
    }

    public func decode(_ code: UnsafePointer<UInt8>, into vector: UnsafeMutablePointer<Float>) {
        let tail = UnsafeRawPointer(code + blocks * 16)
        let low = tail.loadUnaligned(as: Float.self), step = tail.loadUnaligned(fromByteOffset: 4, as: Float.self)
        for i in 0..<dimension {
            let within = i & 63
            let c = (code[(i >> 6) * 16 + (within & 15)] >> UInt8((within >> 4) * 2)) & 3
            vector[i] = mean[i] + low + step * Float(c)
        }
    }

    public func prepare(query: UnsafePointer<Float>, into state: UnsafeMutableRawPointer) {
        LowBitCodes.prepare(query: query, mean: mean, dimension: dimension, blocks: blocks, metric: metric, into: state)
    }

    @inline(__always) public func estimate(state: UnsafeRawPointer, code: UnsafePointer<UInt8>) -> Float {
        var out: Float = 0
        var pointer: UnsafePointer<UInt8>? = code
        vs_u2_estimates(state.assumingMemoryBound(to: vs_u4_query.self), &pointer, 1, blocks, &out)
        return out
    }

    public func estimates(state: UnsafeRawPointer, codes: UnsafePointer<UnsafePointer<UInt8>>, count: Int,
                          into out: UnsafeMutablePointer<Float>) {
        codes.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: count) {
            vs_u2_estimates(state.assumingMemoryBound(to: vs_u4_query.self), $0, count, blocks, out)
        }
    }

    /// Estimates for the codes of `ids` in an array of `codeBytes`-strided codes.
    @inline(__always) func estimates(state: UnsafeRawPointer, base: UnsafePointer<UInt8>, ids: UnsafePointer<UInt32>,
                                     count: Int, into out: UnsafeMutablePointer<Float>) {
        vs_u2_estimates_at(state.assumingMemoryBound(to: vs_u4_query.self), base, codeBytes, ids, count, blocks, out)
    }

    // MARK: Serialization

    static let magic: UInt32 = 0x3251_5356 // "VSQ2" little-endian
    static let layoutMajor: UInt16 = 1
    static let layoutMinor: UInt16 = 0

    /// Self-describing bytes ("VSQ2", the mean; layout in `LowBitCodes.serialize`).
    public func serialize() -> [UInt8] {
        LowBitCodes.serialize(magic: TwoBitQuantizer.magic, major: TwoBitQuantizer.layoutMajor,
                              minor: TwoBitQuantizer.layoutMinor, metric: metric, trained: trained, mean: mean,
                              dimension: dimension)
    }

    /// The inverse of `serialize`; throws `VectorIndexError.corruptSerialization` on any bad input.
    public convenience init(deserializing bytes: [UInt8]) throws {
        let (header, mean) = try LowBitCodes.deserialize(bytes, magic: TwoBitQuantizer.magic,
                                                          major: TwoBitQuantizer.layoutMajor, kind: "2-bit quantizer")
        self.init(dimension: header.dimension, metric: header.metric)
        self.mean.update(from: mean, count: header.dimension)
        trained = header.trained
    }
}
